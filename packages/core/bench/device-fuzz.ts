/**
 * Device-level fuzzer: MscDevice (queue, BOT engine, retry policy, block I/O)
 * against a hostile transport whose every answer is drawn from a seeded
 * generator: CSWs with wrong tags, signatures, statuses and residues, short,
 * long (babble), stalled and skipped data stages, stalled CBWs and data-out
 * stages, transport errors, disconnect-like errors without a disconnect event,
 * and real disconnects; half the batches answer late (a few microtasks or
 * timer ticks), so aborts and time limits find transfers pending. Each batch
 * opens a device, runs concurrent commands (some aborted or with a time limit
 * of a few ms, some reading into buffers of the caller's), and awaits them and
 * `close()` (sometimes called while they run), all under a hang detector.
 *
 * The hostile transport is either the platform itself or, given `platform`,
 * the device model behind an adapter (test/fuzz/platforms.ts: usbfs, node-usb
 * and WebUSB over the tests' fakes of their platforms).
 *
 * Used by `pnpm fuzz --count N` (test/fuzz/run.ts) and, with small counts, by
 * the unit suite (src/device.fuzz.test.ts, test/fuzz). No Node APIs here.
 */
import { CBW_LENGTH, CBW_SIGNATURE, CSW_LENGTH, CSW_SIGNATURE, encodeCsw } from '../src/bot/wrappers.js';
import { MscDevice } from '../src/device.js';
import { AbortError, DisconnectedError, TimeoutError, TransportError, UsbmsError } from '../src/errors.js';
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

/** How a {@link HostileTransport} behaves besides its answers. */
export interface HostileOptions {
  concurrentPipes: boolean;
  /** Only with `concurrentPipes`. Answers come in call order, so never with `latency`. */
  queuesTransfers: boolean;
  /**
   * Bulk transfers answer a few microtasks or up to two timer ticks late, and honour their signal:
   * an abort while one waits ends it with AbortError (the contract of MscTransport).
   */
  latency?: boolean;
  /**
   * Only with `latency`: IN data goes into `options.into` when the transfer ends, and an aborted
   * transfer writes part of its data there a timer tick later, as it ends (as a usbfs URB unlinked
   * mid-transfer).
   */
  writesIntoDirectly?: boolean;
}

/** Answers every transfer from the generator; counts the answers (the "device responses"). */
export class HostileTransport implements MscTransport {
  readonly info: TransportInfo = { maxPacketSizeIn: 512, maxPacketSizeOut: 512, speed: 'high' };
  readonly concurrentPipes: boolean;
  /** Half the time with concurrent pipes: the engine hands over a command's stages together. */
  readonly queuesTransfers: boolean;
  readonly writesIntoDirectly: boolean;
  readonly #latency: boolean;
  responses = 0;
  /** Aborted IN transfers that wrote part of their data into `into` as they ended (writesIntoDirectly). */
  lateWrites = 0;
  #tag = 0;
  /** Data-in bytes the last CBW announced that the device has not sent yet: while none, an IN is the status stage. */
  #dataInLeft = 0;
  #gone = false;
  #listeners = new Set<() => void>();

  constructor(
    readonly rng: Rng,
    options: HostileOptions,
  ) {
    this.#latency = options.latency === true && !(options.concurrentPipes && options.queuesTransfers);
    this.concurrentPipes = options.concurrentPipes;
    this.queuesTransfers = options.concurrentPipes && options.queuesTransfers && !this.#latency;
    this.writesIntoDirectly = this.#latency && options.writesIntoDirectly === true;
  }

  /**
   * With latency: waits a few microtasks or timer ticks. An abort meanwhile ends the transfer with
   * AbortError; an IN transfer writing into `into` directly has taken part of its data first.
   */
  async #wait(options: TransferOptions, into?: Uint8Array): Promise<void> {
    if (!this.#latency) return;
    const signal = options.signal;
    if (this.rng.chance(0.5)) {
      for (let i = this.rng.int(6); i > 0; i--) await undefined;
    } else {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, this.rng.int(3));
        signal?.addEventListener('abort', done, { once: true });
      });
    }
    if (signal?.aborted !== true) return;
    if (into !== undefined && this.writesIntoDirectly) {
      // Unlinked a timer tick later (a host controller slow to stop), part of the data arrived.
      await new Promise((resolve) => setTimeout(resolve, 0));
      into.set(this.rng.bytes(1 + this.rng.int(into.length)));
      this.lateWrites++;
    }
    throw new AbortError('fuzz: the transfer was aborted', { cause: signal.reason });
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

  async bulkOut(data: Uint8Array, options: TransferOptions): Promise<BulkOutResult> {
    // A CBW is taken as it is handed over, so a status read answered first still knows its tag.
    if (data.length === CBW_LENGTH && new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true) === CBW_SIGNATURE) {
      const cbw = new DataView(data.buffer, data.byteOffset, CBW_LENGTH);
      this.#tag = cbw.getUint32(4, true);
      // BOT 1.0 §5.1: bmCBWFlags bit 7 set is data-in, of dCBWDataTransferLength bytes.
      this.#dataInLeft = (cbw.getUint8(12) & 0x80) !== 0 ? cbw.getUint32(8, true) : 0;
    }
    await this.#wait(options);
    this.responses++;
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
    await this.#wait(options, options.into);
    this.responses++;
    this.#maybeThrow();
    let status: BulkInResult['status'] = 'ok';
    let bytes: Uint8Array;
    const r = this.rng.next();
    // The stage is the device's to know: data-in while the last CBW's data is not all sent, else
    // status (whatever length the host asks for: some read the CSW into a whole packet).
    const expected = this.#dataInLeft;
    if (expected === 0) {
      if (r < 0.85) bytes = this.#csw(length);
      else if (r < 0.9) bytes = new Uint8Array(0);
      else if (r < 0.94) {
        status = 'stall';
        bytes = new Uint8Array(0);
      } else if (r < 0.97) {
        status = 'babble';
        bytes = this.rng.bytes(Math.max(length, CSW_LENGTH));
      } else bytes = this.rng.bytes(this.rng.int(40));
    } else {
      const n = Math.min(length, expected);
      if (expected === 8 && r < 0.5) {
        // READ CAPACITY(10): a plausible answer half the time, so block I/O gets past it.
        bytes = Uint8Array.of(0, 0, 0x03, 0xe7, 0, 0, 0x02, 0).subarray(0, n);
      } else if (r < 0.7) {
        bytes = this.rng.bytes(n);
      } else if (r < 0.78) {
        bytes = this.rng.bytes(this.rng.int(n + 1));
      } else if (r < 0.84) {
        status = 'stall';
        bytes = this.rng.bytes(this.rng.int(Math.min(n, 64) + 1));
      } else if (r < 0.9) {
        status = 'babble';
        bytes = this.rng.bytes(length + 1);
      } else if (r < 0.96) {
        bytes = this.#csw(length); // the device skipped the data stage
      } else {
        bytes = new Uint8Array(0);
      }
      // A full transfer of data leaves the rest of the data stage; anything else (short, stalled,
      // babble, a CSW in its place) ends it.
      const full = status === 'ok' && bytes.length === length && r < 0.7;
      this.#dataInLeft = full ? expected - bytes.length : 0;
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
  /**
   * The platform under test, built per batch around the hostile device (its device model). Default:
   * the hostile transport is the platform (every batch picks its options).
   */
  platform?: (device: HostileTransport) => Promise<FuzzPlatform>;
  /** Fixes these hostile options for every batch (default: each batch draws them). */
  hostile?: Pick<HostileOptions, 'latency' | 'writesIntoDirectly'>;
}

/** A platform's transport over a hostile device, for one batch. */
export interface FuzzPlatform {
  transport: MscTransport;
  /** After close(): what the platform saw that must not happen (e.g. URBs never reaped). */
  afterClose?: () => string[];
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
  /**
   * Results out of bounds, a caller's read buffer written after its read settled, what the
   * platform's afterClose reported (must stay empty).
   */
  invalid: string[];
  /** Batches whose platform, open(), commands or close() did not settle within hangMs (must stay 0). */
  hangs: number;
  /** Reads into a buffer of the caller's, checked after the batch for writes after they settled. */
  callerBuffers: number;
  /** Aborted IN transfers that wrote into their buffer as they ended ({@link HostileTransport.lateWrites}). */
  lateWrites: number;
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
  const report: DeviceFuzzReport = {
    seed,
    responses: 0,
    batches: 0,
    commands: 0,
    outcomes: {},
    untyped: [],
    invalid: [],
    hangs: 0,
    callerBuffers: 0,
    lateWrites: 0,
    openFailures: {},
  };
  const count = (key: string, into: Record<string, number>): void => {
    into[key] = (into[key] ?? 0) + 1;
  };

  while (report.responses < options.count) {
    report.batches++;
    // Behind a platform the hostile transport is the device model: the platform queues and pipes.
    const alone = options.platform === undefined;
    const hostile = new HostileTransport(rng, {
      concurrentPipes: alone && rng.chance(0.5),
      queuesTransfers: alone && rng.chance(0.5),
      latency: options.hostile?.latency ?? rng.chance(0.5),
      writesIntoDirectly: options.hostile?.writesIntoDirectly ?? rng.chance(0.5),
    });
    const made = options.platform ? await withHangDetector(options.platform(hostile), hangMs) : { ok: true as const, value: { transport: hostile } };
    if (made === 'hang' || !made.ok) {
      if (made === 'hang') report.hangs++;
      else if (made.error instanceof UsbmsError) count(`platform:${made.error.name}`, report.openFailures);
      else report.untyped.push(`platform open: ${String(made.error)}`);
      report.responses += hostile.responses;
      continue;
    }
    const platform = made.value;
    const transport = platform.transport;
    /** The batch is over (the device closed, or its open failed and closed the transport). */
    const closed = (): void => {
      for (const problem of platform.afterClose?.() ?? []) report.invalid.push(problem);
      report.responses += hostile.responses;
    };
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
      report.responses += hostile.responses;
      continue;
    }
    if (!opened.ok) {
      const error = opened.error;
      if (error instanceof UsbmsError) count(error.name, report.openFailures);
      else report.untyped.push(`open: ${String(error)}`);
      closed();
      continue;
    }
    const device = opened.value;
    const lu = device.luns[0];
    const ops: Promise<void>[] = [];
    /** Buffers of the caller's that reads went into, as they were when the read settled. */
    const settledBuffers: { into: Uint8Array; bytes: Uint8Array }[] = [];
    const n = 1 + rng.int(8);
    for (let i = 0; i < n; i++) {
      const kind = rng.int(7);
      // Half the reads go into a buffer of the caller's, and most of those are aborted: an abort
      // mid-read is where that buffer could be written after the read settled.
      const intoCallers = kind === 3 && rng.chance(0.5);
      const controller = rng.chance(intoCallers ? 0.6 : 0.1) ? new AbortController() : undefined;
      const signal = controller?.signal;
      // One command in ten has a time limit of a few ms: where answers come late, it runs out mid-transfer.
      const limit = rng.chance(0.1) ? { timeoutMs: 1 + rng.int(8) } : {};
      const run = async (): Promise<void> => {
        const o = { ...(signal ? { signal } : {}), ...limit };
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
            // Into a buffer of the caller's: once the read settles, nothing may write it.
            const size = intoCallers ? (lu.capacity ?? (await lu.readCapacity(o))).blockSize : undefined;
            const into = size !== undefined ? new Uint8Array(blocks * size) : undefined;
            // Aborted as the read starts, or a timer tick or two into it.
            if (into && controller) setTimeout(() => controller.abort(), rng.int(4));
            try {
              const data = await lu.read(rng.int(4), blocks, { ...o, ...(into ? { into } : {}) });
              const expected = lu.capacity?.blockSize;
              if (expected !== undefined && data.length !== blocks * expected)
                report.invalid.push(`read returned ${data.length} bytes for ${blocks} blocks of ${expected}`);
            } finally {
              if (into) settledBuffers.push({ into, bytes: into.slice() });
            }
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
      if (controller && !intoCallers) {
        // A few microtasks in, or (where transfers answer late) a few timer ticks, mid-transfer.
        if (rng.chance(0.5)) {
          const hops = rng.int(6);
          let p = Promise.resolve();
          for (let h = 0; h < hops; h++) p = p.then(() => undefined);
          void p.then(() => controller.abort());
        } else setTimeout(() => controller.abort(), rng.int(10));
      }
    }
    report.commands += n;
    const closeOptions = { flush: rng.chance(0.5), rejectPending: rng.chance(0.5) };
    // Mostly closed right after the commands settled (the defect this first guarded: close() then
    // hung), sometimes while they run, as an app that shuts down mid-transfer.
    const closeEarly = rng.chance(0.15) ? rng.int(4) : undefined;
    const early = closeEarly === undefined ? undefined : new Promise((resolve) => setTimeout(resolve, closeEarly)).then(() => device.close(closeOptions));
    if ((await withHangDetector(Promise.all(ops), hangMs)) === 'hang') report.hangs++;
    const closing = await withHangDetector(early ?? device.close(closeOptions), hangMs);
    if (closing === 'hang') {
      report.hangs++;
      report.responses += hostile.responses;
    } else {
      if (!closing.ok) {
        if (closing.error instanceof UsbmsError) count(`close:${closing.error.name}`, report.outcomes);
        else report.untyped.push(`close: ${String(closing.error)}`);
      }
      closed();
    }
    report.callerBuffers += settledBuffers.length;
    report.lateWrites += hostile.lateWrites;
    for (const { into, bytes } of settledBuffers) {
      if (into.some((b, i) => b !== bytes[i])) report.invalid.push("a read's buffer was written after the read had settled");
    }
    options.onBatch?.(report);
  }
  return report;
}
