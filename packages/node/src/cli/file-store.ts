import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

/**
 * A block store backed by an image file, for `--sim=image.img`: the
 * simulator's writes land in the file, so state persists across CLI
 * invocations. Synchronous because the simulator's store interface is.
 * Shape-compatible with `SimBackingStore` from `@usbms/core/sim`.
 */
export class FileBackingStore {
  readonly path: string;
  readonly size: number;
  readonly readOnly: boolean;
  #fd: number | undefined;

  /**
   * Opens `path`, creating a sparse file of `createSize` bytes when it does
   * not exist. `readOnly` opens it without write access.
   */
  constructor(path: string, options: { createSize?: number; readOnly?: boolean } = {}) {
    this.path = path;
    this.readOnly = options.readOnly === true;
    let fd: number;
    try {
      fd = openSync(path, options.readOnly === true ? 'r' : 'r+');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || options.createSize === undefined || options.readOnly === true) throw error;
      fd = openSync(path, 'w+');
      ftruncateSync(fd, options.createSize);
    }
    this.#fd = fd;
    this.size = fstatSync(fd).size;
  }

  #handle(): number {
    if (this.#fd === undefined) throw new Error(`image ${this.path} is closed`);
    return this.#fd;
  }

  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.#handle(), out, done, length - done, offset + done);
      if (n === 0) break; // Past the end of a short file: zeros, like a sparse region.
      done += n;
    }
    return out;
  }

  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) done += writeSync(this.#handle(), data, done, data.length - done, offset + done);
  }

  flush(): void {
    fsyncSync(this.#handle());
  }

  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}
