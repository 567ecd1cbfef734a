/**
 * `usbms identify` / `usbms smart` with `--bridge` (the real binary) against the simulator's drive in an
 * emulated vendor bridge (`--sim-bridge`): auto picks the bridge by USB ID, explicit names work, NVMe
 * bridges print smartctl-style NVMe sections, and the same drive reads the same through every SATA route.
 */
import { describe, expect, it } from 'vitest';
import { runUsbms } from './run-cli.js';

// The real binary on the simulator, as a user runs it (shared runner: test/cli/run-cli.ts).
const usbms = (args: string[]) => runUsbms(args, { cwd: process.cwd(), timeoutMs: 45_000 });

describe('usbms --bridge', { timeout: 240_000 }, () => {
  it('the same identity and attributes through SAT and each SATA vendor bridge (auto by USB ID, and explicit)', async () => {
    const sat = JSON.parse((await usbms(['--sim', 'smart', '-a', '--json'])).stdout);
    for (const kind of ['jmicron', 'cypress', 'sunplus']) {
      const auto = await usbms(['--sim', '--sim-bridge', kind, 'smart', '-H', '-A', '--json']);
      expect(auto.code, auto.stderr).toBe(0);
      const j = JSON.parse(auto.stdout);
      expect(j.health).toBe('passed');
      expect(j.smart.attributes).toEqual(sat.smart.attributes);
      const id = await usbms(['--sim', '--sim-bridge', kind, 'identify', '--bridge', kind]);
      expect(id.code, id.stderr).toBe(0);
      expect(id.stdout).toMatch(/^Device Model: +USBMS SIM ATA DRIVE$/m);
    }
  });

  it('an NVMe bridge: smartctl-style NVMe identity and SMART/Health sections', async () => {
    const r = await usbms(['--sim', '--sim-bridge', 'nvme-asmedia', 'smart', '-a']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Model Number: +USBMS SIM NVME SSD$/m);
    expect(r.stdout).toMatch(/^NVMe Version: +1\.4$/m);
    expect(r.stdout).toContain('SMART overall-health self-assessment test result: PASSED');
    expect(r.stdout).toMatch(/^Power On Hours: +1,234$/m);
    expect(r.stdout).toMatch(/^Temperature: +36 Celsius$/m);
    const j = JSON.parse((await usbms(['--sim', '--sim-bridge', 'nvme-jmicron', 'identify', '--json'])).stdout);
    expect(j.bridge).toBe('nvme-jmicron');
    expect(j.identifyController.model).toBe('USBMS SIM NVME SSD');
    const t = await usbms(['--sim', '--sim-bridge', 'nvme-realtek', 'smart', '-t', 'short']);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/NVMe bridges carry Identify and Get Log Page only/);
  });

  it('an unknown name is a usage error; --cdb12 belongs to --bridge sat', async () => {
    const r = await usbms(['--sim', 'smart', '--bridge', 'bogus']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--bridge takes auto, sat, jmicron/);
    const c = await usbms(['--sim', '--sim-bridge', 'jmicron', 'smart', '--bridge', 'jmicron', '--cdb12']);
    expect(c.code).toBe(31);
  });
});
