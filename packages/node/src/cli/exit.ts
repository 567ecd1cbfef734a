import { constants as osConstants } from 'node:os';
import { ScsiCheckConditionError, type SenseData, UsbmsError, UsbmsErrorCode } from '@usbms/core';

/**
 * Exit codes: sg3_utils 1.46 (include/sg_lib.h, SG_LIB_*), so scripts written
 * for sg_raw/sg_inq read usbms the same way, plus 130 for an interrupt (128 +
 * SIGINT, the shell's convention). This is the one table: `--help` and the
 * README's table are generated from / checked against it.
 */
export const ExitCode = {
  /** SG_LIB_CAT_CLEAN. */
  Ok: 0,
  /** SG_LIB_SYNTAX_ERROR: command-line syntax (unknown option, bad value). */
  Syntax: 1,
  /** SG_LIB_CAT_NOT_READY: sense key NOT READY. */
  NotReady: 2,
  /** SG_LIB_CAT_MEDIUM_HARD: sense key MEDIUM ERROR, HARDWARE ERROR or BLANK CHECK. */
  MediumHard: 3,
  /** SG_LIB_CAT_ILLEGAL_REQ: sense key ILLEGAL REQUEST (other than 20/00 and 21/00). */
  IllegalRequest: 5,
  /** SG_LIB_CAT_UNIT_ATTENTION. */
  UnitAttention: 6,
  /** SG_LIB_CAT_DATA_PROTECT: e.g. write-protected medium. */
  DataProtect: 7,
  /** SG_LIB_CAT_INVALID_OP: ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE (05/20/00). */
  InvalidOpcode: 9,
  /** SG_LIB_CAT_COPY_ABORTED. */
  CopyAborted: 10,
  /** SG_LIB_CAT_ABORTED_COMMAND (ASC other than 10h). */
  AbortedCommand: 11,
  /** SG_LIB_CAT_MISCOMPARE (also a failed --verify). */
  Miscompare: 14,
  /** SG_LIB_FILE_ERROR: a file problem without an OS error number. */
  FileError: 15,
  /** SG_LIB_CAT_NO_SENSE: CHECK CONDITION with sense key NO SENSE. */
  NoSense: 20,
  /** SG_LIB_CAT_RECOVERED: CHECK CONDITION with sense key RECOVERED ERROR. */
  Recovered: 21,
  /** SG_LIB_LBA_OUT_OF_RANGE: ILLEGAL REQUEST, LOGICAL BLOCK ADDRESS OUT OF RANGE (05/21/00). */
  LbaOutOfRange: 22,
  /** SG_LIB_CONTRADICT: options that contradict each other. */
  Contradict: 31,
  /** SG_LIB_CAT_TIMEOUT. */
  Timeout: 33,
  /** SG_LIB_OK_FALSE: no error, and the answer is "false" (`usbms smart`: the drive says FAILED). */
  OkFalse: 36,
  /** SG_LIB_CAT_PROTECTION: ABORTED COMMAND with ASC 10h (protection information). */
  Protection: 40,
  /** SG_LIB_OS_BASE_ERR: an OS error whose number is 47 or more (or unknown). 51-96 are 50 + errno. */
  OsError: 50,
  /** SG_LIB_CAT_MALFORMED: the device's response could not be decoded. */
  Malformed: 97,
  /** SG_LIB_CAT_SENSE: sense data of another kind (COMPLETED, VOLUME OVERFLOW, reserved or vendor key, none at all). */
  Sense: 98,
  /** SG_LIB_CAT_OTHER: transport and other errors (device lost, BOT phase error, ...). */
  Other: 99,
  /** 128 + SIGINT. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode] | number;

/** The exit-code table as users read it (`--help`, README). `code` ranges are written "51-96". */
export const EXIT_CODE_TABLE: readonly { code: string; meaning: string }[] = [
  { code: '0', meaning: 'success (GOOD status)' },
  { code: '1', meaning: 'command-line syntax error (usage)' },
  { code: '2', meaning: 'NOT READY (e.g. no medium)' },
  { code: '3', meaning: 'MEDIUM ERROR, HARDWARE ERROR or BLANK CHECK' },
  { code: '5', meaning: 'ILLEGAL REQUEST (other than the two below)' },
  { code: '6', meaning: 'UNIT ATTENTION' },
  { code: '7', meaning: 'DATA PROTECT (e.g. write-protected medium)' },
  { code: '9', meaning: 'ILLEGAL REQUEST: invalid opcode (05/20/00)' },
  { code: '10', meaning: 'COPY ABORTED' },
  { code: '11', meaning: 'ABORTED COMMAND' },
  { code: '14', meaning: 'MISCOMPARE (also a failed --verify)' },
  { code: '15', meaning: 'file error without an OS error number' },
  { code: '20', meaning: 'NO SENSE sense key with CHECK CONDITION' },
  { code: '21', meaning: 'RECOVERED ERROR sense key' },
  { code: '22', meaning: 'ILLEGAL REQUEST: LBA out of range (05/21/00)' },
  { code: '31', meaning: 'contradicting options' },
  { code: '33', meaning: 'command timed out' },
  { code: '36', meaning: 'no error, answer "false": smart found the drive FAILING' },
  { code: '40', meaning: 'ABORTED COMMAND, protection information (0B/10/xx)' },
  { code: '50', meaning: 'OS error with errno 47 or above' },
  { code: '51-96', meaning: 'OS error: 50 + errno (e.g. 52 ENOENT, 63 EACCES, 69 ENODEV device gone)' },
  { code: '97', meaning: 'malformed response from the device' },
  { code: '98', meaning: 'other sense data (or CHECK CONDITION without sense)' },
  { code: '99', meaning: 'other error (transport: phase error, reset, protocol)' },
  { code: '130', meaning: 'interrupted (Ctrl-C)' },
];

/** The table as plain text for `--help`. */
export function exitCodeHelp(): string {
  const width = Math.max(...EXIT_CODE_TABLE.map((r) => r.code.length));
  return EXIT_CODE_TABLE.map((r) => `  ${r.code.padStart(width)}  ${r.meaning}`).join('\n');
}

/** The table as Markdown, exactly as the README carries it (a test keeps them equal). */
export function exitCodeMarkdown(): string {
  return ['| exit | meaning |', '|---:|---|', ...EXIT_CODE_TABLE.map((r) => `| ${r.code} | ${r.meaning} |`)].join('\n');
}

/**
 * sg3_utils 1.46 `sg_convert_errno`: 0 stays 0, errno 1-46 becomes 50 + errno
 * (SG_LIB_OS_BASE_ERR), anything else (negative, 47 and above) is 50.
 */
export function convertErrno(errno: number): number {
  if (errno === 0) return 0;
  if (errno > 0 && errno < ExitCode.Malformed - ExitCode.OsError) return ExitCode.OsError + errno;
  return ExitCode.OsError;
}

/**
 * sg3_utils 1.46 `sg_err_category_sense` on decoded sense: the exit code for
 * a CHECK CONDITION. Undecodable or absent sense is SG_LIB_CAT_SENSE (98).
 * Sense keys: SPC-4 §4.5.6, table 48.
 */
export function exitCodeForSense(sense: Pick<SenseData, 'senseKey' | 'asc' | 'ascq'> | undefined): number {
  if (sense === undefined) return ExitCode.Sense;
  switch (sense.senseKey) {
    case 0x0:
      return ExitCode.NoSense;
    case 0x1:
      return ExitCode.Recovered;
    case 0x2:
      return ExitCode.NotReady;
    case 0x3: // MEDIUM ERROR
    case 0x4: // HARDWARE ERROR
    case 0x8: // BLANK CHECK
      return ExitCode.MediumHard;
    case 0x5:
      if (sense.asc === 0x20 && sense.ascq === 0x00) return ExitCode.InvalidOpcode;
      if (sense.asc === 0x21 && sense.ascq === 0x00) return ExitCode.LbaOutOfRange;
      return ExitCode.IllegalRequest;
    case 0x6:
      return ExitCode.UnitAttention;
    case 0x7:
      return ExitCode.DataProtect;
    case 0xa:
      return ExitCode.CopyAborted;
    case 0xb:
      return sense.asc === 0x10 ? ExitCode.Protection : ExitCode.AbortedCommand;
    case 0xe:
      return ExitCode.Miscompare;
    default:
      // COMPLETED (0x9), VOLUME OVERFLOW (0xd), reserved and vendor keys.
      return ExitCode.Sense;
  }
}

/** The sense data an error carries, directly or through its cause chain. */
export function senseOf(error: unknown): SenseData | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e !== undefined; depth++) {
    if (e instanceof ScsiCheckConditionError) return e.sense;
    if (e instanceof UsbmsError && e.details?.sense !== undefined) return e.details.sense as SenseData;
    e = e instanceof Error ? e.cause : undefined;
  }
  return undefined;
}

/** An OS error (file system, stdout pipe): Node's `code` ("ENOENT") and the errno number it stands for. */
export function osErrorOf(error: unknown): { code: string; errno: number } | undefined {
  if (!(error instanceof Error) || error instanceof UsbmsError) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') return undefined;
  const errno = (osConstants.errno as Record<string, number>)[code];
  return errno === undefined ? undefined : { code, errno };
}

/** errno numbers (Linux values; `os.constants.errno` gives the platform's) for device-level failures. */
const errno = (name: string, fallback: number): number => (osConstants.errno as Record<string, number>)[name] ?? fallback;

/** Exit code for any error a subcommand throws. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof UsbmsError) {
    switch (error.code) {
      case UsbmsErrorCode.Aborted:
        return ExitCode.Interrupted;
      case UsbmsErrorCode.InvalidArgument:
        return ExitCode.Syntax;
      case UsbmsErrorCode.Timeout:
        return ExitCode.Timeout;
      case UsbmsErrorCode.VerifyMismatch:
        return ExitCode.Miscompare;
      case UsbmsErrorCode.Parse:
        return ExitCode.Malformed;
      // The analogues of what opening /dev/sgN reports through sg_convert_errno.
      case UsbmsErrorCode.NotFound:
        return convertErrno(errno('ENOENT', 2));
      case UsbmsErrorCode.AccessDenied:
        return convertErrno(errno('EACCES', 13));
      case UsbmsErrorCode.ProtectedClass:
        return convertErrno(errno('EBUSY', 16));
      case UsbmsErrorCode.Disconnected:
        return convertErrno(errno('ENODEV', 19));
      default: {
        const sense = senseOf(error);
        if (sense !== undefined) return exitCodeForSense(sense);
        if (error.code === UsbmsErrorCode.CheckCondition) return ExitCode.Sense;
        if (error.code === UsbmsErrorCode.WriteProtected) return ExitCode.DataProtect;
        return ExitCode.Other;
      }
    }
  }
  const os = osErrorOf(error);
  if (os !== undefined) return convertErrno(os.errno);
  return ExitCode.Other;
}

/**
 * Stable codes for `--json` errors that are not the core's: they say what
 * failed, so a file problem is never reported as a transport error.
 */
export const CliErrorCode = {
  Usage: 'USAGE',
  Contradict: 'CONTRADICT',
  File: 'FILE',
  Refused: 'REFUSED',
  Resume: 'RESUME_MISMATCH',
  Other: 'CLI',
} as const;
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

/** A CLI-level failure with a chosen exit code and a stable code (usage errors, refusals, file errors). */
export class CliError extends Error {
  readonly exitCode: number;
  readonly code: CliErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    message: string,
    optionsOrExitCode: number | { exitCode?: number; code?: CliErrorCode; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    const options = typeof optionsOrExitCode === 'number' ? { exitCode: optionsOrExitCode } : optionsOrExitCode;
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = options.exitCode ?? ExitCode.Other;
    this.code = options.code ?? CliErrorCode.Other;
    this.details = options.details;
  }
}

/** A command-line syntax error (exit 1, code USAGE). */
export function usageError(message: string): CliError {
  return new CliError(message, { exitCode: ExitCode.Syntax, code: CliErrorCode.Usage });
}

/** Two options that cannot go together (exit 31, code CONTRADICT). */
export function contradictError(message: string): CliError {
  return new CliError(message, { exitCode: ExitCode.Contradict, code: CliErrorCode.Contradict });
}

/** A file (or stdout) problem: 50 + errno like sg3_utils, code FILE, with the path and the OS code. */
export function fileError(message: string, path: string, cause: unknown): CliError {
  const os = osErrorOf(cause);
  return new CliError(message, {
    exitCode: os === undefined ? ExitCode.FileError : convertErrno(os.errno),
    code: CliErrorCode.File,
    details: { path, ...(os === undefined ? {} : { errno: os.code }) },
    cause,
  });
}
