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
  /** Transport options of the run: 'default', or 'status-with-data' (NodeUsbTransport readStatusWithData). */
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
  /** TEST UNIT READY with readStatusWithData on (it does not apply to TUR: a noise check). */
  usbmsTur3?: TurResult;
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
