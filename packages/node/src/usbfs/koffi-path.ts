import { createRequire } from 'node:module';

/**
 * Where koffi's entry point is, for this process and for the reaper thread
 * (which loads it by path). One function, so a bundler setup that moves this
 * file away from node_modules can replace it (test/hil/bundle.ts does).
 */
export function resolveKoffi(): string {
  return createRequire(import.meta.url).resolve('koffi');
}
