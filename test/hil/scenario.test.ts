// @usbms/node against real USB mass-storage implementations (QEMU's usb-storage/usb-bot/usb-uas and
// Linux's f_mass_storage gadget) inside the QEMU guest. One boot per device profile runs
// guest/scenario.ts (bundled on the host, see bundle.ts); each `it` below asserts one part of what the
// guest observed. The first `it` of each block boots the guest; the others fail with the guest's own
// error if their step did not run or threw.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../packages/node/src/backend.js';
import { bundleForGuest } from './bundle.js';
import { recordMetric } from './metrics.js';
import { BOT_PROFILE_NAMES, PROFILES, type Profile } from './profiles.js';
import { type GuestResult, readJobJson, runInGuest } from './runner.js';
import type { ErrorInfo, ScenarioResult, ScenarioSteps } from './scenario-types.js';
import { stepData } from './steps.js';

const MiB = 1024 * 1024;
let scenarioBundle = '';
let cliBundle = '';

beforeAll(async () => {
  scenarioBundle = await bundleForGuest('test/hil/guest/scenario.ts', 'scenario');
  cliBundle = await bundleForGuest('packages/node/src/cli/run.ts', 'usbms');
});

/** A step's data of this block's scenario (see `stepData`). */
function scenarioData<K extends keyof ScenarioSteps>(scenario: ScenarioResult | undefined, name: K): ScenarioSteps[K] {
  if (!scenario) throw new Error('the scenario did not run (see the first test of this block)');
  return stepData(scenario[name], name);
}

function lunBytes(profile: Profile, lun: number): number {
  const drive = profile.drives[lun];
  return drive ? drive.sizeMiB * MiB : profile.expect.lunBytes;
}

const expectSense = (info: { sense?: ErrorInfo['sense'] } | undefined, key: number, asc: number, ascq: number): void => {
  expect(info?.sense).toMatchObject({ senseKey: key, asc, ascq });
};

async function runScenario(
  profile: Profile,
  backend: Backend,
  task: { meta: Parameters<typeof recordMetric>[0] },
): Promise<{ result: GuestResult; scenario: ScenarioResult }> {
  const result = await runInGuest({
    profile,
    command: ['node', '--enable-source-maps', scenarioBundle],
    // The backend reaches openDevice and the CLI through USBMS_BACKEND, as a user would set it.
    env: { USBMS_BACKEND: backend, ...(profile.cli ? { HIL_CLI_BUNDLE: cliBundle } : {}) },
    timeoutMs: 480_000,
  });
  recordMetric(task.meta, 'boot_s', result.bootSeconds ?? -1);
  recordMetric(task.meta, 'scenario_wall_s', Number((result.durationMs / 1000).toFixed(1)));
  const scenario = readJobJson<ScenarioResult>(result, 'scenario.json');
  return { result, scenario };
}

/** Every BOT device on both backends: usbfs (the default on Linux) and node-usb. `HIL_BACKENDS=usbfs` narrows it. */
const backends = (process.env.HIL_BACKENDS?.split(',') ?? ['usbfs', 'usb']) as Backend[];
const runs = BOT_PROFILE_NAMES.flatMap((name) => backends.map((backend) => [name, backend] as const));

describe.each(runs)('%s scenario (backend %s)', (name, backend) => {
  const profile = PROFILES[name];
  const expected = profile.expect;
  const isQemu = profile.implementation === 'qemu';
  let scenario: ScenarioResult | undefined;

  it('runs the device scenario in the guest', async ({ task }) => {
    const run = await runScenario(profile, backend, task);
    scenario = run.scenario;
    expect(run.result.exitCode, `guest stderr:\n${run.result.stderr}\nguest stdout:\n${run.result.stdout}`).toBe(0);
  });

  it('discovery: VID/PID, serial, speed, class/subclass/protocol, bulk endpoints, kernel driver', () => {
    const { count, info } = scenarioData(scenario, 'discovery');
    expect(count).toBe(1);
    expect(info).toMatchObject({ vendorId: expected.vendorId, productId: expected.productId, serialNumber: expected.serial, speed: expected.speed });
    expect(info.interfaces).toHaveLength(1);
    const iface = info.interfaces[0];
    expect(iface).toMatchObject({ supported: true, botAlternate: 0, kernelDriver: 'usb-storage' });
    expect(iface?.blockDevices).toHaveLength(expected.luns);
    expect(iface?.alternates[0]).toMatchObject({
      interfaceClass: expected.interfaceClass,
      interfaceSubclass: expected.interfaceSubclass,
      interfaceProtocol: expected.interfaceProtocol,
      kind: 'bot',
      bulkIn: { packetSize: expected.bulkPacketSize, address: expect.any(Number) },
      bulkOut: { packetSize: expected.bulkPacketSize },
    });
    expect((iface?.alternates[0]?.bulkIn?.address ?? 0) & 0x80).toBe(0x80);
    expect((iface?.alternates[0]?.bulkOut?.address ?? 0x80) & 0x80).toBe(0);
  });

  it('open detaches the kernel driver (its block devices disappear) and claims the interface', () => {
    const open = scenarioData(scenario, 'open');
    expect(open.before.driver).toBe('usb-storage');
    expect(open.before.disks).toHaveLength(expected.luns);
    expect(open.detachedDriver).toBe('usb-storage');
    expect(open.backend).toBe(backend);
    // A claimed interface shows up in sysfs as bound to "usbfs".
    expect(open.after).toEqual({ driver: 'usbfs', disks: [] });
    expect(open.transport).toEqual({ maxPacketSizeIn: expected.bulkPacketSize, maxPacketSizeOut: expected.bulkPacketSize, speed: expected.speed });
  });

  it('LUN discovery (Get Max LUN) and standard INQUIRY of every LUN', () => {
    const open = scenarioData(scenario, 'open');
    expect(open.maxLun).toBe(expected.luns - 1);
    expect(open.luns).toBe(expected.luns);
    const luns = scenarioData(scenario, 'lun-discovery');
    expect(luns.map((l) => l.lun)).toEqual([...Array(expected.luns).keys()]);
    for (const lun of luns) expect(lun).toMatchObject({ vendor: expected.vendor, peripheralDeviceType: 0 });
  });

  it('INQUIRY VPD: supported pages decode (or the device rejects EVPD with its real sense)', () => {
    const vpd = scenarioData(scenario, 'inquiry-vpd');
    expect(vpd).toHaveLength(expected.luns);
    for (const entry of vpd) {
      expect(entry.vendor).toBe(expected.vendor);
      if (isQemu) {
        // QEMU's scsi-disk implements VPD 0x00, 0x80, 0x83, 0xB0, 0xB1 (hw/scsi/scsi-disk.c).
        expect(entry.supportedPages).toEqual(expect.arrayContaining([0x00, 0x80, 0x83, 0xb0, 0xb1]));
        for (const [page, r] of Object.entries(entry.pages)) expect(r.ok, `VPD ${page}: ${r.error?.message}`).toBe(true);
        expect(entry.pages['0x80']?.value).toBe(expected.lunSerials?.[entry.lun]);
      } else {
        // f_mass_storage answers only standard INQUIRY: EVPD=1 is an invalid field in the CDB (05/24/00).
        expect(entry.vpdRejected?.code).toBe('CHECK_CONDITION');
        expectSense(entry.vpdRejected, 0x05, 0x24, 0x00);
      }
    }
  });

  it('READ CAPACITY of every LUN', () => {
    const caps = scenarioData(scenario, 'read-capacity');
    for (const cap of caps) {
      expect(cap.blockSize).toBe(512);
      expect(cap.bytes).toBe(lunBytes(profile, cap.lun));
      expect(cap.lastLba).toBe(cap.blocks - 1);
    }
  });

  it('TEST UNIT READY of every LUN', () => {
    expect(scenarioData(scenario, 'test-unit-ready')).toEqual([...Array(expected.luns).keys()].map((lun) => ({ lun, ready: true })));
  });

  it('MODE SENSE: not write-protected, pages decoded', () => {
    for (const mode of scenarioData(scenario, 'mode-sense')) {
      expect(mode.writeProtected).toBe(false);
      // Both targets return at least the caching page (0x08) for "all pages".
      expect(mode.pages).toContain(0x08);
    }
  });

  it('a command the device rejects: READ past the end -> CHECK CONDITION with real sense 05/21/00, decoded', () => {
    const { raw, thrown } = scenarioData(scenario, 'rejected-command');
    expect(raw.status).toBe('check-condition');
    expectSense(raw, 0x05, 0x21, 0x00);
    expect(raw.sense?.senseKeyName).toBe('ILLEGAL REQUEST');
    expect(raw.sense?.description).toMatch(/out of range/i);
    expect(thrown?.code).toBe('CHECK_CONDITION');
    expectSense(thrown ?? undefined, 0x05, 0x21, 0x00);
    expect(thrown?.message).toMatch(/ILLEGAL REQUEST/);
  });

  it('raw execute of an unsupported opcode -> CHECK CONDITION, ILLEGAL REQUEST 05/20/00', () => {
    const { raw } = scenarioData(scenario, 'unsupported-opcode');
    expect(raw.status).toBe('check-condition');
    expectSense(raw, 0x05, 0x20, 0x00);
  });

  it('data written by the kernel (dd O_DIRECT) reads back identical through usbms', () => {
    const reads = scenarioData(scenario, 'kernel-to-usbms');
    expect(reads).toHaveLength(expected.luns);
    for (const r of reads) expect(r, `LUN ${r.lun}`).toMatchObject({ equal: true });
  });

  if (isQemu) {
    it('flush reaches the device: QEMU flush counter rises after usbms SYNCHRONIZE CACHE', () => {
      const flushes = scenarioData(scenario, 'flush');
      expect(flushes).toHaveLength(expected.luns);
      for (const f of flushes) expect(f.after, `drive ${f.drive}`).toBeGreaterThan(f.before);
    });
  }

  it('concurrent callers with interleaved reads, writes, INQUIRY: every result correct', ({ task }) => {
    const c = scenarioData(scenario, 'concurrency');
    expect(c.failures).toEqual([]);
    expect(c.operations).toBe(24 * 2 * 2 + 8 * 3 * 3);
    expect(c.luns).toBe(expected.luns);
    // The Linux gadget NAKs an IN token until its CSW is ready, so every status read sent with its
    // CBW (TUR, WRITE) waited and none stalled. QEMU's usb-storage stalls such reads (BotEngine then
    // recovers and stops sending them early), so there it is usually off by now.
    if (!isQemu) expect(c.earlyStatus).toBe(true);
    else expect(typeof c.earlyStatus).toBe('boolean');
    recordMetric(task.meta, 'concurrent_ops', c.operations);
  });

  const recoveryChecks = (o: ScenarioSteps['abort-recovery'], code: string): void => {
    const trace = `trace${'timeoutMs' in o ? ` (timeout ${String(o.timeoutMs)} ms)` : ''}:\n${o.trace.join('\n')}`;
    expect(o.interrupted?.code, trace).toBe(code);
    // Interrupted mid-command: BOT reset recovery (BOT 1.0 §5.3.4) ran and worked.
    expect(o.recoverySteps, trace).toEqual(expect.arrayContaining(['bulk-only-reset:ok']));
    expect(
      o.recoverySteps.filter((s) => s.endsWith(':failed')),
      trace,
    ).toEqual([]);
    expect(o.nextTur, trace).toBe('ok');
    expect(o.nextRead, trace).toMatchObject({ equal: true });
    expect(o.state, trace).toBe('open');
  };

  it('abort in the middle of a large read as shipped (pipelined, on the wire), then the next commands succeed', ({ task }) => {
    const o = scenarioData(scenario, 'abort-recovery');
    recoveryChecks(o, 'ABORTED');
    // The caller's buffer was not written once the read had settled (usbfs copies IN data at reap).
    expect(o.bufferWrittenAfterAt).toBe(-1);
    // Times are recorded for the summary (BENCHMARKS.md), not asserted: this machine's load moves them.
    // So is whether the kernel ended a URB early (cut mid-transfer) or it had completed by the time it
    // was discarded: in this guest the CPU, not the wire, is the bottleneck, so mostly the latter.
    if (o.cancelledUrbs !== undefined) recordMetric(task.meta, 'abort_urbs_ended_early_usbfs', o.cancelledUrbs);
    if (o.settleMs !== undefined) recordMetric(task.meta, `abort_settle_ms_${backend}`, o.settleMs);
    if (o.settleGcMs !== undefined) recordMetric(task.meta, `abort_settle_gc_ms_${backend}`, o.settleGcMs);
    recordMetric(task.meta, `abort_next_tur_ms_${backend}`, o.nextTurMs);
  });

  it('timeout in the middle of a large read, then the next commands succeed', ({ task }) => {
    const observations = scenarioData(scenario, 'timeout-recovery');
    expect(observations).toHaveLength(3);
    for (const o of observations) {
      recoveryChecks(o, 'TIMEOUT');
      // The caller's buffer was not written once the read had settled.
      expect(o.bufferWrittenAfterAt).toBe(-1);
    }
    recordMetric(task.meta, `timeout_next_tur_ms_${backend}`, Math.max(...observations.map((o) => o.nextTurMs)));
    // The slowest of the three: its settle time (upper and lower bound) and the collections' pauses in it.
    const worst = observations.reduce<(typeof observations)[number] | undefined>((w, o) => ((o.settleMs ?? -1) > (w?.settleMs ?? -1) ? o : w), undefined);
    if (worst?.settleMs !== undefined) recordMetric(task.meta, `timeout_settle_ms_${backend}`, worst.settleMs);
    if (worst?.settleLowMs !== undefined) recordMetric(task.meta, `timeout_settle_low_ms_${backend}`, worst.settleLowMs);
    if (worst?.settleGcMs !== undefined) recordMetric(task.meta, `timeout_settle_gc_ms_${backend}`, worst.settleGcMs);
  });

  it('close flushes, re-attaches the kernel driver, and the block device comes back', ({ task }) => {
    const c = scenarioData(scenario, 'close-reattach');
    expect(c.after.driver).toBe('usb-storage');
    expect(c.after.disks).toHaveLength(expected.luns);
    if (isQemu) expect(c.flushAfter ?? 0).toBeGreaterThan(c.flushBefore ?? 0);
    recordMetric(task.meta, 'reattach_ms', c.waitedMs);
  });

  it('data written by usbms reads back identical through the kernel (dd O_DIRECT)', () => {
    const reads = scenarioData(scenario, 'usbms-to-kernel');
    expect(reads).toHaveLength(expected.luns);
    for (const r of reads) expect(r, `LUN ${r.lun} (${r.disk})`).toMatchObject({ equal: true });
  });

  if (profile.cli) {
    it('CLI: list, inquiry, capacity, raw, dump against the device', () => {
      const cli = scenarioData(scenario, 'cli');
      const ok = (name: string): string => {
        const r = cli[name];
        expect(r?.exitCode, `usbms ${name}: ${r?.stderr}`).toBe(0);
        return r?.stdout ?? '';
      };
      const list = JSON.parse(ok('list')) as { serialNumber?: string }[];
      expect(list.map((d) => d.serialNumber)).toContain(expected.serial);
      expect(JSON.parse(ok('inquiry'))).toMatchObject({ standard: { vendor: expected.vendor } });
      expect(JSON.parse(ok('capacity'))).toMatchObject({ blockSize: 512, bytes: lunBytes(profile, 0) });
      expect(ok('raw-inquiry')).toMatch(/GOOD/);
      // sg3_utils 1.46 (sg_err_category_sense): 05/20/00 INVALID COMMAND OPERATION CODE exits 9, sense decoded.
      expect(cli['raw-unsupported']?.exitCode).toBe(9);
      expect(cli['raw-unsupported']?.stdout).toMatch(/05\/20\/00/);
      ok('dump');
      expect(JSON.parse(ok('dump-compare'))).toMatchObject({ equal: true });
    });
  }

  it('hot-unplug during a long read: in-flight and queued commands reject DISCONNECTED within a bounded time', ({ task }) => {
    const h = scenarioData(scenario, 'hot-unplug');
    expect(h.trigger).toBe(isQemu ? 'qmp-device-del' : 'gadget-unbind');
    expect(h.settleMs, 'every command settled').not.toBeNull();
    expect(h.settleMs ?? Infinity).toBeLessThan(10_000);
    const inFlight = h.outcomes.find((o) => o.name.includes('in flight'));
    expect(inFlight).toMatchObject({ settled: 'rejected', code: 'DISCONNECTED' });
    const queued = h.outcomes.filter((o) => o.name.startsWith('queued'));
    expect(queued.length).toBeGreaterThan(0);
    // A queued command may have completed before the unplug landed; none may hang or fail otherwise.
    for (const o of queued) {
      expect(o.settled, o.name).not.toBe('pending');
      if (o.settled === 'rejected') expect(o.code, o.name).toBe('DISCONNECTED');
    }
    expect(queued.some((o) => o.settled === 'rejected')).toBe(true);
    expect(h.afterCommand?.code).toBe('DISCONNECTED');
    expect(h.state).toBe('disconnected');
    recordMetric(task.meta, 'unplug_settle_ms', h.settleMs ?? -1);
  });
});

describe.each(['uas' as const])('%s scenario', (name) => {
  const profile = PROFILES[name];
  let scenario: ScenarioResult | undefined;

  it('runs the UAS scenario in the guest', async ({ task }) => {
    const run = await runScenario(profile, 'usbfs', task);
    scenario = run.scenario;
    expect(run.result.exitCode, `guest stderr:\n${run.result.stderr}`).toBe(0);
  });

  it('lists the UAS-only device, marked unsupported', () => {
    const { count, info } = scenarioData(scenario, 'discovery');
    expect(count).toBe(1);
    expect(info).toMatchObject({ vendorId: profile.expect.vendorId, productId: profile.expect.productId, speed: 'super' });
    expect(info.interfaces[0]).toMatchObject({ supported: false, uasAlternate: 0, kernelDriver: 'uas' });
    expect(info.interfaces[0]?.botAlternate).toBeUndefined();
    expect(info.interfaces[0]?.alternates[0]).toMatchObject({ interfaceProtocol: 0x62, kind: 'uas' });
  });

  it('refuses to open it: "UAS-only device, not supported yet", kernel driver left bound', () => {
    const r = scenarioData(scenario, 'uas-refused');
    expect(r.error?.code).toBe('UNSUPPORTED');
    expect(r.error?.message).toMatch(/UAS-only device, not supported yet/);
    expect(r.driverAfter).toBe('uas');
  });
});
