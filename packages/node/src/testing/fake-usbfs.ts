import { AbortError, DisconnectedError, type MscTransport } from '@usbms/core';
import { BotRequest, CBW_LENGTH, CSW_LENGTH, CSW_SIGNATURE, decodeCbw, encodeCsw } from '@usbms/core/internal';
import { Errno, errnoName, SETUP_BYTES, UrbOffset, UrbType, UsbfsIoctl, UsbfsSize } from '../usbfs/abi.js';
import { type ReaperEvent, URB_CONTEXT_HOLD, type UsbfsReaper, type UsbfsSys } from '../usbfs/sys.js';

/** What a test may make the next URB on an endpoint end with instead of asking the device. */
export interface FakeUrbOutcome {
  /** 0 or a negated errno (-EPIPE, -EOVERFLOW, -ETIMEDOUT, ...). */
  status: number;
  /** Bytes "transferred" (IN: taken from `data`). */
  data?: Uint8Array;
  actual?: number;
  /**
   * Leave the URB pending until discarded or the device goes. IN: `data`, if given, is what had
   * arrived by the time it was discarded (written into the buffer, ended -ECONNRESET with that length,
   * as a URB unlinked mid-transfer).
   */
  hang?: boolean;
  /** With `hang`: the discarded URB ends this long after DISCARDURB (a host controller slow to unlink it). */
  unlinkMs?: number;
}

interface FakeUrb {
  address: bigint;
  type: number;
  endpoint: number;
  buffer: Uint8Array;
  hold: boolean;
  abort: AbortController;
  state: 'queued' | 'active' | 'done';
  discarded: boolean;
}

const name = (request: number): string => Object.entries(UsbfsIoctl).find(([, v]) => v === request)?.[0] ?? `0x${request.toString(16)}`;
const ADDRESS_STRIDE = 1n << 32n;

/**
 * A fake Linux usbfs kernel for one device, behind the `UsbfsSys` seam: it
 * decodes the structs the transport encodes, exactly as devio.c would,
 * queues URBs per endpoint (each endpoint runs one at a time, in order, like
 * a host controller), serves them from a BOT device model (the core's
 * `SimulatedDevice` transport), writes status and actual_length back into
 * the URB and IN data into the caller's buffer, and reaps them through a
 * reaper with the same hold/flush rules as the real thread. Tests inject
 * errnos and URB outcomes, and read the ioctl log and the protocol violations
 * a real kernel or host controller would punish.
 */
export class FakeUsbfsKernel implements UsbfsSys {
  /** Every ioctl, e.g. "SUBMITURB ep=0x81 len=13 hold", "DISCARDURB ep=0x81", "CLEAR_HALT 0x81". */
  readonly log: string[] = [];
  /** Bulk and control URBs in the order they were submitted and finished: "submit ep=0x2 len=31", "done ep=0x2". */
  readonly order: string[] = [];
  /** What a real kernel/HC would punish: CLEAR_HALT with URBs queued (xHCI), buffers written after reap. */
  readonly violations: string[] = [];
  /** errno for the next call of an ioctl (by name) or 'open'. */
  readonly failNext = new Map<string, number>();
  /** Outcomes for the next URBs of an endpoint, consumed in order, instead of the device. */
  readonly urbOutcomes = new Map<number, FakeUrbOutcome[]>();
  /** Driver bound to the interface (DISCONNECT_CLAIM detaches it; CONNECT re-binds `driverToBind`). */
  driver: string | undefined;
  driverToBind = 'usb-storage';
  claimed = false;
  capabilities = 0x1f;
  /** Reaper events posted (main-thread wake-ups). */
  events = 0;
  gone = false;
  readonly #device: MscTransport;
  readonly #memory = new Map<bigint, ArrayBufferLike>();
  readonly #bases = new WeakMap<ArrayBufferLike, bigint>();
  #nextBase = ADDRESS_STRIDE;
  readonly #queues = new Map<number, FakeUrb[]>();
  readonly #urbs = new Map<bigint, FakeUrb>();
  readonly #running = new Set<number>();
  readonly #halted = new Set<number>();
  /** Completed, not reaped yet (devio.c's async_completed list). */
  #completed: FakeUrb[] = [];
  #held: bigint[] = [];
  /** Whether the reaper "thread" reaps (UsbfsReaper.watch); otherwise the main thread does. */
  #watching = false;
  /** URBs the main thread reaped with REAPURBNDELAY. */
  mainThreadReaps = 0;
  /**
   * Bulk URBs complete inside SUBMITURB, as on QEMU's emulated controllers under TCG, answered by
   * a minimal BOT device of the fake's own (every command GOOD, data-in bytes `i & 0xff`, data-out
   * taken whole) instead of the device model. For tests of how the main thread shares its event
   * loop when every completion is already waiting.
   */
  instantBulk = false;
  /** Instant mode: how long each bulk SUBMITURB blocks (as an emulated controller's work does), ms. */
  instantBulkMs = 0;
  /** Instant mode: the CBW being answered (tag, data bytes still to move). */
  #instant: { tag: number; remaining: number } | undefined;
  #onEvent: ((event: ReaperEvent) => void) | undefined;
  #fdOpen = false;

  constructor(device: MscTransport, options: { driver?: string } = {}) {
    this.#device = device;
    this.driver = options.driver;
  }

  /** URBs submitted and not reaped yet. */
  get inflight(): number {
    return this.#urbs.size;
  }

  /** Unplug: every URB ends with -ESHUTDOWN, then the reaper reports the device gone. */
  unplug(): void {
    this.gone = true;
    for (const urb of this.#urbs.values()) {
      if (urb.state !== 'done') this.#finish(urb, -Errno.ESHUTDOWN, 0);
    }
    // The reaper thread sees POLLHUP whether or not it watches completions: it reaps what is left.
    queueMicrotask(() => {
      this.#reap();
      this.#post(true, []);
    });
  }

  open(path: string): number {
    this.log.push(`open ${path}`);
    const errno = this.failNext.get('open');
    if (errno !== undefined) {
      this.failNext.delete('open');
      return -errno;
    }
    this.#fdOpen = true;
    return 7;
  }

  close(fd: number): number {
    this.log.push(`close ${fd}`);
    this.#fdOpen = false;
    this.claimed = false;
    return 0;
  }

  addressOf(bytes: Uint8Array): bigint {
    let base = this.#bases.get(bytes.buffer);
    if (base === undefined) {
      base = this.#nextBase;
      this.#nextBase += ADDRESS_STRIDE;
      this.#bases.set(bytes.buffer, base);
      this.#memory.set(base, bytes.buffer);
    }
    return base + BigInt(bytes.byteOffset);
  }

  /** The bytes at a user address the transport handed out. */
  #at(address: bigint, length: number): Uint8Array {
    const base = address - (address % ADDRESS_STRIDE);
    const buffer = this.#memory.get(base);
    if (buffer === undefined) throw new Error(`fake usbfs: address 0x${address.toString(16)} was never handed out`);
    return new Uint8Array(buffer, Number(address - base), length);
  }

  ioctl(fd: number, request: number, arg: Uint8Array | null): number {
    if (!this.#fdOpen || fd !== 7) return -9; // EBADF
    const errno = this.failNext.get(name(request));
    if (errno !== undefined) {
      this.failNext.delete(name(request));
      this.log.push(`${name(request)} -> ${errnoName(errno)}`);
      return -errno;
    }
    switch (request) {
      case UsbfsIoctl.GET_CAPABILITIES:
        new DataView((arg as Uint8Array).buffer, (arg as Uint8Array).byteOffset).setUint32(0, this.capabilities, true);
        return 0;
      case UsbfsIoctl.SUBMITURB:
        return this.#submit(arg as Uint8Array);
      case UsbfsIoctl.REAPURBNDELAY: {
        // devio.c proc_reapurbnonblock: a completed URB, else ENODEV once disconnected, else EAGAIN.
        const urb = this.#completed.shift();
        if (urb === undefined) return this.gone ? -Errno.ENODEV : -Errno.EAGAIN;
        this.#urbs.delete(urb.address);
        this.mainThreadReaps++;
        new DataView((arg as Uint8Array).buffer, (arg as Uint8Array).byteOffset, 8).setBigUint64(0, urb.address, true);
        return 0;
      }
      default:
        this.log.push(`${name(request)} (not a non-blocking call)`);
        return -Errno.EINVAL;
    }
  }

  ioctlAddress(_fd: number, request: number, address: bigint): number {
    if (request !== UsbfsIoctl.DISCARDURB) return -Errno.EINVAL;
    const urb = this.#urbs.get(address);
    if (urb === undefined || urb.state === 'done') {
      this.log.push('DISCARDURB -> EINVAL');
      return -Errno.EINVAL;
    }
    this.log.push(`DISCARDURB ep=0x${urb.endpoint.toString(16)}`);
    urb.discarded = true;
    if (urb.state === 'queued') this.#finish(urb, -Errno.ECONNRESET, 0);
    else urb.abort.abort();
    return 0;
  }

  #submit(bytes: Uint8Array): number {
    if (this.gone) return -Errno.ENODEV;
    const view = new DataView(bytes.buffer, bytes.byteOffset, UsbfsSize.urb);
    const type = view.getUint8(UrbOffset.type);
    const endpoint = view.getUint8(UrbOffset.endpoint);
    const length = view.getInt32(UrbOffset.bufferLength, true);
    const bufferAddress = view.getBigUint64(UrbOffset.buffer, true);
    const hold = (view.getBigUint64(UrbOffset.usercontext, true) & URB_CONTEXT_HOLD) !== 0n;
    if (endpoint !== 0 && !this.claimed) return -Errno.EINVAL;
    if (length < 0 || (length > 0 && bufferAddress === 0n)) return -Errno.EINVAL;
    const address = this.addressOf(bytes);
    const urb: FakeUrb = {
      address,
      type,
      endpoint,
      buffer: length === 0 ? new Uint8Array(0) : this.#at(bufferAddress, length),
      hold,
      abort: new AbortController(),
      state: 'queued',
      discarded: false,
    };
    this.log.push(`SUBMITURB ep=0x${endpoint.toString(16)} len=${length}${hold ? ' hold' : ''}`);
    this.order.push(`submit ep=0x${endpoint.toString(16)} len=${length}`);
    this.#urbs.set(address, urb);
    if (this.instantBulk && type === UrbType.BULK) {
      if (this.instantBulkMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, this.instantBulkMs);
      this.#finish(urb, 0, this.#serveInstant(urb));
      return 0;
    }
    const queue = this.#queues.get(endpoint) ?? [];
    this.#queues.set(endpoint, queue);
    queue.push(urb);
    this.#kick(endpoint);
    return 0;
  }

  #kick(endpoint: number): void {
    if (this.#running.has(endpoint) || this.#halted.has(endpoint)) return;
    this.#running.add(endpoint);
    queueMicrotask(() => void this.#run(endpoint));
  }

  /**
   * Runs the URBs of one endpoint in order. After a bulk URB ends with -EPIPE the host
   * side of the endpoint stays halted (as xHCI leaves it) and the URBs queued behind
   * it wait until CLEAR_HALT, or are discarded.
   */
  async #run(endpoint: number): Promise<void> {
    const queue = this.#queues.get(endpoint) ?? [];
    for (let urb = queue[0]; urb !== undefined; urb = queue[0]) {
      if (urb.state === 'queued') {
        urb.state = 'active';
        const [status, actual] = await this.#serve(urb);
        if (urb.state === 'active') this.#finish(urb, status, actual);
        // A stalled control request is a protocol stall, gone at the next SETUP (USB 2.0 §8.5.3.4).
        if (status === -Errno.EPIPE && endpoint !== 0) {
          queue.shift();
          this.#halted.add(endpoint);
          break;
        }
      }
      queue.shift();
    }
    this.#running.delete(endpoint);
  }

  async #serve(urb: FakeUrb): Promise<[number, number]> {
    const scripted = this.urbOutcomes.get(urb.endpoint)?.shift();
    const signal = urb.abort.signal;
    const options = { timeoutMs: 3_600_000, signal };
    if (scripted !== undefined) {
      if (scripted.hang === true) {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        if (scripted.unlinkMs !== undefined) await new Promise((resolve) => setTimeout(resolve, scripted.unlinkMs));
        const arrived = scripted.data?.subarray(0, urb.buffer.length) ?? new Uint8Array(0);
        urb.buffer.set(arrived);
        return [-Errno.ECONNRESET, arrived.length];
      }
      const data = scripted.data ?? new Uint8Array(0);
      urb.buffer.set(data.subarray(0, urb.buffer.length));
      return [scripted.status, scripted.actual ?? Math.min(data.length, urb.buffer.length)];
    }
    try {
      if (urb.type === UrbType.CONTROL) {
        const setup = urb.buffer.subarray(0, SETUP_BYTES);
        const request = setup[1] === BotRequest.GetMaxLun ? ('get-max-lun' as const) : ('bulk-only-reset' as const);
        const r = await this.#device.classRequest({ request }, options);
        if (r.status === 'stall') return [-Errno.EPIPE, 0];
        urb.buffer.set(r.data.subarray(0, urb.buffer.length - SETUP_BYTES), SETUP_BYTES);
        return [0, Math.min(r.data.length, urb.buffer.length - SETUP_BYTES)];
      }
      if ((urb.endpoint & 0x80) !== 0) {
        // The device model may fill the URB's buffer as data arrives (an unlinked URB keeps what came).
        const r = await this.#device.bulkIn(urb.buffer.length, { ...options, into: urb.buffer });
        const n = Math.min(r.data.length, urb.buffer.length);
        urb.buffer.set(r.data.subarray(0, n));
        return [r.status === 'stall' ? -Errno.EPIPE : r.status === 'babble' ? -Errno.EOVERFLOW : 0, n];
      }
      const r = await this.#device.bulkOut(urb.buffer.slice(), options);
      return [r.status === 'stall' ? -Errno.EPIPE : 0, r.bytesWritten];
    } catch (error) {
      if (error instanceof AbortError || signal.aborted) return [-Errno.ECONNRESET, 0];
      if (error instanceof DisconnectedError) {
        // A URB ends -ESHUTDOWN only when the device (or its controller) is gone: so is everything else.
        if (!this.gone) this.unplug();
        return [-Errno.ESHUTDOWN, 0];
      }
      return [-Errno.EPROTO, 0];
    }
  }

  /** Instant mode's BOT device (BOT 1.0 §5): actual length of the stage `urb` carries. */
  #serveInstant(urb: FakeUrb): number {
    if ((urb.endpoint & 0x80) === 0) {
      // A CBW (31 bytes that decode as one); anything else on the OUT endpoint is data-out.
      const cbw = urb.buffer.length === CBW_LENGTH ? tryDecodeCbw(urb.buffer) : undefined;
      if (cbw !== undefined) this.#instant = { tag: cbw.tag, remaining: cbw.dataTransferLength };
      else if (this.#instant !== undefined) this.#instant.remaining -= urb.buffer.length;
      return urb.buffer.length;
    }
    const cbw = this.#instant;
    if (cbw !== undefined && cbw.remaining > 0) {
      const n = Math.min(urb.buffer.length, cbw.remaining);
      for (let i = 0; i < n; i++) urb.buffer[i] = i & 0xff;
      cbw.remaining -= n;
      return n;
    }
    if (urb.buffer.length < CSW_LENGTH || cbw === undefined) return 0;
    encodeCsw({ signature: CSW_SIGNATURE, tag: cbw.tag, residue: 0, status: 0 }, urb.buffer.subarray(0, CSW_LENGTH));
    this.#instant = undefined;
    return CSW_LENGTH;
  }

  #finish(urb: FakeUrb, status: number, actual: number): void {
    urb.state = 'done';
    this.order.push(`done ep=0x${urb.endpoint.toString(16)}`);
    const view = new DataView(this.#at(urb.address, UsbfsSize.urb).buffer, this.#at(urb.address, UsbfsSize.urb).byteOffset, UsbfsSize.urb);
    view.setInt32(UrbOffset.status, status, true);
    view.setInt32(UrbOffset.actualLength, actual, true);
    this.#completed.push(urb);
    if (this.#watching) queueMicrotask(() => this.#reap());
  }

  /** The reaper thread's rule: hold full successes marked HOLD until a URB without it completes. */
  #reap(): void {
    let notify = false;
    for (const urb of this.#completed) {
      this.#urbs.delete(urb.address);
      this.#held.push(urb.address);
      const view = new DataView(this.#at(urb.address, UsbfsSize.urb).buffer, this.#at(urb.address, UsbfsSize.urb).byteOffset, UsbfsSize.urb);
      const status = view.getInt32(UrbOffset.status, true);
      const actual = view.getInt32(UrbOffset.actualLength, true);
      if (!this.#watching || !urb.hold || status !== 0 || actual < urb.buffer.length) notify = true;
    }
    this.#completed = [];
    if (notify) this.#post(false, []);
  }

  #post(gone: boolean, replies: ReaperEvent['replies']): void {
    if (this.#onEvent === undefined) return;
    const reaped = this.#held;
    this.#held = [];
    if (reaped.length === 0 && replies.length === 0 && !gone) return;
    this.events++;
    // Like a message from another thread: delivered on a later turn of the event loop.
    setImmediate(() => this.#onEvent?.({ reaped, replies, gone }));
  }

  startReaper(_fd: number, _urbs: Uint8Array, onEvent: (event: ReaperEvent) => void): UsbfsReaper {
    this.#onEvent = onEvent;
    return {
      call: (request, arg) =>
        new Promise((resolve) => {
          void this.#blocking(request, arg).then((rc) => {
            const replies = [{ id: 0, rc, arg }];
            this.events++;
            setImmediate(() => {
              resolve({ rc, arg });
              this.#onEvent?.({ reaped: [], replies, gone: false });
            });
          });
        }),
      flush: () => queueMicrotask(() => this.#post(false, [])),
      ref: () => undefined,
      watch: (on) => {
        this.#watching = on;
        if (on) queueMicrotask(() => this.#reap());
      },
      stop: async () => {
        this.#onEvent = undefined;
      },
    };
  }

  /** The calls the real reaper thread makes synchronously. */
  async #blocking(request: number, arg: Uint8Array | null): Promise<number> {
    const errno = this.failNext.get(name(request));
    if (errno !== undefined) {
      this.failNext.delete(name(request));
      this.log.push(`${name(request)} -> ${errnoName(errno)}`);
      return -errno;
    }
    if (this.gone) {
      this.log.push(`${name(request)} -> ENODEV`);
      return -Errno.ENODEV;
    }
    const u32 = (offset = 0): number => new DataView((arg as Uint8Array).buffer, (arg as Uint8Array).byteOffset).getUint32(offset, true);
    switch (request) {
      case UsbfsIoctl.DISCONNECT_CLAIM: {
        const bytes = arg as Uint8Array;
        const flags = u32(4);
        const driver = new TextDecoder().decode(bytes.subarray(8, bytes.indexOf(0, 8)));
        this.log.push(`DISCONNECT_CLAIM if=${u32(0)} flags=${flags} driver=${driver}`);
        if (this.driver === 'usbfs' && flags === 2 && driver === 'usbfs') return -Errno.EBUSY;
        this.driver = 'usbfs';
        this.claimed = true;
        return 0;
      }
      case UsbfsIoctl.CLAIMINTERFACE:
        this.log.push(`CLAIMINTERFACE ${u32()}`);
        if (this.driver !== undefined) return -Errno.EBUSY;
        this.driver = 'usbfs';
        this.claimed = true;
        return 0;
      case UsbfsIoctl.RELEASEINTERFACE:
        this.log.push(`RELEASEINTERFACE ${u32()}`);
        if (!this.claimed) return -Errno.EINVAL;
        this.claimed = false;
        this.driver = undefined;
        return 0;
      case UsbfsIoctl.IOCTL: {
        const code = u32(4);
        this.log.push(`IOCTL ${name(code)} if=${u32(0)}`);
        if (code !== UsbfsIoctl.CONNECT) return -Errno.EINVAL;
        if (this.claimed) return -Errno.EBUSY;
        this.driver = this.driverToBind;
        return 0;
      }
      case UsbfsIoctl.SETINTERFACE:
        this.log.push(`SETINTERFACE ${u32(0)} ${u32(4)}`);
        return 0;
      case UsbfsIoctl.CLEAR_HALT: {
        const endpoint = u32();
        this.log.push(`CLEAR_HALT 0x${endpoint.toString(16)}`);
        const queued = [...this.#urbs.values()].filter((u) => u.endpoint === endpoint && u.state !== 'done');
        if (queued.length > 0) this.violations.push(`CLEAR_HALT 0x${endpoint.toString(16)} with ${queued.length} URB(s) queued`);
        try {
          await this.#device.clearHalt((endpoint & 0x80) !== 0 ? 'in' : 'out', { timeoutMs: 5000 });
          return 0;
        } catch {
          return -Errno.EPIPE;
        } finally {
          this.#halted.delete(endpoint);
          const rest = this.#queues.get(endpoint) ?? [];
          while (rest[0] !== undefined && rest[0].state === 'done') rest.shift();
          if (rest.length > 0) this.#kick(endpoint);
        }
      }
      case UsbfsIoctl.RESET:
        this.log.push('RESET');
        try {
          await this.#device.portReset?.({ timeoutMs: 5000 });
        } catch (error) {
          // usb_reset_device's failure, returned by the ioctl: the device is gone, or it did not come back.
          return error instanceof DisconnectedError ? -Errno.ENODEV : -Errno.EIO;
        } finally {
          // The reset re-initialises every endpoint: no halt survives it (usb_reset_and_verify_device).
          this.#halted.clear();
        }
        // drivers/usb/core/hub.c: usbfs has no reset hooks, so its claim is dropped and the
        // kernel probes the interface again: usb-storage binds.
        this.claimed = false;
        this.driver = this.driverToBind;
        return 0;
      default:
        this.log.push(`${name(request)} (unexpected blocking call)`);
        return -Errno.EINVAL;
    }
  }
}

function tryDecodeCbw(bytes: Uint8Array): ReturnType<typeof decodeCbw> | undefined {
  try {
    return decodeCbw(bytes);
  } catch {
    return undefined;
  }
}
