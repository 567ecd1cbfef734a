/**
 * `usbms raw`: any CDB, sg_raw style (sg3_utils 1.46). Prints the CDB it
 * sends with the opcode's name, the status, residue, decoded sense and a
 * hex dump; exits with sg_raw's exit code for the same outcome.
 */
import { opcodeName, UsbmsError, UsbmsErrorCode } from '@usbms/core';
import { parseCdb, parseHexData } from './cdb.js';
import { describeSense } from './commands.js';
import type { CliContext } from './context.js';
import { CliError, CliErrorCode, contradictError, ExitCode, exitCodeFor, exitCodeForSense, usageError } from './exit.js';
import { hex2, hexDump, toHex, toJson } from './format.js';
import { checkOutputPath, isStdio, readInput, writeOutput } from './output.js';
import { countOption, sizeOption } from './units.js';

export interface RawOptions {
  in?: string;
  out?: string;
  data?: string;
  send?: string;
  skip?: string;
  output?: string;
  save?: string;
  dump?: boolean;
  dryRun?: boolean;
  pdt?: string;
  flush?: boolean;
}

/** Largest data stage `raw` allocates (a CBW could ask for 4 GiB; memory is bounded instead). */
export const MAX_RAW_TRANSFER = 64 * 1024 * 1024;

/** "cdb to send: INQUIRY [12 00 00 00 24 00]", the shape of `sg_raw -v`. */
export function describeCdb(cdb: Uint8Array, peripheralDeviceType?: number): string {
  return `cdb to send: ${opcodeName(cdb[0] ?? 0, peripheralDeviceType)} [${toHex(cdb)}]`;
}

/**
 * Allocation length fields of common data-in commands (SPC-4/SBC-3), used
 * to suggest `--in N` when such a command fails for lack of a data stage.
 */
function allocationLength(cdb: Uint8Array): number | undefined {
  const be = (from: number, to: number): number => cdb.subarray(from, to).reduce((n, b) => n * 256 + b, 0);
  switch (cdb[0]) {
    case 0x03: // REQUEST SENSE (SPC-4 §6.29): byte 4
    case 0x12: // INQUIRY (SPC-4 §6.4.1): bytes 3-4
      return cdb[0] === 0x12 ? be(3, 5) : cdb[4];
    case 0x1a: // MODE SENSE(6) (SPC-4 §6.11): byte 4
      return cdb[4];
    case 0x23: // READ FORMAT CAPACITIES (MMC/UFI): bytes 7-8
    case 0x4d: // LOG SENSE (SPC-4 §6.6): bytes 7-8
    case 0x5a: // MODE SENSE(10) (SPC-4 §6.12): bytes 7-8
      return be(7, 9);
    case 0x25: // READ CAPACITY(10) (SBC-3 §5.15): always 8 bytes
      return 8;
    case 0x9e: // SERVICE ACTION IN(16), e.g. READ CAPACITY(16) (SBC-3 §5.16): bytes 10-13
      return be(10, 14);
    case 0xa0: // REPORT LUNS (SPC-4 §6.33): bytes 6-9
      return be(6, 10);
    default:
      return undefined;
  }
}

/** The hint for a command sent without a data stage that failed the way data-in commands do. */
export function dataInHint(cdb: Uint8Array): string {
  const n = allocationLength(cdb);
  return n !== undefined && n > 0
    ? `hint: ${opcodeName(cdb[0] ?? 0)} returns data; add --in ${n} (its allocation length) to receive it`
    : 'hint: if this command returns data, add --in N (the number of bytes it sends)';
}

/** Data-out bytes from --data, --out FILE|- or (with --send and neither) stdin, after --skip, cut to --send. */
async function dataOut(opts: RawOptions): Promise<Uint8Array | undefined> {
  const skip = countOption('skip', opts.skip, 0);
  const send = opts.send === undefined ? undefined : sizeOption('send', opts.send, 0, { max: MAX_RAW_TRANSFER });
  if (opts.data === undefined && opts.out === undefined && send === undefined) {
    if (opts.skip !== undefined) throw usageError('--skip needs data out (--out FILE, --data HEX or --send N)');
    return undefined;
  }
  const source = opts.data !== undefined ? 'inline' : (opts.out ?? '-');
  let bytes = opts.data !== undefined ? parseHexData(opts.data) : await readInput(source, 'data out');
  if (skip > bytes.length)
    throw new CliError(`--skip ${skip} is beyond the ${bytes.length} bytes of data out`, { exitCode: ExitCode.FileError, code: CliErrorCode.File });
  bytes = bytes.subarray(skip);
  if (send !== undefined) {
    // sg_raw --send SLEN: exactly SLEN bytes are sent; less data is an error, not a short transfer.
    if (bytes.length < send) {
      throw new CliError(
        `--send ${send}: only ${bytes.length} bytes available from ${source === '-' ? 'stdin' : source}${skip > 0 ? ` after --skip ${skip}` : ''}`,
        {
          exitCode: ExitCode.FileError,
          code: CliErrorCode.File,
        },
      );
    }
    bytes = bytes.subarray(0, send);
  }
  if (bytes.length > MAX_RAW_TRANSFER) throw usageError(`data out is ${bytes.length} bytes; raw sends at most ${MAX_RAW_TRANSFER}`);
  return bytes;
}

/** sg_raw-like: send any CDB, print status, residue, decoded sense and a hex dump. */
export async function cmdRaw(ctx: CliContext, words: string[], opts: RawOptions): Promise<number> {
  const cdb = parseCdb(words);
  const output = opts.output ?? opts.save;
  if (opts.output !== undefined && opts.save !== undefined) throw contradictError('-o/--output and --save name the same file: give one');
  const hasOut = opts.out !== undefined || opts.data !== undefined || opts.send !== undefined;
  if (opts.in !== undefined && hasOut)
    throw contradictError('--in and data out (--out/--data/--send) are exclusive: a Bulk-Only command has one data direction');
  if (opts.out !== undefined && opts.data !== undefined) throw contradictError('--out and --data both give data out: choose one');
  if (output !== undefined && opts.in === undefined) throw usageError(`-o ${output} saves data in: give its length with --in N`);
  const length = sizeOption('in', opts.in, 0, { max: MAX_RAW_TRANSFER });
  const data = await dataOut(opts);
  // Output is checked before anything is sent (a command that writes the medium is not repeated lightly).
  if (output !== undefined) await checkOutputPath(output);
  if (output !== undefined && isStdio(output)) ctx.dataToStdout();
  const direction = data !== undefined ? 'out' : length > 0 ? 'in' : 'none';
  const givenPdt = opts.pdt === undefined ? undefined : countOption('pdt', opts.pdt, 0, { max: 0x1f });

  if (opts.dryRun === true) {
    if (ctx.json) {
      ctx.out(toJson({ dryRun: true, cdb, name: opcodeName(cdb[0] ?? 0, givenPdt), direction, length: data?.length ?? length }));
    } else {
      ctx.out(describeCdb(cdb, givenPdt));
      if (direction === 'in') ctx.out(`data in: up to ${length} bytes`);
      if (data !== undefined) ctx.out(`data out: ${data.length} bytes`);
      ctx.out('dry run: nothing sent');
    }
    return ExitCode.Ok;
  }

  // A raw CDB may write the medium: open read-write, since the user typed it.
  const device = await ctx.open({ writable: true });
  // Opcode names follow the logical unit's command set (A1h is BLANK on a CD/DVD drive).
  const pdt = givenPdt ?? device.lun(ctx.lun).inquiry?.peripheralDeviceType;
  if (!ctx.json) ctx.out(describeCdb(cdb, pdt));
  let result: Awaited<ReturnType<typeof device.execute>>;
  try {
    result = await device.execute({
      cdb,
      direction,
      ...(length > 0 ? { length } : {}),
      ...(data !== undefined ? { data } : {}),
      lun: ctx.lun,
      name: 'raw',
      // Known write-class opcodes are flushed at close anyway; a vendor data-out only when asked.
      ...(opts.flush === true ? { flush: true } : {}),
      ...ctx.callOptions,
    });
  } catch (error) {
    // BOT 1.0 §6.7.2 (case 2/3 vs case 1): a device that wanted to send data
    // while the host expected none ends in a phase error and a reset.
    if (direction === 'none' && error instanceof UsbmsError && error.code === UsbmsErrorCode.PhaseError) process.stderr.write(`${dataInHint(cdb)}\n`);
    throw error;
  }
  let code = result.status === 'good' ? ExitCode.Ok : exitCodeForSense(result.sense);
  let outputError: unknown;
  if (output !== undefined && result.data.length > 0) {
    try {
      await writeOutput(output, result.data);
    } catch (error) {
      // Like sg_raw: the command's own failure wins; otherwise the file error is the exit code.
      outputError = error;
      if (code === ExitCode.Ok) code = exitCodeFor(error);
    }
  }
  const saved = output !== undefined && outputError === undefined;
  if (ctx.json) {
    ctx.out(
      toJson({
        cdb,
        name: opcodeName(cdb[0] ?? 0, pdt),
        status: result.status,
        statusCode: result.statusCode,
        residue: result.residue,
        sense: result.sense ?? null,
        ...(saved ? { output, bytes: result.data.length } : { data: result.data }),
        ...(outputError === undefined ? {} : { outputError: { code: (outputError as CliError).code, message: (outputError as Error).message } }),
        exitCode: code,
      }),
    );
  } else {
    ctx.out(`SCSI status: ${result.status === 'good' ? 'GOOD' : 'CHECK CONDITION'} (0x${hex2(result.statusCode)})`);
    ctx.out(`Residue: ${result.residue}`);
    if (result.sense !== undefined) ctx.out(describeSense(result.sense));
    if (result.data.length > 0) {
      const where = saved ? ` written to ${isStdio(output ?? '') ? 'stdout' : output}` : ':';
      ctx.out(`Data in (${result.data.length} bytes)${where}`);
      if (!saved || opts.dump === true) ctx.out(hexDump(result.data));
    } else if (data !== undefined) {
      ctx.out(`Data out: ${data.length} bytes`);
    } else if (direction === 'in') {
      ctx.out('No data received');
    }
  }
  if (outputError !== undefined) process.stderr.write(`usbms raw: ${(outputError as Error).message}\n`);
  // A known data-in command (or a vendor one the device rejected) sent without --in: say how to receive its data.
  if (result.status !== 'good' && direction === 'none' && !ctx.json) {
    const rejected = result.sense?.senseKey === 0x5 && (cdb[0] ?? 0) >= 0xc0;
    if ((allocationLength(cdb) ?? 0) > 0 || rejected) process.stderr.write(`${dataInHint(cdb)}\n`);
  }
  return code;
}
