/**
 * Per-device workarounds ("quirks"), matched by USB VID/PID (optionally a
 * bcdDevice range), by interface subclass, and by INQUIRY vendor/product.
 *
 * The built-in table holds a few devices documented in public sources
 * (Linux drivers/usb/storage/unusual_devs.h and drivers/scsi/scsi_devinfo.c),
 * written in our own form. Users extend it with `userRules`, which win over
 * the built-in rules.
 */

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
  /** Send READ CAPACITY(16) before (10) (Linux US_FL_NEEDS_CAP16). */
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
  /** Do not probe write protection with MODE SENSE; assume writable (Linux US_FL_NO_WP_DETECT). */
  noWriteProtectDetect: boolean;
  /** Do not send PREVENT ALLOW MEDIUM REMOVAL (Linux US_FL_NOT_LOCKABLE). */
  noPreventRemoval: boolean;
  /** Do not send REPORT LUNS (Linux US_FL_NO_REPORT_LUNS). */
  noReportLuns: boolean;
  /** Ask for only the 36-byte standard INQUIRY (Linux BLIST_INQUIRY_36). */
  inquiry36: boolean;
  /** Never ask for more than 18 bytes of sense data (Linux US_FL_BAD_SENSE). */
  senseLength18: boolean;
  /** Do not read VPD pages (many USB bridges hang on them; Linux skips them for USB by default). */
  noVpdPages: boolean;
}

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
}

/**
 * bInterfaceSubClass values the table uses (USB MSC Class Specification
 * Overview 1.4, §2). Not exported: @usbms/node publishes the full list.
 */
const Subclass = {
  Mmc5Atapi: 0x02,
  Ufi: 0x04,
  Sff8070i: 0x05,
} as const;

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
    inquiry36: false,
    senseLength18: false,
    noVpdPages: false,
  };
}

/** Sectors of 512 bytes, as Linux's US_FL_MAX_SECTORS_64 counts them. */
const MAX_64_SECTORS = 64 * 512;

/**
 * Built-in rules. Each entry cites where the behaviour is documented; the
 * IDs and ranges are facts from those public lists, the form is ours.
 */
export const BUILTIN_QUIRK_RULES: readonly QuirkRule[] = [
  {
    // UFI, SFF-8070i and ATAPI command sets are defined with 12-byte command
    // blocks and without most 6-byte commands (USB MSC UFI 1.0 §4; SFF-8070i §7).
    description: 'UFI floppy drives (subclass 0x04)',
    interfaceSubclass: Subclass.Ufi,
    quirks: { padCdbTo12: true, avoid6ByteCommands: true },
  },
  {
    description: 'SFF-8070i devices (subclass 0x05)',
    interfaceSubclass: Subclass.Sff8070i,
    quirks: { padCdbTo12: true, avoid6ByteCommands: true },
  },
  {
    description: 'MMC-5 / ATAPI devices (subclass 0x02)',
    interfaceSubclass: Subclass.Mmc5Atapi,
    quirks: { padCdbTo12: true, avoid6ByteCommands: true },
  },
  {
    // Linux unusual_devs.h: "VIA Technologies Inc." "Mitsumi multi cardreader", US_FL_IGNORE_RESIDUE.
    description: 'VIA/Mitsumi multi card reader',
    vendorId: 0x03ee,
    productId: 0x6906,
    bcdDeviceMin: 0x0003,
    bcdDeviceMax: 0x0003,
    quirks: { ignoreResidue: true },
  },
  {
    // Linux unusual_devs.h: "Tekom Technologies, Inc" "300_CAMERA", US_FL_IGNORE_RESIDUE.
    description: 'Tekom 300 camera',
    vendorId: 0x052b,
    productId: 0x1807,
    bcdDeviceMin: 0x0100,
    bcdDeviceMax: 0x0100,
    quirks: { ignoreResidue: true },
  },
  {
    // Linux unusual_devs.h: "NXP Semiconductors" "PN7462AU", US_FL_IGNORE_RESIDUE.
    description: 'NXP PN7462AU',
    vendorId: 0x1fc9,
    productId: 0x0117,
    bcdDeviceMin: 0x0100,
    bcdDeviceMax: 0x0100,
    quirks: { ignoreResidue: true },
  },
  {
    // Linux unusual_devs.h: "Yarvik" "PMP400", US_FL_BULK_IGNORE_TAG | US_FL_MAX_SECTORS_64.
    description: 'Yarvik PMP400 media player',
    vendorId: 0x177f,
    productId: 0x0400,
    bcdDeviceMin: 0x0000,
    bcdDeviceMax: 0x0000,
    quirks: { ignoreTag: true, maxTransferBytes: MAX_64_SECTORS },
  },
  {
    // Linux unusual_devs.h: "Coby Electronics" "MP3 Player", US_FL_BULK_IGNORE_TAG | US_FL_MAX_SECTORS_64.
    description: 'Coby MP3 player',
    vendorId: 0x1e74,
    productId: 0x4621,
    bcdDeviceMin: 0x0000,
    bcdDeviceMax: 0x0000,
    quirks: { ignoreTag: true, maxTransferBytes: MAX_64_SECTORS },
  },
  {
    // Linux unusual_devs.h: "Sony Corp." "MicroVault Flash Drive", US_FL_NO_READ_CAPACITY_16.
    description: 'Sony MicroVault flash drive',
    vendorId: 0x054c,
    productId: 0x02a5,
    bcdDeviceMin: 0x0100,
    bcdDeviceMax: 0x0100,
    quirks: { noReadCapacity16: true },
  },
  {
    // Linux unusual_devs.h: "LaCie" "Rugged FW USB3", US_FL_NO_READ_CAPACITY_16.
    description: 'LaCie Rugged FW USB3',
    vendorId: 0x059f,
    productId: 0x1061,
    bcdDeviceMin: 0x0002,
    bcdDeviceMax: 0x0002,
    quirks: { noReadCapacity16: true },
  },
  {
    // Linux unusual_devs.h: "SAMSUNG" "SFD-321U [FW 0C]" ("floppy reports multiple luns"), US_FL_SINGLE_LUN.
    description: 'Samsung SFD-321U USB floppy',
    vendorId: 0x055d,
    productId: 0x2020,
    bcdDeviceMin: 0x0000,
    bcdDeviceMax: 0x0210,
    quirks: { singleLun: true },
  },
  {
    // Linux unusual_devs.h: "ASMedia" "AS2105", US_FL_NEEDS_CAP16.
    description: 'ASMedia AS2105 bridge',
    vendorId: 0x174c,
    productId: 0x55aa,
    bcdDeviceMin: 0x0100,
    bcdDeviceMax: 0x0100,
    quirks: { readCapacity16First: true },
  },
  {
    // Linux drivers/scsi/scsi_devinfo.c: {"Generic", "USB SD Reader", "1.00"}, BLIST_INQUIRY_36.
    description: 'Generic USB SD Reader, revision 1.00',
    inquiryVendor: 'Generic',
    inquiryProduct: 'USB SD Reader',
    inquiryRevision: '1.00',
    quirks: { inquiry36: true },
  },
  {
    // Linux drivers/scsi/scsi_devinfo.c: {"Generic", "USB Storage-SMC"}, BLIST_INQUIRY_36.
    description: 'Generic USB Storage-SMC',
    inquiryVendor: 'Generic',
    inquiryProduct: 'USB Storage-SMC',
    quirks: { inquiry36: true },
  },
];

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
  const quirks = defaultQuirks();
  for (const rules of [BUILTIN_QUIRK_RULES, userRules]) {
    for (const rule of rules) {
      if (quirkRuleMatches(rule, input)) applyQuirks(quirks, rule.quirks);
    }
  }
  return quirks;
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
