#!/usr/bin/env node
// Pack-and-install smoke tests: what a user gets from `npm install @usbms/...`.
//
//  1. `pnpm build`, then `pnpm pack` each published package (pnpm rewrites the
//     workspace:* ranges and applies publishConfig.exports, which drops the
//     workspace-only "source" condition).
//  2. Checks each tarball: dist JavaScript with .d.ts and both kinds of maps,
//     README, LICENSE, package.json; no tests, test helpers, fixtures, build info
//     or files of another package; no workspace: ranges; every exports/bin target
//     present. Prints each tarball's size.
//  3. Installs the tarballs with plain npm into a fresh project under the OS temp
//     folder (outside the workspace, so nothing resolves to the sources), then:
//     - Node: imports @usbms/core and @usbms/node, runs a vendor command against
//       @usbms/core/sim, and runs `npx usbms inquiry --sim` from the installed bin;
//     - TypeScript 5.9.3: type-checks a consumer file against the installed .d.ts
//       with moduleResolution nodenext and bundler (skipLibCheck off);
//     - Vite 8.3.8: bundles a page importing @usbms/web and @usbms/core/sim and
//       loads it in headless Debian chromium, which runs commands on the simulator.
//
// Exits non-zero on any failure. Needs the npm registry (usb, commander,
// typescript, vite, ...). USBMS_PACK_KEEP=1 keeps the temporary folder.
// If dist/ folders did not exist before, they are removed again at the end, so a
// later in-workspace run of bin/usbms.mjs keeps using the sources.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'consumer');
const chromiumPath = process.env.USBMS_CHROMIUM ?? '/usr/bin/chromium';
const packages = [
  { name: '@usbms/core', dir: 'packages/core' },
  { name: '@usbms/node', dir: 'packages/node' },
  { name: '@usbms/web', dir: 'packages/web' },
];
// Versions the consumer project installs next to the tarballs (TOOLCHAIN.md).
const consumerDevDeps = ['typescript@5.9.3', 'vite@8.3.8', '@types/node@20.19.x'];

const started = Date.now();
const timings = [];
const failures = [];

/** Runs one step, timing it; a thrown error fails the step (and the run) but later independent steps still run. */
async function step(title, fn, { fatal = false } = {}) {
  console.log(`\n== ${title}`);
  const t0 = Date.now();
  try {
    await fn();
    timings.push(`${title}: ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (error) {
    timings.push(`${title}: FAILED (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    failures.push(`${title}: ${error instanceof Error ? error.message : String(error)}`);
    console.error(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    if (fatal) finish();
  }
}

/** Environment for child package managers: no variables pnpm sets for its scripts (they would steer npm). */
function childEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_)/i.test(key) && !/^npm_config_(registry|cache|userconfig)$/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, CI: process.env.CI ?? 'true', ...extra };
}

function run(command, args, options = {}) {
  const r = spawnSync(command, args, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(),
    maxBuffer: 64 * 1024 * 1024,
    ...options,
  });
  if (r.error) throw new Error(`${command} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`.trim());
  }
  return r.stdout;
}

function finish() {
  const total = ((Date.now() - started) / 1000).toFixed(1);
  cleanup();
  console.log(`\n${timings.join('\n')}\ntotal: ${total} s`);
  if (failures.length > 0) {
    console.error(`\nPack-and-install smoke tests FAILED:\n- ${failures.join('\n- ')}`);
    process.exit(1);
  }
  console.log('\nPack-and-install smoke tests passed.');
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'usbms-pack-'));
const tarballDir = join(work, 'tarballs');
const consumer = join(work, 'consumer');
mkdirSync(tarballDir);
const distExisted = Object.fromEntries(packages.map((p) => [p.dir, existsSync(join(root, p.dir, 'dist'))]));
let cleanedUp = false;
function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const p of packages) if (!distExisted[p.dir]) rmSync(join(root, p.dir, 'dist'), { recursive: true, force: true });
  if (process.env.USBMS_PACK_KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

/* ----------------------------------------------------------- build, pack */
const tarballs = {};
await step(
  'pnpm build',
  () => {
    run('pnpm', ['run', '--silent', 'build']);
  },
  { fatal: true },
);
await step(
  'pnpm pack',
  () => {
    for (const p of packages) {
      run('pnpm', ['pack', '--pack-destination', tarballDir], { cwd: join(root, p.dir) });
    }
    for (const file of readdirSync(tarballDir)) {
      const p = packages.find((q) => file.startsWith(`${q.name.replace('@', '').replace('/', '-')}-`));
      if (p) tarballs[p.name] = join(tarballDir, file);
    }
    for (const p of packages) if (!tarballs[p.name]) throw new Error(`no tarball for ${p.name} in ${tarballDir}`);
  },
  { fatal: true },
);

/* ------------------------------------------------------ tarball contents */
const sizes = [];
await step('tarball contents', () => {
  const problems = [];
  for (const p of packages) {
    const tgz = tarballs[p.name];
    const files = run('tar', ['-tzf', tgz])
      .split('\n')
      .filter((line) => line && !line.endsWith('/'))
      .map((line) => line.replace(/^package\//, ''));
    const has = new Set(files);
    const manifest = JSON.parse(run('tar', ['-xzOf', tgz, 'package/package.json']));
    const bad = (why) => problems.push(`${p.name}: ${why}`);

    for (const must of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']) {
      if (!has.has(must)) bad(`missing ${must}`);
    }
    for (const file of files) {
      if (/(^|\/)node_modules\//.test(file)) bad(`contains ${file}`);
      if (/\.test\.|\.spec\.|(^|\/)(testing|fixtures|__tests__)\/|test-util|test-support|\.tsbuildinfo$/.test(file)) bad(`test-only file ${file}`);
      if (/\.(js)$/.test(file) && file.startsWith('dist/')) {
        const base = file.slice(0, -3);
        for (const companion of [`${base}.js.map`, `${base}.d.ts`, `${base}.d.ts.map`]) {
          if (!has.has(companion)) bad(`${file} has no ${companion}`);
        }
        // Each dist file comes from this package's own src/ (rootDir): a
        // dist/ path like dist/core/src/... would mean another package's
        // sources were compiled in.
        if (!existsSync(join(root, p.dir, 'src', `${base.slice('dist/'.length)}.ts`))) bad(`${file} has no source in ${p.dir}/src`);
      }
      if (file.startsWith('src/') && !existsSync(join(root, p.dir, file))) bad(`${file} is not a file of ${p.dir}`);
      if (!/^(package\.json|README\.md|LICENSE|(dist|src|bin)\/.+)$/.test(file)) bad(`unexpected file ${file}`);
    }
    // Packed manifest: installable by plain npm, exports without the workspace "source" condition.
    const text = JSON.stringify(manifest);
    if (text.includes('workspace:')) bad('package.json still has workspace: ranges');
    const targets = [];
    for (const [sub, conditions] of Object.entries(manifest.exports ?? {})) {
      if ('source' in conditions) bad(`exports["${sub}"] has the workspace-only "source" condition`);
      if (!conditions.types || !conditions.import) bad(`exports["${sub}"] needs "types" and "import"`);
      targets.push(...Object.values(conditions));
    }
    targets.push(...Object.values(manifest.bin ?? {}));
    for (const target of targets) if (!has.has(target.replace(/^\.\//, ''))) bad(`exports/bin target ${target} is not in the tarball`);
    for (const target of Object.values(manifest.bin ?? {})) {
      const head = run('tar', ['-xzOf', tgz, `package/${target.replace(/^\.\//, '')}`]).split('\n')[0];
      if (head !== '#!/usr/bin/env node') bad(`bin ${target} starts with "${head}", not a node shebang`);
    }
    if (manifest.license !== 'MIT') bad(`license is ${manifest.license}`);
    if (has.has('LICENSE') && run('tar', ['-xzOf', tgz, 'package/LICENSE']) !== readFileSync(join(root, 'LICENSE'), 'utf8')) {
      bad(`LICENSE differs from the repository's LICENSE (copy it again into ${p.dir})`);
    }
    if (!manifest.repository || !manifest.engines?.node || !Array.isArray(manifest.keywords)) bad('repository, engines.node or keywords missing');
    if (p.name === '@usbms/web' && JSON.stringify(manifest.dependencies ?? {}).includes('"usb"')) bad('depends on usb');
    if (p.name === '@usbms/node' && !/^[\^~]?3\./.test(manifest.dependencies?.usb ?? '')) bad(`usb range is ${manifest.dependencies?.usb}, want 3.x`);

    const unpacked = Number(run('sh', ['-c', `tar -xzOf "${tgz}" | wc -c`]).trim());
    sizes.push(`${p.name}: ${(statSync(tgz).size / 1024).toFixed(1)} kB packed, ${(unpacked / 1024).toFixed(1)} kB unpacked, ${files.length} files`);
  }
  console.log(sizes.join('\n'));
  if (problems.length > 0) throw new Error(`tarball problems:\n  ${problems.join('\n  ')}`);
});

/* ------------------------------------------------- fresh consumer project */
await step(
  'npm install of the tarballs into a fresh project',
  () => {
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'usbms-consumer', private: true, type: 'module' }, null, 2));
    for (const file of readdirSync(fixtures))
      if (statSync(join(fixtures, file)).isFile()) writeFileSync(join(consumer, file), readFileSync(join(fixtures, file)));
    mkdirSync(join(consumer, 'web'));
    for (const file of ['index.html', 'main.js']) writeFileSync(join(consumer, 'web', file), readFileSync(join(fixtures, 'web', file)));
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...packages.map((p) => tarballs[p.name]), ...consumerDevDeps], {
      cwd: consumer,
      timeout: 240_000,
    });
    const installed = JSON.parse(readFileSync(join(consumer, 'node_modules/@usbms/node/package.json'), 'utf8'));
    if (installed.dependencies['@usbms/core'] !== '0.1.0') throw new Error(`@usbms/node depends on @usbms/core ${installed.dependencies['@usbms/core']}`);
  },
  { fatal: true },
);

await step('Node: import @usbms/core + @usbms/node, vendor command on @usbms/core/sim', () => {
  const out = run(process.execPath, ['node-smoke.mjs'], { cwd: consumer, timeout: 60_000 });
  process.stdout.write(out);
  if (!out.includes('node smoke: ok')) throw new Error('node-smoke.mjs did not report ok');
});

await step("Node: koffi (the usbfs backend's FFI) loads from the clean install", () => {
  // Linux x64/arm64: the prebuilt binary must come with the install (no compiler, install script off).
  // Elsewhere the backend is unavailable and must say why without throwing.
  const code =
    "const m = await import('@usbms/node'); const why = m.usbfsUnavailable({ usbfsNodes: () => true }); " +
    "const expected = process.platform === 'linux' && ['x64', 'arm64'].includes(process.arch); " +
    "if (expected && why !== undefined) { console.error(why); process.exit(1); } console.log('koffi:', why ?? 'ok');";
  const out = run(process.execPath, ['--input-type=module', '-e', code], { cwd: consumer, timeout: 60_000 });
  process.stdout.write(out);
  if (!out.includes('koffi:')) throw new Error('the koffi check printed nothing');
});

await step('CLI: npx usbms inquiry --sim (installed bin)', () => {
  const out = run('npx', ['--no-install', 'usbms', 'inquiry', '--sim'], { cwd: consumer, timeout: 60_000 });
  process.stdout.write(out);
  if (!/USBMS/.test(out) || !/Sim Disk/.test(out)) throw new Error(`unexpected output from usbms inquiry --sim:\n${out}`);
  const json = JSON.parse(run('npx', ['--no-install', 'usbms', '--sim', 'inquiry', '--json'], { cwd: consumer, timeout: 60_000 }));
  if (!JSON.stringify(json).includes('Sim Disk')) throw new Error('usbms --sim inquiry --json has no "Sim Disk"');
});

for (const config of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
  await step(`TypeScript 5.9.3: consumer.ts against the installed .d.ts (${config})`, () => {
    const tsc = join(consumer, 'node_modules/typescript/bin/tsc');
    const version = run(process.execPath, [tsc, '--version'], { cwd: consumer }).trim();
    if (version !== 'Version 5.9.3') throw new Error(`consumer has ${version}`);
    run(process.execPath, [tsc, '-p', config], { cwd: consumer });
  });
}

/* ----------------------------------------------- Vite bundle in chromium */
await step('Vite 8.3.8: bundle a page with @usbms/web + @usbms/core/sim, run it in headless chromium', async () => {
  const vite = join(consumer, 'node_modules/vite/bin/vite.js');
  const build = spawnSync(process.execPath, [vite, 'build', 'web', '--outDir', 'dist', '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: consumer,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(),
    timeout: 120_000,
  });
  const log = `${build.stdout ?? ''}${build.stderr ?? ''}`;
  if (build.status !== 0) throw new Error(`vite build exited with ${build.status ?? build.signal ?? build.error?.message}\n${log}`);
  // A Node built-in reaching the browser bundle means core or web is not platform-free.
  if (/externalized for browser compatibility|node:/i.test(log)) throw new Error(`Vite pulled Node modules into the page:\n${log}`);
  const bundle = readdirSync(join(consumer, 'web/dist/assets')).filter((f) => f.endsWith('.js'));
  for (const f of bundle) {
    const js = readFileSync(join(consumer, 'web/dist/assets', f), 'utf8');
    if (/from\s*["']node:|require\(["'](fs|path|usb)["']\)/.test(js)) throw new Error(`${f} references Node modules`);
  }

  if (!existsSync(chromiumPath)) {
    if (typeof process.getuid === 'function' && process.getuid() === 0) {
      run('sh', ['-c', 'apt-get update && apt-get install -y chromium'], { env: childEnv({ DEBIAN_FRONTEND: 'noninteractive' }), timeout: 600_000 });
    } else {
      throw new Error(`Chromium is not installed at ${chromiumPath}; as root: apt-get update && apt-get install -y chromium`);
    }
  }
  const server = await serveStatic(join(consumer, 'web/dist'));
  // playwright-core comes from the workspace (it only drives the browser; the page under test is the consumer's bundle).
  const { chromium } = createRequire(join(root, 'package.json'))('playwright-core');
  const profile = mkdtempSync(join(work, 'chromium-profile-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
    });
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => globalThis.__usbmsSmoke !== undefined, null, { timeout: 30_000 });
    const result = await page.evaluate(() => globalThis.__usbmsSmoke);
    console.log(`page result: ${JSON.stringify(result)}`);
    if (!result.ok) throw new Error(`page failed: ${result.error}`);
    if (result.vendor !== 'USBMS' || result.blocks !== 2048 || result.firmware !== 'FW 1.2.3' || result.sector0 !== 'usbms') {
      throw new Error(`unexpected page result ${JSON.stringify(result)}`);
    }
    if (errors.length > 0) throw new Error(errors.join('\n'));
  } finally {
    await browser.close();
    server.close();
  }
});

finish();

/** A static file server for the built page on a free localhost port (a secure context for WebUSB). */
function serveStatic(dir) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const file = join(dir, url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname));
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolveServer) => server.listen(0, '127.0.0.1', () => resolveServer(server)));
}
