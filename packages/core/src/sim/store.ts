/**
 * Where a simulated logical unit keeps its blocks. RAM by default; the Node
 * CLI can pass an implementation backed by an image file. Offsets and lengths
 * are in bytes and always lie inside the LUN's capacity.
 */
export interface SimBackingStore {
  /** Returns `length` bytes starting at `offset` (a fresh array or a view the caller will not keep). */
  read(offset: number, length: number): Uint8Array;
  /** Stores `data` at `offset`. The simulator never reuses `data` afterwards, but copies are the store's business. */
  write(offset: number, data: Uint8Array): void;
  /** Makes earlier writes durable (called on SYNCHRONIZE CACHE and on cache write-back). */
  flush(): void;
}

const CHUNK = 64 * 1024;

/**
 * A sparse RAM store: only chunks that were written take memory, so a LUN
 * can claim terabytes (e.g. to test READ CAPACITY(16)) at no cost.
 * Unwritten bytes read as zero.
 */
export class RamStore implements SimBackingStore {
  readonly #chunks = new Map<number, Uint8Array>();
  /** Number of `flush()` calls (what a test can assert about durability). */
  flushes = 0;

  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const index = Math.floor(pos / CHUNK);
      const within = pos - index * CHUNK;
      const n = Math.min(CHUNK - within, length - done);
      const chunk = this.#chunks.get(index);
      if (chunk) out.set(chunk.subarray(within, within + n), done);
      done += n;
    }
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const pos = offset + done;
      const index = Math.floor(pos / CHUNK);
      const within = pos - index * CHUNK;
      const n = Math.min(CHUNK - within, data.length - done);
      let chunk = this.#chunks.get(index);
      if (!chunk) {
        chunk = new Uint8Array(CHUNK);
        this.#chunks.set(index, chunk);
      }
      chunk.set(data.subarray(done, done + n), within);
      done += n;
    }
  }

  flush(): void {
    this.flushes++;
  }

  /** Bytes of RAM currently allocated. */
  get allocatedBytes(): number {
    return this.#chunks.size * CHUNK;
  }
}
