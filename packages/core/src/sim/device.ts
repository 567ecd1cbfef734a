/**
 * A simulated USB Mass Storage device: SCSI logical units (scsi-target.ts) behind a Bulk-Only
 * Transport device model (bot-target.ts, USB MSC BOT 1.0), reached through a transfer scheduler
 * (pipes.ts) that exposes it as an `MscTransport`. The device side follows BOT 1.0 §5-§6 including the
 * thirteen host/device cases of §6.7, and checks the host: a malformed CBW or a CBW sent before the
 * previous CSW was read is recorded in `violations`.
 */

import { MscProtocol, MscSubclass } from '../bot/wire.js';
import { DisconnectedError, InvalidArgumentError, ProtocolViolationError } from '../errors.js';
import type { MscTransport, TransportInfo } from '../transport.js';
import { SimBotTarget } from './bot-target.js';
import type { SimFault, SimFaultHandle } from './faults.js';
import { SimPipes } from './pipes.js';
import { SimLogicalUnit } from './scsi-target.js';
import type { SimBotState, SimCommandRecord, SimStats, SimulatedDeviceOptions, SimViolation } from './types.js';

export type { SimBotState, SimCommandRecord, SimStats, SimulatedDeviceOptions, SimViolation, SimViolationKind } from './types.js';

/** BOT 1.0 §3.2: Get Max LUN answers 0-15, so a device has 1-16 LUNs. */
const MAX_LUNS = 16;
/** wMaxPacketSize of a high-speed bulk endpoint (USB 2.0 §5.8.3). */
const HIGH_SPEED_BULK_PACKET = 512;
/** pid.codes test VID and the PID usbms uses for its simulated device. */
const SIM_VENDOR_ID = 0x1209;
const SIM_PRODUCT_ID = 0x5553;

/**
 * A RAM-backed SCSI block device behind a Bulk-Only Transport device model.
 *
 * @example
 * const sim = new SimulatedDevice({ luns: [{ blocks: 2048 }, { mediumPresent: false }] });
 * const device = await MscDevice.open(sim.transport);
 * sim.inject({ kind: 'stall-csw', opcode: 0x28 });
 * // ... after the test:
 * sim.assertClean();
 */
export class SimulatedDevice {
  readonly options: Readonly<SimulatedDeviceOptions>;
  readonly #luns: SimLogicalUnit[];
  readonly #target: SimBotTarget;
  readonly #pipes: SimPipes;

  constructor(options: SimulatedDeviceOptions = {}) {
    this.options = options;
    const lunOptions = options.luns ?? [{}];
    if (lunOptions.length < 1 || lunOptions.length > MAX_LUNS) {
      throw new InvalidArgumentError(`a simulated device has 1-${MAX_LUNS} LUNs (BOT 1.0 §3.2), got ${lunOptions.length}`);
    }
    this.#luns = lunOptions.map((o, i) => new SimLogicalUnit(i, o));
    const info: TransportInfo = {
      maxPacketSizeIn: HIGH_SPEED_BULK_PACKET,
      maxPacketSizeOut: HIGH_SPEED_BULK_PACKET,
      speed: 'high',
      vendorId: SIM_VENDOR_ID,
      productId: SIM_PRODUCT_ID,
      serialNumber: 'SIM0001',
      manufacturer: 'usbms',
      product: 'usbms simulated device',
      interfaceNumber: 0,
      interfaceSubclass: MscSubclass.ScsiTransparent,
      interfaceProtocol: MscProtocol.BulkOnly,
      ...options.info,
    };
    this.#target = new SimBotTarget(this.#luns, options, info.maxPacketSizeIn, {
      kick: () => this.#pipes.kick(),
      disconnect: () => this.disconnect(),
    });
    this.#pipes = new SimPipes(this.#target, {
      info,
      transferDelayMs: options.transferDelayMs,
      bytesPerSecond: options.bytesPerSecond,
      portReset: options.portReset ?? true,
    });
  }

  /** The transport of the current connection (a new object after `reconnect()`). */
  get transport(): MscTransport {
    return this.#pipes.transport;
  }

  /** The logical units (index = LUN). */
  get luns(): readonly SimLogicalUnit[] {
    return this.#luns;
  }

  /** The logical unit numbered `n` (its medium, store, write protection, pending sense); InvalidArgumentError if there is none. */
  lun(n: number): SimLogicalUnit {
    const lu = this.#luns[n];
    if (!lu) throw new InvalidArgumentError(`LUN ${n} does not exist (the simulated device has ${this.#luns.length})`);
    return lu;
  }

  /** Host protocol violations seen so far. */
  get violations(): readonly SimViolation[] {
    return this.#target.violations;
  }

  /** Commands in arrival order (bounded by `logLimit`). */
  get log(): readonly SimCommandRecord[] {
    return this.#target.log;
  }

  /** Counters (commands, bytes, stalls, resets, ...) since the device was created; reconnecting does not zero them. */
  get stats(): Readonly<SimStats> {
    return this.#target.stats;
  }

  /** Faults still armed. */
  get faults(): readonly SimFaultHandle[] {
    return this.#target.faults;
  }

  /** Current BOT state (for tests and debugging). */
  get state(): SimBotState {
    return this.#target.state;
  }

  /** Endpoint halt (STALL) state. */
  get halted(): Readonly<{ in: boolean; out: boolean }> {
    return this.#target.halted;
  }

  /** True while a hang fault holds the device. */
  get hung(): boolean {
    return this.#target.hung;
  }

  /** False after `disconnect()` or `powerCut()` until `reconnect()`; a host `transport.close()` leaves it true. */
  get connected(): boolean {
    return this.#pipes.state !== 'disconnected';
  }

  /**
   * Calls `listener` with each command's record when it ends (CSW sent, reset
   * or disconnect): a device-side view for demos and tests. Returns an unsubscribe function.
   */
  onCommand(listener: (record: SimCommandRecord) => void): () => void {
    return this.#target.onCommand(listener);
  }

  /** Arms a fault; see `SimFault`. */
  inject(fault: SimFault): SimFaultHandle {
    return this.#target.inject(fault);
  }

  /** Disarms every fault still armed (as `remove()` on each handle). A UNIT ATTENTION already made pending stays pending. */
  clearFaults(): void {
    this.#target.clearFaults();
  }

  /**
   * Throws ProtocolViolationError when the host broke BOT: any recorded
   * violation, or two commands whose lifetimes overlap in the log.
   */
  assertClean(): void {
    const violations = this.#target.violations;
    const problems = violations.map((v) => `${v.kind}: ${v.message}`);
    problems.push(...this.interleavings());
    if (problems.length > 0) {
      throw new ProtocolViolationError(`the host broke the Bulk-Only protocol ${problems.length} time(s): ${problems.slice(0, 5).join('; ')}`, {
        details: { violations: [...violations] },
      });
    }
  }

  /** Describes every pair of logged commands whose CBW..CSW spans overlap (should be none). */
  interleavings(): string[] {
    const log = this.#target.log;
    const out: string[] = [];
    for (let i = 1; i < log.length; i++) {
      const prev = log[i - 1];
      const cur = log[i];
      if (!prev || !cur) continue;
      if (prev.end === undefined || prev.end > cur.start) {
        out.push(`command #${cur.seq} (tag ${cur.tag}) started before command #${prev.seq} (tag ${prev.tag}) ended`);
      }
    }
    return out;
  }

  /** Unplugs the device: pending transfers reject with DisconnectedError, listeners fire. */
  disconnect(): void {
    if (this.#pipes.state === 'disconnected') return;
    this.#target.endActive('disconnected');
    this.#pipes.disconnect();
  }

  /** Power loss: the volatile write caches are dropped and the device disconnects. */
  powerCut(): void {
    for (const lu of this.#luns) lu.dropCache();
    this.disconnect();
  }

  /** Plugs the device back in (power-on state). Returns the new transport, also available as `transport`. */
  reconnect(): MscTransport {
    this.disconnect();
    const transport = this.#pipes.reconnect('The simulated device was plugged in again');
    this.#target.powerCycle();
    return transport;
  }

  /**
   * Claims the interface again after `transport.close()` (the device keeps
   * its state: no power cycle, caches and media untouched). If the current
   * transport is still open it is closed first. Returns the new transport.
   */
  reopen(): MscTransport {
    if (this.#pipes.state === 'disconnected') throw new DisconnectedError('The simulated device is unplugged; call reconnect() to plug it back in');
    return this.#pipes.reconnect('The simulated device interface was released (reopened)');
  }
}
