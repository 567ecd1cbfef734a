/**
 * The guard of commands that overwrite the medium (write, bench --write, restore): --yes, or an
 * interactive "yes" on a terminal, and the device's name in the question.
 */
import { createInterface } from 'node:readline/promises';
import type { MscDevice } from '@usbms/core';
import type { CliContext } from './context.js';
import { CliError, CliErrorCode, ExitCode } from './exit.js';
import { deviceId } from './format.js';

/**
 * Confirmation guard for commands that overwrite the medium: --yes, or an
 * interactive "yes" on a terminal. Without a terminal and without --yes it refuses.
 */
export async function confirm(ctx: CliContext, question: string, yes: boolean | undefined): Promise<void> {
  if (yes === true) return;
  canConfirm(question, yes);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`About to ${question}. Data there will be overwritten. Type "yes" to continue: `, { signal: ctx.signal });
    if (answer.trim().toLowerCase() !== 'yes')
      throw new CliError('not confirmed; nothing was written', { exitCode: ExitCode.Syntax, code: CliErrorCode.Refused });
  } finally {
    rl.close();
  }
}

/**
 * The part of `confirm` that needs no device: without --yes and without a
 * terminal to ask on, refuse before any I/O (exit 1, code REFUSED).
 */
export function canConfirm(what: string, yes: boolean | undefined): void {
  if (yes === true) return;
  if (process.stdin.isTTY !== true || process.stderr.isTTY !== true) {
    throw new CliError(`refusing to ${what} without --yes (no terminal to ask for confirmation)`, { exitCode: ExitCode.Syntax, code: CliErrorCode.Refused });
  }
}

/** How the confirmation question names the device. */
export function deviceLabel(ctx: CliContext, device: MscDevice): string {
  const i = device.info;
  if (ctx.isSim) return ctx.options.simImage === undefined ? 'the simulated device' : `the simulated device (${ctx.options.simImage})`;
  return `${deviceId(i)} (${i.product ?? 'USB disk'})`;
}
