import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

const here = dirname(fileURLToPath(import.meta.url));
const demoDir = resolve(here, '../../demo');
const distDir = join(demoDir, 'dist');

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Builds the demo with Vite, then serves dist/ on a free localhost port (a secure context, as WebUSB needs). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const demo = await serveDemo();
  project.provide('baseUrl', demo.url);
  return demo.close;
}

/**
 * Builds the demo with Vite (unless USBMS_SKIP_DEMO_BUILD=1 and a build exists) and serves dist/ on a free
 * localhost port; also used by the HIL suite's browser test.
 */
export async function serveDemo(): Promise<{ url: string; close: () => Promise<void> }> {
  if (process.env.USBMS_SKIP_DEMO_BUILD !== '1' || !existsSync(join(distDir, 'index.html'))) {
    const require = createRequire(join(demoDir, 'package.json'));
    const viteBin = join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
    const r = spawnSync(process.execPath, [viteBin, 'build', '--logLevel', 'warn'], { cwd: demoDir, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`Building the demo failed (vite build exited with ${r.status})`);
  }
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let path = normalize(join(distDir, decodeURIComponent(url.pathname)));
    if (!path.startsWith(distDir)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'index.html');
    if (!existsSync(path)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(path).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, 'localhost', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://localhost:${port}/`, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}
