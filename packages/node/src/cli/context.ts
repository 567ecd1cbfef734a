import { AbortError, InvalidArgumentError, MscDevice, type MscDeviceOptions, type MscTransport, NotFoundError, serializeError } from '@usbms/core';
import type { SimulatedDevice } from '@usbms/core/sim';
import { chooseBackend } from '../backend.js';
import { listDevices } from '../discovery.js';
import { messageOf } from '../map-error.js';
import { type DeviceSelector, openTransport } from '../open.js';
import { NodeUsbTransport } from '../transport.js';
import { CliCapture, unwrapTransport } from './capture.js';
import { usageError } from './exit.js';
import { FileBackingStore } from './file-store.js';
import { findBlockDevice, parseDeviceChoice, resolveNode } from './select.js';
import { countOption, parseCount, sizeOption } from './units.js';

export { parseSize } from './units.js';

/** Global options every subcommand accepts (see `main.ts`). */
export interface GlobalOptions {
  pcap?: string;
  pcapSnaplen?: string;
  record?: string;
  device?: string;
  sim?: boolean;
  simImage?: string;
  simSize?: string;
  simLatency?: string;
  simNoMedium?: boolean;
  simBadLba?: string;
  simBridge?: string;
  lun?: string;
  timeout?: string;
  json?: boolean;
  verbose?: boolean;
  force?: boolean;
  reattach?: boolean;
  interface?: string;
  vendorInterface?: string;
  maxTransfer?: string;
  backend?: string;
  simId?: string;
}

/** `--sim-id VID:PID[:SERIAL]`: the USB identity the simulated device reports. */
function simIdentity(text: string): { vendorId: number; productId: number; serialNumber?: string } {
  const m = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})(?::(.+))?$/i.exec(text.trim());
  if (m === null) throw usageError(`--sim-id must be VID:PID[:SERIAL] in hex, got "${text}"`);
  return {
    vendorId: Number.parseInt(m[1] ?? '', 16),
    productId: Number.parseInt(m[2] ?? '', 16),
    ...(m[3] === undefined ? {} : { serialNumber: m[3] }),
  };
}

/**
 * With --sim, --device selects as it would among real devices: the simulated
 * device is the only one, index 0, with its VID:PID[:SERIAL]. Anything else
 * is not found (exit 52), like a device that is not plugged in.
 */
function checkSimSelected(device: string | undefined, id: { vendorId: number; productId: number; serialNumber: string }): void {
  if (device === undefined) return;
  const choice = parseDeviceChoice(device);
  const label = `${id.vendorId.toString(16).padStart(4, '0')}:${id.productId.toString(16).padStart(4, '0')}:${id.serialNumber}`;
  if (choice.kind === 'index' && choice.index === 0) return;
  if (choice.kind === 'id') {
    const [vid, pid, serial] = choice.text.split(':');
    if (
      Number.parseInt(vid ?? '', 16) === id.vendorId &&
      Number.parseInt(pid ?? '', 16) === id.productId &&
      (serial === undefined || serial === id.serialNumber)
    )
      return;
  }
  throw new NotFoundError(`--device ${device}: no such device; the simulator is the only one (index 0, ${label})`);
}

const DEFAULT_SIM_BYTES = 64 * 1024 * 1024;

/** A count option; kept under this name for existing callers (see `countOption`). */
export function intOption(name: string, text: string | undefined, fallback: number): number {
  return countOption(name, text, fallback);
}

/**
 * Per-invocation state: options, the SIGINT signal, output helpers and the
 * open device (closed by `runCommand` whatever happens).
 */
export class CliContext {
  readonly options: GlobalOptions;
  readonly signal: AbortSignal;
  #device: MscDevice | undefined;
  #store: FileBackingStore | undefined;
  #sim: SimulatedDevice | undefined;
  #capture: CliCapture | undefined;
  #stdoutIsData = false;
  #whole = false;

  constructor(options: GlobalOptions, signal: AbortSignal) {
    this.options = options;
    this.signal = signal;
  }

  get json(): boolean {
    return this.options.json === true;
  }

  /** --sim or --sim=FILE. */
  get isSim(): boolean {
    return this.options.sim === true || this.options.simImage !== undefined;
  }

  get lun(): number {
    return intOption('lun', this.options.lun, 0);
  }

  /** Per-command timeout (ms) when --timeout is given. */
  get timeoutMs(): number | undefined {
    return this.options.timeout === undefined ? undefined : intOption('timeout', this.options.timeout, 0) || undefined;
  }

  /**
   * The command's work is whole (a dump's image renamed into place, a restore flushed): a Ctrl-C
   * that lands after this no longer makes it exit 130, so `usbms dump -o x.img && …` goes on.
   */
  markWhole(): void {
    this.#whole = true;
  }

  get whole(): boolean {
    return this.#whole;
  }

  /** Options for every device call: the SIGINT signal and --timeout. */
  get callOptions(): { signal: AbortSignal; timeoutMs?: number } {
    const t = this.timeoutMs;
    return t === undefined ? { signal: this.signal } : { signal: this.signal, timeoutMs: t };
  }

  /** Report text (and --json): stdout, or stderr once stdout carries binary data (`-o -`). */
  out(text: string): void {
    (this.#stdoutIsData ? process.stderr : process.stdout).write(`${text}\n`);
  }

  /** From now on stdout carries binary data (`-o -`): reports and JSON go to stderr. */
  dataToStdout(): void {
    this.#stdoutIsData = true;
  }

  get stdoutIsData(): boolean {
    return this.#stdoutIsData;
  }

  /** Progress and notes go to stderr so stdout stays data/JSON. */
  note(text: string): void {
    if (!this.json) process.stderr.write(`${text}\n`);
  }

  /** The simulator, when running with --sim (for tests of sim-only behaviour). */
  get simulator(): SimulatedDevice | undefined {
    return this.#sim;
  }

  /** Opens the selected device. `writable: false` opens it read-only (writes are refused before anything is sent). */
  async open(options: { writable?: boolean } = {}): Promise<MscDevice> {
    if (this.#device !== undefined) return this.#device;
    if (this.signal.aborted) throw new AbortError('Interrupted');
    const deviceOptions: MscDeviceOptions = { readOnly: options.writable !== true };
    const t = this.timeoutMs;
    if (t !== undefined) deviceOptions.defaultTimeoutMs = t;
    if (this.options.maxTransfer !== undefined) {
      deviceOptions.maxTransferBytes = sizeOption('max-transfer', this.options.maxTransfer, 0, { min: 512, multipleOf: 512 });
    }
    this.#capture ??= new CliCapture(this.options, `usbms ${process.argv.slice(2).join(' ')}`);
    const platform = this.isSim ? await this.#openSim(options.writable === true) : await this.#openUsb();
    const transport = this.#capture.wrap(platform, {
      readOnly: deviceOptions.readOnly === true,
      ...(deviceOptions.defaultTimeoutMs === undefined ? {} : { timeoutMs: deviceOptions.defaultTimeoutMs }),
      ...(deviceOptions.maxTransferBytes === undefined ? {} : { maxTransferBytes: deviceOptions.maxTransferBytes }),
    });
    if (this.options.verbose === true) {
      // Which quirk rules matched, from the descriptor and again after INQUIRY (the trace's `quirks` events).
      deviceOptions.onTrace = (event) => {
        if (event.type !== 'quirks') return;
        const rules = event.rules.length === 0 ? ['none'] : event.rules;
        for (const rule of rules) process.stderr.write(`usbms: quirk rule (${event.stage}): ${rule}\n`);
      };
    }
    this.#device = await MscDevice.open(transport, deviceOptions);
    return this.#device;
  }

  async #openSim(writable: boolean): Promise<MscTransport> {
    // Loaded only with --sim: the simulator is a tenth of the CLI's code, and every start compiles what it loads.
    const { SIM_ATA_BRIDGE_IDS, SimAtaDrive, SimulatedDevice, simAtaBridge, simNvmeBridge } = await import('@usbms/core/sim');
    const image = this.options.simImage;
    const size = sizeOption('sim-size', this.options.simSize, DEFAULT_SIM_BYTES, { min: 512, multipleOf: 512 });
    const lun: NonNullable<ConstructorParameters<typeof SimulatedDevice>[0]>['luns'] = [{ blocks: size / 512, blockSize: 512 }];
    if (image !== undefined) {
      // Opened read-write only for commands that write, so a read never touches the image.
      this.#store = new FileBackingStore(image, { createSize: size, readOnly: !writable });
      const blocks = Math.floor(this.#store.size / 512);
      if (blocks === 0) throw new InvalidArgumentError(`--sim image ${image} is smaller than one 512-byte block`);
      lun[0] = { blocks, blockSize: 512, store: this.#store };
    }
    if (this.options.simNoMedium === true && lun[0] !== undefined) lun[0] = { ...lun[0], mediumPresent: false };
    const latency = intOption('sim-latency', this.options.simLatency, 0);
    const identity: { vendorId?: number; productId?: number; serialNumber?: string } = this.options.simId === undefined ? {} : simIdentity(this.options.simId);
    // The simulated disk is an ATA drive behind SAT, so `usbms --sim identify` / `smart` work too.
    const drive = new SimAtaDrive({ sectors: lun[0]?.blocks ?? size / 512, model: 'USBMS SIM ATA DRIVE' });
    // --sim-bridge KIND: the drive sits in an emulated vendor bridge (SATA) or is an NVMe SSD behind one.
    const bridge = this.options.simBridge;
    let enclosure: Pick<NonNullable<ConstructorParameters<typeof SimulatedDevice>[0]>, 'info' | 'vendorCommand'> = { vendorCommand: drive.hook };
    if (bridge !== undefined) {
      if (Object.hasOwn(SIM_ATA_BRIDGE_IDS, bridge)) enclosure = simAtaBridge(bridge as keyof typeof SIM_ATA_BRIDGE_IDS, drive).options;
      else if (bridge === 'nvme-jmicron' || bridge === 'nvme-asmedia' || bridge === 'nvme-realtek')
        enclosure = simNvmeBridge(bridge, { model: 'USBMS SIM NVME SSD', blocks: lun[0]?.blocks ?? size / 512 }).options;
      else throw usageError(`--sim-bridge takes jmicron, cypress, sunplus, nvme-jmicron, nvme-asmedia or nvme-realtek, got "${bridge}"`);
    }
    // --sim-id overrides the enclosure's VID:PID (and serial); --device selects against the result.
    const info = { ...enclosure.info, ...identity };
    this.#sim = new SimulatedDevice({
      luns: lun,
      ...(enclosure.vendorCommand === undefined ? {} : { vendorCommand: enclosure.vendorCommand }),
      ...(latency > 0 ? { transferDelayMs: latency } : {}),
      ...(Object.keys(info).length === 0 ? {} : { info }),
    });
    checkSimSelected(this.options.device, {
      vendorId: info.vendorId ?? 0x1209,
      productId: info.productId ?? 0x5553,
      serialNumber: info.serialNumber ?? 'SIM0001',
    });
    // Unreadable blocks (MEDIUM ERROR 03/11/00 on every read covering them), to try dump --skip-bad.
    for (const text of this.options.simBadLba?.split(',') ?? []) {
      const lba = parseCount(text);
      if (lba === undefined) throw new InvalidArgumentError(`--sim-bad-lba takes LBAs separated by commas, got "${this.options.simBadLba ?? ''}"`);
      this.#sim.inject({ kind: 'medium-error', lba, times: Number.POSITIVE_INFINITY });
    }
    return this.#sim.transport;
  }

  async #openUsb(): Promise<MscTransport> {
    const o = this.options;
    let selector: DeviceSelector;
    let blockInterface: number | undefined;
    if (o.device === undefined) {
      // Without --device, only an unambiguous choice is made for the user.
      const all = await listDevices(o.vendorInterface === undefined ? {} : { vendorClassInterface: intOption('vendor-interface', o.vendorInterface, 0) });
      const only = all[0];
      if (only === undefined) throw new NotFoundError('No USB mass-storage device found (see `usbms list`; try --sim to use the simulator)');
      if (all.length > 1) {
        throw new InvalidArgumentError(
          `${all.length} mass-storage devices found; choose one with --device VID:PID[:SERIAL] or --device INDEX (see \`usbms list\`)`,
        );
      }
      selector = only;
    } else {
      const choice = parseDeviceChoice(o.device);
      if (choice.kind === 'index') selector = choice.index;
      else if (choice.kind === 'id') selector = choice.text;
      else {
        // Linux: /dev/sdX -> the USB interface whose SCSI host carries it (sysfs, via listDevices).
        const all = await listDevices(o.vendorInterface === undefined ? {} : { vendorClassInterface: intOption('vendor-interface', o.vendorInterface, 0) });
        const found = findBlockDevice(all, choice.path, await resolveNode(choice.path));
        selector = found.device;
        if (o.interface === undefined) blockInterface = found.interfaceNumber;
      }
    }
    const transportOptions = {
      force: o.force === true,
      reattachOnClose: o.reattach !== false,
      ...(o.interface === undefined
        ? blockInterface === undefined
          ? {}
          : { interfaceNumber: blockInterface }
        : { interfaceNumber: intOption('interface', o.interface, 0) }),
      ...(o.vendorInterface === undefined ? {} : { vendorClassInterface: intOption('vendor-interface', o.vendorInterface, 0) }),
    };
    const backend = chooseBackend(o.backend);
    if (o.verbose === true) this.note(`usbms: ${backend.reason}`);
    return openTransport(selector, { ...transportOptions, backend: backend.backend });
  }

  /** Flushes and closes the device (and the sim image). Never throws. */
  async close(): Promise<void> {
    const device = this.#device;
    this.#device = undefined;
    if (device !== undefined) {
      try {
        await device.close();
      } catch (error) {
        if (this.options.verbose === true) process.stderr.write(`usbms: close: ${JSON.stringify(serializeError(error))}\n`);
      }
      const transport = unwrapTransport(device.transport);
      if (transport instanceof NodeUsbTransport && transport.reattachError !== undefined) {
        const why = messageOf(transport.reattachError);
        process.stderr.write(
          `usbms: warning: could not give interface ${transport.interfaceNumber} back to the kernel driver (${why}); replug the device to make the OS see the disk again\n`,
        );
      }
    }
    // --sim=FILE: the image is the simulated device's medium and the device "keeps power" between
    // invocations, so whatever it acknowledged (still in its volatile write cache, e.g. a WRITE(10)
    // sent with `raw`) is written back before the process ends.
    if (this.#store !== undefined && this.#sim !== undefined && !this.#store.readOnly) {
      for (const lu of this.#sim.luns) lu.flush();
    }
    this.#store?.close();
    this.#store = undefined;
    try {
      this.#capture?.close();
    } catch (error) {
      process.stderr.write(`usbms: warning: ${messageOf(error)}\n`);
    }
    this.#capture = undefined;
  }
}
