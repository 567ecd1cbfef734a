#!/usr/bin/env node
// The tshark suite: usbms's pcap captures dissected by Debian's tshark (an independent reader of
// usbmon captures and of USB Mass Storage + SCSI). Installs tshark when missing (as root; otherwise
// stops with the exact command), then runs test/tshark/*.test.ts. Exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const installCommand = 'apt-get update && apt-get install -y tshark';

function run(title, command, args, options = {}) {
  console.log(`\n== ${title}`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (r.status !== 0) {
    console.error(`\n${title}: failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

const present = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
if (!present) {
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    run('Installing Debian tshark', 'sh', ['-c', installCommand], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } else {
    console.error(`tshark is not installed. Install it as root, then run this again:\n\n  ${installCommand}\n`);
    process.exit(1);
  }
}
run('pcap captures dissected by tshark', process.execPath, [
  join(root, 'node_modules', 'vitest', 'vitest.mjs'),
  'run',
  '--config',
  'test/tshark/vitest.config.ts',
]);
