// smartctl as the oracle for every bridge kind usbms speaks (SAT, the JMicron/Cypress/Sunplus SATA bridges,
// the JMicron/ASMedia/Realtek NVMe bridges). One boot (profile `bridge-gadget`); per kind, the recording
// FunctionFS gadget (guest/bot-gadget.py --sim) presents that bridge's VID:PID and answers from the
// simulator's emulation of it (guest/sim-target.ts), the kernel's usb-storage binds, and:
//  - `smartctl -d <type> -a -j` (Debian smartmontools) runs through the kernel on the gadget's disk;
//  - usbms sends the requests of `usbms identify` + `usbms smart -a` along the explicit route of that kind;
//  - the gadget's log holds both hosts' CDBs: every pass-through CDB usbms sent must be one smartctl sent,
//    byte for byte (and for the JMicron NVMe command block, the data-out bytes too);
//  - smartctl's decoding of the emulation's answers must equal usbms's (identity, health, attributes or the
//    NVMe SMART/Health fields).
import { BRIDGE_KINDS, type BridgeKind, SMARTCTL_DEVICE_TYPE } from '@usbms/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleForGuest } from './bundle.js';
import { recordMetric } from './metrics.js';
import { BRIDGE_GADGET, BRIDGE_GADGETS, GADGET_SCRIPT } from './profiles.js';
import { type GuestResult, readJobJson, runInGuest } from './runner.js';
import { type GuestStep, stepData } from './steps.js';

interface Cdb {
  cdb: string;
  direction: string;
  length: number;
  dataOut?: string;
  /** CSW status the gadget sent (0 good, 1 failed). */
  status?: number;
}
interface KindRun {
  ids: { vendorId: number; productId: number };
  disk: string;
  smartctl: { exitCode: number | null; json?: Record<string, unknown>; stdout?: string; stderr?: string };
  usbms: GuestStep<Record<string, unknown>>;
  ms: { smartctl: number; usbms: number };
  cdbs: { probe: Cdb[]; smartctl: Cdb[]; usbms: Cdb[] };
}
interface BridgesResult {
  kernel: string;
  smartctl: string;
  kinds: Record<string, GuestStep<KindRun>>;
}

/** The opcodes that carry a pass-through on each route (everything else is the hosts' ordinary SCSI). */
const PASS_THROUGH_OPCODES: Record<BridgeKind, number[]> = {
  sat: [0x85, 0xa1],
  jmicron: [0xdf],
  cypress: [0x24],
  sunplus: [0xf8],
  'nvme-jmicron': [0xa1],
  'nvme-asmedia': [0xe6],
  'nvme-realtek': [0xe4],
};

let guest: GuestResult | undefined;
let result: BridgesResult | undefined;

function run(kind: string): KindRun {
  if (!result) throw new Error('the guest did not run (see the first test)');
  return stepData(result.kinds[kind], kind);
}

function usbms(kind: string): Record<string, unknown> {
  return stepData(run(kind).usbms, `${kind}: usbms`);
}

function smartctl(kind: string): Record<string, unknown> {
  const r = run(kind);
  if (!r.smartctl.json) throw new Error(`smartctl -d ${kind} printed no JSON (exit ${r.smartctl.exitCode}): ${r.smartctl.stdout}\n${r.smartctl.stderr}`);
  return r.smartctl.json;
}

const passThrough = (kind: BridgeKind, cdbs: Cdb[]): Cdb[] => cdbs.filter((c) => PASS_THROUGH_OPCODES[kind].includes(Number.parseInt(c.cdb.slice(0, 2), 16)));
/** What identifies a command on the wire: the CDB, its direction and length, and any data-out bytes. */
const wire = (c: Cdb): string => `${c.cdb} ${c.direction} ${c.length}${c.dataOut === undefined ? '' : ` out=${c.dataOut}`}`;

beforeAll(async () => {
  const [script, simTarget] = [
    await bundleForGuest('test/hil/guest/bridges.ts', 'bridges'),
    await bundleForGuest('test/hil/guest/sim-target.ts', 'sim-target'),
  ];
  guest = await runInGuest({
    profile: BRIDGE_GADGET,
    command: ['node', '--enable-source-maps', script],
    env: { HIL_SIM_TARGET_BUNDLE: simTarget, HIL_BOT_GADGET: GADGET_SCRIPT },
    timeoutMs: 420_000,
  });
  result = readJobJson<BridgesResult>(guest, 'bridges.json');
});

describe('bridge pass-throughs: smartctl through the kernel vs usbms, on the recording gadget in front of the simulator', () => {
  it('runs in the guest (records the guest kernel and smartctl version)', ({ task }) => {
    expect(guest?.exitCode, `guest stderr:\n${guest?.stderr}\nstdout:\n${guest?.stdout}`).toBe(0);
    recordMetric(task.meta, 'kernel', result?.kernel ?? '?');
    recordMetric(task.meta, 'boot_s', guest?.bootSeconds ?? -1);
    console.log(`[bridges] guest kernel ${result?.kernel}; ${result?.smartctl}`);
    expect(result?.kernel).toMatch(/^\d+\.\d+\./);
    expect(BRIDGE_GADGETS).toBe(BRIDGE_KINDS.length);
    expect(result?.smartctl).toMatch(/^smartctl \d+\.\d+/);
  });

  for (const kind of BRIDGE_KINDS) {
    describe(kind, () => {
      it(`smartctl -d ${SMARTCTL_DEVICE_TYPE[kind]} through usb-storage decodes the emulation's answers`, () => {
        const json = smartctl(kind);
        const exit = run(kind).smartctl.exitCode ?? -1;
        // smartctl(8) exit bits: 0 command line, 1 device open, 2 "some SMART or other ATA command failed".
        expect(exit & 0x03, `smartctl exit ${exit}: ${JSON.stringify(json.smartctl)}`).toBe(0);
        // Bit 2 on the ATA kinds: smartctl -a also reads the selective self-test log (SMART READ LOG 09h), which
        // the emulated drive does not keep; that must be the only pass-through that failed.
        // (SAT answers a CK_COND command with CHECK CONDITION by design: SAT-4 §12.2.2.2, the registers in the sense.)
        const checkCondition = (c: Cdb): boolean => kind === 'sat' && (Number.parseInt(c.cdb.slice(4, 6), 16) & 0x20) !== 0;
        const failed = passThrough(kind, run(kind).cdbs.smartctl).filter((c) => c.status !== 0 && !checkCondition(c));
        const selectiveLog = (c: Cdb): boolean => /^(85080e00d500010009004f|df10000200d501094fc2|242400be0100d501094fc2|f800221001d501094fc2)/.test(c.cdb);
        expect(failed.filter((c) => !selectiveLog(c)).map(wire)).toEqual([]);
        expect(exit & 0x04).toBe(failed.length > 0 ? 0x04 : 0);
        expect(json.model_name).toMatch(/^USBMS HIL /);
      });

      it('every pass-through CDB usbms sent is one smartctl sent, byte for byte', ({ task }) => {
        const r = run(kind);
        usbms(kind);
        const ours = passThrough(kind, r.cdbs.usbms);
        const theirs = new Set(passThrough(kind, r.cdbs.smartctl).map(wire));
        const matched = ours.filter((c) => theirs.has(wire(c)));
        recordMetric(task.meta, 'cdbs_matched', `${matched.length}/${ours.length}`);
        console.log(`[bridges] ${kind}: ${matched.length} of ${ours.length} usbms pass-through CDBs are smartctl's (smartctl sent ${theirs.size} distinct)`);
        expect(ours.length).toBeGreaterThanOrEqual(3);
        expect(
          ours.map(wire).filter((w) => !theirs.has(w)),
          `smartctl sent:\n${[...theirs].join('\n')}`,
        ).toEqual([]);
      });

      it('usbms decodes what smartctl decodes (identity, health, and the attributes or NVMe SMART/Health log)', () => {
        const ref = smartctl(kind);
        const ours = usbms(kind);
        if (kind.startsWith('nvme-')) compareNvme(ref, ours);
        else compareAta(ref, ours);
      });
    });
  }
});

interface SmartctlAttribute {
  id: number;
  name: string;
  value: number;
  worst: number;
  thresh: number;
  flags: { value: number };
  raw: { value: number; string: string };
}

function compareAta(ref: Record<string, unknown>, ours: Record<string, unknown>): void {
  const id = ours.identify as Record<string, unknown>;
  const capacity = ref.user_capacity as { bytes: number };
  expect({ model: id.model, serial: id.serial, firmware: id.firmware, capacity: id.capacityBytes }).toEqual({
    model: ref.model_name,
    serial: ref.serial_number,
    firmware: ref.firmware_version,
    capacity: capacity.bytes,
  });
  expect(ours.health).toBe((ref.smart_status as { passed: boolean }).passed ? 'passed' : 'failed');
  const attributes = (ours.smart as { attributes: Array<Record<string, unknown>> }).attributes;
  const table = (ref.ata_smart_attributes as { table: SmartctlAttribute[] }).table;
  expect(
    attributes.map((a) => ({ id: a.id, name: a.name, flags: a.flags, value: a.value, worst: a.worst, thresh: a.threshold, raw: a.raw, rawText: a.rawText })),
  ).toEqual(
    table.map((a) => ({
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
}

function compareNvme(ref: Record<string, unknown>, ours: Record<string, unknown>): void {
  const controller = ours.controller as Record<string, unknown>;
  const health = ours.health as Record<string, unknown>;
  const pci = ref.nvme_pci_vendor as { id: number; subsystem_id: number };
  expect({
    model: controller.model,
    serial: controller.serial,
    firmware: controller.firmware,
    pciVendorId: controller.pciVendorId,
    pciSubsystemVendorId: controller.pciSubsystemVendorId,
    ieeeOui: controller.ieeeOui,
    totalCapacity: controller.totalCapacity,
  }).toEqual({
    model: ref.model_name,
    serial: ref.serial_number,
    firmware: ref.firmware_version,
    pciVendorId: pci.id,
    pciSubsystemVendorId: pci.subsystem_id,
    ieeeOui: ref.nvme_ieee_oui_identifier,
    totalCapacity: ref.nvme_total_capacity ?? 0,
  });
  expect(health.health).toBe((ref.smart_status as { passed: boolean }).passed ? 'passed' : 'failed');
  const log = ref.nvme_smart_health_information_log as Record<string, number>;
  expect({
    criticalWarning: health.criticalWarning,
    temperatureC: health.temperatureC,
    availableSpare: health.availableSpare,
    availableSpareThreshold: health.availableSpareThreshold,
    percentageUsed: health.percentageUsed,
    dataUnitsRead: health.dataUnitsRead,
    dataUnitsWritten: health.dataUnitsWritten,
    hostReadCommands: health.hostReadCommands,
    hostWriteCommands: health.hostWriteCommands,
    controllerBusyTime: health.controllerBusyTime,
    powerCycles: health.powerCycles,
    powerOnHours: health.powerOnHours,
    unsafeShutdowns: health.unsafeShutdowns,
    mediaErrors: health.mediaErrors,
    errorLogEntries: health.errorLogEntries,
    warningTemperatureTime: health.warningTemperatureTime,
    criticalTemperatureTime: health.criticalTemperatureTime,
  }).toEqual({
    criticalWarning: log.critical_warning,
    temperatureC: log.temperature,
    availableSpare: log.available_spare,
    availableSpareThreshold: log.available_spare_threshold,
    percentageUsed: log.percentage_used,
    dataUnitsRead: log.data_units_read,
    dataUnitsWritten: log.data_units_written,
    hostReadCommands: log.host_reads,
    hostWriteCommands: log.host_writes,
    controllerBusyTime: log.controller_busy_time,
    powerCycles: log.power_cycles,
    powerOnHours: log.power_on_hours,
    unsafeShutdowns: log.unsafe_shutdowns,
    mediaErrors: log.media_errors,
    errorLogEntries: log.num_err_log_entries,
    warningTemperatureTime: log.warning_temp_time,
    criticalTemperatureTime: log.critical_comp_time,
  });
  // Namespace 1: smartctl read Identify Namespace and lists it with its size.
  const namespaces = ref.nvme_namespaces as Array<{ id: number; size: { blocks: number } }> | undefined;
  const ns = namespaces?.find((n) => n.id === 1);
  expect(ns, 'smartctl lists namespace 1').toBeDefined();
  expect((ours.namespace as { size: number }).size).toBe(ns?.size.blocks);
}
