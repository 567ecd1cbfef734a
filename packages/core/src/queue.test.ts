import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbortError, ClosedError, DeviceFailedError, DisconnectedError, InvalidArgumentError, TimeoutError, TransportError } from './errors.js';
import { CommandQueue, type QueueJobContext, type QueueLease } from './queue.js';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets queued microtasks run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Records how a promise settled, and how often. */
function watch<T>(promise: Promise<T>) {
  const state = { settled: 0, value: undefined as T | undefined, error: undefined as unknown };
  promise.then(
    (value) => {
      state.settled++;
      state.value = value;
    },
    (error: unknown) => {
      state.settled++;
      state.error = error;
    },
  );
  return state;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('CommandQueue: ordering', () => {
  it('runs one job at a time', async () => {
    const queue = new CommandQueue();
    let running = 0;
    let maxRunning = 0;
    const job = async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 1));
      running--;
    };
    await Promise.all(Array.from({ length: 20 }, () => queue.run(job)));
    expect(maxRunning).toBe(1);
  });

  it('higher priority first, FIFO within a priority', async () => {
    const queue = new CommandQueue();
    const gate = deferred();
    const order: string[] = [];
    const first = queue.run(() => gate.promise);
    const runs = (
      [
        ['a0', 0],
        ['b0', 0],
        ['a5', 5],
        ['c0', 0],
        ['b5', 5],
        ['a-1', -1],
        ['a9', 9],
      ] as const
    ).map(([name, priority]) => queue.run(async () => void order.push(name), { priority }));
    gate.resolve();
    await Promise.all([first, ...runs]);
    expect(order).toEqual(['a9', 'a5', 'b5', 'a0', 'b0', 'c0', 'a-1']);
  });

  it('passes values and job errors through unchanged', async () => {
    const queue = new CommandQueue();
    const error = new TransportError('EIO');
    await expect(queue.run(async () => 42)).resolves.toBe(42);
    await expect(queue.run(async () => Promise.reject(error))).rejects.toBe(error);
    await expect(
      queue.run(() => {
        throw error;
      }),
    ).rejects.toBe(error);
    await expect(queue.run(async () => 'still works')).resolves.toBe('still works');
  });

  it('refuses a non-positive timeout', async () => {
    await expect(new CommandQueue().run(async () => 1, { timeoutMs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('CommandQueue: abort', () => {
  it('aborted before run(): rejects with AbortError, the job never runs', async () => {
    const queue = new CommandQueue();
    const job = vi.fn(async () => 1);
    await expect(queue.run(job, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    await queue.onIdle();
    expect(job).not.toHaveBeenCalled();
  });

  it('aborted while queued: rejects at once, is dropped, later jobs still run', async () => {
    const queue = new CommandQueue();
    const gate = deferred();
    const controller = new AbortController();
    const dropped = vi.fn(async () => 'dropped');
    const first = queue.run(() => gate.promise);
    const aborted = watch(queue.run(dropped, { signal: controller.signal }));
    const after = queue.run(async () => 'after');
    controller.abort();
    await flush();
    expect(aborted.settled).toBe(1);
    expect(aborted.error).toBeInstanceOf(AbortError);
    gate.resolve();
    await expect(after).resolves.toBe('after');
    await first;
    expect(dropped).not.toHaveBeenCalled();
  });

  it('aborted in flight: caller rejects promptly, ctx.signal fires, the next job waits for the job (its recovery) to settle', async () => {
    const queue = new CommandQueue();
    const controller = new AbortController();
    const recoveryDone = deferred();
    let ctxSignal: AbortSignal | undefined;
    const events: string[] = [];
    const inFlight = watch(
      queue.run(
        async ({ signal }: QueueJobContext) => {
          ctxSignal = signal;
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          events.push('job saw abort');
          await recoveryDone.promise; // the job's own reset recovery
          events.push('job recovered');
          return 'late result';
        },
        { signal: controller.signal },
      ),
    );
    const next = queue.run(async () => void events.push('next started'));
    await flush();
    controller.abort();
    await flush();
    expect(inFlight.settled).toBe(1);
    expect(inFlight.error).toBeInstanceOf(AbortError);
    expect(ctxSignal?.aborted).toBe(true);
    expect(ctxSignal?.reason).toBeInstanceOf(AbortError);
    expect(events).toEqual(['job saw abort']);
    expect(queue.busy).toBe(true);
    recoveryDone.resolve();
    await next;
    expect(events).toEqual(['job saw abort', 'job recovered', 'next started']);
    expect(inFlight.settled).toBe(1); // the late result did not settle it again
  });

  it('each job sees a signal that only its own cut fires; one read late is already aborted', async () => {
    const queue = new CommandQueue();
    const controller = new AbortController();
    const gate = deferred();
    let lateSignal: AbortSignal | undefined;
    const first = queue.run(
      async (ctx) => {
        await gate.promise; // has not looked at ctx.signal before the abort
        lateSignal = ctx.signal;
      },
      { signal: controller.signal },
    );
    const seen: boolean[] = [];
    const rest = [1, 2, 3].map(() => queue.run(async ({ signal }) => void seen.push(signal.aborted)));
    await flush();
    controller.abort();
    await expect(first).rejects.toBeInstanceOf(AbortError);
    gate.resolve();
    await Promise.all(rest);
    expect(lateSignal?.aborted).toBe(true);
    expect(seen).toEqual([false, false, false]);
  });

  it('a job failing after its caller was answered produces no unhandled rejection', async () => {
    const queue = new CommandQueue();
    const controller = new AbortController();
    const gate = deferred();
    const p = queue.run(
      async () => {
        await gate.promise;
        throw new TransportError('late failure');
      },
      { signal: controller.signal },
    );
    await flush();
    controller.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
    gate.resolve();
    await queue.onIdle();
  });

  it('holdUntilReleased: a caller who aborts a running job is told once the job releases its memory, before its recovery ends', async () => {
    const queue = new CommandQueue();
    const controller = new AbortController();
    const transfersEnded = deferred();
    const recoveryDone = deferred();
    const events: string[] = [];
    const inFlight = watch(
      queue.run(
        async ({ signal, release }) => {
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          await transfersEnded.promise; // the cancelled transfer is reaped: its data has landed
          events.push('transfers ended');
          release();
          await recoveryDone.promise;
          events.push('recovered');
          return 'late result';
        },
        { signal: controller.signal, holdUntilReleased: true },
      ),
    );
    await flush();
    controller.abort();
    await flush();
    expect(inFlight.settled).toBe(0); // the job may still write into the caller's buffer
    transfersEnded.resolve();
    await flush();
    expect(events).toEqual(['transfers ended']);
    expect(inFlight.settled).toBe(1);
    expect(inFlight.error).toBeInstanceOf(AbortError);
    recoveryDone.resolve();
    await queue.onIdle();
    expect(inFlight.settled).toBe(1);
    expect(inFlight.error).toBeInstanceOf(AbortError);
  });

  it('holdUntilReleased: a job that settles without releasing tells its caller the abort then, whatever it returned or threw', async () => {
    const queue = new CommandQueue();
    for (const outcome of ['value', 'error'] as const) {
      const controller = new AbortController();
      const gate = deferred();
      const p = watch(
        queue.run(
          async () => {
            await gate.promise;
            if (outcome === 'error') throw new TransportError('late failure');
            return 'late result';
          },
          { signal: controller.signal, holdUntilReleased: true },
        ),
      );
      await flush();
      controller.abort();
      await flush();
      expect(p.settled).toBe(0);
      gate.resolve();
      await queue.onIdle();
      expect(p.settled).toBe(1);
      expect(p.error).toBeInstanceOf(AbortError);
    }
  });

  it('holdUntilReleased: once released, a later abort is told at once', async () => {
    const queue = new CommandQueue();
    const controller = new AbortController();
    const gate = deferred();
    const p = watch(
      queue.run(
        async ({ release }) => {
          release();
          await gate.promise;
        },
        { signal: controller.signal, holdUntilReleased: true },
      ),
    );
    await flush();
    controller.abort();
    await flush();
    expect(p.settled).toBe(1);
    expect(p.error).toBeInstanceOf(AbortError);
    gate.resolve();
    await queue.onIdle();
  });

  it('a signal reason that is already a usbms error is passed through', async () => {
    const queue = new CommandQueue();
    const reason = new TimeoutError('caller deadline');
    await expect(queue.run(async () => 1, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
});

describe('CommandQueue: timeout', () => {
  it('times out in flight: TimeoutError at once, ctx.signal fires with it, next job waits for the job', async () => {
    vi.useFakeTimers();
    const queue = new CommandQueue();
    const recoveryDone = deferred();
    let ctxSignal: AbortSignal | undefined;
    const started: string[] = [];
    const slow = watch(
      queue.run(
        async ({ signal }) => {
          ctxSignal = signal;
          await recoveryDone.promise;
          return 'late';
        },
        { timeoutMs: 1000, name: 'READ(10)' },
      ),
    );
    const next = watch(queue.run(async () => void started.push('next')));
    await flush();
    await vi.advanceTimersByTimeAsync(999);
    expect(slow.settled).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(slow.settled).toBe(1);
    expect(slow.error).toBeInstanceOf(TimeoutError);
    expect((slow.error as TimeoutError).message).toMatch(/READ\(10\).*1000 ms/);
    expect(ctxSignal?.reason).toBe(slow.error);
    expect(started).toEqual([]);
    recoveryDone.resolve();
    await flush();
    expect(started).toEqual(['next']);
    expect(next.settled).toBe(1);
  });

  it('holdUntilReleased: a timed-out job tells its caller TimeoutError once it releases its memory', async () => {
    vi.useFakeTimers();
    const queue = new CommandQueue();
    const transfersEnded = deferred();
    const recoveryDone = deferred();
    const slow = watch(
      queue.run(
        async ({ signal, release }) => {
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          await transfersEnded.promise;
          release();
          await recoveryDone.promise;
        },
        { timeoutMs: 1000, name: 'READ(10)', holdUntilReleased: true },
      ),
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(slow.settled).toBe(0);
    transfersEnded.resolve();
    await flush();
    expect(slow.settled).toBe(1);
    expect(slow.error).toBeInstanceOf(TimeoutError);
    recoveryDone.resolve();
    await queue.onIdle();
  });

  it('the timeout starts when the job starts, not while it waits', async () => {
    vi.useFakeTimers();
    const queue = new CommandQueue();
    const first = queue.run(() => new Promise((r) => setTimeout(r, 5000)));
    const second = watch(queue.run(() => new Promise((r) => setTimeout(() => r('ok'), 500)), { timeoutMs: 1000 }));
    await vi.advanceTimersByTimeAsync(5600);
    await first;
    expect(second.settled).toBe(1);
    expect(second.value).toBe('ok');
  });

  it('a job that finishes in time leaves no timer that keeps the process alive, and nothing fires later', async () => {
    vi.useFakeTimers();
    const queue = new CommandQueue();
    await expect(queue.run(async () => 'fast', { timeoutMs: 1000 })).resolves.toBe('fast');
    expect(vi.getTimerCount()).toBeLessThanOrEqual(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(vi.getTimerCount()).toBe(0);
    await expect(queue.run(async () => 'next', { timeoutMs: 1000 })).resolves.toBe('next');
  });
});

describe('CommandQueue: fail', () => {
  it('rejects the running and every queued job with DeviceFailedError naming the cause; later runs too', async () => {
    const queue = new CommandQueue();
    const gate = deferred();
    let ctxSignal: AbortSignal | undefined;
    const running = watch(
      queue.run(
        async ({ signal }) => {
          ctxSignal = signal;
          await gate.promise;
        },
        { name: 'WRITE(10)' },
      ),
    );
    const neverRun = vi.fn(async () => 1);
    const queued = [watch(queue.run(neverRun, { name: 'READ(10)' })), watch(queue.run(neverRun, { priority: 9 }))];
    await flush();
    const cause = new TransportError('reset recovery failed');
    queue.fail(cause);
    await flush();
    for (const state of [running, ...queued]) {
      expect(state.settled).toBe(1);
      expect(state.error).toBeInstanceOf(DeviceFailedError);
      expect((state.error as Error).message).toMatch(/reset recovery failed/);
    }
    expect((queued[0]?.error as Error | undefined)?.message).toMatch(/^READ\(10\) was not run/);
    expect((running.error as DeviceFailedError).cause).toBe(cause);
    expect(ctxSignal?.aborted).toBe(true);
    await expect(queue.run(neverRun)).rejects.toBeInstanceOf(DeviceFailedError);
    expect(queue.failure).toBeInstanceOf(DeviceFailedError);
    expect(queue.failure?.cause).toBe(cause);
    gate.resolve();
    await queue.onIdle();
    expect(neverRun).not.toHaveBeenCalled();
  });

  it('wraps a non-usbms failure and chains it', async () => {
    const queue = new CommandQueue();
    const cause = new Error('boom');
    queue.fail(cause);
    const error = await queue.run(async () => 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceFailedError);
    expect(((error as DeviceFailedError).cause as DeviceFailedError).cause).toBe(cause);
  });

  it('a DeviceFailedError from the running job reaches its caller unchanged', async () => {
    const queue = new CommandQueue();
    const failure = new DeviceFailedError('reset recovery failed');
    const p = queue.run(async () => {
      queue.fail(failure); // what the device layer does when the engine reports DeviceFailedError
      throw failure;
    });
    const queued = queue.run(async () => 1, { name: 'TEST UNIT READY' });
    await expect(p).rejects.toBe(failure);
    const error = await queued.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceFailedError);
    expect((error as Error).message).toMatch(/TEST UNIT READY was not run.*reset recovery failed/);
    expect((error as DeviceFailedError).cause).toBe(failure);
  });

  it('disconnect: in-flight and queued reject with DisconnectedError, nothing hangs', async () => {
    const queue = new CommandQueue();
    const hung = new Promise<never>(() => {}); // a job that would never finish on its own...
    const running = watch(
      queue.run(({ signal }) => Promise.race([hung, new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason)))])),
    );
    const queued = Array.from({ length: 5 }, () => watch(queue.run(async () => 1)));
    await flush();
    queue.fail(new DisconnectedError());
    await queue.onIdle(); // ...but it ends when its signal fires
    for (const state of [running, ...queued]) {
      expect(state.settled).toBe(1);
      expect(state.error).toBeInstanceOf(DisconnectedError);
    }
    await expect(queue.run(async () => 1)).rejects.toBeInstanceOf(DisconnectedError);
  });

  it('the first failure wins', async () => {
    const queue = new CommandQueue();
    queue.fail(new DisconnectedError());
    queue.fail(new TransportError('later'));
    await expect(queue.run(async () => 1)).rejects.toBeInstanceOf(DisconnectedError);
  });
});

describe('CommandQueue: close', () => {
  it('by default lets queued work finish, then refuses new work', async () => {
    const queue = new CommandQueue();
    const gate = deferred();
    const results = [queue.run(() => gate.promise.then(() => 1)), queue.run(async () => 2), queue.run(async () => 3)];
    const closed = watch(queue.close());
    await expect(queue.run(async () => 4)).rejects.toBeInstanceOf(ClosedError);
    await flush();
    expect(closed.settled).toBe(0);
    gate.resolve();
    await expect(Promise.all(results)).resolves.toEqual([1, 2, 3]);
    await flush();
    expect(closed.settled).toBe(1);
    expect(queue.closed).toBe(true);
  });

  it('rejectPending: queued jobs reject with ClosedError, the running one finishes', async () => {
    const queue = new CommandQueue();
    const gate = deferred();
    const neverRun = vi.fn(async () => 0);
    const running = queue.run(() => gate.promise.then(() => 'done'));
    const queued = [watch(queue.run(neverRun)), watch(queue.run(neverRun))];
    await flush();
    const closed = queue.close({ rejectPending: true });
    await flush();
    for (const state of queued) expect(state.error).toBeInstanceOf(ClosedError);
    gate.resolve();
    await expect(running).resolves.toBe('done');
    await closed;
    expect(neverRun).not.toHaveBeenCalled();
  });
});

describe('CommandQueue: every promise settles exactly once', () => {
  it('under a random mix of aborts, timeouts, errors and a final failure', async () => {
    vi.useFakeTimers();
    const queue = new CommandQueue();
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const states: ReturnType<typeof watch>[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    for (let i = 0; i < 300; i++) {
      const controller = new AbortController();
      const r = random();
      const duration = Math.floor(random() * 20);
      states.push(
        watch(
          queue.run(
            async () => {
              concurrent++;
              maxConcurrent = Math.max(maxConcurrent, concurrent);
              await new Promise((resolve) => setTimeout(resolve, duration));
              concurrent--;
              if (r < 0.1) throw new TransportError('job error');
              return i;
            },
            { priority: Math.floor(random() * 3), ...(r > 0.8 ? { timeoutMs: 5 } : {}), signal: controller.signal },
          ),
        ),
      );
      if (r > 0.6 && r <= 0.8) setTimeout(() => controller.abort(), Math.floor(random() * 2000));
    }
    await vi.advanceTimersByTimeAsync(1500);
    queue.fail(new DisconnectedError());
    await vi.advanceTimersByTimeAsync(5000);
    await queue.onIdle();
    await flush();
    expect(states.every((s) => s.settled === 1)).toBe(true);
    expect(maxConcurrent).toBe(1);
    const kinds = new Set(states.map((s) => (s.error === undefined ? 'value' : (s.error as Error).constructor.name)));
    expect(kinds).toEqual(new Set(['value', 'TransportError', 'AbortError', 'TimeoutError', 'DisconnectedError']));
  });
});

/** Rejects when `promise` has not settled within `ms` of real time: a hang detector. */
function within<T>(promise: Promise<T>, ms = 1000, what = 'the promise'): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms (hang)`)), ms);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

describe('CommandQueue: idle and close right after jobs settle (issue 12 defect 1)', () => {
  it('close() awaited right after two awaited jobs settles (run twice, await both, close)', async () => {
    const queue = new CommandQueue();
    const a = queue.run(async () => 1);
    const b = queue.run(async () => 2);
    await a;
    await b;
    await within(queue.close(), 1000, 'close()');
    expect(queue.closed).toBe(true);
  });

  it('onIdle() registered in every microtask after the last job settles is always woken', async () => {
    for (let hops = 0; hops < 12; hops++) {
      const queue = new CommandQueue();
      const a = queue.run(async () => 1);
      const b = queue.run(async () => 2);
      const c = queue.run(async () => 3, { priority: 5 });
      await b;
      for (let i = 0; i < hops; i++) await Promise.resolve();
      await within(queue.onIdle(), 1000, `onIdle() after ${hops} microtasks`);
      await a;
      await c;
    }
  });

  it('onIdle() wakes when the last queued job is dropped by its abort, by fail() and by close({ rejectPending })', async () => {
    for (const end of ['abort', 'fail', 'close'] as const) {
      const queue = new CommandQueue();
      const gate = deferred();
      const controller = new AbortController();
      const running = queue.run(() => gate.promise, { signal: controller.signal });
      const queued = queue.run(async () => 1, { signal: controller.signal });
      queued.catch(() => undefined);
      running.catch(() => undefined);
      const idle = watch(queue.onIdle());
      if (end === 'abort') controller.abort();
      if (end === 'fail') queue.fail(new DisconnectedError());
      if (end === 'close') void queue.close({ rejectPending: true });
      await flush();
      expect(idle.settled).toBe(0); // the running job still runs
      gate.resolve();
      await within(queue.onIdle(), 1000, `onIdle() after ${end}`);
      await flush();
      expect(idle.settled).toBe(1);
    }
  });
});

describe('CommandQueue: time limits (issue 12 defect 3)', () => {
  it('refuses NaN, 0, negative and non-number timeouts before the job runs; accepts Infinity (no timer)', async () => {
    vi.useFakeTimers();
    const queue = new CommandQueue();
    const job = vi.fn(async () => 1);
    for (const timeoutMs of [Number.NaN, 0, -1, Number.NEGATIVE_INFINITY, '5' as unknown as number]) {
      await expect(queue.run(job, { timeoutMs })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect(job).not.toHaveBeenCalled();
    const gate = deferred<number>();
    const p = watch(queue.run(() => gate.promise, { timeoutMs: Number.POSITIVE_INFINITY }));
    await flush();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(2 ** 40);
    expect(p.settled).toBe(0);
    gate.resolve(7);
    await flush();
    expect(p.value).toBe(7);
  });

  it('a timeout beyond 2^31-1 ms fires at its time, not at once (chained timers)', async () => {
    vi.useFakeTimers();
    const queue = new CommandQueue();
    const gate = deferred();
    const limit = 2 ** 31 + 5000;
    const p = watch(queue.run(() => gate.promise, { timeoutMs: limit }));
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(p.settled).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(p.settled).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(p.error).toBeInstanceOf(TimeoutError);
    gate.resolve();
    await queue.onIdle();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('CommandQueue: lanes and leases', () => {
  it('lanes take turns among equal priorities; higher priority still goes first; FIFO within a lane', async () => {
    const queue = new CommandQueue();
    const gate = deferred();
    const order: string[] = [];
    const first = queue.run(() => gate.promise);
    const jobs = [
      ['a1', 'a', 0],
      ['a2', 'a', 0],
      ['a3', 'a', 0],
      ['b1', 'b', 0],
      ['b2', 'b', 0],
      ['c1', 'c', 0],
      ['c9', 'c', 9],
    ] as const;
    const runs = jobs.map(([name, lane, priority]) => queue.run(async () => void order.push(name), { lane, priority }));
    gate.resolve();
    await Promise.all([first, ...runs]);
    expect(order).toEqual(['c9', 'a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
  });

  it('a lease waits for the running job, then only its lane runs until released', async () => {
    const queue = new CommandQueue();
    const gate = deferred();
    const order: string[] = [];
    const running = queue.run(
      async () => {
        await gate.promise;
        order.push('x0');
      },
      { lane: 'x' },
    );
    const leased = watch(queue.lease('a'));
    const x1 = queue.run(async () => void order.push('x1'), { lane: 'x', priority: 9 });
    await flush();
    expect(leased.settled).toBe(0);
    gate.resolve();
    await running;
    await flush();
    expect(leased.settled).toBe(1);
    const lease = leased.value as QueueLease;
    expect(queue.leaseHolder).toBe('a');
    await queue.run(async () => void order.push('a1'), { lane: 'a' });
    await queue.run(async () => void order.push('a2'), { lane: 'a' });
    await flush();
    expect(order).toEqual(['x0', 'a1', 'a2']);
    lease.release();
    await x1;
    expect(order).toEqual(['x0', 'a1', 'a2', 'x1']);
    await expect(lease.ended).resolves.toBe('released');
    expect(queue.leaseHolder).toBeUndefined();
  });

  it('a lease expires after durationMs; the next lease request is granted then', async () => {
    vi.useFakeTimers();
    const queue = new CommandQueue();
    const first = await queue.lease('a', { durationMs: 1000 });
    const second = watch(queue.lease('b'));
    const other = watch(queue.run(async () => 'c', { lane: 'c' }));
    await vi.advanceTimersByTimeAsync(999);
    expect(first.active).toBe(true);
    expect(second.settled).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    await expect(first.ended).resolves.toBe('expired');
    expect(second.settled).toBe(1);
    expect(other.settled).toBe(0); // b holds it now
    (second.value as QueueLease).release();
    await flush();
    expect(other.value).toBe('c');
  });

  it('a lease request can be aborted; close() ends leases and lets waiting lanes drain; fail() refuses lease requests', async () => {
    const queue = new CommandQueue();
    const lease = await queue.lease('a');
    const controller = new AbortController();
    const waiting = watch(queue.lease('b', { signal: controller.signal }));
    controller.abort();
    await flush();
    expect(waiting.error).toBeInstanceOf(AbortError);
    const other = queue.run(async () => 'c', { lane: 'c' });
    await within(queue.close(), 1000, 'close() with a lease held');
    await expect(other).resolves.toBe('c');
    await expect(lease.ended).resolves.toBe('closed');
    await expect(queue.lease('a')).rejects.toBeInstanceOf(ClosedError);

    const failing = new CommandQueue();
    const held = await failing.lease('a');
    const refused = failing.lease('b');
    failing.fail(new DisconnectedError());
    await expect(refused).rejects.toBeInstanceOf(DisconnectedError);
    await expect(held.ended).resolves.toBe('failed');
    await expect(failing.lease('c')).rejects.toBeInstanceOf(DisconnectedError);
    await expect(new CommandQueue().lease('a', { durationMs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
