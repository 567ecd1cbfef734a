/**
 * What makes a resumed `dump`/`restore` safe: the device's identity as
 * recorded when the copy started, and hashes of a few blocks already copied.
 * Cheap devices share serial numbers (or have none), so a matching identity
 * alone is not enough: some copied blocks are read back and must hash the same.
 */
import { createHash } from 'node:crypto';
import type { LogicalUnit, MscDevice } from '@usbms/core';

type CallOptions = { signal?: AbortSignal; timeoutMs?: number };

import { CliError, CliErrorCode, ExitCode } from './exit.js';
import { hex4 } from './format.js';

/** The identity a copy is bound to. */
export interface DeviceIdentity {
  /** "VID:PID" in hex. */
  usb: string;
  serial: string | null;
  vendor: string;
  product: string;
  revision: string;
  lun: number;
  blocks: number;
  blockSize: number;
}

/** A block already copied and the SHA-256 of its contents. */
export interface BlockSample {
  lba: number;
  sha256: string;
}

/** How many samples a progress record keeps (bounded, spread over the copy). */
const MAX_SAMPLES = 16;
/** How many of them a resume reads back: the first, one in the middle and the last. */
const CHECKED_SAMPLES = 3;

export async function deviceIdentity(
  device: MscDevice,
  lu: LogicalUnit,
  capacity: { blocks: number; blockSize: number },
  o: CallOptions,
): Promise<DeviceIdentity> {
  const info = device.info;
  const inquiry = lu.inquiry ?? (await lu.readInquiry(o));
  return {
    usb: `${hex4(info.vendorId ?? 0)}:${hex4(info.productId ?? 0)}`,
    serial: info.serialNumber ?? null,
    vendor: inquiry.vendor,
    product: inquiry.product,
    revision: inquiry.revision,
    lun: lu.number,
    blocks: capacity.blocks,
    blockSize: capacity.blockSize,
  };
}

export function describeIdentity(id: DeviceIdentity): string {
  return `${id.usb}${id.serial === null ? ' (no serial)' : ` serial ${id.serial}`}, "${id.vendor} ${id.product} ${id.revision}", LUN ${id.lun}, ${id.blocks} blocks of ${id.blockSize} bytes`;
}

/** Names of the fields that differ (empty when the identities match). */
export function identityDifferences(recorded: DeviceIdentity, current: DeviceIdentity): string[] {
  const keys: (keyof DeviceIdentity)[] = ['usb', 'serial', 'vendor', 'product', 'revision', 'lun', 'blocks', 'blockSize'];
  return keys.filter((k) => recorded[k] !== current[k]);
}

/** Whether every value is a count (blocks, bytes, a LUN or an LBA) a record may hold: a non-negative safe integer. */
export const areCounts = (...values: unknown[]): boolean => values.every((n) => Number.isSafeInteger(n) && (n as number) >= 0);

export function isDeviceIdentity(value: unknown): value is DeviceIdentity {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.usb === 'string' &&
    (v.serial === null || typeof v.serial === 'string') &&
    typeof v.vendor === 'string' &&
    typeof v.product === 'string' &&
    typeof v.revision === 'string' &&
    areCounts(v.lun, v.blocks, v.blockSize)
  );
}

export function isSampleList(value: unknown): value is BlockSample[] {
  return (
    Array.isArray(value) &&
    value.length <= MAX_SAMPLES * 2 &&
    value.every(
      (s: unknown) =>
        typeof s === 'object' &&
        s !== null &&
        Number.isSafeInteger((s as BlockSample).lba) &&
        typeof (s as BlockSample).sha256 === 'string' &&
        /^[0-9a-f]{64}$/.test((s as BlockSample).sha256),
    )
  );
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Records a copied block; when the list is full every other sample is dropped (the first is kept), so samples stay spread. */
export function addSample(samples: BlockSample[], lba: number, block: Uint8Array): void {
  samples.push({ lba, sha256: sha256(block) });
  if (samples.length > MAX_SAMPLES) {
    const kept = samples.filter((_, i) => i % 2 === 0 || i === samples.length - 1);
    samples.splice(0, samples.length, ...kept);
  }
}

/** The samples a resume reads back: first, middle, last. */
export function samplesToCheck(samples: readonly BlockSample[]): BlockSample[] {
  if (samples.length <= CHECKED_SAMPLES) return [...samples];
  return [samples[0], samples[Math.floor(samples.length / 2)], samples.at(-1)].filter((s): s is BlockSample => s !== undefined);
}

/** Reads the samples back from the device; returns the first whose contents differ. */
export async function firstChangedSample(lu: LogicalUnit, samples: readonly BlockSample[], o: CallOptions): Promise<BlockSample | undefined> {
  for (const sample of samplesToCheck(samples)) {
    const block = await lu.read(sample.lba, 1, o);
    if (sha256(block) !== sample.sha256) return sample;
  }
  return undefined;
}

/** What a command checks before it resumes a recorded job, and what it says when it refuses. */
export interface ResumeCheck {
  /** What would be resumed, e.g. "the dump in FILE.partial". */
  what: string;
  progressPath: string;
  current: DeviceIdentity;
  /** The command that starts over instead. */
  startOver: string;
  /** The reason given when the record names another device; `fields` lists what differs. */
  otherDevice: (fields: string) => string;
  /** Set when the record covers another range than this command: the reason given. */
  otherRange?: string | undefined;
  /** The reason given when a copied block no longer holds what the record says. */
  changed: (lba: number) => string;
}

/**
 * Throws the refusal unless the recorded job is this one on this device: the same identity, the same
 * range, and the sampled blocks still hashing as recorded (in that order, the cheap checks first).
 */
export async function checkResumable(
  lu: LogicalUnit,
  recorded: { identity: DeviceIdentity; samples: readonly BlockSample[] },
  check: ResumeCheck,
  o: CallOptions,
): Promise<void> {
  const refuse = (reason: string): CliError => resumeRefused(check.what, check.progressPath, reason, recorded.identity, check.current, check.startOver);
  const differ = identityDifferences(recorded.identity, check.current);
  if (differ.length > 0) throw refuse(check.otherDevice(differ.join(', ')));
  if (check.otherRange !== undefined) throw refuse(check.otherRange);
  const changed = await firstChangedSample(lu, recorded.samples, o);
  if (changed !== undefined) throw refuse(check.changed(changed.lba));
}

/** The refusal: both identities (or the block that differs) and how to start over. */
export function resumeRefused(
  what: string,
  progressPath: string,
  reason: string,
  recorded: DeviceIdentity | undefined,
  current: DeviceIdentity,
  startOver: string,
): CliError {
  const lines = [
    `refusing to resume ${what}: ${reason}`,
    `  recorded in ${progressPath}: ${recorded === undefined ? '(no device identity: written by an older usbms)' : describeIdentity(recorded)}`,
    `  this device:  ${describeIdentity(current)}`,
    `  to start over: ${startOver}`,
  ];
  return new CliError(lines.join('\n'), {
    exitCode: ExitCode.Other,
    code: CliErrorCode.Resume,
    details: { progress: progressPath, recorded: recorded ?? null, current, startOver },
  });
}
