// Minimal QMP (QEMU Machine Protocol) client over a unix socket: enough to hot-unplug devices
// (`device_del`) and read per-drive statistics (`query-blockstats`) while a guest command runs.
// Protocol: QEMU sends a greeting, the client sends `qmp_capabilities`, then one JSON object per line
// each way; replies carry `return` or `error`, asynchronous events carry `event` (docs/interop/qmp-spec).
import net from 'node:net';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly qmpClass: string,
    desc: string,
  ) {
    super(`QMP ${command} failed: ${qmpClass}: ${desc}`);
    this.name = 'QmpError';
  }
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** One QMP connection. Commands are answered in order, so a FIFO of pending calls is enough. */
export class QmpClient {
  readonly #socket: net.Socket;
  readonly #pending: Pending[] = [];
  readonly #events: QmpEvent[] = [];
  readonly #eventWaiters = new Set<(event: QmpEvent) => void>();
  #buffer = '';
  #closed: Error | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('QMP connection closed (QEMU exited?)')));
  }

  /** Connects, retrying while QEMU has not created the socket yet, and negotiates capabilities. */
  static async connect(path: string, { timeoutMs = 20_000 } = {}): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection(path);
          s.once('connect', () => {
            s.removeListener('error', reject);
            resolve(s);
          });
          s.once('error', reject);
        });
        const client = new QmpClient(socket);
        await client.#greeting();
        await client.execute('qmp_capabilities');
        return client;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`cannot connect to QMP socket ${path}: ${(error as Error).message}`, { cause: error });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** The greeting arrives unasked, before any reply: a placeholder at the head of the FIFO takes it. */
  #greeting(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ command: '(greeting)', resolve: () => resolve(), reject });
    });
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    for (let newline = this.#buffer.indexOf('\n'); newline >= 0; newline = this.#buffer.indexOf('\n')) {
      const line = this.#buffer.slice(0, newline).trim();
      this.#buffer = this.#buffer.slice(newline + 1);
      if (line) this.#onMessage(line);
    }
  }

  #onMessage(line: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.#fail(new Error(`QMP sent a line that is not JSON: ${line.slice(0, 200)}`));
      return;
    }
    if ('QMP' in message) {
      const first = this.#pending.shift();
      first?.resolve(undefined);
      return;
    }
    if (typeof message.event === 'string') {
      const event = message as unknown as QmpEvent;
      this.#events.push(event);
      for (const waiter of this.#eventWaiters) waiter(event);
      return;
    }
    const pending = this.#pending.shift();
    if (!pending) return;
    if ('error' in message) {
      const err = message.error as { class?: string; desc?: string };
      pending.reject(new QmpError(pending.command, err.class ?? 'Error', err.desc ?? JSON.stringify(err)));
    } else {
      pending.resolve(message.return);
    }
  }

  #fail(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    for (const p of this.#pending.splice(0)) p.reject(error);
  }

  /** Runs one QMP command and resolves with its `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ command, resolve: resolve as (value: unknown) => void, reject });
      this.#socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    });
  }

  /** Events received so far (e.g. DEVICE_DELETED after a `device_del`). */
  get events(): readonly QmpEvent[] {
    return this.#events;
  }

  /** Resolves with the first event (already received or future) that matches. */
  waitForEvent(match: (event: QmpEvent) => boolean, timeoutMs: number): Promise<QmpEvent> {
    const seen = this.#events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#eventWaiters.delete(waiter);
        reject(new Error(`no matching QMP event within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (event: QmpEvent): void => {
        if (!match(event)) return;
        clearTimeout(timer);
        this.#eventWaiters.delete(waiter);
        resolve(event);
      };
      this.#eventWaiters.add(waiter);
    });
  }

  close(): void {
    this.#fail(new Error('QMP client closed'));
    this.#socket.destroy();
  }
}

/** The per-drive counters of `query-blockstats` the tests use. */
export interface DriveStats {
  device: string;
  qdev: string;
  rdOperations: number;
  wrOperations: number;
  flushOperations: number;
  rdBytes: number;
  wrBytes: number;
}

interface RawBlockStats {
  device?: string;
  qdev?: string;
  stats: {
    rd_operations: number;
    wr_operations: number;
    flush_operations: number;
    rd_bytes: number;
    wr_bytes: number;
  };
}

export async function queryBlockStats(qmp: QmpClient): Promise<DriveStats[]> {
  const raw = await qmp.execute<RawBlockStats[]>('query-blockstats');
  return raw.map((entry) => ({
    device: entry.device ?? '',
    qdev: entry.qdev ?? '',
    rdOperations: entry.stats.rd_operations,
    wrOperations: entry.stats.wr_operations,
    flushOperations: entry.stats.flush_operations,
    rdBytes: entry.stats.rd_bytes,
    wrBytes: entry.stats.wr_bytes,
  }));
}
