// Host-side micro-benchmark of usbms's own per-command cost (no USB, no QEMU): TEST UNIT READY and
// READ(10) through openDevice -> NodeUsbTransport -> BotEngine -> CommandQueue -> MscDevice, over the
// node adapter's fake node-usb device served by the core's simulator, minus the same exchanges issued
// straight at the fake device. Under TCG in the guest every microsecond here costs roughly 10-30x more.
//   node --conditions=source --import tsx bench/devices/overhead.ts
import { encodeCbw } from '../../packages/core/src/bot/wrappers.js';
import { SimulatedDevice } from '../../packages/core/src/sim/index.js';
import { openDevice } from '../../packages/node/src/index.js';
import { FakeUsb } from '../../packages/node/src/testing/fake-usb.js';
import { SimUsbDevice } from '../../packages/node/src/testing/sim-usb-device.js';

const N = Number(process.env.N ?? '20000');
const sim = new SimulatedDevice({ luns: [{ blocks: 65536 }] });
const fake = new SimUsbDevice(sim, { vendorId: 0x1209, productId: 0x5553, serialNumber: 'OVH1' });
const usb = new FakeUsb([fake]);
const msc = await openDevice('1209:5553', { usb, platform: 'darwin', defaultTimeoutMs: 60_000, maxTransferBytes: 4 << 20 });
const lu = msc.lun(0);
await lu.readCapacity();

let tag = 1;
const cbw = (len: number, dirIn: boolean, cdb: number[]): Uint8Array =>
  encodeCbw({ tag: ++tag, dataTransferLength: len, direction: dirIn ? 'in' : 'out', lun: 0, cdb: Uint8Array.from(cdb) });

async function time(label: string, n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(2000, n); i++) await fn(i);
  fake.calls.length = 0;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    await fn(i);
    if (fake.calls.length > 10000) fake.calls.length = 0;
  }
  const us = ((performance.now() - t) * 1000) / n;
  console.log(`${label.padEnd(44)} ${us.toFixed(2)} us/command`);
  return us;
}

const rawTur = await time('raw fake node-usb TUR (CBW + CSW)', N, async () => {
  await fake.nativeTransferOut(2, 60_000, cbw(0, false, [0, 0, 0, 0, 0, 0]));
  await fake.nativeTransferIn(1, 60_000, 13);
});
const usbmsTur = await time('usbms lu.testUnitReady()', N, () => lu.testUnitReady());
console.log(`usbms overhead per TUR: ${(usbmsTur - rawTur).toFixed(2)} us`);
const size = 64 << 10;
const buf = new Uint8Array(size);
const rawRead = await time('raw fake node-usb READ(10) 64 KiB', N / 4, async (i) => {
  const lba = (i * 128) % 60000;
  await fake.nativeTransferOut(2, 60_000, cbw(size, true, [0x28, 0, 0, 0, (lba >> 8) & 255, lba & 255, 0, 0, 128, 0]));
  await fake.nativeTransferIn(1, 60_000, size);
  await fake.nativeTransferIn(1, 60_000, 13);
});
const usbmsRead = await time('usbms lu.read(64 KiB, into)', N / 4, (i) => lu.read((i * 128) % 60000, 128, { into: buf }));
console.log(`usbms overhead per 64 KiB read: ${(usbmsRead - rawRead).toFixed(2)} us`);
await msc.close();
