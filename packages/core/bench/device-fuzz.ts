/**
 * Device-level fuzzer: MscDevice (queue, BOT engine, retry policy, block I/O)
 * against a hostile transport whose every answer is drawn from a seeded
 * generator: CSWs with wrong tags, signatures, statuses and residues, short,
 * long (babble), stalled and skipped data stages, stalled CBWs and data-out
 * stages, transport errors, disconnect-like errors without a disconnect event,
 * and real disconnects. Each batch opens a device, runs concurrent commands
 * (some aborted), and then awaits `close()` under a hang detector.
 *
 * Used by `pnpm fuzz --count N` (bench/fuzz.ts) and, with a small count, by
 * the unit suite (src/device.fuzz.test.ts). No Node APIs here.
 */
import { CBW_LENGTH, CBW_SIGNATURE, CSW_SIGNATURE, encodeCsw } from '../src/bot/wrappers.js';
import { MscDevice } from '../src/device.js';
import { DisconnectedError, TimeoutError, TransportError, UsbmsError } from '../src/errors.js';
import type {
  BulkInOptions,
  BulkInResult,
  BulkOutResult,
  ClassRequest,
  ControlResult,
  MscTransport,
  TransferOptions,
  TransportInfo,
} from '../src/transport.js';

/** A small, fast, seeded PRNG (mulberry32). */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** Answers every transfer from the generator; counts the answers (the "device responses"). */
class HostileTransport implements MscTransport {
  readonly info: TransportInfo = { maxPacketSizeIn: 512, maxPacketSizeOut: 512, speed: 'high' };
  readonly concurrentPipes: boolean;
  /** Half the time with concurrent pipes: the engine hands over a command's stages together. */
  readonly queuesTransfers: boolean;
  responses = 0;
  #tag = 0;
  #gone = false;
  #listeners = new Set<() => void>();

  constructor(
    readonly rng: Rng,
    concurrentPipes: boolean,
    queuesTransfers: boolean,
  ) {
    this.concurrentPipes = concurrentPipes;
    this.queuesTransfers = concurrentPipes && queuesTransfers;
  }

  #maybeThrow(): void {
    if (this.#gone) throw new DisconnectedError('fuzz: the device is gone');
    const r = this.rng.next();
    if (r < 0.01) throw new TransportError('fuzz: transport error');
    if (r < 0.013) throw new DisconnectedError('fuzz: disconnect-like error, no event');
    if (r < 0.016) throw new Error('fuzz: a platform error that is not a usbms error');
    if (r < 0.018) throw new TimeoutError('fuzz: the platform timed the transfer out');
    if (r < 0.019) {
      this.#gone = true;
      for (const listener of [...this.#listeners]) listener();
      throw new DisconnectedError('fuzz: unplugged');
    }
  }

  async bulkOut(data: Uint8Array, _options: TransferOptions): Promise<BulkOutResult> {
    this.responses++;
    if (data.length === CBW_LENGTH && new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true) === CBW_SIGNATURE) {
      this.#tag = new DataView(data.buffer, data.byteOffset + 4, 4).getUint32(0, true);
    }
    this.#maybeThrow();
    const r = this.rng.next();
    if (r < 0.04) return { status: 'stall', bytesWritten: this.rng.int(data.length + 1) };
    if (r < 0.08) return { status: 'ok', bytesWritten: this.rng.int(data.length + 1) };
    return { status: 'ok', bytesWritten: data.length };
  }

  #csw(requested: number): Uint8Array {
    const r = this.rng.next();
    const status = r < 0.7 ? 0 : r < 0.85 ? 1 : r < 0.93 ? 2 : this.rng.int(256);
    const q = this.rng.next();
    const residue = q < 0.7 ? 0 : q < 0.9 ? this.rng.int(requested + 1) : this.rng.int(0x100000000);
    const tag = this.rng.chance(0.95) ? this.#tag : (this.#tag + 1 + this.rng.int(3)) >>> 0;
    const signature = this.rng.chance(0.97) ? CSW_SIGNATURE : this.rng.int(0x100000000);
    return encodeCsw({ signature, tag, residue, status });
  }

  async bulkIn(length: number, options: BulkInOptions): Promise<BulkInResult> {
    this.responses++;
    this.#maybeThrow();
    let status: BulkInResult['status'] = 'ok';
    let bytes: Uint8Array;
    const r = this.rng.next();
    if (length === 13) {
      // Most likely the status stage.
      if (r < 0.85) bytes = this.#csw(length);
      else if (r < 0.9) bytes = new Uint8Array(0);
      else if (r < 0.94) {
        status = 'stall';
        bytes = new Uint8Array(0);
      } else if (r < 0.97) {
        status = 'babble';
        bytes = this.rng.bytes(13);
      } else bytes = this.rng.bytes(this.rng.int(40));
    } else if (length === 8 && r < 0.5) {
      // READ CAPACITY(10): a plausible answer half the time, so block I/O gets past it.
      bytes = Uint8Array.of(0, 0, 0x03, 0xe7, 0, 0, 0x02, 0);
    } else if (r < 0.7) {
      bytes = this.rng.bytes(length);
    } else if (r < 0.78) {
      bytes = this.rng.bytes(this.rng.int(length + 1));
    } else if (r < 0.84) {
      status = 'stall';
      bytes = this.rng.bytes(this.rng.int(Math.min(length, 64) + 1));
    } else if (r < 0.9) {
      status = 'babble';
      bytes = this.rng.bytes(length);
    } else if (r < 0.96) {
      bytes = this.#csw(length); // the device skipped the data stage
    } else {
      bytes = new Uint8Array(0);
    }
    const fitted = bytes.length > length ? bytes.subarray(0, length) : bytes;
    if (options.into && fitted.length > 0) {
      options.into.set(fitted);
      return { status, data: options.into.subarray(0, fitted.length) };
    }
    return { status, data: fitted };
  }

  async clearHalt(_pipe: 'in' | 'out', _options: TransferOptions): Promise<void> {
    this.responses++;
    if (this.rng.chance(0.02)) throw new TransportError('fuzz: clear halt failed');
    if (this.#gone) throw new DisconnectedError('fuzz: the device is gone');
  }

  async classRequest(request: ClassRequest, _options: TransferOptions): Promise<ControlResult> {
    this.responses++;
    if (this.#gone) throw new DisconnectedError('fuzz: the device is gone');
    const r = this.rng.next();
    if (r < 0.03) throw new TransportError('fuzz: control transfer failed');
    if (r < 0.08) return { status: 'stall', data: new Uint8Array(0) };
    if (request.request === 'get-max-lun') return { status: 'ok', data: Uint8Array.of(this.rng.chance(0.9) ? 0 : this.rng.int(256)) };
    return { status: 'ok', data: new Uint8Array(0) };
  }

  portReset = async (_options: TransferOptions): Promise<void> => {
    this.responses++;
    if (this.#gone) throw new DisconnectedError('fuzz: the device is gone');
    if (this.rng.chance(0.1)) throw new TransportError('fuzz: port reset failed');
  };

  async close(): Promise<void> {}

  onDisconnect(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** Options of {@link runDeviceFuzz}. */
export interface DeviceFuzzOptions {
  /** Stop once this many device responses (transfer answers) were generated. */
  count: number;
  seed?: number;
  /** Real-time limit for `close()` (and `open()`) before a batch counts as hung. Default 10 000 ms. */
  hangMs?: number;
  /** Called after every batch (progress). */
  onBatch?: (report: DeviceFuzzReport) => void;
}

/** What {@link runDeviceFuzz} found. */
export interface DeviceFuzzReport {
  seed: number;
  responses: number;
  batches: number;
  commands: number;
  /** Outcome -> count: 'ok', or the error class name ('AbortError', 'PartialWriteError', ...). */
  outcomes: Record<string, number>;
  /** Rejections that were not UsbmsError instances (must stay empty). */
  untyped: string[];
  /** Results out of bounds (must stay empty). */
  invalid: string[];
  /** Batches whose close() or open() did not settle within hangMs (must stay 0). */
  hangs: number;
  /** Batches where open() failed (typed), by error class. */
  openFailures: Record<string, number>;
}

/** Settles with 'hang' when `promise` has not settled within `ms` of real time. */
function withHangDetector<T>(promise: Promise<T>, ms: number): Promise<{ ok: true; value: T } | { ok: false; error: unknown } | 'hang'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), ms);
  });
  return Promise.race([
    promise.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    hang,
  ]).finally(() => clearTimeout(timer));
}

/** Runs batches until `count` device responses were generated; see the module comment. */
export async function runDeviceFuzz(options: DeviceFuzzOptions): Promise<DeviceFuzzReport> {
  const seed = options.seed ?? 1;
  const hangMs = options.hangMs ?? 10_000;
  const rng = new Rng(seed);
  const report: DeviceFuzzReport = { seed, responses: 0, batches: 0, commands: 0, outcomes: {}, untyped: [], invalid: [], hangs: 0, openFailures: {} };
  const count = (key: string, into: Record<string, number>): void => {
    into[key] = (into[key] ?? 0) + 1;
  };

  while (report.responses < options.count) {
    report.batches++;
    const transport = new HostileTransport(rng, rng.chance(0.5), rng.chance(0.5));
    const opened = await withHangDetector(
      MscDevice.open(transport, {
        becomingReadyTimeoutMs: 0,
        becomingReadyPollMs: 1,
        maxTransferBytes: 2048,
        earlyStatus: rng.chance(0.8),
        // Huge time limits must behave like ordinary ones (they fired at once before).
        defaultTimeoutMs: [20_000, 2 ** 31, 2 ** 40, Number.POSITIVE_INFINITY][rng.int(4)] as number,
      }),
      hangMs,
    );
    if (opened === 'hang') {
      report.hangs++;
      report.responses += transport.responses;
      continue;
    }
    if (!opened.ok) {
      const error = opened.error;
      if (error instanceof UsbmsError) count(error.name, report.openFailures);
      else report.untyped.push(`open: ${String(error)}`);
      report.responses += transport.responses;
      continue;
    }
    const device = opened.value;
    const lu = device.luns[0];
    const ops: Promise<void>[] = [];
    const n = 1 + rng.int(8);
    for (let i = 0; i < n; i++) {
      const controller = rng.chance(0.1) ? new AbortController() : undefined;
      const signal = controller?.signal;
      const kind = rng.int(7);
      const run = async (): Promise<void> => {
        const o = signal ? { signal } : {};
        switch (kind) {
          case 0: {
            const r = await device.execute({ cdb: new Uint8Array(6), direction: 'none', ...o });
            if (r.data.length !== 0) report.invalid.push('TUR returned data');
            return;
          }
          case 1: {
            const length = 1 + rng.int(600);
            const r = await device.execute({ cdb: Uint8Array.of(0xc0, 0, 0, 0, 0, 0), direction: 'in', length, ...o });
            if (r.data.length > length || r.residue > length || r.data.length + r.residue > length) {
              report.invalid.push(`data-in: ${r.data.length} bytes, residue ${r.residue} of ${length}`);
            }
            return;
          }
          case 2: {
            const length = 1 + rng.int(600);
            const r = await device.execute({ cdb: Uint8Array.of(0xc1, 0, 0, 0, 0, 0), direction: 'out', data: rng.bytes(length), ...o });
            if (r.residue > length) report.invalid.push(`data-out residue ${r.residue} of ${length}`);
            return;
          }
          case 3: {
            if (!lu) return;
            const blocks = 1 + rng.int(6);
            const data = await lu.read(rng.int(4), blocks, o);
            const size = lu.capacity?.blockSize;
            if (size !== undefined && data.length !== blocks * size) report.invalid.push(`read returned ${data.length} bytes for ${blocks} blocks of ${size}`);
            return;
          }
          case 4: {
            if (!lu) return;
            const size = lu.capacity?.blockSize ?? 512;
            await lu.write(rng.int(4), rng.bytes(size * (1 + rng.int(6))), o);
            return;
          }
          case 5:
            await device.reset(o);
            return;
          default:
            if (!lu) return;
            await lu.readInquiry(o);
        }
      };
      const op = run().then(
        () => count('ok', report.outcomes),
        (error: unknown) => {
          if (error instanceof UsbmsError) count(error.name, report.outcomes);
          else report.untyped.push(`${kind}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
        },
      );
      ops.push(op);
      if (controller) {
        const hops = rng.int(6);
        let p = Promise.resolve();
        for (let h = 0; h < hops; h++) p = p.then(() => undefined);
        void p.then(() => controller.abort());
      }
    }
    report.commands += n;
    await Promise.all(ops);
    // The defect this guards: close() awaited right after the commands settled.
    const closed = await withHangDetector(device.close({ flush: rng.chance(0.5) }), hangMs);
    if (closed === 'hang') report.hangs++;
    else if (!closed.ok) {
      if (closed.error instanceof UsbmsError) count(`close:${closed.error.name}`, report.outcomes);
      else report.untyped.push(`close: ${String(closed.error)}`);
    }
    report.responses += transport.responses;
    options.onBatch?.(report);
  }
  return report;
}
