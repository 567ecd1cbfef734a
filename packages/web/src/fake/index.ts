export type { FakeUsbDeviceOptions } from './fake-usb.js';
export { ChromiumMessages, FakeUsb, FakeUsbDevice, makeInResult, makeOutResult } from './fake-usb.js';
