// What a CLI call costs before and around its one command, inside the HIL guest (bundled on the host by
// startup-run.ts, the CLI bundled as users run it): `node -e 0`, `usbms --version`, `usbms list`,
// `usbms -d 0 tur` on the default backend and on node-usb, four fresh processes each (ms, sorted).
import { spawnSync } from 'node:child_process';

const bundle = process.env.HOPS_CLI_BUNDLE;
if (!bundle) throw new Error('HOPS_CLI_BUNDLE is not set (run startup-run.ts)');
const runs: [string, string[]][] = [
  ['node -e 0', ['-e', '0']],
  ['usbms --version', [bundle, '--version']],
  ['usbms list', [bundle, 'list']],
  ['usbms -d 0 tur', [bundle, '-d', '0', 'tur']],
  ['usbms --backend usb -d 0 tur', [bundle, '--backend', 'usb', '-d', '0', 'tur']],
];
for (const [name, args] of runs) {
  const ms: number[] = [];
  for (let i = 0; i < 4; i++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    ms.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`${name}: exit ${r.status}\n${r.stderr}`);
  }
  ms.sort((a, b) => a - b);
  console.log(`[startup] ${name.padEnd(30)} ${ms.map((x) => x.toFixed(0)).join(' ')} ms`);
}
