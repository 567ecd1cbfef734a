// Files by concern: no source file in packages/*/src over 600 lines, tables of data excepted.
// DEBT lists the files that are still over the limit with their size when this test was written: they
// may shrink (then lower or remove the entry) but not grow, and no other file may cross the limit.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LIMIT = 600;
/** Tables of facts, not code: the generated quirk rules and the T10 ASC/ASCQ list. */
const TABLES = new Set(['packages/core/src/quirk-table.ts', 'packages/core/src/sense/asc-table.ts']);
/** Still to be split (issue 13, item 4): lines now; the limit for each until it is split. */
const DEBT: Record<string, number> = {};

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return /\.(ts|mts)$/.test(e.name) && !/\.test\.ts$/.test(e.name) ? [full] : [];
  });
}

describe('source file size', () => {
  const files = fs
    .readdirSync(path.join(ROOT, 'packages'))
    .flatMap((pkg) => (fs.existsSync(path.join(ROOT, 'packages', pkg, 'src')) ? sources(path.join(ROOT, 'packages', pkg, 'src')) : []));
  const lines = new Map(files.map((f) => [path.relative(ROOT, f).split(path.sep).join('/'), fs.readFileSync(f, 'utf8').split('\n').length - 1]));

  it(`no source file over ${LIMIT} lines (tables excepted), and the listed debt does not grow`, () => {
    const over: string[] = [];
    for (const [file, n] of lines) {
      if (TABLES.has(file)) continue;
      const allowed = DEBT[file] ?? LIMIT;
      if (n > allowed) over.push(`${file}: ${n} lines (limit ${allowed})`);
    }
    expect(over).toEqual([]);
  });

  it('every debt entry still exists and is still over the limit (remove it once split)', () => {
    for (const [file, recorded] of Object.entries(DEBT)) {
      const n = lines.get(file);
      expect(n, file).toBeDefined();
      expect(n, `${file} is split: remove it from DEBT`).toBeGreaterThan(LIMIT);
      expect(n).toBeLessThanOrEqual(recorded);
    }
  });
});
