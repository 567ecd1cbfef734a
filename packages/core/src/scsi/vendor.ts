/**
 * Typed vendor commands: define once, call like a built-in.
 *
 * A definition is a function from the caller's options to a ScsiCommand, with
 * every rule checked before anything is sent: the CDB must be 1-16 bytes (the
 * Bulk-Only limit, BOT 1.0 §5.1 bCBWCBLength), lengths must fit the 32-bit
 * dCBWDataTransferLength, and your own `validate` runs first. The decoder you give
 * receives exactly the bytes the device returned; anything it throws that is not
 * a usbms error is wrapped in a ParseError, so callers only ever see typed errors.
 *
 * @example
 * const readFirmwareVersion = defineCommand({
 *   name: 'ACME READ FIRMWARE VERSION',
 *   direction: 'in',
 *   length: 8,
 *   cdb: () => [0xc0, 0x01, 0, 0, 0, 8],
 *   decode: (data) => `${data[0]}.${data[1]}`,
 * });
 * const version = await lu.run(readFirmwareVersion());
 */
import { InvalidArgumentError, ParseError, UsbmsError } from '../errors.js';
import type { ScsiCommand } from './command.js';
import { isWriteClassOpcode } from './opcodes.js';

/** BOT 1.0 §5.1: dCBWDataTransferLength is 32 bits. */
const MAX_TRANSFER = 0xffff_ffff;

interface CommandSpecBase<O> {
  /** Name for traces and errors, e.g. "ACME READ FIRMWARE VERSION". */
  name: string;
  /** Builds the CDB (1-16 bytes, each 0-255) from the options. */
  cdb: (options: O) => Uint8Array | readonly number[];
  /** Checks the options; throw InvalidArgumentError with a message the caller can act on. */
  validate?: (options: O) => void;
  /** Default timeout for this command, in ms. */
  timeoutMs?: number;
  /**
   * True if the command changes the medium or the device (the read-only device
   * option refuses it). Default: true for data-out commands and for known
   * write-class opcodes, false otherwise. Set false only for a data-out command
   * that provably changes nothing (e.g. sends a key to unlock reading).
   */
  writesMedium?: boolean;
}

/** A command that reads data from the device. */
export interface InCommandSpec<O, T> extends CommandSpecBase<O> {
  direction: 'in';
  /** Bytes to request (the allocation length), 1-0xFFFFFFFF. */
  length: number | ((options: O) => number);
  /**
   * Decodes the bytes received (possibly fewer than requested). Check lengths
   * before reading; throw ParseError for data that makes no sense.
   */
  decode: (data: Uint8Array, options: O) => T;
}

/** A command that sends data to the device. */
export interface OutCommandSpec<O> extends CommandSpecBase<O> {
  direction: 'out';
  /** The data-out bytes, 1-0xFFFFFFFF of them. */
  data: (options: O) => Uint8Array;
}

/** A command without a data stage. */
export interface NoDataCommandSpec<O> extends CommandSpecBase<O> {
  direction: 'none';
}

/** Builder produced by `defineCommand`: options are optional when `O` accepts undefined. */
export type CommandBuilder<O, T> = ((...args: undefined extends O ? [options?: O] : [options: O]) => ScsiCommand<T>) & {
  readonly commandName: string;
};

function checkCdb(name: string, raw: Uint8Array | readonly number[]): Uint8Array {
  if (!(raw instanceof Uint8Array) && !Array.isArray(raw)) {
    throw new InvalidArgumentError(`${name}: cdb() must return a Uint8Array or an array of bytes`);
  }
  if (raw.length < 1 || raw.length > 16) {
    throw new InvalidArgumentError(`${name}: a CDB must be 1-16 bytes (Bulk-Only limit), got ${raw.length}`);
  }
  if (raw instanceof Uint8Array) return raw.slice();
  const cdb = new Uint8Array(raw.length);
  raw.forEach((b, i) => {
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 0xff) {
      throw new InvalidArgumentError(`${name}: CDB byte ${i} is ${String(b)}, not an integer 0-255`);
    }
    cdb[i] = b;
  });
  return cdb;
}

function checkLength(name: string, length: unknown): number {
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 1 || length > MAX_TRANSFER) {
    throw new InvalidArgumentError(`${name}: transfer length must be an integer 1-${MAX_TRANSFER}, got ${String(length)}`);
  }
  return length;
}

function runValidate<O>(name: string, validate: ((options: O) => void) | undefined, options: O): void {
  if (validate === undefined) return;
  try {
    validate(options);
  } catch (error) {
    if (error instanceof UsbmsError) throw error;
    throw new InvalidArgumentError(`${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Wraps a user decoder so that only usbms errors escape it. */
function safeDecode<T>(name: string, decode: (data: Uint8Array) => T): (data: Uint8Array) => T {
  return (data) => {
    try {
      return decode(data);
    } catch (error) {
      if (error instanceof UsbmsError) throw error;
      throw new ParseError(`${name} data`, error instanceof Error ? error.message : String(error), { cause: error });
    }
  };
}

function noData(): undefined {
  return undefined;
}

/**
 * Defines a typed command. Returns a builder: `builder(options)` validates the
 * options and returns a ScsiCommand for `device.run` / `lu.run`.
 */
export function defineCommand<O = undefined, T = Uint8Array>(spec: InCommandSpec<O, T>): CommandBuilder<O, T>;
export function defineCommand<O = undefined>(spec: OutCommandSpec<O>): CommandBuilder<O, undefined>;
export function defineCommand<O = undefined>(spec: NoDataCommandSpec<O>): CommandBuilder<O, undefined>;
export function defineCommand<O, T>(spec: InCommandSpec<O, T> | OutCommandSpec<O> | NoDataCommandSpec<O>): CommandBuilder<O, T | undefined> {
  if (typeof spec?.name !== 'string' || spec.name.length === 0) {
    throw new InvalidArgumentError('defineCommand: a non-empty name is required');
  }
  const direction: string = spec.direction;
  if (direction !== 'in' && direction !== 'out' && direction !== 'none') {
    throw new InvalidArgumentError(`defineCommand(${spec.name}): direction must be 'in', 'out' or 'none', got ${direction}`);
  }
  const name = spec.name;
  const build = (...args: [options?: O]): ScsiCommand<T | undefined> => {
    const options = args[0] as O;
    runValidate(name, spec.validate, options);
    const cdb = checkCdb(name, spec.cdb(options));
    const writesMedium = spec.writesMedium ?? (spec.direction === 'out' || isWriteClassOpcode(cdb));
    const common = {
      name,
      cdb,
      ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
      // An explicit false is kept: the device's read-only option honours it for a data-out (see writesMedium).
      ...(writesMedium ? { writesMedium: true } : spec.writesMedium === false ? { writesMedium: false } : {}),
    };
    switch (spec.direction) {
      case 'in': {
        const length = checkLength(name, typeof spec.length === 'function' ? spec.length(options) : spec.length);
        const decode = spec.decode;
        return { ...common, direction: 'in', length, decode: safeDecode(name, (data) => decode(data, options)) };
      }
      case 'out': {
        const data = spec.data(options);
        if (!(data instanceof Uint8Array)) throw new InvalidArgumentError(`${name}: data() must return a Uint8Array`);
        checkLength(name, data.length);
        return { ...common, direction: 'out', length: data.length, data, decode: noData };
      }
      case 'none':
        return { ...common, direction: 'none', length: 0, decode: noData };
    }
  };
  return Object.assign(build, { commandName: name }) as CommandBuilder<O, T | undefined>;
}

/** For vendor decoders: throws ParseError unless at least `min` bytes were received. */
export function expectLength(data: Uint8Array, min: number, what: string): void {
  if (data.length < min) throw new ParseError(what, `${data.length} bytes received, at least ${min} are needed`);
}
