import { AccessDeniedError, DisconnectedError, InvalidArgumentError, TimeoutError, TransportError, UnsupportedError } from '@usbms/core';
import { describe, expect, it } from 'vitest';
import { classifyUsbError, reasonOf, type UsbOperation } from './map-error.js';

const ctx = (operation: UsbOperation, disconnected = false) => ({ operation, disconnected, timeoutMs: 5000, subject: 'interface 0 of 0781:5567' });

describe('classifyUsbError (node-usb 3.1 messages)', () => {
  it('reads a bulk stall as a result, not an error', () => {
    expect(classifyUsbError(new Error('transferIn error: Stall'), ctx('bulk-in'))).toEqual({ kind: 'stall' });
    expect(classifyUsbError(new Error('transferOut error: Stall'), ctx('bulk-out'))).toEqual({ kind: 'stall' });
  });

  it('reads a control stall (Display form) as a result', () => {
    expect(classifyUsbError(new Error('controlTransferIn error: endpoint stalled'), ctx('control-in'))).toEqual({ kind: 'stall' });
  });

  it('reads a fault on bulk IN as babble and elsewhere as a transport error', () => {
    expect(classifyUsbError(new Error('transferIn error: Fault'), ctx('bulk-in'))).toEqual({ kind: 'babble' });
    const out = classifyUsbError(new Error('transferOut error: Fault'), ctx('bulk-out'));
    expect(out.kind === 'error' && out.error).toBeInstanceOf(TransportError);
  });

  it('reads a cancelled transfer as the native timeout', () => {
    const c = classifyUsbError(new Error('transferIn error: Cancelled'), ctx('bulk-in'));
    expect(c.kind).toBe('error');
    if (c.kind !== 'error') return;
    expect(c.error).toBeInstanceOf(TimeoutError);
    expect(c.error.message).toContain('5000 ms');
    expect(c.ambiguous).toBe(false);
    const ctl = classifyUsbError(new Error('controlTransferOut error: transfer was cancelled'), ctx('control-out'));
    expect(ctl.kind === 'error' && ctl.error).toBeInstanceOf(TimeoutError);
  });

  it('reads nusb Disconnected as a disconnect', () => {
    const c = classifyUsbError(new Error('transferIn error: Disconnected'), ctx('bulk-in'));
    expect(c.kind === 'error' && c.error).toBeInstanceOf(DisconnectedError);
    const ctl = classifyUsbError(new Error('controlTransferIn error: device disconnected'), ctx('control-in'));
    expect(ctl.kind === 'error' && ctl.error).toBeInstanceOf(DisconnectedError);
  });

  it('marks "endpoint not found" as ambiguous until the disconnect event says otherwise', () => {
    const before = classifyUsbError(new Error('transferIn error: endpoint not found'), ctx('bulk-in'));
    expect(before.kind === 'error' && before.ambiguous).toBe(true);
    expect(before.kind === 'error' && before.error).toBeInstanceOf(TransportError);
    const after = classifyUsbError(new Error('transferIn error: endpoint not found'), ctx('bulk-in', true));
    expect(after.kind === 'error' && after.error).toBeInstanceOf(DisconnectedError);
  });

  it('a known disconnect wins over a stall text', () => {
    const c = classifyUsbError(new Error('transferIn error: Stall'), ctx('bulk-in', true));
    expect(c.kind === 'error' && c.error).toBeInstanceOf(DisconnectedError);
  });

  it('maps permission and busy claim failures to AccessDeniedError with a reason', () => {
    const perm = classifyUsbError(new Error('open error: failed to open device: Permission denied (os error 13)'), ctx('open'));
    expect(perm.kind === 'error' && perm.error).toBeInstanceOf(AccessDeniedError);
    expect(perm.kind === 'error' && perm.error.details?.reason).toBe('permission');
    const busy = classifyUsbError(new Error('claimInterface error: failed to claim interface: Device or resource busy (os error 16)'), ctx('claim'));
    expect(busy.kind === 'error' && busy.error.details?.reason).toBe('busy');
  });

  it('recognises "no driver bound" from a detach (ENODATA)', () => {
    const c = classifyUsbError(new Error('detachKernelDriver error: No data available (os error 61)'), ctx('detach-kernel-driver'));
    expect(reasonOf(c)).toBe('no-driver');
  });

  it('maps invalid arguments and unsupported operations', () => {
    const inv = classifyUsbError(new Error('transferIn error: InvalidArgument'), ctx('bulk-in'));
    expect(inv.kind === 'error' && inv.error).toBeInstanceOf(InvalidArgumentError);
    const uns = classifyUsbError(new Error('isochronousTransferIn error: method not implemented'), ctx('bulk-in'));
    expect(uns.kind === 'error' && uns.error).toBeInstanceOf(UnsupportedError);
  });

  it('keeps the platform error as the cause', () => {
    const original = new Error('transferOut error: Unknown(71)');
    const c = classifyUsbError(original, ctx('bulk-out'));
    expect(c.kind === 'error' && c.error.cause).toBe(original);
  });

  it('handles non-Error throwables', () => {
    const c = classifyUsbError('transferIn error: Stall', ctx('bulk-in'));
    expect(c).toEqual({ kind: 'stall' });
  });
});
