// ARCHITECTURE.md stays true to the tree: every repository path it names exists, and the route of a
// command names at most four files.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const doc = fs.readFileSync(path.join(ROOT, 'ARCHITECTURE.md'), 'utf8');
const PATH = /`((?:packages|test|docs|scripts|demo|bench)\/[^`\s]*)`/g;
const pathsIn = (text: string): string[] => [...text.matchAll(PATH)].map((m) => m[1] as string);

describe('ARCHITECTURE.md', () => {
  it('names paths that exist', () => {
    const paths = pathsIn(doc);
    expect(paths.length).toBeGreaterThan(15);
    const missing = paths.filter((p) => !fs.existsSync(path.join(ROOT, p)));
    expect(missing).toEqual([]);
  });

  it('routes a command from execute() to the wire through at most four files', () => {
    const route = doc.slice(doc.indexOf('## The route of a command'));
    expect(route.length).toBeLessThan(doc.length);
    const files = new Set(pathsIn(route));
    expect(files.size).toBeGreaterThanOrEqual(3);
    expect(files.size).toBeLessThanOrEqual(4);
    expect([...files][0]).toBe('packages/core/src/device.ts');
  });
});
