/**
 * The fair scheduler in front of one served device: one FIFO per client and
 * round-robin between clients with queued work, one job on the device at a
 * time. A client that queues a whole `dump` therefore delays each other client
 * by at most one of its commands per turn. While an exclusive session is held
 * (`holder`), only the holder's jobs are dispatched; the others wait.
 */

/** One unit of work: a command, or the grant of an exclusive session. */
export interface SchedulerJob {
  readonly client: number;
  /** Runs the job; the promise settles when the job no longer occupies the device. Never rejects. */
  run(): Promise<void>;
  /** Called instead of `run` when the job is dropped before it ran. */
  drop(error: unknown): void;
}

/** Round-robin between clients, one job on the device at a time (see the file comment). */
export class FairScheduler {
  readonly #queues = new Map<number, SchedulerJob[]>();
  /** Clients with queued jobs, in round-robin order; `#cursor` points at the next one to serve. */
  #ring: number[] = [];
  #cursor = 0;
  #running: SchedulerJob | undefined;
  #holder: number | undefined;
  #dispatched = 0;

  /** The job on the device now, if any. */
  get running(): SchedulerJob | undefined {
    return this.#running;
  }

  /** Jobs dispatched so far. */
  get dispatched(): number {
    return this.#dispatched;
  }

  /** Queued (not yet running) jobs of `client`. */
  queued(client: number): number {
    return this.#queues.get(client)?.length ?? 0;
  }

  /** The client whose exclusive session is active, if any. */
  get holder(): number | undefined {
    return this.#holder;
  }

  /** Only this client's jobs are dispatched while set (an exclusive session); undefined: everyone's. */
  set holder(client: number | undefined) {
    this.#holder = client;
    this.#pump();
  }

  /** Queues a job at the end of its client's FIFO. */
  enqueue(job: SchedulerJob): void {
    let queue = this.#queues.get(job.client);
    if (queue === undefined) {
      queue = [];
      this.#queues.set(job.client, queue);
    }
    if (queue.length === 0) {
      // A client that becomes busy takes the last turn of the current round.
      this.#ring.splice(this.#cursor, 0, job.client);
      this.#cursor++;
    }
    queue.push(job);
    this.#pump();
  }

  /** Takes a queued job out (cancellation). False when it is running or gone. */
  remove(job: SchedulerJob): boolean {
    const queue = this.#queues.get(job.client);
    const at = queue?.indexOf(job) ?? -1;
    if (queue === undefined || at < 0) return false;
    queue.splice(at, 1);
    if (queue.length === 0) this.#leaveRing(job.client);
    return true;
  }

  /** Drops every queued job of a client (it disconnected). Its running job, if any, runs to completion. */
  dropClient(client: number, error: unknown): void {
    const queue = this.#queues.get(client);
    this.#queues.delete(client);
    if (queue === undefined) return;
    if (queue.length > 0) this.#leaveRing(client);
    for (const job of queue) job.drop(error);
  }

  /** Drops every queued job (the device went away). */
  dropAll(error: unknown): void {
    for (const client of [...this.#queues.keys()]) this.dropClient(client, error);
  }

  #leaveRing(client: number): void {
    const at = this.#ring.indexOf(client);
    if (at < 0) return;
    this.#ring.splice(at, 1);
    if (at < this.#cursor) this.#cursor--;
    if (this.#cursor >= this.#ring.length) this.#cursor = 0;
  }

  #next(): SchedulerJob | undefined {
    const n = this.#ring.length;
    for (let i = 0; i < n; i++) {
      const at = (this.#cursor + i) % n;
      const client = this.#ring[at];
      if (client === undefined) continue;
      if (this.#holder !== undefined && client !== this.#holder) continue;
      const queue = this.#queues.get(client);
      const job = queue?.shift();
      if (job === undefined || queue === undefined) continue;
      if (queue.length === 0) {
        this.#ring.splice(at, 1);
        this.#cursor = this.#ring.length === 0 ? 0 : at % this.#ring.length;
      } else {
        this.#cursor = (at + 1) % n;
      }
      return job;
    }
    return undefined;
  }

  #pump(): void {
    if (this.#running !== undefined) return;
    const job = this.#next();
    if (job === undefined) return;
    this.#running = job;
    this.#dispatched++;
    void job.run().then(
      () => this.#finish(job),
      () => this.#finish(job),
    );
  }

  #finish(job: SchedulerJob): void {
    if (this.#running === job) this.#running = undefined;
    this.#pump();
  }
}
