import {
  AbortError,
  AccessDeniedError,
  type BulkInOptions,
  type BulkInResult,
  type BulkOutResult,
  type ClassRequest,
  ClosedError,
  type ControlResult,
  DisconnectedError,
  InvalidArgumentError,
  type MscTransport,
  NotFoundError,
  type TransferOptions,
  TransportError,
  type TransportInfo,
  UnsupportedError,
  type UsbmsError,
} from '@usbms/core';
import { BotRequest, CBW_LENGTH, CBW_SIGNATURE, CSW_LENGTH, hex4 } from '@usbms/core/internal';
import { botInterfaceOf, checkLinuxHandoff, reattachKernelDriver, withAccessHint } from '../claim.js';
import { transportInfoOf } from '../discovery.js';
import { platformOf } from '../platform.js';
import { usbfsTransferLimit } from '../sysfs.js';
import type { NodeUsbTransportOptions } from '../transport.js';
import type { UsbDeviceLike } from '../usb-types.js';
import {
  DisconnectClaimFlag,
  decodeU32,
  Errno,
  encodeDisconnectClaim,
  encodeIoctl,
  encodeSetInterface,
  encodeSetup,
  encodeU32,
  SETUP_BYTES,
  UrbType,
  UsbfsIoctl,
  UsbfsSize,
} from './abi.js';
import { openError } from './open-error.js';
import { loadUsbfsSys, type UsbfsSys } from './sys.js';
import { type Urb, type UrbEvent, UrbQueue, UrbRequest, type UrbResult, type UsbfsStats } from './urbs.js';

export type { UrbEvent, UsbfsStats } from './urbs.js';

/** BOT 1.0 §5.1, §5.2 and §3.1/§3.2: the wire numbers, from the core's one module. */
const CBW_BYTES = CBW_LENGTH;
const CSW_BYTES = CSW_LENGTH;
/** USB 2.0 §9.3.1 bmRequestType: class request to an interface, host-to-device / device-to-host. */
const CLASS_INTERFACE_OUT = 0x21;
const CLASS_INTERFACE_IN = 0xa1;
/** Default of `UsbfsTransportOptions.mainThreadReapMs`. */
const MAIN_THREAD_REAP_MS = 20;

/** Options of {@link UsbfsTransport.open}: the node-usb transport's, plus what only usbfs has. */
export interface UsbfsTransportOptions extends NodeUsbTransportOptions {
  /**
   * Queue a 13-byte status read behind each data-in stage, so the CSW is read
   * without a host round trip after the data (BOT 1.0 §5.2: the CSW follows the
   * data on the same pipe). The engine's status read then takes it; any other
   * next step on the pipe discards it first. Default false, as Linux's
   * usb-storage does (it submits the status read once the data stage ended):
   * QEMU's xHCI leaves a transfer queued behind one that completed
   * asynchronously on the ring until the next doorbell, so on QEMU usb-storage
   * the status read of a 1 MiB READ never completes. With the main thread
   * reaping (`mainThreadReapMs`) the round trip saved is small.
   */
  statusAhead?: boolean;
  /**
   * How long after a submission the main thread reaps completions itself
   * (REAPURBNDELAY between event-loop turns, never blocking) before it leaves the
   * waiting to the reaper thread. A completion handed over by another thread
   * costs the main thread a wake-up of ~1 ms in a loaded or virtualised guest,
   * more than a whole TEST UNIT READY; reaped here it costs none, at the price of
   * keeping one core busy while a command is on the wire (never while idle).
   * Default 20 ms: most commands finish within it, and longer ones pay one
   * hand-off. 0: the reaper thread waits for every completion.
   */
  mainThreadReapMs?: number;
  /** The system calls (tests pass a fake kernel). Default: libc through koffi. */
  sys?: UsbfsSys;
  /** The usbfs node. Default /dev/bus/usb/BBB/DDD from the device's bus and address. */
  devicePath?: string;
}

/** The system calls `options` names, else koffi and libc (an UnsupportedError that says why they do not load). */
function usbfsSysOf(options: UsbfsTransportOptions): UsbfsSys {
  if (options.sys !== undefined) return options.sys;
  const load = loadUsbfsSys();
  if (!load.ok) throw new UnsupportedError(`The usbfs backend is not available: ${load.reason}; use backend 'usb'`);
  return load.sys;
}

/**
 * Starts the reaper thread of a usbfs open that is about to happen, so it boots while the
 * caller finds the device (see UsbfsSys.prestartReaper). Returns the release, to call once
 * the open is over. Does nothing where usbfs cannot run (the open reports why).
 */
export function prestartUsbfsReaper(options: UsbfsTransportOptions = {}): () => void {
  if (platformOf(options) !== 'linux') return () => undefined;
  let sys: UsbfsSys;
  try {
    sys = usbfsSysOf(options);
  } catch {
    return () => undefined;
  }
  return sys.prestartReaper?.() ?? (() => undefined);
}

/** A reaped bulk-OUT URB as the transport contract's result (a stall is a result, BOT 1.0 §6.7). */
const outResult = (r: UrbResult): BulkOutResult => ({ status: r.kind === 'stall' ? 'stall' : 'ok', bytesWritten: r.actual });
/** A reaped bulk-IN URB as the transport contract's result: the bytes are in the URB's buffer (the caller's `into`, if given). */
const inResult = (r: UrbResult, buffer: Uint8Array): BulkInResult => ({ status: r.kind, data: buffer.subarray(0, r.actual) });

/**
 * `MscTransport` straight over Linux usbfs (/dev/bus/usb/BBB/DDD), without
 * node-usb in the data path: each bulk stage is one URB (SUBMITURB), several
 * URBs may be queued on one endpoint, every transfer can be cancelled
 * (DISCARDURB), and one thread reaps them all (see UsbfsReaper).
 *
 * - Claim: USBDEVFS_DISCONNECT_CLAIM with EXCEPT_DRIVER "usbfs" detaches the
 *   kernel driver and claims in one call, and never takes an interface another
 *   program claimed through usbfs. Close: RELEASEINTERFACE, then USBDEVFS_CONNECT
 *   lets the kernel bind usb-storage again. The mount check runs before each
 *   detach, including the one after a port reset.
 * - Data goes straight between the kernel and the caller's buffer (its
 *   address is in the URB; no copy in JavaScript, no mmap, no external
 *   ArrayBuffer views, so it works in Electron's main process too).
 * - Cancellation: an abort or timeout discards the URB at once; the promise
 *   settles only after the URB is reaped (usbfs copies IN data at reap time, so
 *   the caller's buffer is never written after its promise settled).
 * - The status read: the engine submits it with the CBW for commands without
 *   data-in (`concurrentPipes`); this transport can also queue one behind every
 *   data-in stage (`statusAhead`, off by default).
 */
export class UsbfsTransport implements MscTransport {
  readonly info: TransportInfo;
  readonly concurrentPipes = true;
  /**
   * URBs queued on one endpoint run in order: the engine submits a command's stages together.
   * Off with `statusAhead`, which queues its own status read behind each data-in stage.
   */
  readonly queuesTransfers: boolean;
  /** IN data lands in the caller's buffer when the kernel copies it at REAPURB, also for a URB discarded too late. */
  readonly writesIntoDirectly = true;
  readonly interfaceNumber: number;
  readonly alternateSetting: number;
  /** The kernel driver detached at open (re-attached on close), if any. */
  readonly detachedDriver: string | undefined;
  /** USBDEVFS_GET_CAPABILITIES of this device's host controller. */
  readonly capabilities: number;
  /** The node-usb device this transport was opened for (descriptors, bus and address). */
  readonly device: UsbDeviceLike;

  readonly #sys: UsbfsSys;
  readonly #fd: number;
  readonly #options: UsbfsTransportOptions;
  readonly #endpointIn: number;
  readonly #endpointOut: number;
  readonly #alternates: number;
  readonly #subject: string;
  readonly #id: string;
  readonly #configurationValue: number;
  readonly #urbs: UrbQueue;
  readonly #listeners = new Set<() => void>();
  /** The status read queued behind a data-in stage, and its 13-byte buffer. */
  #ahead: { urb: Urb; buffer: Uint8Array } | undefined;
  #detached: boolean;
  #disconnected = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #reattachError: number | undefined;

  private constructor(init: {
    sys: UsbfsSys;
    fd: number;
    device: UsbDeviceLike;
    options: UsbfsTransportOptions;
    info: TransportInfo;
    interfaceNumber: number;
    alternateSetting: number;
    alternates: number;
    endpointIn: number;
    endpointOut: number;
    configurationValue: number;
    id: string;
  }) {
    this.#sys = init.sys;
    this.#fd = init.fd;
    this.device = init.device;
    this.#options = init.options;
    this.info = init.info;
    this.interfaceNumber = init.interfaceNumber;
    this.alternateSetting = init.alternateSetting;
    this.#alternates = init.alternates;
    this.#endpointIn = init.endpointIn;
    this.#endpointOut = init.endpointOut;
    this.#configurationValue = init.configurationValue;
    this.queuesTransfers = init.options.statusAhead !== true;
    this.#id = init.id;
    this.#subject = `interface ${init.interfaceNumber} of ${init.id}`;
    this.#urbs = new UrbQueue({
      sys: init.sys,
      fd: init.fd,
      subject: this.#subject,
      mainThreadReapMs: init.options.mainThreadReapMs ?? MAIN_THREAD_REAP_MS,
      holdRule: (request, batch, laterFrom) => this.#holdRule(request, batch, laterFrom),
      onGone: () => this.#markDisconnected(),
      onCancel: (urb) => {
        if (this.#ahead?.urb === urb) this.#ahead = undefined;
      },
      closed: () => this.#closed,
      disconnected: () => this.#disconnected,
    });
    const caps = new Uint8Array(UsbfsSize.u32);
    this.capabilities = init.sys.ioctl(init.fd, UsbfsIoctl.GET_CAPABILITIES, caps) < 0 ? 0 : decodeU32(caps);
    this.detachedDriver = undefined;
    this.#detached = false;
  }

  /**
   * Opens the usbfs node of `device` (a node-usb device, used for its
   * descriptors, bus and address only) and claims its Bulk-Only interface:
   * the mount check, then DISCONNECT_CLAIM (or CLAIMINTERFACE when no driver
   * is to be detached), then SET_INTERFACE when the interface has alternates.
   */
  static async open(device: UsbDeviceLike, options: UsbfsTransportOptions = {}): Promise<UsbfsTransport> {
    const id = `${hex4(device.vendorId)}:${hex4(device.productId)}`;
    if (platformOf(options) !== 'linux') throw new UnsupportedError(`The usbfs backend exists on Linux only; use backend 'usb' (${id})`);
    const reapMs = options.mainThreadReapMs;
    if (reapMs !== undefined && !(Number.isFinite(reapMs) && reapMs >= 0)) {
      throw new InvalidArgumentError(`mainThreadReapMs must be a non-negative number of milliseconds, got ${reapMs}`);
    }
    const sys = usbfsSysOf(options);
    // The reaper thread boots while the mount check and the sysfs reads run.
    const release = sys.prestartReaper?.();
    try {
      return await UsbfsTransport.#open(device, sys, options, id);
    } finally {
      release?.();
    }
  }

  static async #open(device: UsbDeviceLike, sys: UsbfsSys, options: UsbfsTransportOptions, id: string): Promise<UsbfsTransport> {
    const config = activeConfiguration(device);
    if (config === undefined) {
      throw new UnsupportedError(`${id} has no active configuration; the usbfs backend does not configure devices (use backend 'usb')`);
    }
    const { iface, alt } = botInterfaceOf(config, options, id);
    const path = options.devicePath ?? usbfsPath(device);
    if (path === undefined) throw new NotFoundError(`${id}: its bus and address are unknown, so its usbfs node cannot be named`);

    const handoff = await checkLinuxHandoff(device, config.configurationValue, iface.interfaceNumber, options, id);
    const fd = sys.open(path);
    if (fd < 0) {
      const error = openError(-fd, path, id);
      throw withAccessHint(error, 'linux', { id, device });
    }
    const info = transportInfoOf(device, iface, alt, await usbfsTransferLimit(options.linuxRoots));
    const transport = new UsbfsTransport({
      sys,
      fd,
      device,
      options,
      info,
      interfaceNumber: iface.interfaceNumber,
      alternateSetting: alt.alternateSetting,
      alternates: iface.alternates.length,
      endpointIn: 0x80 | alt.bulkIn.endpointNumber,
      endpointOut: alt.bulkOut.endpointNumber,
      configurationValue: config.configurationValue,
      id,
    });
    try {
      await transport.#claim(handoff.driver, handoff.sysfsReadable);
    } catch (error) {
      await transport.#shutdown();
      throw error;
    }
    return transport;
  }

  /** Counters of the URB traffic, for benchmarks. */
  get stats(): UsbfsStats {
    return this.#urbs.stats;
  }

  /** Set to an array to record every URB submission and completion (benchmarks: where a command's time goes). */
  get timeline(): UrbEvent[] | undefined {
    return this.#urbs.timeline;
  }

  /** Starts (an array) or stops (undefined) recording URB submissions and completions. */
  set timeline(events: UrbEvent[] | undefined) {
    this.#urbs.timeline = events;
  }

  /** True once the device is known to be gone. */
  get disconnected(): boolean {
    return this.#disconnected;
  }

  /** errno of USBDEVFS_CONNECT at close, if re-attaching the kernel driver failed. */
  get reattachError(): number | undefined {
    return this.#reattachError;
  }

  async #claim(driver: string | undefined, sysfsReadable: boolean): Promise<void> {
    if (driver !== undefined && this.#options.detachKernelDriver !== false) {
      // Detach whatever driver is bound and claim, in one call; EXCEPT_DRIVER "usbfs"
      // refuses (EBUSY) when another program holds the interface through usbfs.
      const arg = encodeDisconnectClaim(this.interfaceNumber, DisconnectClaimFlag.EXCEPT_DRIVER, 'usbfs');
      const { rc } = await this.#urbs.reaper.call(UsbfsIoctl.DISCONNECT_CLAIM, arg);
      if (rc < 0) throw this.#claimError(-rc, driver, sysfsReadable);
      this.#detached = driver !== undefined;
      (this as { detachedDriver: string | undefined }).detachedDriver = driver;
    } else {
      const { rc } = await this.#urbs.reaper.call(UsbfsIoctl.CLAIMINTERFACE, encodeU32(this.interfaceNumber));
      if (rc < 0) throw this.#claimError(-rc, driver, sysfsReadable);
    }
    // UAS devices commonly expose BOT at alt 0 and UAS at alt 1 (USB UAS 1.0 §4.3);
    // devices with a single alternate are left alone: some stall SET_INTERFACE.
    if (this.#alternates > 1) {
      const { rc } = await this.#urbs.reaper.call(UsbfsIoctl.SETINTERFACE, encodeSetInterface(this.interfaceNumber, this.alternateSetting));
      if (rc < 0) throw this.#urbs.errnoError(-rc, 'SET_INTERFACE');
    }
  }

  #claimError(errno: number, driver: string | undefined, sysfsReadable: boolean): UsbmsError {
    if (errno === Errno.EBUSY) {
      const error = new AccessDeniedError(`Claiming ${this.#subject} failed: EBUSY`, { details: { reason: 'busy', errno } });
      return withAccessHint(error, 'linux', {
        id: this.#id,
        device: this.device,
        interfaceNumber: this.interfaceNumber,
        ...(driver === undefined || driver === 'unknown' ? {} : { driver }),
        ...(!sysfsReadable && this.#options.force !== true ? { unverified: true } : {}),
      });
    }
    return this.#urbs.errnoError(errno, 'claim');
  }

  // bulkOut and bulkIn hand back the URB queue's own promise where they can (no async wrapper):
  // each wrapper costs a turn of the microtask queue per stage, on every command.
  bulkOut(data: Uint8Array, options: TransferOptions): Promise<BulkOutResult> {
    try {
      this.#checkUsable(options);
      // A new CBW or data-out means the data-in stage is over: a status read still queued
      // would take the next command's bytes.
      if (this.#ahead !== undefined) return this.#dropAhead().then(() => this.#urbs.transfer(UrbType.BULK, this.#endpointOut, data, options, outResult));
      return this.#urbs.transfer(UrbType.BULK, this.#endpointOut, data, options, outResult);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  bulkIn(length: number, options: BulkInOptions): Promise<BulkInResult> {
    try {
      if (!Number.isSafeInteger(length) || length < 0) throw new InvalidArgumentError(`bulkIn length must be a non-negative integer, got ${length}`);
      if (options.into !== undefined && options.into.length < length) {
        throw new InvalidArgumentError(`bulkIn: 'into' holds ${options.into.length} bytes, fewer than the ${length} requested`);
      }
      this.#checkUsable(options);
      if (length === 0) return Promise.resolve({ status: 'ok', data: new Uint8Array(0) });
      if (this.#ahead !== undefined || this.#options.statusAhead === true) return this.#bulkInAhead(length, options);
      const buffer = options.into === undefined ? new Uint8Array(length) : options.into.subarray(0, length);
      return this.#urbs.transfer(UrbType.BULK, this.#endpointIn, buffer, options, inResult);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** bulkIn with a status read queued ahead, or to queue one (`statusAhead`). */
  async #bulkInAhead(length: number, options: BulkInOptions): Promise<BulkInResult> {
    const ahead = this.#ahead;
    if (ahead !== undefined) {
      if (length === CSW_BYTES) {
        // The status read queued behind the data stage: this is it.
        this.#ahead = undefined;
        this.#urbs.arm(ahead.urb, options);
        const r = await this.#urbs.outcome(ahead.urb, options);
        return this.#deliver(ahead.buffer.subarray(0, r.actual), r.kind, options.into);
      }
      await this.#dropAhead();
    }
    const buffer = options.into === undefined ? new Uint8Array(length) : options.into.subarray(0, length);
    const readAhead = this.#options.statusAhead === true && length !== CSW_BYTES && !this.#urbs.hasInflight(this.#endpointIn);
    if (!readAhead) return await this.#urbs.transfer(UrbType.BULK, this.#endpointIn, buffer, options, inResult);
    const urb = await this.#queue(UrbType.BULK, this.#endpointIn, buffer, options, readAhead);
    let r: { kind: 'ok' | 'stall' | 'babble'; actual: number };
    try {
      r = await this.#urbs.outcome(urb, options);
    } catch (error) {
      // The status read behind it has nothing to read now: stop it (recovery resets the device).
      if (this.#ahead !== undefined) this.#urbs.cancel(this.#ahead.urb, 'internal');
      throw error;
    }
    if (r.kind === 'ok' && r.actual === CSW_BYTES && length > CSW_BYTES && this.#ahead !== undefined) {
      // 13 bytes where data was due: the device skipped the data stage (this is its CSW) or
      // this is the CSW of a command abandoned earlier. The status read queued behind would
      // take the next command's bytes; the engine decides what comes next.
      await this.#dropAhead();
    }
    return inResult(r, buffer);
  }

  #deliver(data: Uint8Array, kind: 'ok' | 'stall' | 'babble', into: Uint8Array | undefined): BulkInResult {
    let out = data;
    if (into !== undefined && data.length > 0) {
      into.set(data, 0);
      out = into.subarray(0, data.length);
    }
    return { status: kind, data: out };
  }

  async clearHalt(pipe: 'in' | 'out', options: TransferOptions): Promise<void> {
    this.#checkUsable(options);
    const endpoint = pipe === 'in' ? this.#endpointIn : this.#endpointOut;
    // xHCI cannot reset an endpoint that still has transfers queued (the kernel's
    // usb_clear_halt would leave the host's data toggle as it was): discard them first.
    await this.#urbs.discard(endpoint);
    const { rc } = await this.#urbs.reaper.call(UsbfsIoctl.CLEAR_HALT, encodeU32(endpoint));
    if (rc < 0) {
      if (-rc === Errno.EPIPE) throw new TransportError(`CLEAR_FEATURE(ENDPOINT_HALT) on the bulk-${pipe} endpoint of ${this.#subject} was stalled`);
      throw this.#urbs.errnoError(-rc, `CLEAR_HALT (bulk-${pipe})`);
    }
  }

  async classRequest(request: ClassRequest, options: TransferOptions): Promise<ControlResult> {
    this.#checkUsable(options);
    // Reset recovery starts here (BOT 1.0 §5.3.4): nothing queued on the bulk pipes survives it.
    await this.#urbs.discard(this.#endpointIn);
    const getMaxLun = request.request === 'get-max-lun';
    const length = getMaxLun ? 1 : 0;
    const buffer = new Uint8Array(SETUP_BYTES + length);
    encodeSetup(buffer, {
      requestType: getMaxLun ? CLASS_INTERFACE_IN : CLASS_INTERFACE_OUT,
      request: getMaxLun ? BotRequest.GetMaxLun : BotRequest.Reset,
      value: 0,
      // BOT 1.0 §3.1/§3.2: wIndex is the interface number.
      index: this.interfaceNumber,
      length,
    });
    const urb = await this.#queue(UrbType.CONTROL, 0, buffer, options);
    const r = await this.#urbs.outcome(urb, options);
    if (r.kind !== 'ok') return { status: 'stall', data: new Uint8Array(0) };
    // usbfs reports the data stage's length; the data follows the setup packet.
    return { status: 'ok', data: buffer.slice(SETUP_BYTES, SETUP_BYTES + Math.min(r.actual, length)) };
  }

  /**
   * USBDEVFS_RESET, then claim again: a reset unbinds usbfs from the interface and the
   * kernel may bind usb-storage to it (and something may mount the disk), so the mount
   * check runs again before the driver is detached.
   */
  async portReset(options: TransferOptions): Promise<void> {
    this.#checkUsable(options);
    await this.#urbs.discard(this.#endpointIn);
    await this.#urbs.discard(this.#endpointOut);
    const { rc } = await this.#urbs.reaper.call(UsbfsIoctl.RESET, null);
    if (rc < 0) throw this.#urbs.errnoError(-rc, 'USBDEVFS_RESET');
    const handoff = await checkLinuxHandoff(this.device, this.#configurationValue, this.interfaceNumber, this.#options, this.#id);
    await this.#claim(handoff.driver, handoff.sysfsReadable);
  }

  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  onDisconnect(listener: () => void): () => void {
    if (this.#disconnected) {
      queueMicrotask(() => {
        if (this.#listeners.has(listener)) listener();
      });
    }
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async #doClose(): Promise<void> {
    this.#closed = true;
    // Nothing may be pending when the interface is released: discard and reap everything.
    await this.#urbs.discard();
    if (!this.#disconnected) {
      await this.#urbs.reaper.call(UsbfsIoctl.RELEASEINTERFACE, encodeU32(this.interfaceNumber));
      if (this.#detached && this.#options.reattachOnClose !== false) {
        const connect = encodeIoctl(this.interfaceNumber, UsbfsIoctl.CONNECT);
        this.#reattachError = await reattachKernelDriver(
          async () => {
            const { rc } = await this.#urbs.reaper.call(UsbfsIoctl.IOCTL, connect);
            return rc < 0 ? -rc : undefined;
          },
          (errno) => errno === Errno.EBUSY,
        );
      }
    }
    await this.#shutdown();
  }

  /** Stops the reaper thread and closes the fd (the kernel releases whatever is still claimed). */
  async #shutdown(): Promise<void> {
    this.#closed = true;
    await this.#urbs.reaper.stop();
    this.#sys.close(this.#fd);
  }

  // --- URBs ---

  /**
   * Queues a URB for the next batch; resolves once it is submitted. `ahead`: queue a status read
   * behind it, and let the reaper thread hold this URB's full success until that read completes.
   */
  #queue(type: number, endpoint: number, buffer: Uint8Array, options: TransferOptions, ahead = false): Promise<Urb> {
    const submitted = this.#urbs.submit(type, endpoint, buffer, ahead, options);
    if (ahead) {
      const status = new Uint8Array(CSW_BYTES);
      const resolve = (urb: Urb): void => {
        this.#ahead = { urb, buffer: status };
      };
      // Not submitted (the stage before it failed to submit): nothing to read ahead.
      const reject = (): void => undefined;
      this.#urbs.enqueue(new UrbRequest(UrbType.BULK, endpoint, status, false, undefined, resolve, reject, false, undefined));
    }
    return submitted;
  }

  /**
   * Which full successes the reaper thread may hold back (see UsbfsReaper), decided from the
   * stages one engine step queued together: a CBW of a command without data stage when its
   * status read follows in the batch, and a data-out stage with a status read pending. A held
   * URB that fails, or ends short, is reported at once.
   */
  #holdRule(request: UrbRequest, batch: readonly UrbRequest[], laterFrom: number): boolean {
    if (request.endpoint !== this.#endpointOut) return false;
    const cbw = isCbw(request.buffer);
    let inFollows = !cbw.is && this.#urbs.hasInflight(this.#endpointIn);
    for (let i = laterFrom; i < batch.length && !inFollows; i++) inFollows = batch[i]?.endpoint === this.#endpointIn;
    return inFollows && (cbw.is ? cbw.dataLength === 0 : true);
  }

  async #dropAhead(): Promise<void> {
    const ahead = this.#ahead;
    this.#ahead = undefined;
    if (ahead === undefined) return;
    this.#urbs.cancel(ahead.urb, 'internal');
    await ahead.urb.done;
  }

  #checkUsable(options: TransferOptions): void {
    if (this.#disconnected) throw new DisconnectedError(`The USB device was disconnected (${this.#subject})`);
    if (this.#closed) throw new ClosedError(`The transport for ${this.#subject} is closed`);
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new InvalidArgumentError(`timeoutMs must be a positive number, got ${options.timeoutMs}`);
    }
    if (options.signal?.aborted === true) throw new AbortError('The transfer was aborted before it was submitted', { cause: options.signal.reason });
  }

  #markDisconnected(): void {
    if (this.#disconnected) return;
    this.#disconnected = true;
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch {
        // A faulty listener must not stop the others.
      }
    }
  }
}

/** BOT 1.0 §5.1: is this a CBW, and its dCBWDataTransferLength. */
function isCbw(bytes: Uint8Array): { is: boolean; dataLength: number } {
  if (bytes.length !== CBW_BYTES) return { is: false, dataLength: 0 };
  const view = new DataView(bytes.buffer, bytes.byteOffset, CBW_BYTES);
  if (view.getUint32(0, true) !== CBW_SIGNATURE) return { is: false, dataLength: 0 };
  return { is: true, dataLength: view.getUint32(8, true) };
}

/** /dev/bus/usb/BBB/DDD (drivers/usb/core/devio.c names the nodes by bus number and device address). */
export function usbfsPath(device: UsbDeviceLike): string | undefined {
  const bus = device.bus === undefined ? Number.NaN : Number.parseInt(device.bus, 10);
  const address = device.address;
  if (!Number.isInteger(bus) || address === undefined || !Number.isInteger(address)) return undefined;
  return `/dev/bus/usb/${String(bus).padStart(3, '0')}/${String(address).padStart(3, '0')}`;
}

function activeConfiguration(device: UsbDeviceLike) {
  try {
    return device.configuration ?? undefined;
  } catch {
    return undefined;
  }
}
