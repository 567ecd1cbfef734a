// The mass-storage interfaces of a USB configuration, as both adapters' discovery records describe
// them (@usbms/node's listDevices, @usbms/web's listDevices/describeDevice): one description from the
// class codes and endpoints that node-usb 3 and WebUSB report in the same (WebUSB) shape.
import { MSC_CLASS, MscProtocol, MscSubclass, VENDOR_CLASS } from './bot/wire.js';

/** The slice of a WebUSB `USBAlternateInterface` (node-usb 3 reports the same) that the description reads. */
export interface MscAlternateLike {
  readonly alternateSetting: number;
  readonly interfaceClass: number;
  readonly interfaceSubclass: number;
  readonly interfaceProtocol: number;
  readonly endpoints: readonly { readonly endpointNumber: number; readonly direction: 'in' | 'out'; readonly type: string; readonly packetSize: number }[];
}

/** The slice of a WebUSB `USBConfiguration` that the description reads. */
export interface MscConfigurationLike {
  readonly interfaces: readonly { readonly interfaceNumber: number; readonly alternate: MscAlternateLike; readonly alternates: readonly MscAlternateLike[] }[];
}

const SUBCLASS_NAMES: Record<number, string> = {
  [MscSubclass.Rbc]: 'RBC',
  [MscSubclass.Mmc5]: 'MMC-5 (ATAPI)',
  [MscSubclass.Qic157]: 'QIC-157 (obsolete)',
  [MscSubclass.Ufi]: 'UFI',
  [MscSubclass.Sff8070i]: 'SFF-8070i',
  [MscSubclass.ScsiTransparent]: 'SCSI transparent',
  [MscSubclass.LsdFs]: 'LSD FS',
  [MscSubclass.Ieee1667]: 'IEEE 1667',
  [MscSubclass.Vendor]: 'vendor-specific',
};

/** A bulk endpoint of an alternate setting. */
export interface BulkEndpointInfo {
  /** Endpoint number (1-15), as node-usb/WebUSB transfer calls take it. */
  endpointNumber: number;
  /** bEndpointAddress, with the direction bit (0x81, 0x02, ...). */
  address: number;
  packetSize: number;
}

/**
 * The transport of an alternate setting, from its class and protocol codes:
 * `bot` class 0x08 protocol 0x50, `uas` protocol 0x62, `cbi` protocol 0x00 or
 * 0x01, `vendor` a vendor-class interface named by the caller, `other` anything else.
 */
export type AlternateKind = 'bot' | 'uas' | 'cbi' | 'vendor' | 'other';

/** One alternate setting of a mass-storage interface: its class codes and bulk endpoints. */
export interface MscAlternateInfo {
  alternateSetting: number;
  interfaceClass: number;
  interfaceSubclass: number;
  interfaceProtocol: number;
  /** 'bot' for class 0x08 protocol 0x50, or a vendor-class interface the caller named. */
  kind: AlternateKind;
  subclassName: string;
  bulkIn?: BulkEndpointInfo;
  bulkOut?: BulkEndpointInfo;
}

/** One mass-storage interface of a device, and whether usbms can drive it. */
export interface MscInterfaceInfo {
  interfaceNumber: number;
  alternates: MscAlternateInfo[];
  /** The alternate setting that speaks Bulk-Only with both bulk endpoints, if any. */
  botAlternate?: number;
  /** The alternate setting that speaks UAS, if any (listed, not supported). */
  uasAlternate?: number;
  /** True when usbms can drive it (a BOT alternate with bulk IN and OUT). */
  supported: boolean;
  /** Why it is not supported, or a caution (non-SCSI-transparent subclass). */
  note?: string;
}

function bulkEndpoint(endpoints: MscAlternateLike['endpoints'], direction: 'in' | 'out'): BulkEndpointInfo | undefined {
  const ep = endpoints.find((e) => e.type === 'bulk' && e.direction === direction);
  if (ep === undefined) return undefined;
  return {
    endpointNumber: ep.endpointNumber,
    address: ep.endpointNumber | (direction === 'in' ? 0x80 : 0),
    packetSize: ep.packetSize,
  };
}

function describeAlternate(alt: MscAlternateLike, vendorNamed: boolean): MscAlternateInfo {
  let kind: AlternateKind = 'other';
  if (alt.interfaceClass === MSC_CLASS) {
    if (alt.interfaceProtocol === MscProtocol.BulkOnly) kind = 'bot';
    else if (alt.interfaceProtocol === MscProtocol.Uas) kind = 'uas';
    else if (alt.interfaceProtocol === MscProtocol.CbiWithInterrupt || alt.interfaceProtocol === MscProtocol.CbiNoInterrupt) kind = 'cbi';
  } else if (alt.interfaceClass === VENDOR_CLASS && vendorNamed) {
    kind = 'vendor';
  }
  const info: MscAlternateInfo = {
    alternateSetting: alt.alternateSetting,
    interfaceClass: alt.interfaceClass,
    interfaceSubclass: alt.interfaceSubclass,
    interfaceProtocol: alt.interfaceProtocol,
    kind,
    subclassName:
      alt.interfaceClass === MSC_CLASS
        ? (SUBCLASS_NAMES[alt.interfaceSubclass] ?? `unknown subclass 0x${alt.interfaceSubclass.toString(16)}`)
        : alt.interfaceClass === VENDOR_CLASS
          ? 'vendor class'
          : `class 0x${alt.interfaceClass.toString(16)}`,
  };
  const bulkIn = bulkEndpoint(alt.endpoints, 'in');
  const bulkOut = bulkEndpoint(alt.endpoints, 'out');
  if (bulkIn !== undefined) info.bulkIn = bulkIn;
  if (bulkOut !== undefined) info.bulkOut = bulkOut;
  return info;
}

/**
 * The mass-storage interfaces of a configuration: every interface with a
 * class-0x08 alternate, plus the vendor-class interface the caller named.
 * Pure (no I/O): the same description for node-usb and WebUSB descriptors.
 */
export function describeInterfaces(config: MscConfigurationLike, vendorClassInterface?: number): MscInterfaceInfo[] {
  const out: MscInterfaceInfo[] = [];
  for (const iface of config.interfaces) {
    const alts = iface.alternates.length > 0 ? iface.alternates : [iface.alternate];
    const vendorNamed = vendorClassInterface === iface.interfaceNumber;
    const isMsc = alts.some((a) => a.interfaceClass === MSC_CLASS);
    const isNamedVendor = vendorNamed && alts.some((a) => a.interfaceClass === VENDOR_CLASS);
    if (!isMsc && !isNamedVendor) continue;
    const alternates = alts.map((a) => describeAlternate(a, vendorNamed));
    const info: MscInterfaceInfo = { interfaceNumber: iface.interfaceNumber, alternates, supported: false };
    // Prefer a class-0x08 BOT alternate; a named vendor interface is BOT by the caller's word.
    const bot =
      alternates.find((a) => a.kind === 'bot' && a.bulkIn !== undefined && a.bulkOut !== undefined) ??
      alternates.find((a) => a.kind === 'vendor' && a.bulkIn !== undefined && a.bulkOut !== undefined);
    const uas = alternates.find((a) => a.kind === 'uas');
    if (uas !== undefined) info.uasAlternate = uas.alternateSetting;
    if (bot !== undefined) {
      info.botAlternate = bot.alternateSetting;
      info.supported = true;
      if (bot.kind === 'bot' && bot.interfaceSubclass !== MscSubclass.ScsiTransparent) {
        info.note = `subclass ${bot.subclassName}: not SCSI transparent; SCSI-like commands usually work, some may not`;
      }
    } else if (uas !== undefined) {
      info.note = 'UAS-only device, not supported yet';
    } else if (alternates.some((a) => a.kind === 'cbi')) {
      info.note = 'Control/Bulk/Interrupt (CBI) transport, not supported';
    } else if (alternates.some((a) => a.kind === 'bot' || a.kind === 'vendor')) {
      info.note = 'no bulk IN/OUT endpoint pair';
    } else {
      info.note = 'unknown mass-storage transport protocol';
    }
    out.push(info);
  }
  return out;
}
