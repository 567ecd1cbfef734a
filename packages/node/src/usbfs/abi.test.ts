import { describe, expect, it } from 'vitest';
import { decodeUrbCompletion, encodeDisconnectClaim, encodeIoctl, encodeUrb, UrbType, UsbfsIoctl, UsbfsSize } from './abi.js';

describe('usbdevice_fs.h ABI (x86-64 / arm64)', () => {
  it('ioctl numbers are the ones the kernel headers expand to', () => {
    // Values from compiling the _IO* macros of usbdevice_fs.h for LP64 Linux.
    expect(UsbfsIoctl).toMatchObject({
      CONTROL: 0xc0185500,
      SETINTERFACE: 0x80085504,
      GETDRIVER: 0x41045508,
      SUBMITURB: 0x8038550a,
      DISCARDURB: 0x0000550b,
      REAPURB: 0x4008550c,
      REAPURBNDELAY: 0x4008550d,
      CLAIMINTERFACE: 0x8004550f,
      RELEASEINTERFACE: 0x80045510,
      IOCTL: 0xc0105512,
      RESET: 0x00005514,
      CLEAR_HALT: 0x80045515,
      DISCONNECT: 0x00005516,
      CONNECT: 0x00005517,
      GET_CAPABILITIES: 0x8004551a,
      DISCONNECT_CLAIM: 0x8108551b,
      GET_SPEED: 0x0000551f,
    });
  });

  it('encodes struct usbdevfs_urb with the fields at their offsets (golden bytes)', () => {
    const bytes = new Uint8Array(UsbfsSize.urb).fill(0xee);
    encodeUrb(bytes, { type: UrbType.BULK, endpoint: 0x81, flags: 0x04, buffer: 0x1122334455667788n, bufferLength: 512, usercontext: 1n });
    // type, endpoint, pad(2), status(4)
    expect([...bytes.subarray(0, 8)]).toEqual([3, 0x81, 0, 0, 0, 0, 0, 0]);
    // flags(4), pad(4), buffer(8, little-endian)
    expect([...bytes.subarray(8, 24)]).toEqual([4, 0, 0, 0, 0, 0, 0, 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
    // buffer_length 512, actual_length 0, start_frame, stream_id, error_count, signr, usercontext 1
    expect([...bytes.subarray(24, 28)]).toEqual([0, 2, 0, 0]);
    expect([...bytes.subarray(48, 56)]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    bytes.set([0xe0, 0xff, 0xff, 0xff], 4); // status -32 (-EPIPE)
    bytes.set([13, 0, 0, 0], 28);
    expect(decodeUrbCompletion(bytes)).toEqual({ status: -32, actualLength: 13 });
  });

  it('encodes usbdevfs_disconnect_claim and usbdevfs_ioctl', () => {
    const claim = encodeDisconnectClaim(2, 0x02, 'usbfs');
    expect(claim.length).toBe(264);
    expect([...claim.subarray(0, 14)]).toEqual([2, 0, 0, 0, 2, 0, 0, 0, 0x75, 0x73, 0x62, 0x66, 0x73, 0]);
    expect(() => encodeDisconnectClaim(0, 2, 'x'.repeat(256))).toThrow(RangeError);
    expect([...encodeIoctl(1, UsbfsIoctl.CONNECT)]).toEqual([1, 0, 0, 0, 0x17, 0x55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});
