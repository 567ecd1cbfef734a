#!/usr/bin/env node
// `pnpm run docs`: the API reference of @usbms/core, @usbms/core/sim, @usbms/node,
// @usbms/web and @usbms/web/fake, generated with TypeDoc (pinned as a
// devDependency of docs/package.json; it needs TypeScript 5.9's compiler API) into
// docs/api/ (git-ignored). Any warning fails the build (treatWarningsAsErrors):
// broken {@link}s, referenced but unexported types, undocumented exports,
// relative links to missing files, TypeScript errors in docs/examples. Exports are grouped by
// category (docs/typedoc-categories.mjs). Configuration: docs/typedoc.json.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'docs/package.json'));
const typedoc = join(dirname(require.resolve('typedoc/package.json')), 'bin/typedoc');
const started = Date.now();
const result = spawnSync(process.execPath, [typedoc, '--options', 'docs/typedoc.json', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (result.status !== 0) {
  console.error(`\nAPI reference FAILED (exit ${result.status ?? result.signal}, ${seconds} s): fix the warnings above.`);
  process.exit(result.status || 1);
}
console.log(`API reference: docs/api/index.html (${seconds} s)`);
