import { describe, expect, it } from 'vitest';
import type { ChooseAcceptsElectronDetails, UsbmsElectronPolicy } from './policy.js';
import { allowDevicePermission, allowPermissionCheck, chooseUsbDevice, isTrustedOrigin, originOf, protectedClassesWithoutMassStorage } from './policy.js';

const policy: UsbmsElectronPolicy = { trustedOrigins: ['app://usbms', 'http://localhost:5180'] };
const usbDevice = (vendorId: number, productId: number, deviceId = `${vendorId}:${productId}`) => ({ deviceId, vendorId, productId });

describe('origins', () => {
  it('compares origins, not URLs', () => {
    expect(originOf('http://localhost:5180/index.html?x#y')).toBe('http://localhost:5180');
    expect(originOf('file:///opt/app/index.html')).toBe('file://');
    expect(originOf('not a url')).toBeUndefined();
    expect(isTrustedOrigin('app://usbms/index.html', policy)).toBe(true);
    expect(isTrustedOrigin('http://localhost:5181', policy)).toBe(false);
    expect(isTrustedOrigin('https://evil.example', policy)).toBe(false);
    expect(isTrustedOrigin(undefined, policy)).toBe(false);
    expect(isTrustedOrigin('file:///x', policy)).toBe(false);
    expect(isTrustedOrigin('file:///x', { trustedOrigins: ['file://'] })).toBe(true);
  });
});

describe('protected classes', () => {
  it('lifts only mass storage', () => {
    expect(protectedClassesWithoutMassStorage({ protectedClasses: ['audio', 'hid', 'mass-storage', 'smart-card'] })).toEqual(['audio', 'hid', 'smart-card']);
    expect(protectedClassesWithoutMassStorage({ protectedClasses: [] })).toEqual([]);
  });
});

describe('permissions', () => {
  it('grants WebUSB to the app origins only and leaves other permissions alone', () => {
    expect(allowPermissionCheck('usb', 'app://usbms', policy)).toBe(true);
    expect(allowPermissionCheck('usb', 'https://evil.example', policy)).toBe(false);
    expect(allowPermissionCheck('geolocation', 'app://usbms', policy)).toBeUndefined();
  });

  it('keeps device permission for allowed USB devices on trusted origins', () => {
    const restricted: UsbmsElectronPolicy = { ...policy, devices: [{ vendorId: 0x0781 }] };
    expect(
      allowDevicePermission({ deviceType: 'usb', origin: 'app://usbms', device: { ...usbDevice(0x0781, 0x5581), configurations: [] } as never }, restricted),
    ).toBe(true);
    expect(allowDevicePermission({ deviceType: 'usb', origin: 'app://usbms', device: usbDevice(0x1234, 1) as never }, restricted)).toBe(false);
    expect(allowDevicePermission({ deviceType: 'usb', origin: 'https://evil.example', device: usbDevice(0x0781, 1) as never }, restricted)).toBe(false);
    expect(allowDevicePermission({ deviceType: 'hid', origin: 'app://usbms', device: usbDevice(0x0781, 1) as never }, restricted)).toBe(false);
  });
});

describe('select-usb-device', () => {
  const list = [usbDevice(0x1234, 0x0001, 'a'), usbDevice(0x0781, 0x5581, 'b')];
  it('picks the first allowed device for a trusted frame', () => {
    expect(chooseUsbDevice({ deviceList: list, frame: { origin: 'app://usbms' } }, policy)).toBe('a');
    expect(chooseUsbDevice({ deviceList: list, frame: { origin: 'app://usbms' } }, { ...policy, devices: [{ vendorId: 0x0781, productId: 0x5581 }] })).toBe(
      'b',
    );
  });
  it('cancels for untrusted or missing frames and when nothing matches', () => {
    expect(chooseUsbDevice({ deviceList: list, frame: { origin: 'https://evil.example' } }, policy)).toBeUndefined();
    expect(chooseUsbDevice({ deviceList: list, frame: null }, policy)).toBeUndefined();
    expect(chooseUsbDevice({ deviceList: list, frame: { origin: 'app://usbms' } }, { ...policy, devices: [{ vendorId: 0xffff }] })).toBeUndefined();
    const fits: ChooseAcceptsElectronDetails = true;
    expect(fits).toBe(true);
  });
});
