// What a CLI call costs before and around its one command, inside the HIL guest (bundled on the host by
// startup-run.ts, the CLI bundled as users run it): `node -e 0`, `usbms --version`, `usbms list`,
// `usbms -d 0 tur` on the default backend and on node-usb, four fresh processes each (ms, sorted).
// With HOPS_CLI_BUNDLE_A (the CLI of another checkout), each call runs A then B alternately.
import { spawnSync } from 'node:child_process';

const bundle = process.env.HOPS_CLI_BUNDLE;
if (!bundle) throw new Error('HOPS_CLI_BUNDLE is not set (run startup-run.ts)');
const bundleA = process.env.HOPS_CLI_BUNDLE_A;
const clis: [string, string][] =
  bundleA === undefined
    ? [['', bundle]]
    : [
        ['A ', bundleA],
        ['B ', bundle],
      ];
const runs: [string, string[] | ((cli: string) => string[])][] = [
  ['node -e 0', ['-e', '0']],
  ['usbms --version', (cli) => [cli, '--version']],
  ['usbms list', (cli) => [cli, 'list']],
  ['usbms -d 0 tur', (cli) => [cli, '-d', '0', 'tur']],
  ['usbms --backend usb -d 0 tur', (cli) => [cli, '--backend', 'usb', '-d', '0', 'tur']],
];
const times = Number(process.env.HOPS_N ?? 4);
for (const [name, args] of runs) {
  const variants = Array.isArray(args) ? [['', args] as const] : clis.map(([label, cli]) => [label, args(cli)] as const);
  const ms = variants.map((): number[] => []);
  for (let i = 0; i < times; i++) {
    variants.forEach(([label, argv], v) => {
      const t = performance.now();
      const r = spawnSync(process.execPath, argv, { encoding: 'utf8' });
      ms[v]?.push(performance.now() - t);
      if (r.status !== 0) throw new Error(`${label}${name}: exit ${r.status}\n${r.stderr}`);
    });
  }
  variants.forEach(([label], v) => {
    const sorted = (ms[v] ?? []).sort((a, b) => a - b);
    console.log(`[startup] ${`${label}${name}`.padEnd(32)} ${sorted.map((x) => x.toFixed(0)).join(' ')} ms`);
  });
}
