// One owner of device state: every transition of DeviceLifecycle, then the same transitions as MscDevice
// lives them on the simulator (the engine reports, the lifecycle decides, the queue rejects).
import { describe, expect, it } from 'vitest';
import { MscDevice } from './device.js';
import { DeviceLifecycle, type DeviceState, unavailableError } from './device-state.js';
import { ClosedError, DeviceFailedError, DisconnectedError, PhaseError, TransportError } from './errors.js';
import type { Quirks } from './quirks.js';
import { SimulatedDevice } from './sim/index.js';

function watched(): { life: DeviceLifecycle; seen: [DeviceState, string | undefined][] } {
  const life = new DeviceLifecycle();
  const seen: [DeviceState, string | undefined][] = [];
  life.onChange((state, cause) => seen.push([state, cause?.code]));
  return { life, seen };
}

describe('DeviceLifecycle: transitions', () => {
  it('starts open and refuses nothing', () => {
    const life = new DeviceLifecycle();
    expect(life.state).toBe('open');
    expect(life.cause).toBeUndefined();
    expect(life.refusal('READ(10)')).toBeUndefined();
  });

  it('open -> failed when the engine reports DeviceFailedError; later reports of failure are ignored', () => {
    const { life, seen } = watched();
    const failed = new DeviceFailedError('Reset recovery failed at bulk-only-reset');
    life.report(failed);
    life.report(new DeviceFailedError('a second one'));
    expect(life.state).toBe('failed');
    expect(life.cause).toBe(failed);
    expect(seen).toEqual([['failed', 'DEVICE_FAILED']]);
  });

  it('open -> disconnected on the platform event (no error given) or a reported DisconnectedError', () => {
    const event = watched();
    event.life.disconnect();
    expect(event.life.state).toBe('disconnected');
    expect(event.life.cause).toBeInstanceOf(DisconnectedError);
    const reported = watched();
    const gone = new DisconnectedError('LIBUSB_ERROR_NO_DEVICE');
    reported.life.report(gone);
    expect(reported.life.state).toBe('disconnected');
    expect(reported.life.cause).toBe(gone);
    reported.life.disconnect(); // the event arriving after the error changes nothing
    expect(reported.seen).toEqual([['disconnected', 'DISCONNECTED']]);
  });

  it('failed -> disconnected (unplugging a failed device), but not back', () => {
    const { life, seen } = watched();
    life.report(new DeviceFailedError('recovery failed'));
    life.disconnect();
    life.report(new DeviceFailedError('too late'));
    expect(life.state).toBe('disconnected');
    expect(seen.map(([state]) => state)).toEqual(['failed', 'disconnected']);
  });

  it('any state -> closed, once; closed is final', () => {
    for (const before of ['open', 'failed', 'disconnected'] as const) {
      const { life, seen } = watched();
      if (before === 'failed') life.report(new DeviceFailedError('x'));
      if (before === 'disconnected') life.disconnect();
      life.close();
      life.close();
      life.disconnect();
      life.report(new DeviceFailedError('after close'));
      expect(life.state, before).toBe('closed');
      expect(
        seen.filter(([state]) => state === 'closed'),
        before,
      ).toHaveLength(1);
    }
  });

  it('errors that leave the device usable (a recovered phase error, a stall) change nothing', () => {
    const { life, seen } = watched();
    life.report(new PhaseError('phase error, recovered by reset'));
    life.report(new TransportError('stall'));
    life.report('not even an error');
    expect(life.state).toBe('open');
    expect(seen).toEqual([]);
  });
});

describe('the one fail-fast message', () => {
  it('names the operation and the state, chains the cause, with the class of the state', () => {
    const cause = new DeviceFailedError('Reset recovery failed: the class reset and then the port reset failed');
    const failed = unavailableError('READ(10)', 'failed', cause);
    expect(failed).toBeInstanceOf(DeviceFailedError);
    expect(failed.message).toBe(`READ(10) was not run: the device failed (${cause.message}); close and reopen it`);
    expect(failed.cause).toBe(cause);
    const gone = unavailableError('INQUIRY', 'disconnected');
    expect(gone).toBeInstanceOf(DisconnectedError);
    expect(gone.message).toBe('INQUIRY failed: the USB device was disconnected; reconnect it and open it again');
    const closed = unavailableError('TEST UNIT READY', 'closed');
    expect(closed).toBeInstanceOf(ClosedError);
    expect(closed.message).toBe('TEST UNIT READY refused: the device is closed; open it again');
  });

  it('refusal() is that message for the current state', () => {
    const life = new DeviceLifecycle();
    life.report(new DeviceFailedError('recovery failed'));
    expect(life.refusal('WRITE(10)')?.message).toBe('WRITE(10) was not run: the device failed (recovery failed); close and reopen it');
  });
});

describe('MscDevice: the lifecycle owns the state, the engine reports, the queue rejects when told', () => {
  /** A device whose reset recovery cannot succeed (class reset stalls, port reset fails), then a phase error. */
  async function failedDevice() {
    const sim = new SimulatedDevice();
    const device = await MscDevice.open(sim.transport);
    sim.inject({ kind: 'reset-stall' });
    sim.inject({ kind: 'port-reset-fail' });
    sim.inject({ kind: 'phase-error', opcode: 0x00 });
    return { sim, device };
  }

  it('open -> failed: the command that failed, the queued ones and later ones all reject; nothing more is sent', async () => {
    const { sim, device } = await failedDevice();
    const first = device.lun(0).testUnitReady();
    const queued = device.lun(0).readCapacity();
    const error = await first.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceFailedError);
    expect(device.state).toBe('failed');
    const queuedError = await queued.catch((e: unknown) => e);
    const sent = sim.log.length;
    const laterError = await device
      .lun(0)
      .testUnitReady()
      .catch((e: unknown) => e);
    expect(sim.log.length).toBe(sent);
    // The same wording, whether the queue rejected a waiting job or the device refused a new one.
    expect(queuedError).toBeInstanceOf(DeviceFailedError);
    expect((queuedError as Error).message).toBe(unavailableError('READ CAPACITY(10)', 'failed', error as DeviceFailedError).message);
    expect((laterError as Error).message).toBe(unavailableError('TEST UNIT READY', 'failed', error as DeviceFailedError).message);
    await expect(device.reset()).rejects.toBeInstanceOf(DeviceFailedError);
    await device.close();
    expect(device.state).toBe('closed');
  });

  it('failed -> disconnected when the failed device is unplugged; listeners hear it once', async () => {
    const { sim, device } = await failedDevice();
    const heard: string[] = [];
    device.onDisconnect(() => heard.push('disconnect'));
    await expect(device.lun(0).testUnitReady()).rejects.toBeInstanceOf(DeviceFailedError);
    sim.disconnect();
    expect(device.state).toBe('disconnected');
    expect(heard).toEqual(['disconnect']);
    await expect(device.lun(0).testUnitReady()).rejects.toBeInstanceOf(DisconnectedError);
    await device.close();
  });

  it('open -> closed: commands are refused with ClosedError naming them; close is idempotent', async () => {
    const sim = new SimulatedDevice();
    const device = await MscDevice.open(sim.transport);
    await device.close();
    await device.close();
    expect(device.state).toBe('closed');
    const error = await device
      .lun(0)
      .testUnitReady()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClosedError);
    expect((error as Error).message).toBe('TEST UNIT READY refused: the device is closed; open it again');
    sim.disconnect();
    expect(device.state).toBe('closed');
  });
});

describe('MscDevice: quirks are handed to the engine explicitly', () => {
  it('a rule that matches only on INQUIRY data reaches the engine (ignoreTag), and no object is changed in place', async () => {
    const sim = new SimulatedDevice({ luns: [{ vendor: 'TAGLESS', product: 'Stick' }] });
    const rules = [{ inquiryVendor: 'TAGLESS', quirks: { ignoreTag: true } satisfies Partial<Quirks> }];
    const option: Partial<Quirks> = { noSynchronizeCache: true };
    const seen: Quirks[] = [];
    const device = await MscDevice.open(sim.transport, {
      quirkRules: rules,
      quirks: option,
      onTrace: (e) => {
        if (e.type === 'quirks') seen.push(e.quirks as Quirks);
      },
    });
    expect(device.quirks.ignoreTag).toBe(true);
    expect(device.quirks.noSynchronizeCache).toBe(true);
    expect(option).toEqual({ noSynchronizeCache: true });
    expect(rules[0]?.quirks).toEqual({ ignoreTag: true });
    // The descriptor-stage match did not have the INQUIRY data; what it produced was not changed afterwards.
    expect(seen.map((q) => q.ignoreTag)).toEqual([false, true]);
    sim.inject({ kind: 'wrong-tag', opcode: 0x00 });
    await expect(device.lun(0).testUnitReady()).resolves.toBeUndefined();
    expect(sim.stats.bulkOnlyResets).toBe(0);
    await device.close();
  });
});
