import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadlineClock, nextTask } from './timer.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('DeadlineClock: one job at a time, one platform timer for back-to-back jobs', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('back-to-back jobs with the same limit start one platform timer, not one each', () => {
    const clock = new DeadlineClock();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    for (let i = 0; i < 100; i++) clock.start(60_000, () => undefined).cancel();
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('a job that outlives the timer started for an earlier one still gets all of its own limit, and no more', async () => {
    const clock = new DeadlineClock();
    clock.start(60, () => undefined).cancel();
    await sleep(30);
    const fired: number[] = [];
    const started = performance.now();
    clock.start(60, () => fired.push(performance.now() - started));
    await sleep(200);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(59);
    expect(fired[0]).toBeLessThan(180);
  });

  it('a shorter limit than the pending timer starts its own; a cancelled job never fires', async () => {
    const clock = new DeadlineClock();
    const early = vi.fn();
    clock.start(10_000, early).cancel();
    const fired = vi.fn();
    const started = performance.now();
    clock.start(20, fired);
    await sleep(150);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(early).not.toHaveBeenCalled();
    expect(performance.now() - started).toBeGreaterThanOrEqual(20);
    const never = vi.fn();
    clock.start(20, never).cancel();
    await sleep(60);
    expect(never).not.toHaveBeenCalled();
  });

  it("between jobs the pending timer does not keep a Node process alive; a job's does", () => {
    const clock = new DeadlineClock();
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const job = clock.start(60_000, () => undefined);
    const handle = spy.mock.results[0]?.value as NodeJS.Timeout;
    expect(handle.hasRef()).toBe(true);
    job.cancel();
    expect(handle.hasRef()).toBe(false);
    const next = clock.start(60_000, () => undefined);
    expect(handle.hasRef()).toBe(true);
    next.cancel();
    clearTimeout(handle);
  });
});

describe('nextTask', () => {
  it('resolves after the promise reactions queued before it, however long their chain', async () => {
    const order: string[] = [];
    let chain = Promise.resolve();
    for (let i = 0; i < 50; i++) chain = chain.then(() => undefined);
    void chain.then(() => order.push('reactions'));
    await nextTask();
    order.push('next task');
    expect(order).toEqual(['reactions', 'next task']);
  });
});
