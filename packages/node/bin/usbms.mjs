#!/usr/bin/env node
// usbms CLI entry point.
// - Published package: runs the compiled dist/cli/run.js.
// - Inside the workspace (no dist yet): runs the TypeScript sources through
//   tsx, resolving workspace packages through their "source" export condition
//   (the same as `node --conditions=source --import tsx`), in this process, so
//   signals such as Ctrl-C reach the CLI directly.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const dist = new URL('../dist/cli/run.js', import.meta.url);
// USBMS_FROM_SOURCE=1 forces the sources inside the workspace (tests set it, so a stale dist/ is never tested).
if (existsSync(dist) && process.env.USBMS_FROM_SOURCE !== '1') {
  await import(dist.href);
} else {
  const conditionsHook =
    'data:text/javascript,' +
    encodeURIComponent(
      'export async function resolve(specifier, context, next) {' +
        " return next(specifier, { ...context, conditions: [...new Set([...context.conditions, 'source'])] }); }",
    );
  const tsx = await import('tsx/esm/api');
  tsx.register();
  register(conditionsHook);
  await import(new URL('../src/cli/run.ts', import.meta.url).href);
}
