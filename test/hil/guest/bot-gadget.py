#!/usr/bin/python3
"""A recording USB Mass Storage Bulk-Only Transport gadget in user space (FunctionFS, usb_f_fs).

Every CBW, data stage and CSW is logged as one JSON line. Commands are either served from a file-backed
disk (--file: a minimal SBC block device), or forwarded one by one through SG_IO to a Linux SCSI device
(--sg /dev/sgN, e.g. a disk behind libata), or sent over a Unix socket to a command-level target
(--sim SOCKET: guest/sim-target.ts, the simulator's bridge emulations). When forwarding, the CDB goes down
unchanged, data and status come back, and the sense data returned with a CHECK CONDITION is kept for the
host's next REQUEST SENSE, which is never forwarded; no sense is ever made up (REQUEST SENSE with nothing
pending answers NO SENSE, as SPC-4 §6.39 says).

Python 3 stdlib only (struct, fcntl.ioctl, ctypes buffers), so any test suite of the integration rig can
run it from the host root the guest mounts. Usage (inside the guest, after `mount -t functionfs NAME DIR`):

  bot-gadget.py --ffs DIR --udc-file /sys/kernel/config/usb_gadget/G/UDC --udc dummy_udc.0 \
                --log out.jsonl (--file disk.img | --sg /dev/sg1 | --sim /tmp/sim.sock)

BOT rules from USB MSC BOT 1.0: CBW 31 bytes (§5.1), CSW 13 bytes (§5.2), Get Max LUN and Bulk-Only Mass
Storage Reset class requests (§3.1, §3.2), short data-in with residue and a STALL when the host expects
more (§6.7.2).
"""
import argparse
import ctypes
import fcntl
import json
import os
import socket
import struct
import sys
import threading
import time

# linux/usb/functionfs.h
FUNCTIONFS_DESCRIPTORS_MAGIC_V2 = 3
FUNCTIONFS_STRINGS_MAGIC = 2
FUNCTIONFS_HAS_FS_DESC = 1
FUNCTIONFS_HAS_HS_DESC = 2
EVENT_NAMES = {0: 'bind', 1: 'unbind', 2: 'enable', 3: 'disable', 4: 'setup', 5: 'suspend', 6: 'resume'}

# scsi/sg.h
SG_IO = 0x2285
SG_DXFER_NONE = -1
SG_DXFER_TO_DEV = -2
SG_DXFER_FROM_DEV = -3
SG_IO_HDR = struct.Struct('@iiBBHIPPPIIiPBBBBHHiII')  # struct sg_io_hdr, 88 bytes on LP64

CBW = struct.Struct('<IIIBBB16s')  # dCBWSignature, tag, length, flags, LUN, CB length, CB
CSW = struct.Struct('<IIIB')
CBW_SIGNATURE = 0x43425355
CSW_SIGNATURE = 0x53425355


def hexs(data):
    return data.hex()


class Log:
    def __init__(self, path):
        self.file = open(path, 'a', buffering=1)
        self.lock = threading.Lock()
        self.t0 = time.monotonic()

    def write(self, kind, **fields):
        with self.lock:
            fields = {'t': round(time.monotonic() - self.t0, 6), 'kind': kind, **fields}
            self.file.write(json.dumps(fields) + '\n')


def descriptors():
    """One interface, class 08h subclass 06h (SCSI transparent) protocol 50h (BOT), bulk IN then bulk OUT."""
    def speed(packet):
        intf = struct.pack('<BBBBBBBBB', 9, 4, 0, 0, 2, 0x08, 0x06, 0x50, 1)
        ep_in = struct.pack('<BBBBHB', 7, 5, 0x81, 2, packet, 0)
        ep_out = struct.pack('<BBBBHB', 7, 5, 0x02, 2, packet, 0)
        return intf + ep_in + ep_out
    body = struct.pack('<II', 3, 3) + speed(64) + speed(512)
    head = struct.pack('<III', FUNCTIONFS_DESCRIPTORS_MAGIC_V2, 12 + len(body), FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC)
    return head + body


def strings():
    text = b'usbms recording BOT\0'
    body = struct.pack('<H', 0x0409) + text
    return struct.pack('<IIII', FUNCTIONFS_STRINGS_MAGIC, 16 + len(body), 1, 1) + body


class FileDisk:
    """A minimal SBC-3 direct-access block device on a file (enough for the kernel's usb-storage probe)."""

    def __init__(self, path, block=512):
        self.fd = os.open(path, os.O_RDWR)
        self.block = block
        self.blocks = os.fstat(self.fd).st_size // block
        self.sense = None

    def execute(self, cdb, direction, length, data_out, lun):
        op = cdb[0]
        self.sense = None
        if op == 0x00:  # TEST UNIT READY
            return 0, b''
        if op == 0x12:  # INQUIRY
            if cdb[1] & 1:
                return self.fail(0x05, 0x24, 0x00)
            d = bytes([0, 0, 6, 2, 31, 0, 0, 0]) + b'usbms   ' + b'Recording disk  ' + b'1.0 '
            return 0, d[:length]
        if op == 0x25:  # READ CAPACITY(10)
            return 0, struct.pack('>II', self.blocks - 1, self.block)
        if op == 0x1a:  # MODE SENSE(6): header only, no block descriptors
            return 0, bytes([3, 0, 0, 0])[:length]
        if op in (0x28, 0x2a):  # READ(10) / WRITE(10)
            lba, count = struct.unpack('>I', cdb[2:6])[0], struct.unpack('>H', cdb[7:9])[0]
            if lba + count > self.blocks:
                return self.fail(0x05, 0x21, 0x00)
            if op == 0x28:
                return 0, os.pread(self.fd, count * self.block, lba * self.block)
            os.pwrite(self.fd, data_out, lba * self.block)
            return 0, b''
        if op in (0x1e, 0x35, 0x1b):  # PREVENT ALLOW, SYNCHRONIZE CACHE, START STOP UNIT
            return 0, b''
        return self.fail(0x05, 0x20, 0x00)

    def fail(self, key, asc, ascq):
        self.sense = bytes([0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0])
        return 1, b''


class SgDisk:
    """Forwards each CDB through SG_IO; keeps the sense SG_IO returned for the next REQUEST SENSE."""

    def __init__(self, path, log):
        self.fd = os.open(path, os.O_RDWR)
        self.log = log
        self.sense = None

    def execute(self, cdb, direction, length, data_out, lun):
        self.sense = None
        cdb_buf = ctypes.create_string_buffer(bytes(cdb), len(cdb))
        sense_buf = ctypes.create_string_buffer(252)
        if direction == 'in':
            data_buf = ctypes.create_string_buffer(length)
            dxfer = SG_DXFER_FROM_DEV
        elif direction == 'out':
            data_buf = ctypes.create_string_buffer(bytes(data_out), len(data_out))
            dxfer = SG_DXFER_TO_DEV
        else:
            data_buf = None
            dxfer = SG_DXFER_NONE
        hdr = bytearray(SG_IO_HDR.pack(
            ord('S'), dxfer, len(cdb), len(sense_buf), 0,
            length if data_buf is not None else 0,
            ctypes.addressof(data_buf) if data_buf is not None else 0,
            ctypes.addressof(cdb_buf), ctypes.addressof(sense_buf),
            60_000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
        fcntl.ioctl(self.fd, SG_IO, hdr)
        f = SG_IO_HDR.unpack(bytes(hdr))
        status, host_status, driver_status, sb_len, resid = f[13], f[17], f[18], f[16], f[19]
        got = b''
        if direction == 'in':
            got = data_buf.raw[:max(0, length - resid)]
        sense = sense_buf.raw[:sb_len] if sb_len > 0 else b''
        self.log.write('sg_io', cdb=hexs(cdb), status=status, host_status=host_status, driver_status=driver_status,
                       resid=resid, sense=hexs(sense))
        if status == 0 and host_status == 0 and (driver_status & 0x0f) == 0:
            return 0, got
        if sense:
            self.sense = sense
        return 1, got


class SimSocketDisk:
    """Sends each command to a command-level target over a Unix socket (wire format: guest/sim-target.ts)."""

    REQUEST = struct.Struct('<BBHII')  # LUN, direction (0 none, 1 in, 2 out), CDB length, transfer length, data-out length
    REPLY = struct.Struct('<BBHI')  # CSW status, 0, sense length, data-in length
    DIRECTIONS = {'none': 0, 'in': 1, 'out': 2}

    def __init__(self, path, log):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.log = log
        self.sense = None

    def recv_exactly(self, n):
        chunks = []
        while n > 0:
            chunk = self.sock.recv(n)
            if not chunk:
                raise OSError('the simulated target closed the connection')
            chunks.append(chunk)
            n -= len(chunk)
        return b''.join(chunks)

    def execute(self, cdb, direction, length, data_out, lun):
        self.sense = None
        out = bytes(data_out) if direction == 'out' else b''
        self.sock.sendall(self.REQUEST.pack(lun, self.DIRECTIONS[direction], len(cdb), length, len(out)) + bytes(cdb) + out)
        status, _, sense_len, data_len = self.REPLY.unpack(self.recv_exactly(self.REPLY.size))
        sense = self.recv_exactly(sense_len)
        data = self.recv_exactly(data_len)
        self.log.write('sim', cdb=hexs(cdb), status=status, sense=hexs(sense), data_in=data_len)
        if status == 1 and sense:
            self.sense = sense
        return status, data


class Gadget:
    def __init__(self, args):
        self.args = args
        self.log = Log(args.log)
        self.ep0 = os.open(os.path.join(args.ffs, 'ep0'), os.O_RDWR)
        os.write(self.ep0, descriptors())
        os.write(self.ep0, strings())
        self.ep_in = os.open(os.path.join(args.ffs, 'ep1'), os.O_RDWR)
        self.ep_out = os.open(os.path.join(args.ffs, 'ep2'), os.O_RDWR)
        if args.sg:
            self.disk, mode, target = SgDisk(args.sg, self.log), 'sg', args.sg
        elif args.sim:
            self.disk, mode, target = SimSocketDisk(args.sim, self.log), 'sim', args.sim
        else:
            self.disk, mode, target = FileDisk(args.file), 'file', args.file
        self.log.write('start', mode=mode, target=target, kernel=os.uname().release)

    def control_loop(self):
        while True:
            event = os.read(self.ep0, 12)
            if len(event) < 12:
                continue
            request_type, request, value, index, wlength = struct.unpack('<BBHHH', event[:8])
            kind = EVENT_NAMES.get(event[8], str(event[8]))
            if kind != 'setup':
                self.log.write('event', event=kind)
                continue
            self.log.write('setup', bmRequestType=request_type, bRequest=request, wValue=value, wIndex=index, wLength=wlength)
            if request_type == 0xa1 and request == 0xfe:  # Get Max LUN (BOT §3.2): one LUN
                os.write(self.ep0, b'\x00')
            elif request_type == 0x21 and request == 0xff:  # Bulk-Only Mass Storage Reset (§3.1)
                os.read(self.ep0, 0)
            elif request_type & 0x80:
                try:  # stall: I/O in the wrong direction halts ep0
                    os.read(self.ep0, 0)
                except OSError:
                    pass
            else:
                try:
                    os.write(self.ep0, b'')
                except OSError:
                    pass

    def bulk_loop(self):
        while True:
            try:
                raw = os.read(self.ep_out, 512)
            except OSError as e:
                self.log.write('bulk-error', stage='cbw', error=str(e))
                time.sleep(0.05)
                continue
            if len(raw) != 31:
                self.log.write('bad-cbw', bytes=hexs(raw))
                continue
            sig, tag, length, flags, lun, cblen, cb = CBW.unpack(raw)
            cdb = cb[:cblen]
            direction = 'none' if length == 0 else ('in' if flags & 0x80 else 'out')
            self.log.write('cbw', tag=tag, length=length, direction=direction, lun=lun, cdb=hexs(cdb), valid=sig == CBW_SIGNATURE)
            data_out = b''
            if direction == 'out':
                chunks = []
                remaining = length
                while remaining > 0:
                    chunk = os.read(self.ep_out, min(remaining, 65536))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    remaining -= len(chunk)
                data_out = b''.join(chunks)
                self.log.write('data-out', tag=tag, bytes=len(data_out), head=hexs(data_out[:512]))
            if cdb and cdb[0] == 0x03:
                # REQUEST SENSE is answered here, never forwarded: the pending sense of the previous command.
                pending = self.disk.sense
                self.disk.sense = None
                sense = pending if pending is not None else bytes([0x70, 0, 0, 0, 0, 0, 0, 10]) + bytes(10)
                status, data = 0, sense[:cdb[4] if len(cdb) > 4 else 18]
                self.log.write('request-sense', tag=tag, pending=pending is not None, sense=hexs(sense))
            else:
                try:
                    status, data = self.disk.execute(cdb, direction, length, data_out, lun)
                except OSError as e:
                    self.log.write('execute-error', tag=tag, error=str(e))
                    status, data = 1, b''
            residue = length
            if direction == 'in':
                data = data[:length]
                if data:
                    os.write(self.ep_in, data)
                self.log.write('data-in', tag=tag, bytes=len(data), head=hexs(data[:64]))
                residue = length - len(data)
                if residue > 0 and len(data) % 512 == 0:
                    # BOT §6.7.2 (Hi > Di): no short packet ended the transfer, so STALL bulk-in; a read on an
                    # IN endpoint file halts it in FunctionFS.
                    try:
                        os.read(self.ep_in, 0)
                    except OSError:
                        pass
                    self.log.write('stall', tag=tag, endpoint='in')
            elif direction == 'out':
                residue = length - len(data_out)
            csw = CSW.pack(CSW_SIGNATURE, tag, residue, status)
            os.write(self.ep_in, csw)
            self.log.write('csw', tag=tag, residue=residue, status=status)

    def run(self):
        threading.Thread(target=self.control_loop, daemon=True).start()
        if self.args.udc_file:
            with open(self.args.udc_file, 'w') as f:
                f.write(self.args.udc)
            self.log.write('bound', udc=self.args.udc)
        self.bulk_loop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--ffs', required=True)
    p.add_argument('--log', required=True)
    p.add_argument('--file')
    p.add_argument('--sg')
    p.add_argument('--sim', help='Unix socket of a command-level target (guest/sim-target.ts)')
    p.add_argument('--udc-file')
    p.add_argument('--udc', default='dummy_udc.0')
    args = p.parse_args()
    if sum(1 for x in (args.file, args.sg, args.sim) if x) != 1:
        p.error('give exactly one of --file, --sg and --sim')
    Gadget(args).run()


if __name__ == '__main__':
    sys.exit(main())
