#!/usr/bin/env node
// Real-browser tests of the usbms device tool and the WebUSB adapter.
// 1. makes sure Debian's chromium is installed (installs it as root, otherwise
//    stops with the exact command), 2. type-checks the tool (DOM) and the
//    Electron recipe, 3. runs the tool's unit tests (hex helpers, Electron policy, IPC),
//    4. runs the WebUSB adapter's tests inside chromium (Vitest browser mode),
//    5. builds the tool and drives it in headless chromium with playwright-core.
// Exits non-zero on any failure. Screenshots: test-output/browser/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const chromiumPath = process.env.USBMS_CHROMIUM ?? '/usr/bin/chromium';
const installCommand = 'apt-get update && apt-get install -y chromium';

function run(title, command, args, options = {}) {
  console.log(`\n== ${title}`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (r.status !== 0) {
    console.error(`\n${title}: failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

if (!existsSync(chromiumPath)) {
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    run('Installing Debian chromium', 'sh', ['-c', installCommand], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } else {
    console.error(`Chromium is not installed at ${chromiumPath}. Install it as root, then run this again:\n\n  ${installCommand}\n`);
    process.exit(1);
  }
}

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
run('Type-checking the device tool (DOM)', process.execPath, [tsc, '-p', 'demo/tsconfig.json']);
run('Type-checking the Electron recipe (electron types only)', process.execPath, [tsc, '-p', 'demo/electron/tsconfig.json']);
run('Device tool unit tests', process.execPath, [vitest, 'run', '--config', 'demo/vitest.config.ts']);
run('WebUSB adapter tests inside chromium (Vitest browser mode)', process.execPath, [vitest, 'run', '--config', 'test/browser/vitest.webusb.config.ts']);
run('Device tool tests (headless chromium, Playwright)', process.execPath, [vitest, 'run', '--config', 'test/browser/vitest.config.ts']);
console.log('\nBrowser tests passed. Screenshots: test-output/browser/');
