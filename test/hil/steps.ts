// What the HIL host tests share about the guest's results: each guest script records its steps as
// { ok, data } or { ok: false, error }, and the host's tests read them.

/** One step a guest script recorded. */
export interface GuestStep<T = unknown> {
  ok: boolean;
  data?: T;
  error?: { message?: string; stack?: string };
}

/** A guest step's data; throws the guest's error (with its stack) when the step failed or never ran. */
export function stepData<T>(step: GuestStep<T> | undefined, name: string): T {
  if (!step) throw new Error(`the guest did not reach step "${name}"`);
  if (!step.ok || step.data === undefined) throw new Error(`guest step "${name}" threw: ${step.error?.message ?? '?'}\n${step.error?.stack ?? ''}`);
  return step.data;
}
