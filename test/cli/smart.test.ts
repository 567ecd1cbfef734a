/**
 * `usbms identify` and `usbms smart` (the real binary, as a subprocess) against the simulator's ATA drive
 * behind SAT (`--sim`): smartctl-style sections, --json, -t/-X/-l, exit codes.
 */
import { decodeSmartData, decodeSmartThresholds } from '@usbms/core';
import { SimAtaDrive } from '@usbms/core/sim';
import { describe, expect, it } from 'vitest';
import { formatAttributes, normalizeSmartArgs } from '../../packages/node/src/cli/ata.js';
import { runUsbms } from './run-cli.js';

// The real binary on the simulator, as a user runs it (shared runner: test/cli/run-cli.ts).
const usbms = (args: string[]) => runUsbms(args, { cwd: process.cwd(), timeoutMs: 45_000 });

describe('usbms identify / smart on the simulated ATA drive', { timeout: 180_000 }, () => {
  it('identify prints smartctl -i style lines; --json parses', async () => {
    const r = await usbms(['--sim', '--sim-size', '64M', 'identify']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Device Model: +USBMS SIM ATA DRIVE$/m);
    expect(r.stdout).toMatch(/^Serial Number: +SIMATA0001$/m);
    expect(r.stdout).toMatch(/^User Capacity: +67,108,864 bytes \[67\.11 MB\]$/m);
    expect(r.stdout).toMatch(/^SMART support is: +Enabled$/m);
    const j = await usbms(['--sim', 'identify', '--json']);
    expect(JSON.parse(j.stdout).identify).toMatchObject({ model: 'USBMS SIM ATA DRIVE', sectors: 131072, features: { smart: { supported: true } } });
  });

  it('smart (default -H -A): PASSED and the attribute table, exit 0', async () => {
    const r = await usbms(['--sim', 'smart']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('SMART overall-health self-assessment test result: PASSED');
    expect(r.stdout).toMatch(/^ {2}5 Reallocated_Sector_Ct {3}0x0033 {3}100 {3}100 {3}036 {4}Pre-fail {2}Always {7}- {7}0$/m);
    const j = JSON.parse((await usbms(['--sim', 'smart', '-H', '-A', '--json'])).stdout);
    expect(j.health).toBe('passed');
    expect(j.smart.attributes.map((a: { id: number }) => a.id)).toEqual([1, 5, 9, 12, 194, 197]);
    expect(j.exitCode).toBe(0);
  });

  it('smart -a: identity, health, attributes, error log and self-test log', async () => {
    const r = await usbms(['--sim', 'smart', '-a']);
    expect(r.code, r.stderr).toBe(0);
    for (const text of [
      '=== START OF INFORMATION SECTION ===',
      'PASSED',
      'Vendor Specific SMART Attributes',
      'No Errors Logged',
      'No self-tests have been logged',
    ]) {
      expect(r.stdout).toContain(text);
    }
  });

  it('smart -t short starts a test, -X aborts, -l takes the log names (global -l/-t still mean --lun/--timeout before "smart")', async () => {
    const t = await usbms(['--sim', '-l', '0', '-t', '5000', 'smart', '-t', 'short', '-l', 'xselftest', '-l', 'directory']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain('Execute SMART Short self-test routine immediately in off-line mode');
    expect(t.stdout).toContain('SMART Log Directory Version 1');
    expect(t.stdout).toMatch(/0x06 +1 +SMART self-test log/);
    const x = await usbms(['--sim', 'smart', '-X']);
    expect(x.code, x.stderr).toBe(0);
    expect(x.stdout).toContain('Self-testing aborted!');
    const bad = await usbms(['--sim', 'smart', '-l', 'bogus']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/-l takes one of/);
  });
});

describe('smart helpers', () => {
  it('-l/-t after "smart" become --log/--test; before it they stay global', () => {
    expect(normalizeSmartArgs(['node', 'usbms', '-l', '1', 'smart', '-l', 'error', '-t', 'short'])).toEqual([
      'node',
      'usbms',
      '-l',
      '1',
      'smart',
      '--log',
      'error',
      '--test',
      'short',
    ]);
    expect(normalizeSmartArgs(['node', 'usbms', 'inquiry', '-l', '1'])).toEqual(['node', 'usbms', 'inquiry', '-l', '1']);
  });

  it('a failing pre-fail attribute shows FAILING_NOW in WHEN_FAILED, a past one In_the_past', () => {
    const drive = new SimAtaDrive({
      attributes: [
        { id: 5, flags: 0x33, value: 10, worst: 10, raw: 4000, threshold: 36 },
        { id: 3, flags: 0x27, value: 90, worst: 20, raw: 0, threshold: 21 },
      ],
    });
    const table = formatAttributes(decodeSmartData(drive.smartData(), decodeSmartThresholds(drive.smartThresholds())));
    expect(table).toMatch(/^ {2}5 Reallocated_Sector_Ct .* Pre-fail {2}Always {3}FAILING_NOW 4000$/m);
    expect(table).toMatch(/^ {2}3 Spin_Up_Time .*In_the_past 0$/m);
  });
});
