/**
 * `usbms raw --dry-run` against sg_raw (Debian sg3-utils 1.46) as the oracle:
 * for argument lists sg_raw accepts, both print the same bytes as "cdb to
 * send"; for lists sg_raw rejects as a syntax error, both exit 1.
 *
 * sg_raw needs a device node it can open, but prints the CDB (with -v) before
 * the SG_IO ioctl: against /dev/null the ioctl then fails with ENOTTY (exit 75
 * = 50 + 25), after the CDB was printed. So this runs on any Linux host.
 * The suite installs sg3-utils (apt-get) when sg_raw is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../packages/node/bin/usbms.mjs', import.meta.url));

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, USBMS_FROM_SOURCE: '1', NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The bytes inside "cdb to send: NAME [12 00 ...]". */
function cdbSent(text: string): string | undefined {
  return /cdb to send: .*\[([0-9a-f ]+)\]/i.exec(text)?.[1]?.toLowerCase();
}

beforeAll(() => {
  if (spawnSync('sg_raw', ['-V']).error === undefined) return;
  // A fresh Debian machine: install the oracle (root, as in CI).
  const update = spawnSync('apt-get', ['update'], { stdio: 'inherit' });
  const install = spawnSync('apt-get', ['install', '-y', 'sg3-utils'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (update.status !== 0 || install.status !== 0) throw new Error('sg_raw is missing and apt-get install sg3-utils failed (run as root)');
}, 600_000);

// Argument lists sg_raw accepts: one byte per word, strtol(word, 16) semantics.
const ACCEPTED: string[][] = [
  ['12', '00', '00', '00', '24', '00'],
  ['12', '0', '0', '0', '24', '0'],
  ['0x12', '0x00', '0X0', '0', '0x24', '0'],
  ['012', '000', '0000', '0', '024', '0'],
  ['FF', 'ff', 'Ff', 'a', 'B', 'c'],
  ['+12', '0', '0', '0', '+24', '0'],
  ['00', '00', '00', '00', '00', '00'],
  ['1b', '00', '00', '00', '02', '00'],
  ['28', '00', '00', '00', '00', '10', '00', '00', '01', '00'],
  ['2a', '0', '0', '0', '0', '10', '0', '0', '1', '0'],
  ['25', '0', '0', '0', '0', '0', '0', '0', '0', '0'],
  ['a1', '08', '2e', '00', '01', '00', '00', '00', '00', 'ec', '00', '00'],
  ['88', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '1', '0', '0'],
  ['9e', '10', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '20', '0', '0'],
  ['85', '08', '0e', '0', '0', '0', '1', '0', '0', '0', '0', '0', '0', '40', 'ec', '0'],
  ['c0', '01', '02', '03', '04', '05'],
  ['ff', '0', '0', '0', '0', '0', '0', '0', '0', '0'],
];

// Argument lists sg_raw rejects as syntax errors (exit 1). (A word like "-1" is not among them: sg_raw's
// getopt takes it for an unknown option and prints its usage with exit 0; usbms exits 1.)
const REJECTED: string[][] = [
  ['12', '100', '0', '0', '24', '0'], // a word above 0xff
  ['12', '00', '00', '00', '2400'], // bytes mixed with a multi-byte word
  ['12', 'zz', '0', '0', '24', '0'], // not hex
  ['12', '0x', '0', '0', '24', '0'], // a prefix without digits
  ['12', '0', '0', '0', '24'], // five bytes: shorter than any SCSI CDB
];

describe('usbms raw --dry-run prints the CDB sg_raw -vvv sends', { timeout: 120_000 }, () => {
  it.each(ACCEPTED.map((words) => [words.join(' '), words]))('%s', async (_label, words) => {
    const [oracle, ours] = await Promise.all([run('sg_raw', ['-vvv', '/dev/null', ...words]), run(process.execPath, [BIN, 'raw', '--dry-run', ...words])]);
    const expected = cdbSent(oracle.stderr);
    expect(expected, `sg_raw printed no CDB:\n${oracle.stderr}`).toBeDefined();
    expect(ours.code, ours.stderr).toBe(0);
    expect(cdbSent(ours.stdout)).toBe(expected);
    expect(ours.stdout).toContain('dry run: nothing sent');
  });

  it.each(REJECTED.map((words) => [words.join(' '), words]))('both reject %s with exit 1', async (_label, words) => {
    const [oracle, ours] = await Promise.all([run('sg_raw', ['-vvv', '/dev/null', ...words]), run(process.execPath, [BIN, 'raw', '--dry-run', ...words])]);
    expect(oracle.code).toBe(1);
    expect(cdbSent(oracle.stderr)).toBeUndefined();
    expect(ours.code, ours.stderr).toBe(1);
    expect(ours.stderr).toMatch(/^usbms raw: (invalid CDB byte|CDB too short)/);
  });
});
