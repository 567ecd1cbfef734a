/**
 * Files in and out of the CLI, in one place: `-` is stdout (for output) or
 * stdin (for input) everywhere; output paths are checked before any command
 * reaches the device; failures become `fileError`s (exit 50 + errno, code FILE).
 */
import { constants } from 'node:fs';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileError } from './exit.js';

/** True for the path that means stdout/stdin. */
export function isStdio(path: string): boolean {
  return path === '-';
}

/**
 * Checks that `path` can be written (the directory exists and is writable;
 * an existing file is writable and not a directory), before the device is
 * touched. `-` (stdout) always passes.
 */
export async function checkOutputPath(path: string): Promise<void> {
  if (isStdio(path)) return;
  let info: Awaited<ReturnType<typeof stat>> | undefined;
  try {
    info = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(`cannot write ${path}: ${(error as Error).message}`, path, error);
  }
  try {
    if (info?.isDirectory() === true) {
      const e = Object.assign(new Error(`${path} is a directory`), { code: 'EISDIR' });
      throw e;
    }
    await access(info === undefined ? dirname(resolve(path)) : path, constants.W_OK);
  } catch (error) {
    throw fileError(`cannot write ${path}: ${(error as Error).message}`, path, error);
  }
}

/** Writes `data` to `path` (`-` = stdout, binary). Failures are `fileError`s. */
export async function writeOutput(path: string, data: Uint8Array): Promise<void> {
  try {
    if (isStdio(path)) await writeStdout(data);
    else await writeFile(path, data);
  } catch (error) {
    throw fileError(`cannot write ${isStdio(path) ? 'stdout' : path}: ${(error as Error).message}`, path, error);
  }
}

/** Binary to stdout, resolved once the bytes are handed to the OS (or rejected on EPIPE and the like). */
export function writeStdout(data: Uint8Array): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const onError = (error: Error): void => reject(error);
    process.stdout.once('error', onError);
    process.stdout.write(data, (error) => {
      process.stdout.off('error', onError);
      if (error) reject(error);
      else resolvePromise();
    });
  });
}

/** Reads a whole input file (`-` = stdin). Failures are `fileError`s. */
export async function readInput(path: string, what = 'input'): Promise<Uint8Array> {
  try {
    if (isStdio(path)) {
      const chunks: Uint8Array[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
      return new Uint8Array(Buffer.concat(chunks));
    }
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw fileError(`cannot read ${what} ${isStdio(path) ? 'from stdin' : path}: ${(error as Error).message}`, path, error);
  }
}
