// "One fact, one place" for the numbers of the USB Mass Storage wire: the CBW/CSW signatures, the
// Bulk-Only class request codes and the interface class/subclass/protocol codes are written in
// packages/core/src/bot/wire.ts and nowhere else in the packages' sources.
//
// Scope (a choice, documented here): every non-test source file under packages/*/src, test helpers
// included (testing/, sim/test-util.ts ship in src and must import the constants). Test files
// (*.test.ts) are excluded: golden-byte tests write the spec's numbers independently, so a wrong
// constant cannot agree with itself. Comments are stripped before scanning (they may cite the spec's
// values); string literals are scanned, except the class-code rules, which look at field names.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OWNER = 'packages/core/src/bot/wire.ts';

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !/\.test\.(ts|mts|js|mjs)$/.test(entry.name)) out.push(full);
  }
  return out;
}

/** Removes block comments and line comments (a `//` at the line start or after whitespace, so URLs stay). */
export function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/(^|\s)\/\/.*$/gm, '$1');
}

const CLASS_FIELD = '(?:interfaceClass|interfaceSubclass|interfaceProtocol|deviceClass|deviceSubclass|deviceProtocol|classCode|subclassCode|protocolCode)';
const HEX_BYTE = '0x[0-9a-fA-F]{1,2}\\b';

/** What may not appear outside the owner, with why. */
export const RULES: Array<{ fact: string; pattern: RegExp }> = [
  { fact: 'CBW/CSW signature (BOT 1.0 §5.1, §5.2)', pattern: /0x[45]3425355\b/i },
  { fact: 'Get Max LUN request code 0xFE (BOT 1.0 §3.2)', pattern: /\b0xfe\b/i },
  { fact: 'Bulk-Only Mass Storage Reset request code 0xFF (BOT 1.0 §3.1)', pattern: /\b(?:b?request|reset)\w*\s*(?::|=|===|!==|==|!=|\?\?)\s*0xff\b/i },
  { fact: 'a class request code given a name outside the owner', pattern: /\b\w*(?:MAX_LUN|RESET)\w*\s*=\s*0x[0-9a-f]+/i },
  {
    fact: 'an interface class/subclass/protocol code as a literal',
    pattern: new RegExp(`\\b${CLASS_FIELD}\\b\\s*(?::|=|===|!==|==|!=|\\?\\?)\\s*${HEX_BYTE}`),
  },
  { fact: 'an interface class/subclass/protocol code as a literal', pattern: new RegExp(`${HEX_BYTE}\\s*(?:===|!==|==|!=)\\s*[\\w.?]*${CLASS_FIELD}\\b`) },
  { fact: 'a class/protocol code given a name outside the owner', pattern: /\b\w*(?:_CLASS|_PROTOCOL|_SUBCLASS)\s*=\s*0x[0-9a-f]+/i },
];

function violations(text: string): string[] {
  const found: string[] = [];
  stripComments(text)
    .split('\n')
    .forEach((line, i) => {
      for (const rule of RULES) if (rule.pattern.test(line)) found.push(`line ${i + 1}: ${rule.fact}: ${line.trim()}`);
    });
  return found;
}

describe('the wire numbers live in one module', () => {
  const files = ['core', 'node', 'web'].flatMap((pkg) => sourceFiles(path.join(ROOT, 'packages', pkg, 'src')));

  it('scans the sources of every package', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files.map((f) => path.relative(ROOT, f))).toContain(OWNER);
  });

  it(`no source file outside ${OWNER} writes them`, () => {
    const offenders: string[] = [];
    for (const file of files) {
      const rel = path.relative(ROOT, file).split(path.sep).join('/');
      if (rel === OWNER) continue;
      for (const v of violations(fs.readFileSync(file, 'utf8'))) offenders.push(`${rel} ${v}`);
    }
    expect(offenders).toEqual([]);
  });

  it('the owner holds every one of them (so the rules look for the right text)', () => {
    const owner = fs.readFileSync(path.join(ROOT, OWNER), 'utf8');
    for (const literal of ['0x43425355', '0x53425355', '0xfe', '0xff', 'MSC_CLASS = 0x08', 'ScsiTransparent: 0x06', 'BulkOnly: 0x50']) {
      expect(owner).toContain(literal);
    }
  });

  it('the rules catch each fact when written elsewhere (they can fail)', () => {
    const planted = [
      'const SIG = 0x53425355;',
      'view.setUint32(0, 0x43425355, true);',
      'request: 0xfe,',
      'const BULK_ONLY_RESET = 0xff;',
      'bRequest: 0xff,',
      'interfaceClass: a.interfaceClass ?? 0x08,',
      'if (alt.interfaceProtocol === 0x50) kind = "bot";',
      'if (0x08 === alt.interfaceClass) kind = "msc";',
      'export const BOT_PROTOCOL = 0x50;',
      'interfaceSubclass: 0x06,',
    ];
    for (const line of planted) expect(violations(line), line).not.toEqual([]);
    // Ordinary byte arithmetic and SCSI opcodes stay allowed.
    for (const line of ['out[i] = value & 0xff;', 'Read6: 0x08,', 'XdWrite10: 0x50,', '// Get Max LUN (0xFE)', '/* CSW 0x53425355 */ x = 1;']) {
      expect(violations(line), line).toEqual([]);
    }
  });
});
