import { ScsiCheckConditionError, type SenseData, UsbmsError, UsbmsErrorCode } from '@usbms/core';

/**
 * Exit codes, following sg3_utils (sg_lib.h SG_LIB_CAT_*) where they apply.
 * Everything without an sg3_utils category exits 1.
 */
export const ExitCode = {
  Ok: 0,
  Other: 1,
  NotReady: 2,
  /** MEDIUM ERROR and HARDWARE ERROR (sg3_utils SG_LIB_CAT_MEDIUM_HARD). */
  MediumHard: 3,
  IllegalRequest: 5,
  UnitAttention: 6,
  DataProtect: 7,
  AbortedCommand: 11,
  Miscompare: 14,
  /** 128 + SIGINT. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Exit code for a sense key (SPC-4 §4.5.6). */
export function exitCodeForSense(sense: SenseData | undefined): ExitCode {
  switch (sense?.senseKey) {
    case 0x2:
      return ExitCode.NotReady;
    case 0x3:
    case 0x4:
      return ExitCode.MediumHard;
    case 0x5:
      return ExitCode.IllegalRequest;
    case 0x6:
      return ExitCode.UnitAttention;
    case 0x7:
      return ExitCode.DataProtect;
    case 0xb:
      return ExitCode.AbortedCommand;
    case 0xe:
      return ExitCode.Miscompare;
    default:
      return ExitCode.Other;
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

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsbmsError) {
    if (error.code === UsbmsErrorCode.Aborted) return ExitCode.Interrupted;
    if (error.code === UsbmsErrorCode.WriteProtected) return ExitCode.DataProtect;
    if (error.code === UsbmsErrorCode.VerifyMismatch) return ExitCode.Miscompare;
    const sense = senseOf(error);
    if (sense !== undefined) return exitCodeForSense(sense);
  }
  return ExitCode.Other;
}

/** A CLI-level failure with a chosen exit code (usage errors, refusals). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.Other,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
