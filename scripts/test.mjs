#!/usr/bin/env node
// The project's test command (README: `pnpm test`). Runs every suite in turn and
// stops at the first failure with a non-zero exit code. Suites that need Debian
// packages (chromium, QEMU) install them when missing; see each runner.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const only = process.argv.slice(2);
const known = ['lint', 'typecheck', 'unit', 'tshark', 'browser', 'pack', 'docs', 'hil'];
for (const name of only) {
  if (!known.includes(name)) {
    console.error(`Unknown suite "${name}". Suites: ${known.join(', ')}`);
    process.exit(2);
  }
}

/** @type {{ name: string; cmd: string; args: string[] }[]} */
const suites = [
  { name: 'lint', cmd: 'pnpm', args: ['run', '--silent', 'lint'] },
  { name: 'typecheck', cmd: 'pnpm', args: ['run', '--silent', 'typecheck'] },
  { name: 'unit', cmd: process.execPath, args: ['node_modules/vitest/vitest.mjs', 'run'] },
  { name: 'tshark', cmd: 'node', args: ['test/tshark/run.mjs'] },
  { name: 'browser', cmd: 'node', args: ['test/browser/run.mjs'] },
  { name: 'pack', cmd: 'node', args: ['test/pack/run.mjs'] },
  { name: 'docs', cmd: 'node', args: ['docs/build.mjs'] },
  { name: 'hil', cmd: 'bash', args: ['test/hil/run.sh'] },
];

const results = [];
for (const suite of suites) {
  if (only.length > 0 && !only.includes(suite.name)) continue;
  console.log(`\n=== usbms test suite: ${suite.name} ===`);
  const started = Date.now();
  const run = spawnSync(suite.cmd, suite.args, { cwd: root, stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push(`${suite.name}: ${run.status === 0 ? 'passed' : 'FAILED'} (${seconds} s)`);
  if (run.status !== 0) {
    console.error(`\n${results.join('\n')}\nSuite "${suite.name}" failed (exit ${run.status ?? run.signal}).`);
    process.exit(1);
  }
}
console.log(`\n${results.join('\n')}`);
