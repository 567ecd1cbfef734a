// Reading ahead in the CLI: the device goes from one call to the next without waiting for this
// thread or the disk (read calls queued two deep; an image file read one chunk ahead of the writes).

/**
 * Runs `count` read calls in order, each next one started (queued on the device) before the one
 * before it has ended, so the device goes from call to call without waiting for this thread, the
 * disk or the terminal; `each` handles a call's value before the call after the next starts (so two
 * buffers, alternating, suffice). Reads only: a call queued behind one that fails still runs, which
 * a write must never do. Rejects with the first failure, once nothing it started is still running.
 */
export async function readAhead<T>(
  count: number,
  start: (index: number) => Promise<T>,
  each: (index: number, value: T) => Promise<void> | void,
): Promise<void> {
  let next = count > 0 ? start(0) : undefined;
  for (let i = 0; i < count; i++) {
    const current = next as Promise<T>;
    next = undefined;
    try {
      if (i + 1 < count) next = start(i + 1);
      await each(i, await current);
    } catch (error) {
      await next?.catch(() => undefined);
      throw error;
    }
  }
}

/**
 * Two buffers of `bytes` each, used in turn: call `i` of {@link readAhead} reads into buffer `i % 2`,
 * so the call in flight never writes the buffer whose value `each` is still handling.
 */
export class TwoBuffers {
  readonly #buffers: readonly [Uint8Array, Uint8Array];

  constructor(bytes: number) {
    this.#buffers = [new Uint8Array(bytes), new Uint8Array(bytes)];
  }

  /** The first `length` bytes of buffer `turn % 2`. */
  view(turn: number, length: number): Uint8Array {
    return this.#buffers[turn % 2 === 0 ? 0 : 1].subarray(0, length);
  }
}

/** A chunk of a file: its first block, the buffer it is read into, and how many bytes the read got. */
export interface FileChunk {
  at: number;
  view: Uint8Array;
  bytesRead: Promise<number>;
}

/**
 * Reads a file in chunks of `chunkBlocks` blocks up to `endBlock`, one chunk ahead: `take(at)` returns
 * the chunk at block `at` and starts reading the one after it, into the other of two buffers (the one
 * the chunk before was in, so a caller is done with a chunk when it takes the next). A `take` at
 * another block than the one read ahead (the device took part of a chunk) reads anew.
 */
export class ChunkReader {
  readonly #buffers: TwoBuffers;
  readonly #chunkBlocks: number;
  readonly #endBlock: number;
  readonly #blockSize: number;
  readonly #read: (into: Uint8Array, position: number) => Promise<number>;
  #turn = 0;
  #ahead: FileChunk | undefined;

  constructor(chunkBlocks: number, endBlock: number, blockSize: number, read: (into: Uint8Array, position: number) => Promise<number>) {
    this.#chunkBlocks = chunkBlocks;
    this.#endBlock = endBlock;
    this.#blockSize = blockSize;
    this.#read = read;
    this.#buffers = new TwoBuffers(chunkBlocks * blockSize);
  }

  /** The chunk at block `at` (its read may still be under way: await `bytesRead`). */
  async take(at: number): Promise<FileChunk> {
    let chunk = this.#ahead;
    this.#ahead = undefined;
    if (chunk !== undefined && chunk.at !== at) {
      await chunk.bytesRead.catch(() => undefined); // its buffer is reused below
      chunk = undefined;
    }
    chunk ??= this.#start(at);
    const after = at + chunk.view.length / this.#blockSize;
    if (after < this.#endBlock) this.#ahead = this.#start(after);
    return chunk;
  }

  /** Waits for a read still under way (before the file is closed). */
  async settle(): Promise<void> {
    await this.#ahead?.bytesRead.catch(() => undefined);
  }

  #start(at: number): FileChunk {
    this.#turn ^= 1;
    const view = this.#buffers.view(this.#turn, Math.min(this.#chunkBlocks, this.#endBlock - at) * this.#blockSize);
    const bytesRead = this.#read(view, at * this.#blockSize);
    bytesRead.catch(() => undefined);
    return { at, view, bytesRead };
  }
}
