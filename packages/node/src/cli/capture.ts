/**
 * `--pcap FILE`, `--pcap-snaplen N` and `--record FILE` (every command that
 * opens a device), and `usbms decode FILE`. Captures stream to disk as the
 * transfers happen: a long `dump` is never held in memory.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import {
  type CaptureSink,
  DEFAULT_PCAP_SNAPLEN,
  decodeStages,
  type MscTransport,
  PcapWriter,
  parsePcap,
  parseTranscript,
  RecordingTransport,
  stagesOfPcap,
  stagesOfTranscript,
  TRANSCRIPT_MAGIC,
  TranscriptRecorder,
} from '@usbms/core';
import type { CliContext } from './context.js';
import { CliError, CliErrorCode, ExitCode, fileError } from './exit.js';
import { toJson } from './format.js';
import { countOption } from './units.js';

/** Buffered, synchronous file writer: records leave memory in 64 KiB writes, and nothing is lost at exit. */
class FileSink implements CaptureSink {
  readonly path: string;
  #fd: number;
  #buffer = new Uint8Array(64 * 1024);
  #used = 0;
  /** The first write error; reported at close (a recorder must not break the command it watches). */
  error: unknown;

  constructor(path: string) {
    this.path = path;
    try {
      this.#fd = openSync(path, 'w');
    } catch (error) {
      throw fileError(`cannot write ${path}: ${(error as Error).message}`, path, error);
    }
  }

  write(chunk: Uint8Array): void {
    if (this.error !== undefined) return;
    try {
      if (this.#used + chunk.length > this.#buffer.length) this.#flush();
      if (chunk.length >= this.#buffer.length) writeAll(this.#fd, chunk);
      else {
        this.#buffer.set(chunk, this.#used);
        this.#used += chunk.length;
      }
    } catch (error) {
      this.error = error;
    }
  }

  #flush(): void {
    if (this.#used > 0) writeAll(this.#fd, this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }

  close(): void {
    try {
      if (this.error === undefined) this.#flush();
    } catch (error) {
      this.error = error;
    }
    closeSync(this.#fd);
    if (this.error !== undefined) throw fileError(`writing ${this.path} failed: ${(this.error as Error).message}`, this.path, this.error);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** The capture options of one invocation. */
export interface CaptureOptions {
  pcap?: string;
  pcapSnaplen?: string;
  record?: string;
}

/**
 * Wraps the transport in a `RecordingTransport` feeding a pcap file and/or a
 * transcript, when asked for. `close()` (after the device closed, so its last
 * commands are in) flushes both.
 */
export class CliCapture {
  #sinks: FileSink[] = [];
  readonly #options: CaptureOptions;
  readonly #commandLine: string;

  constructor(options: CaptureOptions, commandLine: string) {
    this.#options = options;
    this.#commandLine = commandLine;
    // Checked before anything is opened, so a bad value never costs a device round.
    if (options.pcapSnaplen !== undefined) countOption('pcap-snaplen', options.pcapSnaplen, DEFAULT_PCAP_SNAPLEN);
  }

  get active(): boolean {
    return this.#options.pcap !== undefined || this.#options.record !== undefined;
  }

  /** The transport to use: `transport` itself, or a recording wrapper of it. */
  wrap(transport: MscTransport, deviceOptions: Record<string, string | number | boolean>): MscTransport {
    if (!this.active) return transport;
    const recording = new RecordingTransport(transport);
    if (this.#options.pcap !== undefined) {
      const sink = new FileSink(this.#options.pcap);
      this.#sinks.push(sink);
      const snapLength = countOption('pcap-snaplen', this.#options.pcapSnaplen, DEFAULT_PCAP_SNAPLEN);
      const pcap = new PcapWriter(sink, { info: recording.info, snapLength });
      recording.on((event) => pcap.record(event));
    }
    if (this.#options.record !== undefined) {
      const sink = new FileSink(this.#options.record);
      this.#sinks.push(sink);
      const encoder = new TextEncoder();
      const recorder = new TranscriptRecorder(
        { write: (text) => sink.write(encoder.encode(text)) },
        {
          info: recording.info,
          concurrentPipes: recording.concurrentPipes,
          portReset: recording.portReset !== undefined,
          options: deviceOptions,
          comments: [`${this.#commandLine}`, new Date().toISOString()],
        },
      );
      recording.on((event) => recorder.record(event));
    }
    return recording;
  }

  /** Flushes and closes the files; throws the first write error (a FILE error). */
  close(): void {
    const sinks = this.#sinks;
    this.#sinks = [];
    let first: unknown;
    for (const sink of sinks) {
      try {
        sink.close();
      } catch (error) {
        first ??= error;
      }
    }
    if (first !== undefined) throw first;
  }
}

/** The platform transport under a recording wrapper. */
export function unwrapTransport(transport: MscTransport): MscTransport {
  return transport instanceof RecordingTransport ? transport.inner : transport;
}

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a]);

/** `usbms decode FILE`: a pcap (usbmon, link type 220 or 189) or a transcript, printed as BOT commands. */
export async function cmdDecode(ctx: CliContext, file: string): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file === '-' ? 0 : file));
  } catch (error) {
    throw fileError(`cannot read ${file}: ${(error as Error).message}`, file, error);
  }
  const magic = bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, false) : 0;
  let stages: ReturnType<typeof stagesOfPcap>;
  try {
    if (PCAP_MAGICS.has(magic)) stages = stagesOfPcap(parsePcap(bytes));
    else {
      const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
      if (!text.includes(TRANSCRIPT_MAGIC)) {
        throw new CliError(`${file} is neither a pcap file nor a usbms transcript`, {
          exitCode: ExitCode.FileError,
          code: CliErrorCode.File,
          details: { path: file },
        });
      }
      stages = stagesOfTranscript(parseTranscript(text));
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`${file}: ${(error as Error).message}`, {
      exitCode: ExitCode.Malformed,
      code: CliErrorCode.File,
      details: { path: file },
      cause: error,
    });
  }
  const decoded = decodeStages(stages);
  if (ctx.json) {
    ctx.out(
      toJson({
        commands: decoded.commands.map((c) => ({
          ...c,
          cdb: Array.from(c.cdb, (b) => b.toString(16).padStart(2, '0')).join(''),
          ...(c.sense === undefined ? {} : { sense: { senseKey: c.sense.senseKey, asc: c.sense.asc, ascq: c.sense.ascq, text: c.answer } }),
        })),
      }),
    );
  } else for (const line of decoded.lines) ctx.out(line);
  return ExitCode.Ok;
}
