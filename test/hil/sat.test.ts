// Drive health over SAT against implementations nobody here wrote: usbms -> the recording FunctionFS BOT
// gadget (guest/bot-gadget.py, dummy_hcd) -> SG_IO -> Linux libata's SAT translation -> QEMU's ATA
// (ide-hd on AHCI). The reference is smartctl on the same disk through the kernel path (/dev/sdX of the
// ATA disk). One boot (profile `sat-gadget`); guest/sat.ts collects everything into sat.json.
//
// QEMU's IDE drive finishes self-tests at once and has no READ LOG EXT: self-test progress, abort and the
// GP logs are tested on the simulator (packages/core/src/sim/sat-target.test.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleForGuest } from './bundle.js';
import { recordMetric } from './metrics.js';
import { SAT_DISK, SAT_GADGET } from './profiles.js';
import { type GuestResult, readJobJson, runInGuest } from './runner.js';
import { type GuestStep, stepData } from './steps.js';

interface CliRun {
  exitCode: number | null;
  json?: Record<string, unknown> & { [key: string]: unknown };
  stdout: string;
  stderr: string;
}
interface SmartctlAttribute {
  id: number;
  name: string;
  value: number;
  worst: number;
  thresh: number;
  flags: { value: number; prefailure: boolean };
  raw: { value: number; string: string };
}
interface Smartctl {
  exitCode: number;
  json: {
    model_name: string;
    serial_number: string;
    firmware_version: string;
    user_capacity: { blocks: number; bytes: number };
    logical_block_size: number;
    smart_status: { passed: boolean };
    ata_smart_attributes: { revision: number; table: SmartctlAttribute[] };
    ata_smart_self_test_log?: {
      standard: {
        count: number;
        table?: Array<{ type: { value: number; string: string }; status: { value: number; passed?: boolean }; lifetime_hours: number }>;
      };
    };
  };
}
interface UsbmsAttribute {
  id: number;
  name: string;
  flags: number;
  value: number;
  worst: number;
  threshold?: number;
  raw: number;
  rawText: string;
}
interface Registers {
  error: number;
  status: number;
  device: number;
  count: number;
  lba: number;
  extend: boolean;
  source: string;
}
type SatResult = Record<string, GuestStep | string | number> & { kernel: string; ataDisk: string };

let guest: GuestResult | undefined;
let sat: SatResult | undefined;

function data<T>(name: string): T {
  if (!sat) throw new Error('the guest did not run (see the first test)');
  return stepData(sat[name] as GuestStep<T> | undefined, name);
}

function cli(name: string): Record<string, unknown> {
  const run = data<CliRun>(name);
  expect(run.exitCode, `usbms ${name}: ${run.stderr}\n${run.stdout}`).toBe(0);
  if (run.json === undefined) throw new Error(`usbms ${name} printed no JSON: ${run.stdout}`);
  return run.json;
}

beforeAll(async () => {
  const [scriptBundle, cliBundle] = [await bundleForGuest('test/hil/guest/sat.ts', 'sat'), await bundleForGuest('packages/node/src/cli/run.ts', 'usbms')];
  guest = await runInGuest({
    profile: SAT_GADGET,
    command: ['node', '--enable-source-maps', scriptBundle],
    env: { HIL_CLI_BUNDLE: cliBundle },
    timeoutMs: 480_000,
  });
  sat = readJobJson<SatResult>(guest, 'sat.json');
});

describe('SAT through the recording gadget, libata and QEMU IDE', () => {
  it('runs in the guest (records the guest kernel)', ({ task }) => {
    expect(guest?.exitCode, `guest stderr:\n${guest?.stderr}\nstdout:\n${guest?.stdout}`).toBe(0);
    recordMetric(task.meta, 'kernel', sat?.kernel ?? '?');
    recordMetric(task.meta, 'boot_s', guest?.bootSeconds ?? -1);
    // The kernel version is part of the result: libata's fixed-format sense changed in 6.10 (and stable).
    expect(sat?.kernel).toMatch(/^\d+\.\d+\./);
    console.log(`[sat] guest kernel ${sat?.kernel}, ATA disk ${sat?.ataDisk}`);
  });

  for (const mode of ['off', 'on'] as const) {
    it(`D_SENSE ${mode}: identity equals smartctl -a through the kernel`, () => {
      const ref = data<Smartctl>('smartctl').json;
      const id = cli(`identify-${mode}`).identify as Record<string, unknown>;
      expect(ref.model_name).toBe(SAT_DISK.model);
      expect({ model: id.model, serial: id.serial, firmware: id.firmware, capacity: id.capacityBytes, sector: id.logicalSectorSize }).toEqual({
        model: ref.model_name,
        serial: ref.serial_number,
        firmware: ref.firmware_version,
        capacity: ref.user_capacity.bytes,
        sector: ref.logical_block_size,
      });
    });

    it(`D_SENSE ${mode}: health, attribute values, thresholds and raw values equal smartctl -a`, () => {
      const ref = data<Smartctl>('smartctl').json;
      const smart = cli(`smart-${mode}`);
      expect(smart.health).toBe(ref.smart_status.passed ? 'passed' : 'failed');
      const ours = (smart.smart as { attributes: UsbmsAttribute[] }).attributes;
      const pick = (a: UsbmsAttribute) => ({
        id: a.id,
        name: a.name,
        flags: a.flags,
        value: a.value,
        worst: a.worst,
        thresh: a.threshold,
        raw: a.raw,
        rawText: a.rawText,
      });
      expect(ours.map(pick)).toEqual(
        ref.ata_smart_attributes.table.map((a) => ({
          id: a.id,
          name: a.name,
          flags: a.flags.value,
          value: a.value,
          worst: a.worst,
          thresh: a.thresh,
          raw: a.raw.value,
          rawText: a.raw.string,
        })),
      );
    });
  }

  it('D_SENSE off and on (MODE SELECT through the gadget): the same ATA registers; the sense format libata chose is recorded', () => {
    type Mode = { senseFormat: string; registers: Registers; senseRaw: string; page: { before: string; after: string } };
    const off = data<Mode>('dsense-off');
    const on = data<Mode>('dsense-on');
    console.log(`[sat] kernel ${sat?.kernel}\n[sat] D_SENSE off: ${JSON.stringify(off)}\n[sat] D_SENSE on: ${JSON.stringify(on)}`);
    // MODE SELECT took: the control mode page's D_SENSE bit (byte 2 bit 2) is what was asked for.
    expect(Number.parseInt(off.page.after.slice(4, 6), 16) & 0x04).toBe(0);
    expect(Number.parseInt(on.page.after.slice(4, 6), 16) & 0x04).toBe(0x04);
    // Success with CK_COND (SMART RETURN STATUS): libata before 6.11 ("Honor the D_SENSE bit for CK_COND=1 and
    // no error") answers in descriptor format whatever D_SENSE says; later kernels follow D_SENSE. Either way
    // the registers must be the same. (Fixed vs descriptor decoding of the same registers: sim and unit tests.)
    expect(on.senseFormat).toBe('descriptor');
    expect(['fixed', 'descriptor']).toContain(off.senseFormat);
    expect(on.registers.lba).toBe(0xc24f00);
    expect({ ...off.registers, source: 'x' }).toEqual({ ...on.registers, source: 'x' });
  });

  it('smart -t short starts a self-test and its entry appears in the self-test log (usbms and smartctl agree)', () => {
    const run = data<{ start: CliRun; log: CliRun; smartctl: Smartctl }>('self-test');
    expect(run.start.exitCode, run.start.stderr).toBe(0);
    expect(run.log.exitCode, run.log.stderr).toBe(0);
    const log = run.log.json?.selfTestLog as { entries: Array<{ description: string; status: { code: number }; lifetimeHours: number }> } | undefined;
    const entries = log?.entries ?? [];
    expect(entries[0]).toMatchObject({ description: 'Short offline', status: { code: 0 } });
    const ref = run.smartctl.json.ata_smart_self_test_log?.standard.table?.[0];
    expect(ref?.type.string).toBe('Short offline');
    expect(entries[0]?.lifetimeHours).toBe(ref?.lifetime_hours);
    expect(entries.length).toBe(run.smartctl.json.ata_smart_self_test_log?.standard.count);
  });

  it('read-only refuses self-tests, SET FEATURES and SECURITY ERASE PREPARE before anything reaches the device (the gadget log proves it)', () => {
    const r = data<{
      refusals: Record<string, { refused: boolean; code?: string; message?: string }>;
      gadgetLinesDuringRefusals: string[];
      allowedAfter: { cdbs: string[] };
    }>('read-only');
    for (const [name, outcome] of Object.entries(r.refusals)) {
      expect(outcome, name).toMatchObject({ refused: true, code: 'READ_ONLY' });
    }
    expect(r.gadgetLinesDuringRefusals.filter((l) => l.includes('"kind": "cbw"'))).toEqual([]);
    // The gadget was listening: the allowed SMART RETURN STATUS right after shows up as a CBW.
    expect(r.allowedAfter.cdbs.some((l) => l.includes('85062c00da00000000004f00c200b000'))).toBe(true);
  });
});
