/**
 * pcap files of USB traffic, as Wireshark/tshark read them: the classic pcap
 * format (libpcap "savefile", pcap(5)/draft-ietf-opsawg-pcap) with link type
 * LINKTYPE_USB_LINUX_MMAPPED (220), one usbmon event per record.
 *
 * Writing streams: each record goes to the sink as it happens, so a long
 * capture is never held in memory (Node writes chunks to a file; a browser
 * collects them into a Blob).
 */
import { CBW_LENGTH, CBW_SIGNATURE, CSW_LENGTH, CSW_SIGNATURE, MSC_CLASS, MscProtocol, MscSubclass } from '../bot/wire.js';
import { ParseError } from '../errors.js';
import type { TransportInfo } from '../transport.js';
import { endpointInOf, endpointOutOf, type UrbComplete, type UrbEvent, type UrbStatus } from './recording-transport.js';
import {
  decodeUsbmonHeader,
  Errno,
  encodeUsbmonHeader,
  LINKTYPE_USB_LINUX,
  LINKTYPE_USB_LINUX_MMAPPED,
  URB_DIR_IN,
  USBMON_HEADER_LENGTH,
  USBMON_HEADER_LENGTH_LEGACY,
  type UsbmonHeader,
  UsbmonTransferType,
} from './usbmon.js';

/** Receives the file's bytes chunk by chunk, in order. Chunks are never reused by the writer: a sink may keep them. */
export interface CaptureSink {
  /** Takes the next chunk of the file. */
  write(chunk: Uint8Array): void;
}

/** A sink that keeps every chunk (browsers turn them into a `Blob`; tests compare them). */
export class ChunkCollector implements CaptureSink {
  readonly chunks: Uint8Array[] = [];
  /** Keeps the chunk. */
  write(chunk: Uint8Array): void {
    this.chunks.push(chunk);
  }
  /** All chunks as one array. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/**
 * Default snap length of data stages: 64 bytes keeps every CBW (31), CSW (13),
 * sense (18), INQUIRY (36) and READ CAPACITY answer whole, so tshark decodes
 * them, and cuts block data (privacy, size).
 */
export const DEFAULT_PCAP_SNAPLEN = 64;

/** Wireshark's largest USB record (WTAP_MAX_PACKET_SIZE_USBPCAP, 128 MiB). */
const MAX_RECORD = 128 * 1024 * 1024;
const PCAP_MAGIC = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAP_FILE_HEADER_LENGTH = 24;
const PCAP_RECORD_HEADER_LENGTH = 16;

/** usbmon's status of a completion (negative errno, as the kernel's URB status). */
export function usbmonStatus(status: UrbStatus): number {
  switch (status) {
    case 'ok':
      return 0;
    case 'stall':
      return -Errno.EPIPE;
    case 'babble':
      return -Errno.EOVERFLOW;
    // A usbfs synchronous transfer that times out is killed: the URB completes with -ENOENT.
    case 'timeout':
      return -Errno.ENOENT;
    // An unlinked (cancelled) URB completes with -ECONNRESET.
    case 'cancelled':
      return -Errno.ECONNRESET;
    case 'disconnected':
      return -Errno.ESHUTDOWN;
    case 'error':
      return -Errno.EPROTO;
  }
}

/** A USB device descriptor (USB 2.0 §9.6.1) for the capture's GET_DESCRIPTOR record. */
export function synthesizedDeviceDescriptor(info: TransportInfo): Uint8Array {
  const superSpeed = info.speed === 'super' || info.speed === 'super-plus';
  const bcdUsb = superSpeed ? 0x0300 : info.speed === 'full' || info.speed === 'low' ? 0x0110 : 0x0200;
  const vid = info.vendorId ?? 0;
  const pid = info.productId ?? 0;
  return Uint8Array.of(
    18, // bLength
    1, // bDescriptorType DEVICE
    bcdUsb & 0xff,
    bcdUsb >> 8,
    0, // bDeviceClass: per interface
    0,
    0,
    superSpeed ? 9 : 64, // bMaxPacketSize0 (SuperSpeed: 2^9 = 512)
    vid & 0xff,
    vid >> 8,
    pid & 0xff,
    pid >> 8,
    0x00, // bcdDevice
    0x01,
    0, // iManufacturer, iProduct, iSerialNumber: no string descriptors in the capture
    0,
    0,
    1, // bNumConfigurations
  );
}

/**
 * A configuration descriptor with one interface (class 08 mass storage, the
 * transport's subclass and protocol) and its two bulk endpoints (USB 2.0
 * §9.6.3, §9.6.5, §9.6.6; BOT 1.0 §4.3-4.5). Wireshark learns the interface
 * class of the bulk endpoints from it, and only then decodes them as USB Mass
 * Storage.
 */
export function synthesizedConfigurationDescriptor(info: TransportInfo): Uint8Array {
  const mpsIn = info.maxPacketSizeIn;
  const mpsOut = info.maxPacketSizeOut;
  const total = 9 + 9 + 7 + 7;
  return Uint8Array.of(
    // configuration
    9,
    2,
    total & 0xff,
    total >> 8,
    1, // bNumInterfaces
    1, // bConfigurationValue
    0,
    0x80, // bmAttributes: bus powered
    50, // bMaxPower: 100 mA
    // interface
    9,
    4,
    info.interfaceNumber ?? 0,
    0, // bAlternateSetting
    2, // bNumEndpoints
    MSC_CLASS,
    info.interfaceSubclass ?? MscSubclass.ScsiTransparent,
    info.interfaceProtocol ?? MscProtocol.BulkOnly,
    0,
    // bulk IN endpoint
    7,
    5,
    endpointInOf(info),
    0x02, // bmAttributes: bulk
    mpsIn & 0xff,
    mpsIn >> 8,
    0,
    // bulk OUT endpoint
    7,
    5,
    endpointOutOf(info),
    0x02,
    mpsOut & 0xff,
    mpsOut >> 8,
    0,
  );
}

/** Options of {@link PcapWriter}. */
export interface PcapWriterOptions {
  /** The transport's info: endpoints, IDs, speed, interface for the descriptors. */
  info: TransportInfo;
  /**
   * Bytes of each data stage kept in the file (default {@link DEFAULT_PCAP_SNAPLEN});
   * 0 keeps everything. CBWs, CSWs and control transfers are always kept whole.
   */
  snapLength?: number;
  /** usbmon bus number (default: `info.busNumber`, else 1). */
  busNumber?: number;
  /** USB device address (default: `info.deviceAddress`, else 1). */
  deviceAddress?: number;
  /** Time of the synthesized descriptor records, ms since the epoch (default now). */
  startTime?: number;
}

function signatureOf(data: Uint8Array): number {
  return ((data[0] ?? 0) | ((data[1] ?? 0) << 8) | ((data[2] ?? 0) << 16) | ((data[3] ?? 0) << 24)) >>> 0;
}

/** A 31-byte transfer starting with dCBWSignature (BOT 1.0 §5.1). */
export function isCbw(data: Uint8Array): boolean {
  return data.length === CBW_LENGTH && signatureOf(data) === CBW_SIGNATURE;
}

/** A 13-byte transfer starting with dCSWSignature (BOT 1.0 §5.2). */
export function isCsw(data: Uint8Array): boolean {
  return data.length === CSW_LENGTH && signatureOf(data) === CSW_SIGNATURE;
}

/**
 * Turns URB events into a pcap stream Wireshark dissects as USB Mass Storage
 * and SCSI. The file header and two synthesized GET_DESCRIPTOR exchanges
 * (device and configuration) are written when the writer is created.
 */
export class PcapWriter {
  readonly #sink: CaptureSink;
  readonly #snap: number;
  readonly #bus: number;
  readonly #address: number;
  #records = 0;

  constructor(sink: CaptureSink, options: PcapWriterOptions) {
    const snap = options.snapLength ?? DEFAULT_PCAP_SNAPLEN;
    if (!Number.isSafeInteger(snap) || snap < 0) throw new RangeError(`pcap snap length must be a non-negative integer, got ${snap}`);
    this.#sink = sink;
    this.#snap = snap === 0 ? MAX_RECORD - USBMON_HEADER_LENGTH : snap;
    this.#bus = options.busNumber ?? options.info.busNumber ?? 1;
    this.#address = options.deviceAddress ?? options.info.deviceAddress ?? 1;
    const header = new Uint8Array(PCAP_FILE_HEADER_LENGTH);
    const view = new DataView(header.buffer);
    view.setUint32(0, PCAP_MAGIC, true);
    view.setUint16(4, 2, true); // version 2.4
    view.setUint16(6, 4, true);
    view.setInt32(8, 0, true); // thiszone
    view.setUint32(12, 0, true); // sigfigs
    view.setUint32(16, snap === 0 ? MAX_RECORD : USBMON_HEADER_LENGTH + Math.max(snap, 64), true);
    view.setUint32(20, LINKTYPE_USB_LINUX_MMAPPED, true);
    sink.write(header);
    const time = options.startTime ?? Date.now();
    // GET_DESCRIPTOR(DEVICE) and GET_DESCRIPTOR(CONFIGURATION) (USB 2.0 §9.4.3), as the kernel sends them at enumeration.
    const device = synthesizedDeviceDescriptor(options.info);
    const config = synthesizedConfigurationDescriptor(options.info);
    const descriptors: [number, Uint8Array][] = [
      [0x01, device],
      [0x02, config],
    ];
    let id = 0xffff_0000n;
    for (const [type, bytes] of descriptors) {
      id += 1n;
      const setup = Uint8Array.of(0x80, 0x06, 0x00, type, 0x00, 0x00, bytes.length & 0xff, bytes.length >> 8);
      const base = { id, transferType: UsbmonTransferType.control, endpoint: 0x80, ndesc: 0, transferFlags: URB_DIR_IN };
      this.#write({ ...base, type: 'S', setup, flagData: 0x3c, status: -Errno.EINPROGRESS, length: bytes.length, capturedLength: 0 }, time, undefined);
      this.#write({ ...base, type: 'C', flagData: 0, status: 0, length: bytes.length, capturedLength: bytes.length }, time, bytes);
    }
  }

  /** Records written so far, the synthesized descriptor records included. */
  get records(): number {
    return this.#records;
  }

  /** Writes the usbmon record of one event. Port resets (no transfer on the device's pipes) are not written. */
  record(event: UrbEvent): void {
    if (event.transfer === 'none') return;
    const isIn = (event.endpoint & 0x80) !== 0;
    const base = {
      id: BigInt(event.id),
      transferType: event.transfer === 'control' ? UsbmonTransferType.control : UsbmonTransferType.bulk,
      endpoint: event.endpoint,
      ndesc: 0,
      transferFlags: isIn ? URB_DIR_IN : 0,
    };
    if (event.phase === 'submit') {
      const data = isIn ? undefined : this.#cut(event.data, event.transfer === 'control');
      const header: Omit<UsbmonHeader, 'deviceAddress' | 'busNumber' | 'tsSec' | 'tsUsec'> = {
        ...base,
        type: 'S',
        // mon_bin.c: an IN submission carries no data ('<').
        flagData: isIn ? 0x3c : 0,
        status: -Errno.EINPROGRESS,
        length: event.length,
        capturedLength: data?.length ?? 0,
      };
      if (event.setup !== undefined) header.setup = event.setup;
      this.#write(header, event.time, data);
      return;
    }
    const data = isIn ? this.#cut(event.data, event.transfer === 'control') : undefined;
    this.#write(
      {
        ...base,
        type: 'C',
        // mon_bin.c: an OUT completion carries no data ('>').
        flagData: isIn ? 0 : 0x3e,
        status: usbmonStatus((event as UrbComplete).status),
        length: event.length,
        capturedLength: data?.length ?? 0,
      },
      event.time,
      data,
    );
  }

  #cut(data: Uint8Array | undefined, control: boolean): Uint8Array | undefined {
    if (data === undefined) return undefined;
    if (control || isCbw(data) || isCsw(data) || data.length <= this.#snap) return data;
    return data.subarray(0, this.#snap);
  }

  #write(h: Omit<UsbmonHeader, 'deviceAddress' | 'busNumber' | 'tsSec' | 'tsUsec'>, time: number, data: Uint8Array | undefined): void {
    const captured = data?.length ?? 0;
    const chunk = new Uint8Array(PCAP_RECORD_HEADER_LENGTH + USBMON_HEADER_LENGTH + captured);
    const view = new DataView(chunk.buffer);
    const sec = Math.floor(time / 1000);
    const usec = Math.min(999_999, Math.floor((time - sec * 1000) * 1000));
    view.setUint32(0, sec, true);
    view.setUint32(4, usec, true);
    view.setUint32(8, USBMON_HEADER_LENGTH + captured, true);
    // Original length: the header plus the URB's data when data belongs to this event.
    view.setUint32(12, USBMON_HEADER_LENGTH + (h.flagData === 0 ? h.length : 0), true);
    encodeUsbmonHeader({ ...h, deviceAddress: this.#address, busNumber: this.#bus, tsSec: sec, tsUsec: usec }, chunk, PCAP_RECORD_HEADER_LENGTH);
    if (data !== undefined) chunk.set(data, PCAP_RECORD_HEADER_LENGTH + USBMON_HEADER_LENGTH);
    this.#records += 1;
    this.#sink.write(chunk);
  }
}

/** One record of a USB pcap file. */
export interface PcapUsbRecord {
  /** Record number, 1-based (as Wireshark's frame.number). */
  frame: number;
  /** Seconds since the epoch (fractional). */
  time: number;
  header: UsbmonHeader;
  /** The captured data after the usbmon header (possibly cut: compare with `header.length`). */
  data: Uint8Array;
}

/**
 * Reads a classic pcap file of link type 220 (LINKTYPE_USB_LINUX_MMAPPED) or
 * 189 (LINKTYPE_USB_LINUX), either byte order, micro- or nanosecond stamps.
 * Bounds-checked: a truncated or inconsistent file throws `ParseError`.
 * pcapng is refused with a hint (`editcap -F pcap` converts it).
 */
export function parsePcap(bytes: Uint8Array): PcapUsbRecord[] {
  if (bytes.length < PCAP_FILE_HEADER_LENGTH) throw new ParseError('pcap file', `${bytes.length} bytes is shorter than the 24-byte file header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLe = view.getUint32(0, true);
  if (magicLe === 0x0a0d0d0a) throw new ParseError('pcap file', 'this is pcapng; convert it with `editcap -F pcap IN OUT` (or capture with `tshark -F pcap`)');
  let littleEndian: boolean;
  let nano: boolean;
  if (magicLe === PCAP_MAGIC || magicLe === PCAP_MAGIC_NS) {
    littleEndian = true;
    nano = magicLe === PCAP_MAGIC_NS;
  } else {
    const magicBe = view.getUint32(0, false);
    if (magicBe !== PCAP_MAGIC && magicBe !== PCAP_MAGIC_NS) throw new ParseError('pcap file', `bad magic 0x${magicLe.toString(16)}`);
    littleEndian = false;
    nano = magicBe === PCAP_MAGIC_NS;
  }
  const linkType = view.getUint32(20, littleEndian) & 0x0fff_ffff;
  if (linkType !== LINKTYPE_USB_LINUX_MMAPPED && linkType !== LINKTYPE_USB_LINUX) {
    throw new ParseError('pcap file', `link type ${linkType} is not Linux USB (usbmon, 189 or 220)`);
  }
  const headerLength = linkType === LINKTYPE_USB_LINUX_MMAPPED ? USBMON_HEADER_LENGTH : USBMON_HEADER_LENGTH_LEGACY;
  const records: PcapUsbRecord[] = [];
  let at = PCAP_FILE_HEADER_LENGTH;
  while (at < bytes.length) {
    if (at + PCAP_RECORD_HEADER_LENGTH > bytes.length) throw new ParseError('pcap file', `record ${records.length + 1}: truncated record header at byte ${at}`);
    const sec = view.getUint32(at, littleEndian);
    const frac = view.getUint32(at + 4, littleEndian);
    const included = view.getUint32(at + 8, littleEndian);
    const start = at + PCAP_RECORD_HEADER_LENGTH;
    if (included > MAX_RECORD || start + included > bytes.length) {
      throw new ParseError('pcap file', `record ${records.length + 1}: ${included} bytes at byte ${start} run past the end of the file`);
    }
    const record = bytes.subarray(start, start + included);
    const header = decodeUsbmonHeader(record, littleEndian, headerLength);
    const dataStart = headerLength + (headerLength === USBMON_HEADER_LENGTH ? header.ndesc * 16 : 0);
    if (dataStart > record.length) throw new ParseError('pcap file', `record ${records.length + 1}: isochronous descriptors run past the record`);
    records.push({ frame: records.length + 1, time: sec + frac / (nano ? 1e9 : 1e6), header, data: record.subarray(dataStart) });
    at = start + included;
  }
  return records;
}
