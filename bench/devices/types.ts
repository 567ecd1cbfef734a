// Shapes shared by the guest script (guest.ts) and the host runner (run.ts).
export interface KernelRun {
  /** 1: before usbms opened the device; 2: after it closed (driver re-attached). */
  pass: number;
  op: 'read' | 'write';
  bs: '120K' | '1M';
  bytes: number;
  seconds: number;
  mbps: number;
}

export interface Throughput {
  op: 'read' | 'write';
  /**
   * 'default' / 'default#2': usbms as shipped (two runs, reads into one reused buffer); 'fresh': as shipped,
   * reads without a caller buffer; 'serial': earlyStatus off; 'status-with-data': opt-in readStatusWithData.
   */
  variant: string;
  commandBytes: number;
  bytes: number;
  seconds: number;
  mbps: number;
  msPerCommand: number;
  /** USB transfers node-usb was asked for per command (CBW, data, CSW; fewer with status-with-data). */
  transfersPerCommand?: number;
}

export interface TurResult {
  count: number;
  /** Mean round trip per TEST UNIT READY, in microseconds. */
  meanUs: number;
  wallMs: number;
  p50Us?: number;
  p90Us?: number;
}

export interface HeapSample {
  t: number;
  heapUsed: number;
  rss: number;
  arrayBuffers: number;
  external: number;
}

export interface BenchResult {
  profile: string;
  description: string;
  speed?: string;
  volumeBytes: number;
  kernel: KernelRun[];
  kernelTur?: TurResult;
  kernelTur2?: TurResult;
  usbms: { read: Throughput[]; write: Throughput[] };
  usbmsTur?: TurResult;
  usbmsTur2?: TurResult;
  /** usbms with earlyStatus and readStatusWithData off (one transfer at a time). */
  usbmsTurSerial?: TurResult;
  /** Two bare node-usb calls per TUR, no usbms layers: node-usb's floor. */
  rawNodeUsbTur?: TurResult;
  /** Synchronous usbfs ioctls from Python (usbfs-floor.py): userspace without node-usb. */
  usbfsTur?: TurResult;
  /** Whether the engine still submitted status reads early at the end of run A (false: the device stalled one). */
  earlyStatusKept?: boolean;
  heap?: {
    bytesRead: number;
    samples: number;
    peakHeapUsed: number;
    steadyHeapUsed: number;
    firstHeapUsed: number;
    lastHeapUsed: number;
    peakRss: number;
    steadyRss: number;
    peakArrayBuffers: number;
  };
  totalSeconds?: number;
  notes: string[];
}

/** Per-command counters of a backend pass (usbfs only; zero on the usb backend). */
export interface PerCommand {
  /** Main-thread wake-ups by the reaper thread. */
  mainWakeups: number;
  /** Times the reaper thread left poll(2). */
  reaperWakeups: number;
  /** Mean time from the reaper thread's post to the main thread's handling, per wake-up, in µs. */
  handoffUs: number;
  urbs: number;
  /** URBs the main thread reaped itself (no wake-up). */
  mainReaps: number;
  /** Commands left to the reaper thread because they outlasted mainThreadReapMs. */
  handOffs: number;
}

/** One usbms pass of backends.ts: the device opened as shipped on one backend. */
export interface BackendPass {
  backend: 'usb' | 'usbfs';
  /** 1, 2, ...: the A-B order within the boot. */
  round: number;
  /** The command size usbms chose (its default for the device). */
  maxTransferBytes: number;
  tur: { meanUs: number; p50Us: number; p10Us: number; p90Us: number; perCommand: PerCommand };
  /** Reads and writes of the volume in calls of `callBytes` (split into commands of maxTransferBytes). */
  io: { op: 'read' | 'write'; cli?: boolean; callBytes: number; bytes: number; mbps: number; msPerCommand: number; perCommand: PerCommand }[];
  /** The same measurements once `afterCommands` commands of each kind had run (V8's optimized code). */
  warm?: { afterCommands: number; tur: BackendPass['tur']; io: BackendPass['io'] };
}

export interface BackendsResult {
  profile: string;
  /** The guest process's Node.js version (BENCH_NODE chooses the binary). */
  node?: string;
  description: string;
  volumeBytes: number;
  /** dd O_DIRECT, pass 1 before usbms and pass 2 after. */
  kernel: KernelRun[];
  /** sg_turs, pass 1 and pass 2. */
  kernelTur: TurResult[];
  passes: BackendPass[];
  totalSeconds?: number;
  notes: string[];
}
