import { afterEach, describe, expect, it, vi } from 'vitest';
import { AbortError, ClosedError, DeviceFailedError, DisconnectedError, InvalidArgumentError, TimeoutError, TransportError } from './errors.js';
import { CommandQueue, type QueueJobContext } from './queue.js';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets queued microtasks (p-queue's scheduling) run. */
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

  it('a job that finishes in time clears its timer', async () => {
    vi.useFakeTimers();
    const queue = new CommandQueue();
    await expect(queue.run(async () => 'fast', { timeoutMs: 1000 })).resolves.toBe('fast');
    expect(vi.getTimerCount()).toBe(0);
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
