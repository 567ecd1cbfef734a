/**
 * Compile-time check (no runtime code): the browser's own WebUSB objects fit
 * @usbms/web's structural types, so `navigator.usb` and its devices can be
 * passed straight in. Type-checked with the DOM library and @types/w3c-web-usb.
 */
import type { UsbDeviceLike, UsbLike } from '@usbms/web';

export function webUsbTypesFit(usb: USB, device: USBDevice): [UsbLike, UsbDeviceLike] {
  return [usb, device];
}
