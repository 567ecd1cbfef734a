// Guest side of test/hil/sat.test.ts (bundled on the host by bundle.ts). The profile `sat-gadget` gives the
// guest a QEMU ide-hd on an AHCI controller (libata: /dev/sda) and, in front of it, the recording FunctionFS
// BOT gadget (guest/bot-gadget.py) forwarding every CDB through SG_IO, so usbms talks SAT to libata and the
// ATA answers are QEMU's. This script collects, into $HIL_OUT/sat.json:
//  - `smartctl -j -a` on the ATA disk through the kernel path (the reference),
//  - `usbms identify/smart --json` (the CLI bundle) through the gadget, with D_SENSE off and on (MODE SELECT),
//    and the raw ATA return registers + sense format of SMART RETURN STATUS in both modes,
//  - `usbms smart -t short`, then the self-test log (usbms and smartctl),
//  - read-only refusals, with the gadget log lines written meanwhile (none must be a CBW).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { executeAta, type MscDevice, smartExecuteOfflineImmediate, smartReturnStatus } from '@usbms/core';
import { openDevice } from '@usbms/node';

const OUT = process.env.HIL_OUT ?? '/tmp';
const CLI = process.env.HIL_CLI_BUNDLE ?? '';
const GADGET_ID = process.env.HIL_SAT_GADGET_ID ?? '1d6b:0104';
const GADGET_LOG = process.env.HIL_GADGET_LOG ?? path.join(OUT, 'gadget.jsonl');
const result: Record<string, unknown> = { kernel: os.release() };
const save = (): void => fs.writeFileSync(path.join(OUT, 'sat.json'), JSON.stringify(result, null, 2));

function errorInfo(error: unknown): Record<string, unknown> {
  const e = error as { name?: string; code?: string; message?: string };
  return { name: e?.name, code: e?.code, message: e?.message };
}

async function step(name: string, fn: () => Promise<unknown> | unknown): Promise<void> {
  try {
    result[name] = { ok: true, data: await fn() };
  } catch (error) {
    result[name] = { ok: false, error: { ...errorInfo(error), stack: (error as Error)?.stack } };
  }
  save();
}

/** The ATA disk behind libata (not the gadget's USB disk): its sysfs path goes through an ata port. */
function ataDisk(): string {
  for (const name of fs.readdirSync('/sys/block')) {
    if (!name.startsWith('sd')) continue;
    const target = fs.realpathSync(path.join('/sys/block', name));
    if (/\/ata\d+\//.test(target) && !target.includes('/usb')) return `/dev/${name}`;
  }
  throw new Error('no libata disk found');
}

function smartctl(args: string[]): unknown {
  const r = spawnSync('/usr/sbin/smartctl', ['-j', ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return { exitCode: r.status, json: JSON.parse(r.stdout) as unknown };
}

function usbms(args: string[]): { exitCode: number | null; json?: unknown; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, '--device', GADGET_ID, ...args], { encoding: 'utf8', timeout: 180_000 });
  const out: { exitCode: number | null; json?: unknown; stdout: string; stderr: string } = {
    exitCode: r.status,
    stdout: r.stdout.slice(0, 50_000),
    stderr: r.stderr.slice(0, 5_000),
  };
  if (args.includes('--json')) {
    try {
      out.json = JSON.parse(r.stdout);
    } catch {
      // keep stdout for the assertion message
    }
  }
  return out;
}

/** Sets D_SENSE through the gadget: MODE SENSE(6) of the control mode page, flip the bit, MODE SELECT(6). */
async function setDescriptorSense(device: MscDevice, on: boolean): Promise<{ before: string; after: string }> {
  const sense = await device.execute({ cdb: Uint8Array.of(0x1a, 0x08, 0x0a, 0x00, 0xff, 0x00), direction: 'in', length: 0xff });
  if (sense.status !== 'good') throw new Error(`MODE SENSE(6) of the control page failed: ${JSON.stringify(sense.sense)}`);
  const data = sense.data;
  const blockDescriptors = data[3] ?? 0;
  const page = data.slice(4 + blockDescriptors, 4 + blockDescriptors + 2 + (data[5 + blockDescriptors] ?? 0));
  if (((page[0] ?? 0) & 0x3f) !== 0x0a) throw new Error(`MODE SENSE returned page 0x${(page[0] ?? 0).toString(16)}, not the control page`);
  const before = Buffer.from(page).toString('hex');
  page[0] = (page[0] ?? 0) & 0x3f; // PS bit is reserved in MODE SELECT
  page[2] = on ? (page[2] ?? 0) | 0x04 : (page[2] ?? 0) & ~0x04;
  const list = new Uint8Array(4 + page.length);
  list.set(page, 4);
  const select = await device.execute({ cdb: Uint8Array.of(0x15, 0x10, 0x00, 0x00, list.length, 0x00), direction: 'out', data: list });
  if (select.status !== 'good') throw new Error(`MODE SELECT(6) failed: ${JSON.stringify(select.sense)}`);
  return { before, after: Buffer.from(page).toString('hex') };
}

function gadgetLogLines(): string[] {
  return fs.existsSync(GADGET_LOG)
    ? fs
        .readFileSync(GADGET_LOG, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
}

const disk = ataDisk();
result.ataDisk = disk;
await step('smartctl', () => smartctl(['-a', disk]));

for (const mode of ['off', 'on'] as const) {
  await step(`dsense-${mode}`, async () => {
    const device = await openDevice(GADGET_ID, { readOnly: false });
    try {
      const page = await setDescriptorSense(device, mode === 'on');
      const status = await executeAta(device, smartReturnStatus());
      return {
        page,
        registers: status.registers,
        senseFormat: status.sense?.format,
        senseRaw: status.sense ? Buffer.from(status.sense.raw).toString('hex') : undefined,
      };
    } finally {
      await device.close();
    }
  });
  await step(`identify-${mode}`, () => usbms(['identify', '--json']));
  await step(`smart-${mode}`, () => usbms(['smart', '-a', '--json']));
}

await step('read-only', async () => {
  const device = await openDevice(GADGET_ID, { readOnly: true });
  try {
    const before = gadgetLogLines().length;
    const refusals: Record<string, unknown> = {};
    for (const [name, run] of [
      ['self-test', () => executeAta(device, smartExecuteOfflineImmediate('short'))],
      ['set-features', () => device.execute({ cdb: Uint8Array.of(0x85, 0x06, 0x00, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xef, 0), direction: 'none' })],
      ['security-erase-prepare', () => device.execute({ cdb: Uint8Array.of(0x85, 0x06, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf3, 0), direction: 'none' })],
    ] as const) {
      try {
        await run();
        refusals[name] = { refused: false };
      } catch (error) {
        refusals[name] = { refused: true, ...errorInfo(error) };
      }
    }
    const during = gadgetLogLines().slice(before);
    // An allowed read right after, to show the gadget is alive and logging.
    const status = await executeAta(device, smartReturnStatus());
    const after = gadgetLogLines().slice(before + during.length);
    return {
      refusals,
      gadgetLinesDuringRefusals: during,
      allowedAfter: { registers: status.registers, gadgetLines: after.length, cdbs: after.filter((l) => l.includes('"cbw"')) },
    };
  } finally {
    await device.close();
  }
});

await step('self-test', () => {
  const start = usbms(['smart', '-t', 'short', '--json']);
  const log = usbms(['smart', '-l', 'selftest', '--json']);
  return { start, log, smartctl: smartctl(['-l', 'selftest', disk]) };
});

result.gadgetLog = gadgetLogLines().length;
save();
