/**
 * Per-device workarounds ("quirks"), matched by USB VID/PID (optionally a
 * bcdDevice range), by interface subclass, and by INQUIRY vendor, product and
 * revision (rules with INQUIRY criteria match once LUN 0 answered INQUIRY).
 *
 * The built-in table (quirk-table.ts) holds devices documented in public
 * sources (Linux drivers/usb/storage/unusual_devs.h and
 * drivers/scsi/scsi_devinfo.c), written in our own form; docs/quirks.md maps
 * every Linux flag to a key here or says why it is dropped. Users extend it
 * with the `quirkRules` option of `MscDevice.open`, which win over the
 * built-in rules, and override single flags with the `quirks` option.
 *
 * Every key acts at one point of use, named in its comment; quirks.sim.test.ts
 * shows each one changing what is sent to a simulated device.
 */

import { hex4 } from './bot/wire.js';
import { BUILTIN_QUIRK_RULES } from './quirk-table.js';

export { BUILTIN_QUIRK_RULES } from './quirk-table.js';

/** The workaround flags of one device: `defaultQuirks()` is a well-behaved device; docs/quirks.md maps each to Linux's flags. */
export interface Quirks {
  /** Ignore dCSWDataResidue; only what was really transferred counts (Linux US_FL_IGNORE_RESIDUE). */
  ignoreResidue: boolean;
  /** Do not check the CSW tag against the CBW tag (Linux US_FL_BULK_IGNORE_TAG). */
  ignoreTag: boolean;
  /** Do not send Get Max LUN; only LUN 0 exists (Linux US_FL_SINGLE_LUN). */
  singleLun: boolean;
  /** Largest data stage of one READ/WRITE, in bytes (Linux US_FL_MAX_SECTORS_64 = 64 x 512 = 32 KiB). */
  maxTransferBytes?: number;
  /** Never send READ CAPACITY(16) (Linux US_FL_NO_READ_CAPACITY_16). */
  noReadCapacity16: boolean;
  /** Send READ CAPACITY(16) first, (10) only if it fails (Linux US_FL_NEEDS_CAP16). Used by `LogicalUnit.readCapacity`. */
  readCapacity16First: boolean;
  /**
   * Pad every CDB to 12 bytes. UFI (USB Floppy Interface, subclass 0x04),
   * SFF-8070i (0x05) and MMC-5/ATAPI (0x02) devices expect 12-byte command blocks.
   */
  padCdbTo12: boolean;
  /** Use the 10-byte forms (MODE SENSE(10), READ(10), ...) instead of 6-byte ones; the same subclasses lack them. */
  avoid6ByteCommands: boolean;
  /** Do not send SYNCHRONIZE CACHE (devices that hang or fail on it). */
  noSynchronizeCache: boolean;
  /** READ CAPACITY reports the block count instead of the last LBA; subtract one (Linux US_FL_FIX_CAPACITY). */
  fixCapacity: boolean;
  /**
   * Do not probe write protection with MODE SENSE; assume writable (Linux US_FL_NO_WP_DETECT).
   * Used by `LogicalUnit.isWriteProtected`.
   */
  noWriteProtectDetect: boolean;
  /**
   * Do not send PREVENT ALLOW MEDIUM REMOVAL (Linux US_FL_NOT_LOCKABLE). Used by `LogicalUnit.eject`
   * (skipped) and `LogicalUnit.preventRemoval` (refused with UnsupportedError, nothing sent).
   */
  noPreventRemoval: boolean;
  /** Do not send REPORT LUNS (Linux US_FL_NO_REPORT_LUNS): `LogicalUnit.reportLuns` refuses with UnsupportedError, nothing sent. */
  noReportLuns: boolean;
  /**
   * Do not read VPD pages (devices that hang on INQUIRY with EVPD; Linux BLIST_SKIP_VPD_PAGES): the VPD
   * methods of `LogicalUnit` refuse with UnsupportedError (nothing sent) and `readBlockLimits` at open is skipped.
   */
  noVpdPages: boolean;
}

/**
 * Every key of {@link Quirks}, for code that enumerates them (the per-key tests do). The
 * type check below fails to compile when a key is added to `Quirks` and not here.
 */
export const QUIRK_KEYS = [
  'ignoreResidue',
  'ignoreTag',
  'singleLun',
  'maxTransferBytes',
  'noReadCapacity16',
  'readCapacity16First',
  'padCdbTo12',
  'avoid6ByteCommands',
  'noSynchronizeCache',
  'fixCapacity',
  'noWriteProtectDetect',
  'noPreventRemoval',
  'noReportLuns',
  'noVpdPages',
] as const satisfies readonly (keyof Quirks)[];
type MissingQuirkKey = Exclude<keyof Quirks, (typeof QUIRK_KEYS)[number]>;
const everyQuirkKeyListed: [MissingQuirkKey] extends [never] ? true : MissingQuirkKey = true;
void everyQuirkKeyListed;

/** What is known about a device when quirks are resolved. INQUIRY fields arrive after the first INQUIRY. */
export interface QuirkMatchInput {
  vendorId?: number;
  productId?: number;
  /** bcdDevice (device release number). */
  bcdDevice?: number;
  /** bInterfaceSubClass. */
  interfaceSubclass?: number;
  /** INQUIRY T10 vendor identification (8 characters, padding allowed). */
  inquiryVendor?: string;
  /** INQUIRY product identification (16 characters, padding allowed). */
  inquiryProduct?: string;
  /** INQUIRY product revision level (4 characters). */
  inquiryRevision?: string;
}

/**
 * One rule: every criterion given must match; a rule without criteria never
 * matches. Strings compare case-insensitively after trimming padding;
 * a RegExp is tested against the trimmed text.
 */
export interface QuirkRule {
  /** Who/what this is, and where the workaround is documented. */
  description?: string;
  vendorId?: number;
  productId?: number;
  /**
   * Inclusive bcdDevice range. When the platform does not report bcdDevice the
   * range is not checked (the quirks in the table are harmless on other firmware).
   */
  bcdDeviceMin?: number;
  bcdDeviceMax?: number;
  interfaceSubclass?: number;
  inquiryVendor?: string | RegExp;
  inquiryProduct?: string | RegExp;
  inquiryRevision?: string | RegExp;
  quirks: Partial<Quirks>;
  /** Where the facts come from, e.g. "Linux 6.12 drivers/usb/storage/unusual_devs.h (US_FL_IGNORE_RESIDUE)". */
  source?: string;
}

/** No quirks: a well-behaved SCSI transparent-command-set device. */
export function defaultQuirks(): Quirks {
  return {
    ignoreResidue: false,
    ignoreTag: false,
    singleLun: false,
    noReadCapacity16: false,
    readCapacity16First: false,
    padCdbTo12: false,
    avoid6ByteCommands: false,
    noSynchronizeCache: false,
    fixCapacity: false,
    noWriteProtectDetect: false,
    noPreventRemoval: false,
    noReportLuns: false,
    noVpdPages: false,
  };
}

function textMatches(pattern: string | RegExp | undefined, value: string | undefined): boolean {
  if (pattern === undefined) return true;
  if (value === undefined) return false;
  const text = value.trim();
  if (typeof pattern === 'string') return pattern.trim().toLowerCase() === text.toLowerCase();
  pattern.lastIndex = 0; // a global/sticky RegExp must not carry state between devices
  return pattern.test(text);
}

function numberMatches(expected: number | undefined, value: number | undefined): boolean {
  return expected === undefined || expected === value;
}

/** True when every criterion of `rule` matches `input` (and the rule has at least one). */
export function quirkRuleMatches(rule: QuirkRule, input: QuirkMatchInput): boolean {
  const hasCriteria =
    rule.vendorId !== undefined ||
    rule.productId !== undefined ||
    rule.bcdDeviceMin !== undefined ||
    rule.bcdDeviceMax !== undefined ||
    rule.interfaceSubclass !== undefined ||
    rule.inquiryVendor !== undefined ||
    rule.inquiryProduct !== undefined ||
    rule.inquiryRevision !== undefined;
  if (!hasCriteria) return false;
  if (!numberMatches(rule.vendorId, input.vendorId)) return false;
  if (!numberMatches(rule.productId, input.productId)) return false;
  if (input.bcdDevice !== undefined) {
    if (rule.bcdDeviceMin !== undefined && input.bcdDevice < rule.bcdDeviceMin) return false;
    if (rule.bcdDeviceMax !== undefined && input.bcdDevice > rule.bcdDeviceMax) return false;
  }
  if (!numberMatches(rule.interfaceSubclass, input.interfaceSubclass)) return false;
  return (
    textMatches(rule.inquiryVendor, input.inquiryVendor) &&
    textMatches(rule.inquiryProduct, input.inquiryProduct) &&
    textMatches(rule.inquiryRevision, input.inquiryRevision)
  );
}

/**
 * The quirks for a device: defaults, then every matching built-in rule in
 * table order, then every matching user rule (so user rules win). Returns a
 * fresh object the caller may modify.
 *
 * @example
 * const quirks = resolveQuirks({ vendorId: 0x1e74, productId: 0x4621, bcdDevice: 0 },
 *   [{ vendorId: 0x1234, productId: 0x5678, quirks: { noSynchronizeCache: true } }]);
 */
export function resolveQuirks(input: QuirkMatchInput, userRules: readonly QuirkRule[] = []): Quirks {
  return matchQuirks(input, userRules).quirks;
}

/** What {@link matchQuirks} found: the resolved flags and the rules that matched, in the order applied. */
export interface QuirkMatch {
  quirks: Quirks;
  /** Matching built-in rules, then matching user rules. */
  rules: QuirkRule[];
}

/** Like {@link resolveQuirks}, and also says which rules matched (for traces and `--verbose`). */
export function matchQuirks(input: QuirkMatchInput, userRules: readonly QuirkRule[] = []): QuirkMatch {
  const quirks = defaultQuirks();
  const rules: QuirkRule[] = [];
  for (const table of [BUILTIN_QUIRK_RULES, userRules]) {
    for (const rule of table) {
      if (!quirkRuleMatches(rule, input)) continue;
      applyQuirks(quirks, rule.quirks);
      rules.push(rule);
    }
  }
  return { quirks, rules };
}

/** A rule in one line for traces and logs: its description (or criteria) and source. */
export function describeQuirkRule(rule: QuirkRule): string {
  const criteria: string[] = [];
  if (rule.vendorId !== undefined) criteria.push(`${hex4(rule.vendorId)}:${rule.productId === undefined ? '*' : hex4(rule.productId)}`);
  if (rule.bcdDeviceMin !== undefined || rule.bcdDeviceMax !== undefined) {
    criteria.push(`bcdDevice ${hex4(rule.bcdDeviceMin ?? 0)}-${hex4(rule.bcdDeviceMax ?? 0xffff)}`);
  }
  if (rule.interfaceSubclass !== undefined) criteria.push(`subclass 0x${rule.interfaceSubclass.toString(16).padStart(2, '0')}`);
  for (const [name, value] of [
    ['vendor', rule.inquiryVendor],
    ['product', rule.inquiryProduct],
    ['revision', rule.inquiryRevision],
  ] as const) {
    if (value !== undefined) criteria.push(`${name} ${String(value)}`);
  }
  const flags = Object.entries(rule.quirks)
    .filter(([, v]) => v !== undefined && v !== false)
    .map(([k, v]) => (v === true ? k : `${k}=${String(v)}`));
  return `${rule.description ?? criteria.join(' ')} [${criteria.join(', ')}] -> ${flags.join(', ')}${rule.source ? ` (${rule.source})` : ''}`;
}

/** Copies the flags that are set in `patch` onto `quirks` (undefined entries are skipped). */
function applyQuirks(quirks: Quirks, patch: Partial<Quirks>): void {
  for (const key of Object.keys(patch) as (keyof Quirks)[]) {
    const value = patch[key];
    if (value === undefined) continue;
    if (key === 'maxTransferBytes') {
      if (typeof value === 'number' && Number.isInteger(value) && value > 0) quirks.maxTransferBytes = value;
    } else if (typeof value === 'boolean') {
      quirks[key] = value;
    }
  }
}
