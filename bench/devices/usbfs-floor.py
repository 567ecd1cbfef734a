#!/usr/bin/python3
# TEST UNIT READY through raw usbfs ioctls: synchronous USBDEVFS_BULK, no libusb, no nusb, no Node.
# Run by guest.ts inside the QEMU guest to show what a userspace BOT exchange costs without node-usb's
# asynchronous completion path (compare with sg_turs, the kernel's SG_IO path, in the same boot).
#   python3 usbfs-floor.py SERIAL [COUNT]
# Detaches the kernel driver from interface 0, claims it, runs COUNT TURs (after 20 warm-up ones),
# releases it and re-attaches the driver. Prints "usbfs TUR mean M p50 P p90 Q us".
import ctypes, fcntl, glob, os, struct, sys, time

serial = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 300


def ioc(direction, nr, size):  # linux/usbdevice_fs.h: _IOC(dir, 'U', nr, size)
    return (direction << 30) | (size << 16) | (ord('U') << 8) | nr


USBDEVFS_BULK = ioc(3, 2, 24)  # struct usbdevfs_bulktransfer { u32 ep, len, timeout; void *data; }
USBDEVFS_CLAIMINTERFACE = ioc(2, 15, 4)
USBDEVFS_RELEASEINTERFACE = ioc(2, 16, 4)
USBDEVFS_IOCTL = ioc(3, 18, 16)  # struct usbdevfs_ioctl { int ifno, ioctl_code; void *data; }
USBDEVFS_DISCONNECT = ioc(0, 22, 0)
USBDEVFS_CONNECT = ioc(0, 23, 0)

dev = next((d for d in glob.glob('/sys/bus/usb/devices/*') if os.path.exists(d + '/serial') and open(d + '/serial').read().strip() == serial), None)
if dev is None:
    sys.exit('no USB device with serial ' + serial)
iface = dev + '/' + os.path.basename(dev) + ':1.0'
ep_in = ep_out = None
for e in glob.glob(iface + '/ep_*'):
    if open(e + '/type').read().strip() == 'Bulk':
        address = int(open(e + '/bEndpointAddress').read(), 16)
        if address & 0x80:
            ep_in = address
        else:
            ep_out = address
fd = os.open('/dev/bus/usb/%03d/%03d' % (int(open(dev + '/busnum').read()), int(open(dev + '/devnum').read())), os.O_RDWR)
try:
    fcntl.ioctl(fd, USBDEVFS_IOCTL, bytearray(struct.pack('iiP', 0, USBDEVFS_DISCONNECT, 0)))
except OSError:
    pass  # no driver bound
fcntl.ioctl(fd, USBDEVFS_CLAIMINTERFACE, bytearray(struct.pack('I', 0)))


def bulk(ep, buf, length):
    data = (ctypes.c_char * len(buf)).from_buffer(buf)
    return fcntl.ioctl(fd, USBDEVFS_BULK, bytearray(struct.pack('IIIxxxxP', ep, length, 5000, ctypes.addressof(data))))


csw = bytearray(1024)
tag = 0x6000_0000


def tur():
    global tag
    tag += 1
    cbw = bytearray(struct.pack('<IIIBBB', 0x43425355, tag, 0, 0, 0, 6) + bytes(16))  # BOT 1.0 §5.1
    bulk(ep_out, cbw, 31)
    n = bulk(ep_in, csw, 13)
    if n != 13 or struct.unpack_from('<II', csw, 0) != (0x53425355, tag):
        sys.exit('bad CSW')


try:
    for _ in range(20):
        tur()
    samples = []
    for _ in range(count):
        t = time.perf_counter()
        tur()
        samples.append((time.perf_counter() - t) * 1e6)
    samples.sort()
    print('usbfs TUR mean %d p50 %d p90 %d us' % (sum(samples) / len(samples), samples[len(samples) // 2], samples[int(len(samples) * 0.9)]))
finally:
    fcntl.ioctl(fd, USBDEVFS_RELEASEINTERFACE, bytearray(struct.pack('I', 0)))
    try:
        fcntl.ioctl(fd, USBDEVFS_IOCTL, bytearray(struct.pack('iiP', 0, USBDEVFS_CONNECT, 0)))
    except OSError as error:
        print('re-attach failed:', error, file=sys.stderr)
    os.close(fd)
