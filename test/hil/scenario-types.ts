// What the guest scenario (guest/scenario.ts) observes and writes to $HIL_OUT/scenario.json, and the
// host test (scenario.test.ts) asserts. The guest records facts; the host decides pass/fail.

export interface ErrorInfo {
  /** usbms error code (UsbmsError.code), or undefined for a foreign error. */
  code: string | undefined;
  name: string;
  message: string;
  sense?: SenseInfo;
}

export interface SenseInfo {
  senseKey: number;
  asc: number;
  ascq: number;
  senseKeyName?: string;
  description?: string;
}

export interface StepResult<T = unknown> {
  ok: boolean;
  ms: number;
  data?: T;
  /** Set when the step itself threw (an unexpected failure, not an observation). */
  error?: ErrorInfo & { stack?: string };
}

export interface KernelState {
  /** Driver bound to the mass-storage interface in sysfs (usb-storage, uas, usbfs) or null. */
  driver: string | null;
  /** SCSI disks of this interface, by LUN. */
  disks: { name: string; lun: number }[];
}

export interface CommandOutcome {
  status: 'good' | 'check-condition';
  residue: number;
  dataLength: number;
  sense?: SenseInfo;
}

export interface CompareResult {
  bytes: number;
  equal: boolean;
  /** Byte offset of the first difference, when not equal. */
  firstDifference?: number;
}

export interface ScenarioSteps {
  'kernel-write': { lun: number; disk: string; lba: number; bytes: number }[];
  discovery: {
    count: number;
    info: {
      id: string;
      vendorId: number;
      productId: number;
      serialNumber?: string;
      speed: string;
      interfaces: {
        interfaceNumber: number;
        supported: boolean;
        botAlternate?: number;
        uasAlternate?: number;
        note?: string;
        kernelDriver?: string;
        blockDevices?: string[];
        alternates: {
          interfaceClass: number;
          interfaceSubclass: number;
          interfaceProtocol: number;
          kind: string;
          bulkIn?: { endpointNumber: number; address: number; packetSize: number };
          bulkOut?: { endpointNumber: number; address: number; packetSize: number };
        }[];
      }[];
    };
  };
  open: {
    detachedDriver: string | null;
    /** The transport the default (or USBMS_BACKEND) chose. */
    backend: string;
    before: KernelState;
    after: KernelState;
    maxLun: number;
    luns: number;
    transport: { maxPacketSizeIn: number; maxPacketSizeOut: number; speed: string };
  };
  'lun-discovery': { lun: number; vendor?: string; product?: string; peripheralDeviceType?: number; removable?: boolean }[];
  'inquiry-vpd': {
    lun: number;
    vendor: string;
    product: string;
    revision: string;
    version: number;
    supportedPages?: number[];
    /** Present when the device rejected INQUIRY with EVPD=1. */
    vpdRejected?: ErrorInfo;
    pages: Record<string, { ok: boolean; value?: unknown; error?: ErrorInfo }>;
  }[];
  'read-capacity': { lun: number; lastLba: number; blockSize: number; blocks: number; bytes: number }[];
  'test-unit-ready': { lun: number; ready: boolean; error?: ErrorInfo }[];
  'mode-sense': { lun: number; writeProtected: boolean; mediumType: number; pages: number[]; error?: ErrorInfo }[];
  'rejected-command': { raw: CommandOutcome; thrown: ErrorInfo | null };
  'unsupported-opcode': { opcode: number; raw: CommandOutcome };
  'kernel-to-usbms': ({ lun: number } & CompareResult)[];
  flush: { drive: string; before: number; after: number }[];
  concurrency: { callers: number; operations: number; failures: string[]; luns: number; earlyStatus?: boolean | undefined };
  'abort-recovery': RecoveryObservation;
  'timeout-recovery': (RecoveryObservation & { timeoutMs: number })[];
  'close-reattach': {
    closeMs: number;
    flushBefore: number | null;
    flushAfter: number | null;
    after: KernelState;
    waitedMs: number;
  };
  'usbms-to-kernel': ({ lun: number; disk: string } & CompareResult)[];
  cli: Record<string, { exitCode: number | null; stdout: string; stderr: string; ms: number }>;
  'hot-unplug': {
    trigger: 'qmp-device-del' | 'gadget-unbind';
    /** ms from the unplug request to the last outcome; null if something never settled. */
    settleMs: number | null;
    outcomes: { name: string; settled: 'resolved' | 'rejected' | 'pending'; code?: string; atMs?: number }[];
    afterCommand: ErrorInfo | null;
    state: string;
    closeMs: number;
  };
  'uas-refused': { error: ErrorInfo | null; driverAfter: string | null };
}

export interface RecoveryObservation {
  /** How the interrupted command ended (should be an error with code ABORTED/TIMEOUT). */
  interrupted: ErrorInfo | null;
  interruptedAfterMs: number;
  /** From `abort()`, or the end of the time limit, to the caller's rejection (issue 15: within 50 ms on usbfs). */
  settleMs?: number;
  /** Timeout only: from the end of the time limit counted from the command's trace start (after the queue job's start, so a lower bound), to the rejection. */
  settleLowMs?: number;
  /** Garbage-collection pauses of the guest process within the settle time (ms): a major collection takes tens of ms under TCG. */
  settleGcMs?: number;
  /** Where the settle time went, ms from the call (timeout: its trace and URB events) or from `abort()` (abort: URB events after it); on usbfs, and with the CPU time used. */
  timeline?: string[];
  /** usbfs backend, abort only: URBs the kernel ended early because they were discarded (UsbfsStats.cancelled). */
  cancelledUrbs?: number;
  /** A read into the caller's buffer: the first byte that changed after the read settled, -1 for none. */
  bufferWrittenAfterAt?: number;
  /** From the rejection to the next TEST UNIT READY's GOOD: the interrupted job's recovery, then the TUR (issue 15: recovery within 1 s). */
  nextTurMs: number;
  /** Trace steps seen while recovering (clear-halt, bulk-only-reset, ...). */
  recoverySteps: string[];
  /** Next commands: TUR and a read of known data. */
  nextTur: ErrorInfo | 'ok';
  nextRead: CompareResult | ErrorInfo;
  state: string;
  /** The trace from the interruption to the end of the follow-up commands (for diagnosis). */
  trace: string[];
}

export type ScenarioResult = { [K in keyof ScenarioSteps]?: StepResult<ScenarioSteps[K]> };
