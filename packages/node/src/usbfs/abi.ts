/**
 * Linux usbfs ABI, declared once: ioctl request numbers, flags and the byte
 * layouts of the structures usbms passes to the kernel, from
 * include/uapi/linux/usbdevice_fs.h (stable user ABI since Linux 3.6 for
 * everything used here; DISCONNECT_CLAIM since 3.6, CAP_REAP_AFTER_DISCONNECT
 * since 4.6).
 *
 * Only 64-bit little-endian Linux (x86-64 and arm64) is supported: both use the
 * generic ioctl encoding of include/uapi/asm-generic/ioctl.h and the LP64 data
 * model, so the numbers and layouts below are identical on the two. The
 * FFI loader (`sys.ts`) checks the architecture and asserts these sizes and
 * offsets against the C layout it computes before anything is called.
 */

/** include/uapi/asm-generic/ioctl.h: _IOC_NONE, _IOC_WRITE, _IOC_READ. */
const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_READ = 2;

/** _IOC(dir, type, nr, size): dir in bits 30-31, size 16-29, type 8-15, nr 0-7. */
function ioc(dir: number, nr: number, size: number): number {
  // 'U' (0x55) is usbfs's ioctl type. `>>> 0` keeps the result an unsigned 32-bit number.
  return ((dir << 30) | (size << 16) | (0x55 << 8) | nr) >>> 0;
}

/** Sizes of the structures below on LP64 (x86-64, arm64). */
export const UsbfsSize = {
  /** struct usbdevfs_ctrltransfer: 5 x u8/u16 fields, u32 timeout, then an 8-aligned pointer. */
  ctrltransfer: 24,
  /** struct usbdevfs_urb without iso_frame_desc (bulk and control URBs carry none). */
  urb: 56,
  /** struct usbdevfs_disconnect_claim: u32 interface, u32 flags, char driver[256]. */
  disconnectClaim: 264,
  /** struct usbdevfs_ioctl: int ifno, int ioctl_code, void *data. */
  ioctl: 16,
  /** struct usbdevfs_setinterface: u32 interface, u32 altsetting. */
  setinterface: 8,
  /** struct usbdevfs_getdriver: u32 interface, char driver[256]. */
  getdriver: 260,
  /** unsigned int / __u32 arguments (interface numbers, endpoints, capabilities). */
  u32: 4,
  /** void * (REAPURB's out argument). */
  pointer: 8,
} as const;

/** Byte offsets of the fields of struct usbdevfs_urb (LP64). */
export const UrbOffset = {
  type: 0,
  endpoint: 1,
  status: 4,
  flags: 8,
  buffer: 16,
  bufferLength: 24,
  actualLength: 28,
  startFrame: 32,
  streamId: 36,
  errorCount: 40,
  signr: 44,
  usercontext: 48,
} as const;

/** Byte offsets of struct usbdevfs_disconnect_claim. */
export const DisconnectClaimOffset = { interface: 0, flags: 4, driver: 8 } as const;
/** Byte offsets of struct usbdevfs_ioctl. */
export const IoctlOffset = { ifno: 0, ioctlCode: 4, data: 8 } as const;
/** Byte offsets of struct usbdevfs_setinterface. */
export const SetInterfaceOffset = { interface: 0, altsetting: 4 } as const;

/** USBDEVFS_MAXDRIVERNAME: driver names are at most 255 bytes plus NUL. */
export const USBDEVFS_MAXDRIVERNAME = 255;

/** usbdevice_fs.h ioctl request numbers. */
export const UsbfsIoctl = {
  /** _IOWR('U', 0, struct usbdevfs_ctrltransfer) */
  CONTROL: ioc(IOC_READ | IOC_WRITE, 0, UsbfsSize.ctrltransfer),
  /** _IOR('U', 4, struct usbdevfs_setinterface) */
  SETINTERFACE: ioc(IOC_READ, 4, UsbfsSize.setinterface),
  /** _IOW('U', 8, struct usbdevfs_getdriver) */
  GETDRIVER: ioc(IOC_WRITE, 8, UsbfsSize.getdriver),
  /** _IOR('U', 10, struct usbdevfs_urb) */
  SUBMITURB: ioc(IOC_READ, 10, UsbfsSize.urb),
  /** _IO('U', 11): the argument is the URB's user address. */
  DISCARDURB: ioc(IOC_NONE, 11, 0),
  /** _IOW('U', 12, void *) */
  REAPURB: ioc(IOC_WRITE, 12, UsbfsSize.pointer),
  /** _IOW('U', 13, void *) */
  REAPURBNDELAY: ioc(IOC_WRITE, 13, UsbfsSize.pointer),
  /** _IOR('U', 15, unsigned int) */
  CLAIMINTERFACE: ioc(IOC_READ, 15, UsbfsSize.u32),
  /** _IOR('U', 16, unsigned int) */
  RELEASEINTERFACE: ioc(IOC_READ, 16, UsbfsSize.u32),
  /** _IOWR('U', 18, struct usbdevfs_ioctl) */
  IOCTL: ioc(IOC_READ | IOC_WRITE, 18, UsbfsSize.ioctl),
  /** _IO('U', 20) */
  RESET: ioc(IOC_NONE, 20, 0),
  /** _IOR('U', 21, unsigned int) */
  CLEAR_HALT: ioc(IOC_READ, 21, UsbfsSize.u32),
  /** _IO('U', 22): passed as usbdevfs_ioctl.ioctl_code, detaches the interface's driver. */
  DISCONNECT: ioc(IOC_NONE, 22, 0),
  /** _IO('U', 23): passed as usbdevfs_ioctl.ioctl_code, lets the kernel bind a driver again. */
  CONNECT: ioc(IOC_NONE, 23, 0),
  /** _IOR('U', 26, __u32) */
  GET_CAPABILITIES: ioc(IOC_READ, 26, UsbfsSize.u32),
  /** _IOR('U', 27, struct usbdevfs_disconnect_claim) */
  DISCONNECT_CLAIM: ioc(IOC_READ, 27, UsbfsSize.disconnectClaim),
  /** _IO('U', 31): returns enum usb_device_speed (linux/usb/ch9.h). */
  GET_SPEED: ioc(IOC_NONE, 31, 0),
} as const;

/** usbdevfs_urb.type. */
export const UrbType = { ISO: 0, INTERRUPT: 1, CONTROL: 2, BULK: 3 } as const;

/** usbdevfs_urb.flags. */
export const UrbFlag = {
  SHORT_NOT_OK: 0x01,
  ISO_ASAP: 0x02,
  /** This URB continues the previous one of the same stage: the kernel cancels it if that one ended short or failed. */
  BULK_CONTINUATION: 0x04,
  NO_FSBR: 0x20,
  ZERO_PACKET: 0x40,
  NO_INTERRUPT: 0x80,
} as const;

/** USBDEVFS_GET_CAPABILITIES bits. */
export const UsbfsCap = {
  ZERO_PACKET: 0x01,
  BULK_CONTINUATION: 0x02,
  NO_PACKET_SIZE_LIM: 0x04,
  BULK_SCATTER_GATHER: 0x08,
  REAP_AFTER_DISCONNECT: 0x10,
  MMAP: 0x20,
  DROP_PRIVILEGES: 0x40,
} as const;

/** usbdevfs_disconnect_claim.flags. */
export const DisconnectClaimFlag = {
  /** Disconnect and claim only if the bound driver is the one named. */
  IF_DRIVER: 0x01,
  /** Disconnect and claim unless the bound driver is the one named ("usbfs": never take another program's claim). */
  EXCEPT_DRIVER: 0x02,
} as const;

/** enum usb_device_speed (include/uapi/linux/usb/ch9.h), as USBDEVFS_GET_SPEED returns it. */
export const UsbDeviceSpeed = { UNKNOWN: 0, LOW: 1, FULL: 2, HIGH: 3, WIRELESS: 4, SUPER: 5, SUPER_PLUS: 6 } as const;

/**
 * The errno values usbfs reports, Linux numbering (asm-generic/errno-base.h,
 * asm-generic/errno.h; the same on x86-64 and arm64). URB completions carry
 * them negated in usbdevfs_urb.status (Documentation/driver-api/usb/error-codes.rst).
 */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
  EPIPE: 32,
  ENODATA: 61,
  ETIME: 62,
  ENOSR: 63,
  ECOMM: 70,
  EPROTO: 71,
  EOVERFLOW: 75,
  EILSEQ: 84,
  ECONNRESET: 104,
  ESHUTDOWN: 108,
  ETIMEDOUT: 110,
  EREMOTEIO: 121,
} as const;

/** Name of a Linux errno value, for messages ("EPIPE"), or "errno N". */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  for (const [name, value] of Object.entries(Errno)) if (value === n) return name;
  return `errno ${n}`;
}

/** poll(2) event bits (asm-generic/poll.h). */
export const PollEvent = { POLLIN: 0x001, POLLOUT: 0x004, POLLERR: 0x008, POLLHUP: 0x010, POLLNVAL: 0x020 } as const;

/** One usbdevfs_urb to submit, in JavaScript terms. */
export interface UrbFields {
  type: number;
  endpoint: number;
  flags: number;
  /** User address of the data buffer (0 for none). */
  buffer: bigint;
  bufferLength: number;
  usercontext: bigint;
}

/**
 * Writes a struct usbdevfs_urb into `bytes` (at least UsbfsSize.urb long), zeroing everything else.
 * `view`: a DataView over the same bytes, where the caller keeps one (building one per URB costs more than the writes).
 */
export function encodeUrb(bytes: Uint8Array, urb: UrbFields, view = new DataView(bytes.buffer, bytes.byteOffset, UsbfsSize.urb)): void {
  // Zeroed word by word: fill() on shared memory (the URB slab) is a runtime call, these stores are not.
  for (let offset = 0; offset < UsbfsSize.urb; offset += 4) view.setUint32(offset, 0, true);
  view.setUint8(UrbOffset.type, urb.type);
  view.setUint8(UrbOffset.endpoint, urb.endpoint);
  view.setUint32(UrbOffset.flags, urb.flags, true);
  view.setBigUint64(UrbOffset.buffer, urb.buffer, true);
  view.setInt32(UrbOffset.bufferLength, urb.bufferLength, true);
  view.setBigUint64(UrbOffset.usercontext, urb.usercontext, true);
}

/** What the kernel writes back into a reaped URB. */
export interface UrbCompletion {
  /** 0, or a negated errno (-EPIPE: stalled, -EOVERFLOW: babble, -ECONNRESET/-ENOENT: discarded, -ESHUTDOWN/-ENODEV: gone). */
  status: number;
  actualLength: number;
}

/** Reads status and actual_length of a reaped struct usbdevfs_urb (`view`: as for encodeUrb). */
export function decodeUrbCompletion(bytes: Uint8Array, view = new DataView(bytes.buffer, bytes.byteOffset, UsbfsSize.urb)): UrbCompletion {
  return { status: view.getInt32(UrbOffset.status, true), actualLength: view.getInt32(UrbOffset.actualLength, true) };
}

/** Encodes struct usbdevfs_disconnect_claim. Driver names longer than 255 bytes are refused. */
export function encodeDisconnectClaim(interfaceNumber: number, flags: number, driver: string): Uint8Array {
  const bytes = new Uint8Array(UsbfsSize.disconnectClaim);
  const view = new DataView(bytes.buffer);
  view.setUint32(DisconnectClaimOffset.interface, interfaceNumber, true);
  view.setUint32(DisconnectClaimOffset.flags, flags, true);
  const name = new TextEncoder().encode(driver);
  if (name.length > USBDEVFS_MAXDRIVERNAME) throw new RangeError(`driver name longer than ${USBDEVFS_MAXDRIVERNAME} bytes`);
  bytes.set(name, DisconnectClaimOffset.driver);
  return bytes;
}

/** Encodes struct usbdevfs_ioctl with a NULL data pointer (USBDEVFS_CONNECT / USBDEVFS_DISCONNECT take none). */
export function encodeIoctl(interfaceNumber: number, ioctlCode: number): Uint8Array {
  const bytes = new Uint8Array(UsbfsSize.ioctl);
  const view = new DataView(bytes.buffer);
  view.setInt32(IoctlOffset.ifno, interfaceNumber, true);
  view.setInt32(IoctlOffset.ioctlCode, ioctlCode | 0, true);
  view.setBigUint64(IoctlOffset.data, 0n, true);
  return bytes;
}

/** Encodes struct usbdevfs_setinterface. */
export function encodeSetInterface(interfaceNumber: number, alternateSetting: number): Uint8Array {
  const bytes = new Uint8Array(UsbfsSize.setinterface);
  const view = new DataView(bytes.buffer);
  view.setUint32(SetInterfaceOffset.interface, interfaceNumber, true);
  view.setUint32(SetInterfaceOffset.altsetting, alternateSetting, true);
  return bytes;
}

/** Encodes an unsigned int argument (interface number, endpoint address). */
export function encodeU32(value: number): Uint8Array {
  const bytes = new Uint8Array(UsbfsSize.u32);
  new DataView(bytes.buffer).setUint32(0, value >>> 0, true);
  return bytes;
}

/** Reads an unsigned int written back by the kernel (USBDEVFS_GET_CAPABILITIES). */
export function decodeU32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, UsbfsSize.u32).getUint32(0, true);
}

/**
 * USB 2.0 §9.3 setup packet of a control URB (the first 8 bytes of its
 * buffer; usbfs takes wLength from it and the data stage from the bytes after).
 */
export function encodeSetup(bytes: Uint8Array, setup: { requestType: number; request: number; value: number; index: number; length: number }): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  view.setUint8(0, setup.requestType);
  view.setUint8(1, setup.request);
  view.setUint16(2, setup.value, true);
  view.setUint16(4, setup.index, true);
  view.setUint16(6, setup.length, true);
}

/** USB 2.0 §9.3: size of a setup packet. */
export const SETUP_BYTES = 8;
