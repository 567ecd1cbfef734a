/**
 * The one place for the numbers of the USB Mass Storage wire: the CBW/CSW layout (USB MSC BOT 1.0 §5.1,
 * §5.2), the Bulk-Only class requests (BOT 1.0 §3.1, §3.2) and the interface class, subclass and protocol
 * codes (USB MSC Overview 1.4 §2, §3). The engine, the wrappers codec, the simulator and the node and web
 * adapters import them from here; test/layout.test.ts fails if these values are written anywhere else in
 * packages/{core,node,web}/src.
 */

/** BOT 1.0 §5.1: the Command Block Wrapper is exactly 31 bytes. */
export const CBW_LENGTH = 31;
/** BOT 1.0 §5.2: the Command Status Wrapper is exactly 13 bytes. */
export const CSW_LENGTH = 13;
/** dCBWSignature "USBC" (bytes 55 53 42 43), read little-endian. */
export const CBW_SIGNATURE = 0x43425355;
/** dCSWSignature "USBS" (bytes 55 53 42 53), read little-endian. */
export const CSW_SIGNATURE = 0x53425355;
/** The longest CBWCB (command block) a CBW carries: bCBWCBLength 1-16 (BOT 1.0 §5.1). */
export const CBW_MAX_CDB_LENGTH = 16;

/** Byte offsets of the CBW fields (BOT 1.0 §5.1, table 5.1). Multi-byte fields are little-endian. */
export const CbwOffset = {
  /** dCBWSignature, 4 bytes. */
  signature: 0,
  /** dCBWTag, 4 bytes: echoed in the CSW. */
  tag: 4,
  /** dCBWDataTransferLength, 4 bytes. */
  dataTransferLength: 8,
  /** bmCBWFlags: bit 7 = direction (1 = data-in), bits 0-6 reserved. */
  flags: 12,
  /** bCBWLUN: bits 0-3, upper nibble reserved. */
  lun: 13,
  /** bCBWCBLength: bits 0-4 (1-16), upper 3 bits reserved. */
  cdbLength: 14,
  /** CBWCB: the command block, 16 bytes (zero-padded after bCBWCBLength). */
  cdb: 15,
} as const;

/** Byte offsets of the CSW fields (BOT 1.0 §5.2, table 5.2). Multi-byte fields are little-endian. */
export const CswOffset = {
  /** dCSWSignature, 4 bytes. */
  signature: 0,
  /** dCSWTag, 4 bytes: the dCBWTag of the command. */
  tag: 4,
  /** dCSWDataResidue, 4 bytes. */
  residue: 8,
  /** bCSWStatus, 1 byte. */
  status: 12,
} as const;

/** bmCBWFlags bit 7: the data stage is device-to-host (BOT 1.0 §5.1). */
export const CBW_FLAG_DATA_IN = 0x80;

/** bCSWStatus values (BOT 1.0 §5.2, table 5.3). */
export const CswStatus = {
  Passed: 0,
  Failed: 1,
  PhaseError: 2,
} as const;
export type CswStatus = (typeof CswStatus)[keyof typeof CswStatus];

// The layout adds up (TinyUSB's msc.h asserts the same at compile time): a change to one offset that
// breaks the others fails when the module loads, before any byte is sent.
if (CbwOffset.cdb + CBW_MAX_CDB_LENGTH !== CBW_LENGTH || CswOffset.status + 1 !== CSW_LENGTH) {
  throw new Error('usbms: the CBW/CSW layout does not add up to 31/13 bytes');
}

/**
 * Bulk-Only class-specific requests (BOT 1.0 §3): bmRequestType class/interface, wIndex = interface.
 * Get Max LUN: device-to-host, wValue 0, wLength 1. Bulk-Only Mass Storage Reset: host-to-device,
 * wValue 0, wLength 0.
 */
export const BotRequest = {
  /** Bulk-Only Mass Storage Reset (BOT 1.0 §3.1). */
  Reset: 0xff,
  /** Get Max LUN (BOT 1.0 §3.2). */
  GetMaxLun: 0xfe,
} as const;
export type BotRequest = (typeof BotRequest)[keyof typeof BotRequest];

/** bInterfaceClass 0x08: Mass Storage (usb.org Defined Class Codes; MSC Overview 1.4 §2). */
export const MSC_CLASS = 0x08;
/** bInterfaceClass 0xFF: vendor specific; some devices speak Bulk-Only Transport on such an interface. */
export const VENDOR_CLASS = 0xff;

/**
 * bInterfaceSubClass codes of the mass-storage class: the command set (USB MSC Overview 1.4 §2, Table 1).
 */
export const MscSubclass = {
  Rbc: 0x01,
  Mmc5: 0x02,
  Qic157: 0x03,
  Ufi: 0x04,
  Sff8070i: 0x05,
  ScsiTransparent: 0x06,
  LsdFs: 0x07,
  Ieee1667: 0x08,
  Vendor: 0xff,
} as const;

/**
 * bInterfaceProtocol codes of the mass-storage class: the transport (USB MSC Overview 1.4 §3, Table 2).
 * usbms drives 0x50 Bulk-Only (BBB); CBI and UAS interfaces are listed but not supported.
 */
export const MscProtocol = {
  CbiWithInterrupt: 0x00,
  CbiNoInterrupt: 0x01,
  BulkOnly: 0x50,
  Uas: 0x62,
  Vendor: 0xff,
} as const;

/**
 * bcdDevice from the three numbers WebUSB and node-usb report (`deviceVersionMajor/Minor/Subminor`),
 * which Chromium and node-usb split as bcdDevice >> 8, (>> 4) & 0xF and & 0xF (USB 2.0 §9.6.1).
 */
export function bcdFromVersion(major: number, minor: number, subminor: number): number {
  return ((major & 0xff) << 8) | ((minor & 0x0f) << 4) | (subminor & 0x0f);
}

/** A 16-bit USB ID (idVendor, idProduct, bcdDevice) as 4 lowercase hex digits, e.g. "0781". */
export function hex4(n: number): string {
  return (n & 0xffff).toString(16).padStart(4, '0');
}

/** Little-endian 32-bit field of a wrapper (BOT 1.0 §5.1, §5.2: CBW and CSW fields are little-endian), without a DataView (hot path, any byteOffset). */
export function u32le(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) | ((b[o + 1] ?? 0) << 8) | ((b[o + 2] ?? 0) << 16) | ((b[o + 3] ?? 0) << 24)) >>> 0;
}
