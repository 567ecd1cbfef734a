// Bundles a TypeScript guest script (and the workspace packages it imports, through their "source"
// condition) into one ESM file on the host. Loading the TypeScript sources through tsx inside the guest
// costs ~45 s per process under TCG (esbuild and hundreds of module loads, emulated); a bundle built here
// in ~0.1 s loads in about a second there. node-usb stays external (native binding), imported by its
// absolute path so the bundle works from any folder.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { HIL_DIR, REPO_ROOT } from './runner.js';

interface EsbuildPlugin {
  name: string;
  setup(build: {
    onResolve(options: { filter: RegExp }, callback: (args: { path: string }) => { path: string; external: boolean }): void;
    onLoad(options: { filter: RegExp }, callback: (args: { path: string }) => { contents: string; loader: 'ts' }): void;
  }): void;
}
interface Esbuild {
  build(options: {
    entryPoints: string[];
    outfile: string;
    bundle: boolean;
    platform: 'node';
    format: 'esm';
    target: string;
    conditions: string[];
    sourcemap: 'inline' | boolean;
    logLevel: 'error';
    plugins: EsbuildPlugin[];
    banner: { js: string };
  }): Promise<unknown>;
}

// esbuild comes with tsx (a root dev dependency); this folder has no package.json of its own.
const requireFromTsx = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
const esbuild = requireFromTsx('esbuild') as Esbuild;

// `usb` and `koffi` are dependencies of packages/node only.
const usbEntry = createRequire(path.join(REPO_ROOT, 'packages/node/package.json')).resolve('usb');
const koffiEntry = createRequire(path.join(REPO_ROOT, 'packages/node/package.json')).resolve('koffi');

export const BUNDLE_DIR = path.join(process.env.HIL_CACHE_DIR ?? path.join(HIL_DIR, '.cache'), 'bundles');

/** Builds `entry` (absolute or repo-relative) into .cache/bundles/<name>.mjs and returns that path. */
export async function bundleForGuest(entry: string, name: string): Promise<string> {
  fs.mkdirSync(BUNDLE_DIR, { recursive: true });
  const outfile = path.join(BUNDLE_DIR, `${name}.mjs`);
  await esbuild.build({
    entryPoints: [path.resolve(REPO_ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['source'],
    // Beside the bundle (<name>.mjs.map), not inline: an inline map nearly quadruples the file every
    // guest process reads and compiles (the CLI bundle: 3.9 MB against 1.1 MB). `--enable-source-maps`
    // finds it through the sourceMappingURL comment.
    sourcemap: true,
    logLevel: 'error',
    plugins: [
      {
        name: 'usb-external',
        setup(build) {
          build.onResolve({ filter: /^usb$/ }, () => ({ path: usbEntry, external: true }));
        },
      },
      {
        // The usbfs backend loads koffi (native) by path, in this thread and in its reaper thread.
        name: 'koffi-path',
        setup(build) {
          build.onLoad({ filter: /usbfs[\\/]koffi-path\.ts$/ }, () => ({
            contents: `export function resolveKoffi(): string { return ${JSON.stringify(koffiEntry)}; }`,
            loader: 'ts',
          }));
        },
      },
    ],
    // CommonJS dependencies bundled into ESM (commander, cli-progress) call require() for built-ins.
    banner: { js: "import { createRequire as __hilCreateRequire } from 'node:module'; const require = __hilCreateRequire(import.meta.url);" },
  });
  return outfile;
}
