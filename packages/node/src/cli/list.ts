/**
 * Which mass-storage devices are there: `usbms list` (one entry per device, with its interfaces,
 * endpoints and kernel driver) and `usbms watch` (the same entries as devices arrive and leave).
 * With --sim, the simulated device stands in for the bus.
 */
import { chooseBackend } from '../backend.js';
import { listDevices, MSC_CLASS, type MscDeviceInfo, watchDevices } from '../discovery.js';
import { type CliContext, intOption } from './context.js';
import { deviceId, hex2, toJson } from './format.js';

function describeListEntry(index: number, d: MscDeviceInfo): string {
  const name = [d.manufacturer, d.product].filter((s) => s !== undefined).join(' ') || '(no name)';
  const lines = [`[${index}] ${d.id}  ${name}  bus ${d.busNumber ?? '?'} port ${d.portPath ?? '?'}  ${d.speed}-speed`];
  if (d.error !== undefined) lines.push(`    descriptors unreadable: ${d.error}`);
  for (const i of d.interfaces) {
    const alt = i.alternates.find((a) => a.alternateSetting === (i.botAlternate ?? i.uasAlternate ?? 0)) ?? i.alternates[0];
    const eps =
      alt?.bulkIn !== undefined && alt.bulkOut !== undefined
        ? ` ep in 0x${hex2(alt.bulkIn.address)}/out 0x${hex2(alt.bulkOut.address)} (${alt.bulkIn.packetSize} B packets)`
        : '';
    const kinds = i.alternates.map((a) => `alt ${a.alternateSetting}: ${a.kind.toUpperCase()} ${a.subclassName}`).join(', ');
    const kernel =
      i.kernelDriver === undefined ? '' : `  driver ${i.kernelDriver}${i.blockDevices ? ` (${i.blockDevices.map((b) => `/dev/${b}`).join(' ')})` : ''}`;
    const state = i.supported ? '' : `  [unsupported: ${i.note ?? '?'}]`;
    const note = i.supported && i.note !== undefined ? `  [${i.note}]` : '';
    lines.push(`    interface ${i.interfaceNumber}: ${kinds}${eps}${kernel}${state}${note}`);
  }
  return lines.join('\n');
}

/** `usbms list`: the mass-storage devices on the bus (or the simulated one), numbered as `--device INDEX` counts them. */
export async function cmdList(ctx: CliContext): Promise<void> {
  if (ctx.isSim) {
    const device = await ctx.open();
    const info = device.info;
    const entry = {
      id: deviceId(info),
      simulated: true,
      image: ctx.options.simImage,
      ...info,
      maxLun: device.maxLun,
      luns: device.luns.map((lu) => ({ lun: lu.number, vendor: lu.inquiry?.vendor, product: lu.inquiry?.product, revision: lu.inquiry?.revision })),
    };
    if (ctx.json) return ctx.out(toJson([entry]));
    ctx.out(`[sim] ${entry.id}  simulated device${entry.image === undefined ? ' (RAM)' : ` backed by ${entry.image}`}  ${info.speed ?? 'unknown'}-speed`);
    for (const lu of entry.luns) ctx.out(`    LUN ${lu.lun}: ${lu.vendor ?? ''} ${lu.product ?? ''} ${lu.revision ?? ''}`.trimEnd());
    return;
  }
  const vendorInterface =
    ctx.options.vendorInterface === undefined ? {} : { vendorClassInterface: intOption('vendor-interface', ctx.options.vendorInterface, 0) };
  const all = await listDevices({ ...vendorInterface, includeUnreadable: true });
  // Indexes match `--device INDEX`, which counts only devices with readable descriptors.
  // (the same rule listDevices applies without includeUnreadable).
  const devices = all.filter((d) => d.interfaces.length > 0 || d.device.deviceClass === MSC_CLASS);
  const unreadable = all.filter((d) => !devices.includes(d));
  // The backend `--device` would use with these options (USBMS_BACKEND, --backend).
  const { backend } = chooseBackend(ctx.options.backend);
  if (ctx.json) return ctx.out(toJson(devices.map((d) => ({ ...d, backend }))));
  if (devices.length === 0) ctx.out('No USB mass-storage devices found.');
  for (const [i, d] of devices.entries()) ctx.out(describeListEntry(i, d));
  if (devices.length > 0) ctx.out(`backend: ${backend}`);
  if (unreadable.length > 0) {
    ctx.note(
      `${unreadable.length} USB device(s) could not be inspected (${unreadable.map((d) => `${d.id}: ${d.error ?? '?'}`).join('; ')}); run as root or add a udev rule (see the README)`,
    );
  }
}

/** Prints mass-storage devices as they arrive and leave, until Ctrl-C. */
export async function cmdWatch(ctx: CliContext): Promise<void> {
  if (ctx.isSim) {
    // The simulator is plugged in for as long as the command runs: one attach event, then wait for Ctrl-C.
    const device = await ctx.open();
    const info = device.info;
    const id = deviceId(info);
    if (ctx.json) ctx.out(JSON.stringify({ event: 'attach', time: new Date().toISOString(), device: { id, simulated: true } }));
    else ctx.out(`${new Date().toISOString()} + ${id}  simulated device`);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) return resolve();
      // Nothing else keeps the process alive while it waits for Ctrl-C.
      const keepAlive = setInterval(() => undefined, 60_000);
      ctx.signal.addEventListener(
        'abort',
        () => {
          clearInterval(keepAlive);
          resolve();
        },
        { once: true },
      );
    });
    return;
  }
  const print = (event: 'attach' | 'detach', d: MscDeviceInfo): void => {
    if (ctx.json) ctx.out(JSON.stringify({ event, time: new Date().toISOString(), device: d }));
    else ctx.out(`${new Date().toISOString()} ${event === 'attach' ? '+' : '-'} ${describeListEntry(0, d).replace(/^\[0\] /, '')}`);
  };
  await new Promise<void>((resolve, reject) => {
    const stop = watchDevices(
      {
        onAttach: (d) => print('attach', d),
        onDetach: (d) => print('detach', d),
        onError: (error) => {
          stop();
          reject(error);
        },
      },
      { includeExisting: true },
    );
    ctx.signal.addEventListener(
      'abort',
      () => {
        stop();
        resolve();
      },
      { once: true },
    );
  });
}
