import { InvalidArgumentError, UnsupportedError } from '@usbms/core';
import { describe, expect, it } from 'vitest';
import { chooseBackend, usbfsUnavailable } from './backend.js';
import { openTransport } from './open.js';
import { FakeUsb, FakeUsbDevice } from './testing/fake-usb.js';

const linuxWithUsbfs = { platform: 'linux' as const, usbfsNodes: () => true, usbfsSys: () => ({ ok: true as const }) };

describe('chooseBackend', () => {
  it('the option wins over USBMS_BACKEND, which wins over the default (usbfs on Linux where it runs)', () => {
    expect(chooseBackend('usbfs', { ...linuxWithUsbfs, env: { USBMS_BACKEND: 'usb' } })).toMatchObject({ backend: 'usbfs', source: 'option' });
    expect(chooseBackend(undefined, { ...linuxWithUsbfs, env: { USBMS_BACKEND: 'USBFS' } })).toMatchObject({ backend: 'usbfs', source: 'environment' });
    expect(chooseBackend(undefined, { ...linuxWithUsbfs, env: { USBMS_BACKEND: 'usb' } })).toMatchObject({ backend: 'usb', source: 'environment' });
    expect(chooseBackend(undefined, { ...linuxWithUsbfs, env: {} })).toMatchObject({ backend: 'usbfs', source: 'default' });
    expect(chooseBackend(undefined, { ...linuxWithUsbfs, env: { USBMS_BACKEND: '' } }).backend).toBe('usbfs');
  });

  it('the default is usb, with the reason, where usbfs cannot run, and when a node-usb module is passed in', () => {
    expect(chooseBackend(undefined, { platform: 'darwin', env: {} })).toMatchObject({
      backend: 'usb',
      source: 'default',
      reason: expect.stringMatching(/Linux only/),
    });
    expect(chooseBackend(undefined, { ...linuxWithUsbfs, usbfsSys: () => ({ ok: false, reason: 'koffi missing' }), env: {} })).toMatchObject({
      backend: 'usb',
      reason: expect.stringMatching(/koffi missing/),
    });
    expect(chooseBackend(undefined, { ...linuxWithUsbfs, usbfsNodes: () => false, env: {} }).backend).toBe('usb');
    expect(chooseBackend(undefined, { ...linuxWithUsbfs, customUsb: true, env: {} })).toMatchObject({
      backend: 'usb',
      reason: expect.stringMatching(/passed in/),
    });
  });

  it('an unknown name is an InvalidArgumentError naming where it came from', () => {
    expect(() => chooseBackend('libusb', { env: {} })).toThrow(InvalidArgumentError);
    expect(() => chooseBackend(undefined, { env: { USBMS_BACKEND: 'webusb' } })).toThrow(/USBMS_BACKEND: unknown backend "webusb"/);
  });

  it('usbfs where it cannot run is an UnsupportedError that says why; usb always works', () => {
    expect(() => chooseBackend('usbfs', { platform: 'darwin', env: {} })).toThrow(UnsupportedError);
    expect(() => chooseBackend('usbfs', { platform: 'darwin', env: {} })).toThrow(/Linux only \(this is darwin\)/);
    expect(() => chooseBackend('usbfs', { ...linuxWithUsbfs, usbfsSys: () => ({ ok: false, reason: 'koffi missing' }), env: {} })).toThrow(/koffi missing/);
    expect(() => chooseBackend('usbfs', { ...linuxWithUsbfs, usbfsNodes: () => false, env: {} })).toThrow(/\/dev\/bus\/usb does not exist/);
    expect(chooseBackend('usb', { platform: 'win32', env: { USBMS_BACKEND: 'usbfs' } }).backend).toBe('usb');
    expect(usbfsUnavailable(linuxWithUsbfs)).toBeUndefined();
  });

  it('openTransport: backend usbfs off Linux fails before touching the device; usb opens it', async () => {
    const device = new FakeUsbDevice({ serialNumber: 'B1' });
    const usb = new FakeUsb([device]);
    await expect(openTransport('0781:5567', { usb, platform: 'darwin', backend: 'usbfs' })).rejects.toBeInstanceOf(UnsupportedError);
    expect(device.calls).toEqual([]);
    const transport = await openTransport('0781:5567', { usb, platform: 'darwin', backend: 'usb' });
    expect(device.claimed.has(0)).toBe(true);
    await transport.close();
  });
});
