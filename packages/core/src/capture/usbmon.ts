/**
 * The Linux usbmon binary event header, as pcap's LINKTYPE_USB_LINUX_MMAPPED
 * (220) carries it: 64 bytes per URB event, in the capture file's byte order
 * (Linux Documentation/usb/usbmon.rst "Raw binary format and API";
 * drivers/usb/mon/mon_bin.c `struct mon_bin_hdr`). Declared once here; the
 * pcap writer and reader both use it.
 */
import { ParseError } from '../errors.js';

/** LINKTYPE_USB_LINUX_MMAPPED: usbmon's 64-byte header followed by the captured data. */
export const LINKTYPE_USB_LINUX_MMAPPED = 220;
/** LINKTYPE_USB_LINUX: the older 48-byte header (no interval/start_frame/xfer_flags/ndesc); read only. */
export const LINKTYPE_USB_LINUX = 189;

/** Bytes of the usbmon header of LINKTYPE_USB_LINUX_MMAPPED. */
export const USBMON_HEADER_LENGTH = 64;
/** Bytes of the usbmon header of LINKTYPE_USB_LINUX. */
export const USBMON_HEADER_LENGTH_LEGACY = 48;

/** Field offsets of the header (mon_bin.c `struct mon_bin_hdr`). */
export const UsbmonOffset = {
  /** u64 URB id: the same on the submission and the completion. */
  id: 0,
  /** 'S' submission, 'C' completion, 'E' submission error. */
  type: 8,
  /** 0 isochronous, 1 interrupt, 2 control, 3 bulk. */
  transferType: 9,
  /** bEndpointAddress: endpoint number, 0x80 for IN. */
  endpoint: 10,
  deviceAddress: 11,
  /** u16 */
  busNumber: 12,
  /** 0 when `setup` holds a SETUP packet (control submissions), otherwise '-'. */
  flagSetup: 14,
  /** 0 when data follows, otherwise '<' (IN submission) or '>' (OUT completion). */
  flagData: 15,
  /** s64 seconds */
  tsSec: 16,
  /** s32 microseconds */
  tsUsec: 24,
  /** s32: 0, or a negative errno (-EINPROGRESS on submissions). */
  status: 28,
  /** u32: URB length (requested on 'S', actual on 'C'). */
  length: 32,
  /** u32: bytes of data captured after the header. */
  capturedLength: 36,
  /** 8 bytes: SETUP packet (control 'S'), or ISO error count + descriptor count. */
  setup: 40,
  /** s32 interval (interrupt, isochronous). Absent from the 48-byte header. */
  interval: 48,
  /** s32 start frame (isochronous) */
  startFrame: 52,
  /** u32 copy of the URB's transfer_flags */
  transferFlags: 56,
  /** u32 number of isochronous descriptors after the header */
  ndesc: 60,
} as const;

/** Transfer types of `UsbmonOffset.transferType` (mon_bin.c xfer_to_pipe). */
export const UsbmonTransferType = { isochronous: 0, interrupt: 1, control: 2, bulk: 3 } as const;

/** Linux errno values usbmon reports (include/uapi/asm-generic/errno*.h; Documentation/driver-api/usb/error-codes.rst). */
export const Errno = {
  ENOENT: 2,
  EPIPE: 32,
  ESHUTDOWN: 108,
  EPROTO: 71,
  EOVERFLOW: 75,
  ECONNRESET: 104,
  EINPROGRESS: 115,
} as const;

/** URB_DIR_IN of the URB's transfer_flags (include/linux/usb.h). */
export const URB_DIR_IN = 0x0200;

/** One decoded usbmon event header. */
export interface UsbmonHeader {
  /** The URB id (a u64: the kernel uses the URB's address). */
  id: bigint;
  type: 'S' | 'C' | 'E';
  transferType: number;
  endpoint: number;
  deviceAddress: number;
  busNumber: number;
  /** The SETUP packet when `flagSetup` was 0. */
  setup?: Uint8Array;
  /** The raw flag_data byte: 0 when data was captured, '<' / '>' otherwise. */
  flagData: number;
  tsSec: number;
  tsUsec: number;
  status: number;
  length: number;
  capturedLength: number;
  transferFlags: number;
  ndesc: number;
}

/** Writes a 64-byte header into `out` at `offset` (little-endian: the writer's files are little-endian). */
export function encodeUsbmonHeader(h: UsbmonHeader, out: Uint8Array, offset = 0): void {
  const view = new DataView(out.buffer, out.byteOffset + offset, USBMON_HEADER_LENGTH);
  view.setBigUint64(UsbmonOffset.id, h.id, true);
  view.setUint8(UsbmonOffset.type, h.type.charCodeAt(0));
  view.setUint8(UsbmonOffset.transferType, h.transferType);
  view.setUint8(UsbmonOffset.endpoint, h.endpoint);
  view.setUint8(UsbmonOffset.deviceAddress, h.deviceAddress);
  view.setUint16(UsbmonOffset.busNumber, h.busNumber, true);
  view.setUint8(UsbmonOffset.flagSetup, h.setup === undefined ? 0x2d /* '-' */ : 0);
  view.setUint8(UsbmonOffset.flagData, h.flagData);
  view.setBigInt64(UsbmonOffset.tsSec, BigInt(h.tsSec), true);
  view.setInt32(UsbmonOffset.tsUsec, h.tsUsec, true);
  view.setInt32(UsbmonOffset.status, h.status, true);
  view.setUint32(UsbmonOffset.length, h.length, true);
  view.setUint32(UsbmonOffset.capturedLength, h.capturedLength, true);
  out.fill(0, offset + UsbmonOffset.setup, offset + UsbmonOffset.setup + 8);
  if (h.setup !== undefined) out.set(h.setup.subarray(0, 8), offset + UsbmonOffset.setup);
  view.setInt32(UsbmonOffset.interval, 0, true);
  view.setInt32(UsbmonOffset.startFrame, 0, true);
  view.setUint32(UsbmonOffset.transferFlags, h.transferFlags, true);
  view.setUint32(UsbmonOffset.ndesc, h.ndesc, true);
}

/** Reads a usbmon header (64 bytes, or 48 for LINKTYPE_USB_LINUX) in the given byte order. Bounds-checked. */
export function decodeUsbmonHeader(bytes: Uint8Array, littleEndian: boolean, headerLength: number = USBMON_HEADER_LENGTH): UsbmonHeader {
  if (bytes.length < headerLength) throw new ParseError('usbmon header', `${bytes.length} bytes, need ${headerLength}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerLength);
  const typeByte = view.getUint8(UsbmonOffset.type);
  const type = String.fromCharCode(typeByte);
  if (type !== 'S' && type !== 'C' && type !== 'E') throw new ParseError('usbmon header', `unknown event type 0x${typeByte.toString(16)}`);
  const header: UsbmonHeader = {
    id: view.getBigUint64(UsbmonOffset.id, littleEndian),
    type,
    transferType: view.getUint8(UsbmonOffset.transferType),
    endpoint: view.getUint8(UsbmonOffset.endpoint),
    deviceAddress: view.getUint8(UsbmonOffset.deviceAddress),
    busNumber: view.getUint16(UsbmonOffset.busNumber, littleEndian),
    flagData: view.getUint8(UsbmonOffset.flagData),
    tsSec: Number(view.getBigInt64(UsbmonOffset.tsSec, littleEndian)),
    tsUsec: view.getInt32(UsbmonOffset.tsUsec, littleEndian),
    status: view.getInt32(UsbmonOffset.status, littleEndian),
    length: view.getUint32(UsbmonOffset.length, littleEndian),
    capturedLength: view.getUint32(UsbmonOffset.capturedLength, littleEndian),
    transferFlags: headerLength >= USBMON_HEADER_LENGTH ? view.getUint32(UsbmonOffset.transferFlags, littleEndian) : 0,
    ndesc: headerLength >= USBMON_HEADER_LENGTH ? view.getUint32(UsbmonOffset.ndesc, littleEndian) : 0,
  };
  if (view.getUint8(UsbmonOffset.flagSetup) === 0) header.setup = bytes.slice(UsbmonOffset.setup, UsbmonOffset.setup + 8);
  return header;
}
