/** The public records of the simulated device: its options, what it logs, counts and catches. */

import type { TransportInfo } from '../transport.js';
import type { SimFaultKind } from './faults.js';
import type { SimVendorHook } from './scsi-plan.js';
import type { SimLunOptions } from './scsi-target.js';

/** How a {@link SimulatedDevice} is built: its logical units, USB identity, vendor hook, timing and limits. */
export interface SimulatedDeviceOptions {
  /** One entry per LUN (default: one LUN with default settings). 1-16 LUNs (BOT 1.0 §3.2). */
  luns?: SimLunOptions[];
  /** Overrides of the transport info (default: high speed, 512-byte bulk packets, VID:PID 1209:5553). */
  info?: Partial<TransportInfo>;
  /** Implements opcodes the target does not know (default: ILLEGAL REQUEST 05/20/00). */
  vendorCommand?: SimVendorHook;
  /** Fixed latency added to every transfer and control request, in ms (default 0). */
  transferDelayMs?: number;
  /** Bulk throughput for demo timings, bytes per second (default: unlimited). */
  bytesPerSecond?: number;
  /**
   * Time the device spends executing a command before its data or CSW is ready (it NAKs
   * meanwhile), in ms: a number, or a function of the CDB and LUN (e.g. a slow SYNCHRONIZE CACHE).
   */
  commandDelayMs?: number | ((cdb: Uint8Array, lun: number) => number);
  /** Every LUN reports UNIT ATTENTION 29/00 after power-on / reconnect (default false). */
  unitAttentionOnPowerOn?: boolean;
  /** Every LUN reports UNIT ATTENTION 29/00 after a Bulk-Only reset or port reset (default false). */
  unitAttentionOnReset?: boolean;
  /**
   * On a host protocol violation, reject the offending transfer with ProtocolViolationError
   * (default true) instead of only stalling. Either way it is recorded in `violations`.
   */
  throwOnViolation?: boolean;
  /** BOT 1.0 §6.7.2 case 5 (Hi > Di): STALL bulk-IN after the short data (like f_mass_storage) instead of only ending with a short packet (like QEMU). Default false. */
  stallOnShortDataIn?: boolean;
  /**
   * STALL a bulk-IN token that arrives before the device has a command (no CBW yet) or while
   * it still expects data-out, as QEMU's usb-storage does, instead of NAKing it like most
   * devices. Default false.
   */
  stallEarlyIn?: boolean;
  /** BOT 1.0 §6.7.3 case 11 (Ho > Do): accept and discard the excess instead of stalling bulk-OUT. Default false. */
  acceptExcessDataOut?: boolean;
  /** Whether the transport offers `portReset` (default true). */
  portReset?: boolean;
  /** Get Max LUN reply byte override, or 'stall' (BOT 1.0 §3.2 allows single-LUN devices to stall). */
  getMaxLun?: number | 'stall';
  /** Record a violation when a command follows a Phase Error CSW without reset recovery (BOT 1.0 §5.3.3.1, §6.5). Default true. */
  requireResetAfterPhaseError?: boolean;
  /** Command log entries kept (default 20000; when exceeded, the oldest are dropped down to 90%). */
  logLimit?: number;
}

/** A rule of BOT 1.0 the host broke, as the simulator detects it. */
export type SimViolationKind = 'malformed-cbw' | 'cbw-before-csw' | 'concurrent-transfer' | 'data-out-overrun' | 'no-reset-after-phase-error';

/** A host bug the simulator caught. Tests assert `sim.violations` is empty. */
export interface SimViolation {
  kind: SimViolationKind;
  message: string;
  time: number;
  /** Sequence number of the command that was active, if any. */
  command?: number;
}

/** One command as the device saw it. */
export interface SimCommandRecord {
  /** 1, 2, 3, ... in CBW arrival order. */
  seq: number;
  tag: number;
  lun: number;
  opcode: number;
  cdb: Uint8Array;
  /** Direction and length from the CBW (the host's view). */
  direction: 'none' | 'in' | 'out';
  hostLength: number;
  /** Time the CBW arrived and the CSW left (`now()`, ms). */
  start: number;
  end?: number;
  /** CSW status and residue as sent. */
  cswStatus?: number;
  residue?: number;
  /** How the command ended: its CSW was read, a reset discarded it, or the device vanished. */
  outcome: 'in-progress' | 'completed' | 'reset' | 'disconnected';
  /** Faults that fired on this command. */
  faults: SimFaultKind[];
}

/** Counters of what the simulated device has seen: commands, flushes, bytes moved, resets, clear halts, stalls. */
export interface SimStats {
  commands: number;
  /** SYNCHRONIZE CACHE commands executed. */
  flushes: number;
  /** Bytes returned by READ commands / accepted by WRITE commands. */
  bytesRead: number;
  bytesWritten: number;
  bulkOnlyResets: number;
  portResets: number;
  clearHalts: number;
  stalls: number;
}

/** BOT device states, BOT 1.0 §5.3 (command transport, data, status). */
export type SimBotState = 'idle' | 'busy' | 'data-in' | 'data-out' | 'status';
