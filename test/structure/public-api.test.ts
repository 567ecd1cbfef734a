// The public API is designed, not accumulated: each entry point of each package ("exports" in
// packages/*/package.json) lists its exports by name, and this test pins every list in
// public-api.json. A new export, a removal or a rename fails here until public-api.json is updated
// in the same change (and the CHANGELOG says so). `@usbms/core/internal` is pinned too: it is not
// public, but what @usbms/node and @usbms/web reach into is no accident either.
//
// The names come from each entry file's syntax (no `export *`, so the file is the list), and the
// values are checked against what the module really exports at run time.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PINNED = path.join(ROOT, 'test/structure/public-api.json');

interface EntryExports {
  values: string[];
  types: string[];
}

/** Every entry point: "@usbms/core/sim" -> packages/core/src/sim/index.ts (its "source" condition). */
function entryPoints(): Map<string, string> {
  const out = new Map<string, string>();
  for (const pkg of fs.readdirSync(path.join(ROOT, 'packages')).sort()) {
    const file = path.join(ROOT, 'packages', pkg, 'package.json');
    if (!fs.existsSync(file)) continue;
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as { name: string; exports?: Record<string, { source?: string }> };
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      if (target.source === undefined) throw new Error(`${manifest.name} ${subpath} has no "source" condition`);
      out.set(subpath === '.' ? manifest.name : `${manifest.name}/${subpath.replace(/^\.\//, '')}`, path.join(ROOT, 'packages', pkg, target.source));
    }
  }
  return out;
}

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

/** The names an entry file exports, split into values and types, from its syntax. */
function exportsOf(file: string): EntryExports & { starExports: string[] } {
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const values = new Set<string>();
  const types = new Set<string>();
  const starExports: string[] = [];
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      if (statement.exportClause === undefined || !ts.isNamedExports(statement.exportClause)) {
        starExports.push(statement.getText(source));
        continue;
      }
      for (const element of statement.exportClause.elements) {
        (statement.isTypeOnly || element.isTypeOnly ? types : values).add(element.name.text);
      }
    } else if (hasModifier(statement, ts.SyntaxKind.ExportKeyword)) {
      if (ts.isVariableStatement(statement)) {
        for (const d of statement.declarationList.declarations) if (ts.isIdentifier(d.name)) values.add(d.name.text);
      } else if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement)) {
        if (statement.name) values.add(statement.name.text);
      } else if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
        types.add(statement.name.text);
      } else {
        starExports.push(statement.getText(source).slice(0, 80));
      }
    }
  }
  // A name exported both as a value and as a type (`const X` + `type X`) counts once, as a value.
  for (const v of values) types.delete(v);
  return { values: [...values].sort(), types: [...types].sort(), starExports };
}

const pinned = JSON.parse(fs.readFileSync(PINNED, 'utf8')) as Record<string, EntryExports>;
const entries = entryPoints();

describe('public API', () => {
  it('pins every entry point of every package, and only those', () => {
    expect([...entries.keys()].sort()).toEqual(Object.keys(pinned).sort());
  });

  for (const [name, file] of entries) {
    describe(name, () => {
      const found = exportsOf(file);

      it('lists its exports by name (no `export *`)', () => {
        expect(found.starExports).toEqual([]);
      });

      it('exports exactly the pinned names (update test/structure/public-api.json and the CHANGELOG on purpose)', () => {
        expect({ values: found.values, types: found.types }).toEqual(pinned[name]);
      });

      it('exports the pinned values at run time', async () => {
        const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
        expect(Object.keys(mod).sort()).toEqual(pinned[name]?.values);
      });
    });
  }
});
