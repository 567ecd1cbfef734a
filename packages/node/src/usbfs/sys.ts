import { createRequire } from 'node:module';
import { MessageChannel, Worker } from 'node:worker_threads';
import { Errno, PollEvent, UrbOffset, UsbfsIoctl, UsbfsSize } from './abi.js';
import { resolveKoffi } from './koffi-path.js';

/**
 * The system calls the usbfs transport makes, as a seam: `loadUsbfsSys()`
 * reaches libc through koffi; the unit tests pass a fake kernel instead.
 * Every call returns a negated errno on failure instead of throwing.
 *
 * Only calls that never block go here (they run on the caller's thread):
 * SUBMITURB and DISCARDURB return at once (the kernel queues or unlinks the URB
 * and completes it later), GET_CAPABILITIES reads a field. Calls that can block
 * (claiming, CLEAR_HALT, RESET, RELEASEINTERFACE, CONNECT) go through
 * `UsbfsReaper.call`, i.e. the reaper thread.
 */
export interface UsbfsSys {
  /** open(path, O_RDWR | O_CLOEXEC): fd, or -errno. */
  open(path: string): number;
  /** close(fd): 0, or -errno. */
  close(fd: number): number;
  /** ioctl(fd, request, arg) with `arg` a pointer to these bytes (or NULL): result, or -errno. */
  ioctl(fd: number, request: number, arg: Uint8Array | null): number;
  /** ioctl(fd, request, address): DISCARDURB takes the URB's user address as its argument. */
  ioctlAddress(fd: number, request: number, address: bigint): number;
  /**
   * User address of the first byte of `bytes`. The memory must not move while
   * the kernel holds the address: `bytes.buffer` is read first, which moves a
   * small typed array that V8 keeps inside its heap out to a fixed allocation.
   */
  addressOf(bytes: Uint8Array): bigint;
  /**
   * Starts the reaper thread for `fd` (see UsbfsReaper). `urbs`: the memory, over a
   * SharedArrayBuffer, holding every struct usbdevfs_urb submitted on `fd`: the thread
   * reads a reaped URB's status and usercontext there, without an FFI call.
   */
  startReaper(fd: number, urbs: Uint8Array, onEvent: (event: ReaperEvent) => void): UsbfsReaper;
  /**
   * Starts a reaper thread ahead of need, so that it boots (a new isolate, koffi and libc:
   * ~10 ms natively, ~0.6 s in an emulated guest) while discovery and the mount check run:
   * the next `startReaper` takes it. Returns the release, to call once the open is over
   * (taken or not): a thread nobody took is stopped when every caller has released.
   */
  prestartReaper?(): () => void;
}

/** What the reaper thread reports; each event is one main-thread wake-up. */
export interface ReaperEvent {
  /** User addresses of reaped URBs, in reap order. */
  reaped: bigint[];
  /** Results of `call`s, by id. */
  replies: { id: number; rc: number; arg: Uint8Array | null }[];
  /** The device is gone (REAPURBNDELAY said ENODEV), or the thread failed: nothing more will be reaped. */
  gone: boolean;
  /** Why the thread stopped, when it failed. */
  failure?: string;
  /** When the thread posted it (performance.timeOrigin + performance.now(), ms): the hand-off time, for benchmarks. */
  postedAt?: number;
  /** How often the thread left poll(2) since its previous event (its own wake-ups), for benchmarks. */
  polls?: number;
}

/**
 * The one thread that waits for the kernel: it blocks in poll(2) on the usbfs
 * fd (POLLOUT means a URB completed, POLLHUP the device is gone) and on an
 * eventfd the main thread writes to wake it, reaps every completed URB with
 * REAPURBNDELAY, and posts them in one message. A URB submitted with
 * `URB_CONTEXT_HOLD` in its usercontext that completed in full and without
 * error is held back until a URB without it completes (or `flush()`), so the
 * stages of one command cost the main thread one wake-up.
 */
export interface UsbfsReaper {
  /** Runs a blocking ioctl on the reaper thread; `arg` comes back as the kernel left it. Resolves with rc or -errno. */
  call(request: number, arg: Uint8Array | null): Promise<{ rc: number; arg: Uint8Array | null }>;
  /** Posts held completions now (used when a held URB is cancelled: it may have completed already). */
  flush(): void;
  /** Keeps the process alive while true (URBs in flight); calls keep it alive on their own. */
  ref(active: boolean): void;
  /**
   * Whether the thread waits for and reaps completions (POLLOUT). While false the main thread
   * reaps them itself (REAPURBNDELAY between event-loop turns) and the thread only watches for
   * the device going away (POLLHUP/POLLERR, which poll(2) reports whatever was asked).
   * Turning it on wakes the thread; completions already waiting are seen at once (poll is level-triggered).
   */
  watch(on: boolean): void;
  /** Stops the thread; resolves once it has exited. Never blocks on a device. */
  stop(): Promise<void>;
}

/** usbdevfs_urb.usercontext bit: hold this URB's completion when it is a full success (see UsbfsReaper). */
export const URB_CONTEXT_HOLD = 1n;

/** Why the usbfs backend cannot be used here, or the system calls. */
export type UsbfsSysLoad = { ok: true; sys: UsbfsSys } | { ok: false; reason: string };

let loaded: UsbfsSysLoad | undefined;

/**
 * Loads koffi and libc once. Fails (with the reason) off Linux, on CPUs other
 * than x86-64 and arm64, when koffi's prebuilt binary is missing, or when the
 * C layout koffi computes differs from the one declared in abi.ts.
 */
export function loadUsbfsSys(): UsbfsSysLoad {
  loaded ??= tryLoad();
  return loaded;
}

interface Koffi {
  load(path: string): { func(signature: string): (...args: unknown[]) => unknown };
  struct(definition: Record<string, string>): unknown;
  sizeof(type: unknown): number;
  offsetof(type: unknown, member: string): number;
  address(value: unknown): bigint;
  errno(): number;
}

function tryLoad(): UsbfsSysLoad {
  if (process.platform !== 'linux') return { ok: false, reason: `usbfs exists on Linux only (this is ${process.platform})` };
  if (process.arch !== 'x64' && process.arch !== 'arm64')
    return { ok: false, reason: `the usbfs layouts are declared for x64 and arm64 (this is ${process.arch})` };
  let koffiPath: string;
  let koffi: Koffi;
  try {
    koffiPath = resolveKoffi();
    koffi = createRequire(koffiPath)(koffiPath) as Koffi;
  } catch (error) {
    return { ok: false, reason: `the FFI (koffi) did not load: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    const urb = koffi.struct({
      type: 'uint8',
      endpoint: 'uint8',
      status: 'int',
      flags: 'uint',
      buffer: 'void *',
      buffer_length: 'int',
      actual_length: 'int',
      start_frame: 'int',
      stream_id: 'uint',
      error_count: 'int',
      signr: 'uint',
      usercontext: 'void *',
    });
    const ctrl = koffi.struct({
      bRequestType: 'uint8',
      bRequest: 'uint8',
      wValue: 'uint16',
      wIndex: 'uint16',
      wLength: 'uint16',
      timeout: 'uint32',
      data: 'void *',
    });
    const claim = koffi.struct({ interface: 'uint', flags: 'uint', driver: 'char[256]' });
    const ioctlStruct = koffi.struct({ ifno: 'int', ioctl_code: 'int', data: 'void *' });
    const checks: [string, number, number][] = [
      ['sizeof(struct usbdevfs_urb)', koffi.sizeof(urb), UsbfsSize.urb],
      ['sizeof(struct usbdevfs_ctrltransfer)', koffi.sizeof(ctrl), UsbfsSize.ctrltransfer],
      ['sizeof(struct usbdevfs_disconnect_claim)', koffi.sizeof(claim), UsbfsSize.disconnectClaim],
      ['sizeof(struct usbdevfs_ioctl)', koffi.sizeof(ioctlStruct), UsbfsSize.ioctl],
      ['sizeof(void *)', koffi.sizeof('void *'), UsbfsSize.pointer],
      ['sizeof(unsigned long)', koffi.sizeof('unsigned long'), 8],
    ];
    for (const [field, offset] of Object.entries({
      type: UrbOffset.type,
      endpoint: UrbOffset.endpoint,
      status: UrbOffset.status,
      flags: UrbOffset.flags,
      buffer: UrbOffset.buffer,
      buffer_length: UrbOffset.bufferLength,
      actual_length: UrbOffset.actualLength,
      stream_id: UrbOffset.streamId,
      usercontext: UrbOffset.usercontext,
    })) {
      checks.push([`offsetof(struct usbdevfs_urb, ${field})`, koffi.offsetof(urb, field), offset]);
    }
    for (const [what, actual, expected] of checks) {
      if (actual !== expected) return { ok: false, reason: `${what} is ${actual} here, not ${expected} (usbdevice_fs.h layout mismatch)` };
    }
    const libc = koffi.load('libc.so.6');
    // Fixed, non-variadic prototypes: ioctl(2) and open(2) are variadic in C, but on
    // x86-64 and arm64 Linux a variadic callee reads integer and pointer arguments
    // from the same registers as a fixed one, so this is the same call.
    const open = libc.func('int open(const char *path, int flags)') as (path: string, flags: number) => number;
    const ioctl = libc.func('int ioctl(int fd, unsigned long request, void *arg)') as (fd: number, request: number, arg: Uint8Array | null) => number;
    const ioctlAddress = libc.func('int ioctl(int fd, unsigned long request, uint64_t arg)') as (fd: number, request: number, arg: bigint) => number;
    const eventfd = libc.func('int eventfd(unsigned int initval, int flags)') as (initval: number, flags: number) => number;
    const write = libc.func('long write(int fd, void *buf, unsigned long count)') as (fd: number, buf: Uint8Array, count: number) => number;
    const close = libc.func('int close(int fd)') as (fd: number) => number;
    const errno = (): number => koffi.errno();
    // asm-generic/fcntl.h: O_RDWR 02, O_CLOEXEC 02000000 (same on x86-64 and arm64).
    const O_RDWR_CLOEXEC = 0o2 | 0o2000000;
    // include/uapi/linux/eventfd.h: EFD_CLOEXEC = O_CLOEXEC, EFD_NONBLOCK = O_NONBLOCK (04000).
    const EFD_CLOEXEC_NONBLOCK = 0o2000000 | 0o4000;
    const sys: UsbfsSys = {
      open: (path) => {
        const fd = open(path, O_RDWR_CLOEXEC);
        return fd < 0 ? -errno() : fd;
      },
      close: (fd) => {
        const rc = close(fd);
        return rc < 0 ? -errno() : rc;
      },
      ioctl: (fd, request, arg) => {
        const rc = ioctl(fd, request, arg);
        return rc < 0 ? -errno() : rc;
      },
      ioctlAddress: (fd, request, address) => {
        const rc = ioctlAddress(fd, request, address);
        return rc < 0 ? -errno() : rc;
      },
      addressOf: (bytes) => {
        // Reading .buffer moves an on-heap typed array's bytes to a fixed allocation (see UsbfsSys.addressOf).
        void bytes.buffer;
        return koffi.address(bytes);
      },
      startReaper: (fd, urbs, onEvent) => {
        const efd = eventfd(0, EFD_CLOEXEC_NONBLOCK);
        if (efd < 0) throw new Error(`eventfd failed (errno ${errno()})`);
        const one = new Uint8Array(8);
        one[0] = 1;
        const base = koffi.address(urbs);
        const thread = standby.thread ?? new ReaperThread(koffiPath);
        standby.thread = undefined;
        return new WorkerReaper(
          thread,
          fd,
          efd,
          { urbs, base },
          onEvent,
          () => write(efd, one, 8),
          () => close(efd),
        );
      },
      prestartReaper: () => {
        standby.wanted++;
        standby.thread ??= new ReaperThread(koffiPath);
        let released = false;
        return () => {
          if (released) return;
          released = true;
          if (--standby.wanted > 0 || standby.thread === undefined) return;
          void standby.thread.worker.terminate();
          standby.thread = undefined;
          reaperThreads.unused++;
        };
      },
    };
    return { ok: true, sys };
  } catch (error) {
    return { ok: false, reason: `libc calls could not be declared: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * The thread started ahead of need (prestartReaper), until a startReaper takes it; `wanted`:
 * the opens that asked for it and have not released yet.
 */
const standby: { thread: ReaperThread | undefined; wanted: number } = { thread: undefined, wanted: 0 };

/** Reaper threads this process started, and those stopped unused (for tests and benchmarks). */
export const reaperThreads = { started: 0, unused: 0 };

/**
 * A reaper thread from its start: it loads koffi and libc, then waits (in JavaScript, so it
 * can be terminated) for the fd and memory it is to serve. `ended` settles when it exits
 * (with why, when it failed), whether or not anything listens yet.
 */
class ReaperThread {
  readonly worker: Worker;
  readonly ended: Promise<string | undefined>;

  constructor(koffiPath: string) {
    reaperThreads.started++;
    this.worker = new Worker(REAPER_SOURCE, {
      eval: true,
      // Nothing of the parent's command line (loaders, --import hooks) is needed here.
      execArgv: [],
      workerData: { koffiPath },
      // No stdin/stdout of its own; its only output is the port it is given.
      stdout: false,
      stderr: false,
    });
    // It never keeps a process alive by itself (WorkerReaper.stop refs it while it stops).
    this.worker.unref();
    this.ended = new Promise((resolve) => {
      this.worker.once('error', (error) => resolve(`the reaper thread failed: ${error instanceof Error ? error.message : String(error)}`));
      this.worker.once('exit', () => resolve(undefined));
    });
  }
}

/** Reapers still running: woken at process exit so no exit waits on a thread blocked in poll(2). */
const running = new Set<WorkerReaper>();
let exitHooked = false;

/** Int32 slots shared with the reaper thread. */
const STOP = 0;
const FLUSH = 1;
const WATCH = 2;

class WorkerReaper implements UsbfsReaper {
  readonly #worker: Worker;
  readonly #port: MessageChannel['port1'];
  readonly #control = new Int32Array(new SharedArrayBuffer(16));
  readonly #wake: () => void;
  readonly #closeEventfd: () => void;
  readonly #calls = new Map<number, (reply: { rc: number; arg: Uint8Array | null }) => void>();
  #nextId = 1;
  #active = false;
  #exited: Promise<void>;

  constructor(
    thread: ReaperThread,
    fd: number,
    efd: number,
    memory: { urbs: Uint8Array; base: bigint },
    onEvent: (event: ReaperEvent) => void,
    wake: () => void,
    closeEventfd: () => void,
  ) {
    this.#wake = wake;
    this.#closeEventfd = closeEventfd;
    this.#worker = thread.worker;
    const channel = new MessageChannel();
    this.#port = channel.port1;
    this.#port.on('message', (event: ReaperEvent) => {
      for (const reply of event.replies) {
        const resolve = this.#calls.get(reply.id);
        this.#calls.delete(reply.id);
        resolve?.(reply);
      }
      if (event.replies.length > 0) this.#updateRef();
      onEvent(event);
    });
    // The port keeps the process alive only while a call or a URB is pending (see ref()).
    this.#port.unref();
    // What the thread serves; it may still be loading koffi (then this waits in its queue).
    this.#worker.postMessage(
      {
        fd,
        efd,
        control: this.#control.buffer,
        urbs: memory.urbs.buffer,
        urbsOffset: memory.urbs.byteOffset,
        urbsLength: memory.urbs.byteLength,
        base: memory.base,
        port: channel.port2,
        reap: UsbfsIoctl.REAPURBNDELAY,
        errno: { EAGAIN: Errno.EAGAIN, EINTR: Errno.EINTR, ENODEV: Errno.ENODEV },
        poll: PollEvent,
        hold: Number(URB_CONTEXT_HOLD),
        layout: {
          size: UsbfsSize.urb,
          status: UrbOffset.status,
          bufferLength: UrbOffset.bufferLength,
          actualLength: UrbOffset.actualLength,
          usercontext: UrbOffset.usercontext,
        },
      },
      [channel.port2],
    );
    this.#exited = thread.ended.then((failure) => {
      if (!running.delete(this) && failure === undefined) return;
      // The thread is gone while the transport still needs it: nothing more will be reaped
      // or answered. Fail what waits rather than hang.
      for (const reply of this.#calls.values()) reply({ rc: -Errno.EIO, arg: null });
      this.#calls.clear();
      this.#updateRef();
      onEvent({ reaped: [], replies: [], gone: true, failure: failure ?? 'the reaper thread exited' });
    });
    running.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', () => {
        for (const reaper of running) reaper.#signalStop();
      });
    }
  }

  /** Keeps the event loop alive while something waits on the reaper. */
  ref(active: boolean): void {
    this.#active = active;
    this.#updateRef();
  }

  #updateRef(): void {
    if (this.#active || this.#calls.size > 0) this.#port.ref();
    else this.#port.unref();
  }

  call(request: number, arg: Uint8Array | null): Promise<{ rc: number; arg: Uint8Array | null }> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#calls.set(id, resolve);
      this.#updateRef();
      this.#port.postMessage({ id, request, arg });
      this.#wake();
    });
  }

  flush(): void {
    Atomics.store(this.#control, FLUSH, 1);
    this.#wake();
  }

  watch(on: boolean): void {
    if (Atomics.exchange(this.#control, WATCH, on ? 1 : 0) === (on ? 1 : 0)) return;
    // Off needs no wake-up: the thread reads the flag before it reaps and before it polls again.
    if (on) this.#wake();
  }

  #signalStop(): void {
    Atomics.store(this.#control, STOP, 1);
    this.#wake();
  }

  async stop(): Promise<void> {
    if (running.delete(this)) {
      this.#signalStop();
      // Keep the process alive until the thread is gone (it was unref'd so it never holds
      // a process open by itself); its poll(2) returns at once on the eventfd.
      this.#worker.ref();
      // The thread leaves poll(2) within its 1 s timeout even if the wake-up were lost.
      await this.#exited;
      this.#port.close();
      this.#closeEventfd();
    }
    await this.#exited;
  }
}

/**
 * The reaper thread (CommonJS, run with `eval` so it works from sources, the
 * built package, bundles and Electron alike). Kept small: everything it
 * decides is described on UsbfsReaper.
 */
const REAPER_SOURCE = `
'use strict';
// process.getBuiltinModule: the same in CommonJS and ES module evaluation (a parent's
// --input-type=module or --experimental-default-type reaches eval workers too).
const { workerData: { koffiPath }, parentPort, receiveMessageOnPort } = process.getBuiltinModule('node:worker_threads');
const koffi = process.getBuiltinModule('node:module').createRequire(koffiPath)(koffiPath);
const libc = koffi.load('libc.so.6');
const ioctl = libc.func('int ioctl(int fd, unsigned long request, void *arg)');
const poll = libc.func('int poll(void *fds, unsigned long nfds, int timeout)');
const read = libc.func('long read(int fd, void *buf, unsigned long count)');
// Loaded: now wait (terminable) for the fd and memory to serve; then block in poll(2) until told to stop.
parentPort.once('message', (workerData) => {
  const { fd, efd, port, errno: E, poll: P, hold, base, layout: L } = workerData;
  // The URB structs live in shared memory: a reaped URB's fields are read here directly.
  const urbs = new DataView(workerData.urbs, workerData.urbsOffset, workerData.urbsLength);
  const out = new Uint8Array(8);
  const outView = new DataView(out.buffer);
  const control = new Int32Array(workerData.control);
  const fds = new Uint8Array(16);
  const view = new DataView(fds.buffer);
  const counter = new Uint8Array(8);
  let watching = true;
  let held = [];
  let polls = 0;
  for (;;) {
    // Completions only while asked to (control[2]); the device going away (POLLHUP/POLLERR) always.
    view.setInt32(0, watching ? fd : -1, true);
    view.setInt16(4, Atomics.load(control, 2) !== 0 ? P.POLLOUT : 0, true);
    view.setInt16(6, 0, true);
    view.setInt32(8, efd, true);
    view.setInt16(12, P.POLLIN, true);
    view.setInt16(14, 0, true);
    const n = poll(fds, 2, 1000);
    polls++;
    if (n < 0 && koffi.errno() !== E.EINTR) break;
    if (view.getInt16(14, true) & P.POLLIN) read(efd, counter, 8);
    const replies = [];
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      const { id, request, arg } = m.message;
      const rc = ioctl(fd, request, arg);
      replies.push({ id, rc: rc < 0 ? -koffi.errno() : rc, arg });
    }
    let notify = false;
    let gone = false;
    const revents = view.getInt16(6, true);
    const mine = Atomics.load(control, 2) !== 0;
    if (watching && ((mine && (revents & P.POLLOUT)) || (revents & (P.POLLERR | P.POLLHUP)))) {
      for (;;) {
        if (ioctl(fd, workerData.reap, out) < 0) {
          const e = koffi.errno();
          if (e === E.EINTR) continue;
          // EAGAIN: nothing more completed. ENODEV: the device is gone and every URB was
          // reaped. Anything else (EBADF, ...) would repeat forever: stop watching too.
          if (e !== E.EAGAIN) { gone = true; watching = false; }
          break;
        }
        const address = outView.getBigUint64(0, true);
        held.push(address);
        const at = Number(address - base);
        if (at < 0 || at + L.size > urbs.byteLength) { notify = true; continue; }
        const status = urbs.getInt32(at + L.status, true);
        const length = urbs.getInt32(at + L.bufferLength, true);
        const actual = urbs.getInt32(at + L.actualLength, true);
        if (!mine || (urbs.getUint32(at + L.usercontext, true) & hold) === 0 || status !== 0 || actual < length) notify = true;
      }
    }
    if (Atomics.exchange(control, 1, 0) !== 0 || gone) notify = true;
    if ((notify && held.length > 0) || replies.length > 0 || gone) {
      port.postMessage({ reaped: notify ? held : [], replies, gone, polls, postedAt: performance.timeOrigin + performance.now() });
      polls = 0;
      if (notify) held = [];
    }
    if (Atomics.load(control, 0) !== 0) break;
  }
});
`;
