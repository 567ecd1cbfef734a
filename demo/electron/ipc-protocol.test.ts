import { ProtectedClassError, ScsiCheckConditionError, UsbmsErrorCode } from '@usbms/core';
import { describe, expect, it } from 'vitest';
import { fromIpcResult, toIpcResult } from './ipc-protocol.js';

describe('IPC results', () => {
  it('carries values and typed errors across a structured clone', async () => {
    const ok = structuredClone(await toIpcResult(async () => Uint8Array.of(1, 2)));
    expect(fromIpcResult(ok)).toEqual(Uint8Array.of(1, 2));
    const failed = structuredClone(
      await toIpcResult(async () => {
        throw new ProtectedClassError('refused');
      }),
    );
    expect(() => fromIpcResult(failed)).toThrow(ProtectedClassError);
    const check = structuredClone(
      await toIpcResult(async () => {
        throw new ScsiCheckConditionError('READ(10) failed', undefined);
      }),
    );
    let caught: unknown;
    try {
      fromIpcResult(check);
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: UsbmsErrorCode.CheckCondition, message: 'READ(10) failed' });
  });
});
