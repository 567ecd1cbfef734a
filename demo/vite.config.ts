import { defaultClientConditions, defineConfig } from 'vite';

/** Fixed port so the README's first command and the browser tests know where the tool is. */
export const DEMO_PORT = 5180;
export const PREVIEW_PORT = 5181;

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  // Workspace packages export their TypeScript sources under the "source" condition.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  server: { port: DEMO_PORT, strictPort: true, host: 'localhost' },
  preview: { port: PREVIEW_PORT, strictPort: true, host: 'localhost' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
});
