#!/usr/bin/env node
// Generates packages/core/src/quirk-table.ts, the built-in quirk rules, from a Linux source tree:
// the UNUSUAL_DEV entries of drivers/usb/storage/unusual_devs.h and the static list of
// drivers/scsi/scsi_devinfo.c whose flags map to a usbms quirk (docs/quirks.md is the mapping).
// Facts only (IDs, ranges, INQUIRY strings, which flags): the rules are written in our own form.
//
//   node scripts/quirks-from-linux.mjs /path/to/linux-source     (Debian: apt-get download linux-source-6.1)
//
// Entries are kept when at least one flag maps; flags that do not map are named in the rule's
// `source`. UNUSUAL_DEV entries for transports other than Bulk-Only (CB, CBI, vendor protocols) are
// skipped: usbms speaks BOT only.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'packages/core/src/quirk-table.ts');
const linux = process.argv[2];
if (!linux) {
  console.error('usage: node scripts/quirks-from-linux.mjs <linux source tree>');
  process.exit(2);
}
const read = (rel) => fs.readFileSync(path.join(linux, rel), 'latin1');
const makefile = read('Makefile');
const field = (name) => new RegExp(`^${name}\\s*=\\s*(\\S+)`, 'm').exec(makefile)?.[1] ?? '?';
const VERSION = `${field('VERSION')}.${field('PATCHLEVEL')}.${field('SUBLEVEL')}`;

/** US_FL_* -> quirk patch (docs/quirks.md lists the dropped ones and why). */
const US_FL = {
  SINGLE_LUN: { singleLun: true },
  FIX_CAPACITY: { fixCapacity: true },
  IGNORE_RESIDUE: { ignoreResidue: true },
  NOT_LOCKABLE: { noPreventRemoval: true },
  NO_WP_DETECT: { noWriteProtectDetect: true },
  MAX_SECTORS_64: { maxTransferBytes: 64 * 512 },
  // Linux: PAGE_SIZE / 512 sectors; 4 KiB pages on the common platforms.
  MAX_SECTORS_MIN: { maxTransferBytes: 4096 },
  MAX_SECTORS_240: { maxTransferBytes: 240 * 512 },
  BULK_IGNORE_TAG: { ignoreTag: true },
  NO_READ_CAPACITY_16: { noReadCapacity16: true },
  NEEDS_CAP16: { readCapacity16First: true },
  NO_REPORT_LUNS: { noReportLuns: true },
};
/** BLIST_* -> quirk patch. */
const BLIST = {
  NOLUN: { singleLun: true },
  NOREPORTLUN: { noReportLuns: true },
  NOT_LOCKABLE: { noPreventRemoval: true },
  SKIP_VPD_PAGES: { noVpdPages: true },
  MAX_512: { maxTransferBytes: 512 * 512 },
  MAX_1024: { maxTransferBytes: 1024 * 512 },
};
// USB_PR_* in Linux 6.x (US_PR_* in older releases).
const BOT_PROTOCOLS = new Set(['USB_PR_DEVICE', 'USB_PR_BULK', 'US_PR_DEVICE', 'US_PR_BULK']);

const stripComments = (text) => text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/.*$/gm, '');
const cString = (s) => s.replace(/\\"/g, '"');

function mapFlags(flags, table, prefix) {
  const quirks = {};
  const mapped = [];
  const dropped = [];
  for (const flag of flags) {
    const name = flag.startsWith(prefix) ? flag.slice(prefix.length) : flag;
    const patch = table[name];
    if (patch) {
      Object.assign(quirks, patch);
      mapped.push(flag);
    } else {
      dropped.push(flag);
    }
  }
  return { quirks, mapped, dropped };
}

// --- unusual_devs.h -------------------------------------------------------------------------------
const usb = [];
const unusual = stripComments(read('drivers/usb/storage/unusual_devs.h'));
const entry =
  /UNUSUAL_DEV\(\s*(0x[0-9a-fA-F]+)\s*,\s*(0x[0-9a-fA-F]+)\s*,\s*(0x[0-9a-fA-F]+)\s*,\s*(0x[0-9a-fA-F]+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*,\s*"((?:[^"\\]|\\.)*)"\s*,\s*(\w+)\s*,\s*(\w+)\s*,\s*(\w+)\s*,\s*([^)]*?)\s*\)/g;
for (const m of unusual.matchAll(entry)) {
  const [, vid, pid, lo, hi, vendor, product, , protocol, , flagText] = m;
  if (!BOT_PROTOCOLS.has(protocol)) continue;
  const flags = flagText
    .split('|')
    .map((f) => f.trim())
    .filter((f) => f !== '' && f !== '0');
  const { quirks, mapped, dropped } = mapFlags(flags, US_FL, 'US_FL_');
  if (mapped.length === 0) continue;
  usb.push({
    description: `${cString(vendor)} ${cString(product)}`.trim(),
    vendorId: Number.parseInt(vid, 16),
    productId: Number.parseInt(pid, 16),
    bcdDeviceMin: Number.parseInt(lo, 16),
    bcdDeviceMax: Number.parseInt(hi, 16),
    quirks,
    source: `Linux ${VERSION} unusual_devs.h: ${mapped.join(' | ')}${dropped.length ? ` (not mapped: ${dropped.join(' | ')})` : ''}`,
  });
}

// --- scsi_devinfo.c -------------------------------------------------------------------------------
const scsi = [];
const devinfo = stripComments(read('drivers/scsi/scsi_devinfo.c'));
const listStart = devinfo.indexOf('scsi_static_device_list[]');
const listEnd = devinfo.indexOf('{ NULL, NULL, NULL, 0 }', listStart);
const list = devinfo.slice(listStart, listEnd);
const row = /\{\s*"((?:[^"\\]|\\.)*)"\s*,\s*"((?:[^"\\]|\\.)*)"\s*,\s*(?:"(?:[^"\\]|\\.)*"|NULL)\s*,\s*([^}]*?)\s*\}/g;
for (const m of list.matchAll(row)) {
  const [, vendor, model, flagText] = m;
  const flags = flagText
    .split('|')
    .map((f) => f.trim())
    .filter((f) => f !== '' && f !== '0');
  const { quirks, mapped, dropped } = mapFlags(flags, BLIST, 'BLIST_');
  if (mapped.length === 0) continue;
  scsi.push({
    description: `${cString(vendor).trim()} ${cString(model).trim()}`.trim(),
    inquiryVendor: cString(vendor).trim(),
    // scsi_devinfo.c: the vendor must match exactly, the model is a prefix; the revision column is unused.
    inquiryProductPrefix: cString(model).trim(),
    quirks,
    source: `Linux ${VERSION} scsi_devinfo.c: ${mapped.join(' | ')}${dropped.length ? ` (not mapped: ${dropped.join(' | ')})` : ''}`,
  });
}

// --- output ---------------------------------------------------------------------------------------
const hex4 = (n) => `0x${n.toString(16).padStart(4, '0')}`;
const str = (s) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const regexEscape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const quirkText = (q) =>
  `{ ${Object.entries(q)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')} }`;

const lines = [];
lines.push(
  `// GENERATED by scripts/quirks-from-linux.mjs from Linux ${VERSION} (drivers/usb/storage/unusual_devs.h,`,
  '// drivers/scsi/scsi_devinfo.c): do not edit by hand; change the script or the hand-written rules in it.',
  '// Facts (IDs, bcdDevice ranges, INQUIRY strings, flags) in our own form; docs/quirks.md maps the flags.',
  "import { MscSubclass } from './bot/wire.js';",
  "import type { QuirkRule } from './quirks.js';",
  '',
  `/** The Linux release the generated rules come from. */`,
  `export const QUIRK_TABLE_LINUX_VERSION = '${VERSION}';`,
  '',
  '/**',
  ' * Built-in rules, applied in this order (later rules win for a flag both set): the command-set rules by',
  ' * interface subclass, then the USB IDs of unusual_devs.h, then the INQUIRY strings of scsi_devinfo.c.',
  ' */',
  'export const BUILTIN_QUIRK_RULES: readonly QuirkRule[] = [',
  '  // UFI, SFF-8070i and ATAPI command sets are defined with 12-byte command blocks and without most',
  '  // 6-byte commands (USB MSC UFI 1.0 §4; SFF-8070i §7).',
  "  { description: 'UFI floppy drives (subclass 0x04)', interfaceSubclass: MscSubclass.Ufi, quirks: { padCdbTo12: true, avoid6ByteCommands: true } },",
  "  { description: 'SFF-8070i devices (subclass 0x05)', interfaceSubclass: MscSubclass.Sff8070i, quirks: { padCdbTo12: true, avoid6ByteCommands: true } },",
  "  { description: 'MMC-5 / ATAPI devices (subclass 0x02)', interfaceSubclass: MscSubclass.Mmc5, quirks: { padCdbTo12: true, avoid6ByteCommands: true } },",
);
for (const r of usb) {
  lines.push(
    `  { description: ${str(r.description)}, vendorId: ${hex4(r.vendorId)}, productId: ${hex4(r.productId)}, bcdDeviceMin: ${hex4(r.bcdDeviceMin)}, bcdDeviceMax: ${hex4(r.bcdDeviceMax)}, quirks: ${quirkText(r.quirks)}, source: ${str(r.source)} },`,
  );
}
for (const r of scsi) {
  lines.push(
    `  { description: ${str(r.description)}, inquiryVendor: ${str(r.inquiryVendor)}, inquiryProduct: /^${regexEscape(r.inquiryProductPrefix)}/, quirks: ${quirkText(r.quirks)}, source: ${str(r.source)} },`,
  );
}
lines.push('];', '');
fs.writeFileSync(OUT, lines.join('\n'));
console.log(`${path.relative(ROOT, OUT)}: ${usb.length} unusual_devs.h rules, ${scsi.length} scsi_devinfo.c rules (Linux ${VERSION})`);
