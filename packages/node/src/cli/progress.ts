import cliProgress from 'cli-progress';
import { formatBytes } from './format.js';

/**
 * Progress of a long transfer on stderr: a cli-progress bar with rate and
 * ETA when stderr is a terminal; nothing otherwise (scripts, tests, --json).
 */
export class Progress {
  readonly #bar: cliProgress.SingleBar | undefined;
  readonly #started = performance.now();
  readonly #startBytes: number;
  #bytes = 0;

  constructor(label: string, totalBytes: number, startBytes = 0, enabled = process.stderr.isTTY === true) {
    this.#startBytes = startBytes;
    this.#bytes = startBytes;
    if (!enabled) return;
    this.#bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {done}/{size} | {rate} | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 20,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    this.#bar.start(totalBytes, startBytes, this.#payload(totalBytes));
  }

  #payload(total: number): { done: string; size: string; rate: string } {
    return { done: formatBytes(this.#bytes), size: formatBytes(total), rate: `${formatBytes(this.rate)}/s` };
  }

  /** Bytes per second since start (excluding bytes done before a resume). */
  get rate(): number {
    const seconds = (performance.now() - this.#started) / 1000;
    return seconds > 0 ? (this.#bytes - this.#startBytes) / seconds : 0;
  }

  update(bytes: number, total: number): void {
    this.#bytes = bytes;
    this.#bar?.update(bytes, this.#payload(total));
  }

  stop(): void {
    this.#bar?.stop();
  }
}
