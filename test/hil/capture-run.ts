// Runs guest/capture.ts (the transcript scenario with usbms's pcap, a transcript and the kernel's usbmon
// capture) on one HIL profile; shared by capture.test.ts and fixtures-transcripts.ts (which records the
// transcripts of every Bulk-Only profile, BOT_PROFILE_NAMES).
import fs from 'node:fs';
import path from 'node:path';
import { bundleForGuest } from './bundle.js';
import type { ProfileName } from './profiles.js';
import { type GuestResult, readJobJson, runInGuest } from './runner.js';

/** The profiles capture.test.ts compares with the kernel's usbmon capture: one per device implementation (QEMU's usb-storage, Linux's f_mass_storage gadget). */
export const CAPTURE_PROFILES: readonly ProfileName[] = ['xhci-storage', 'gadget-hs'];

export interface CaptureRun {
  result: GuestResult;
  capture: { ok: boolean; error?: string; log?: string[]; busNumber?: number; address?: number };
  transcript: string;
  usbmsPcap: Uint8Array;
  kernelPcap: Uint8Array;
}

let bundle: Promise<string> | undefined;

export async function runCapture(profile: ProfileName): Promise<CaptureRun> {
  bundle ??= bundleForGuest('test/hil/guest/capture.ts', 'capture');
  // HIL_CAPTURE_STRESS (guest/capture.ts): busy loops in the guest during the run.
  const stress = process.env.HIL_CAPTURE_STRESS;
  const result = await runInGuest({
    profile,
    command: ['node', '--enable-source-maps', await bundle],
    timeoutMs: 480_000,
    ...(stress ? { env: { HIL_CAPTURE_STRESS: stress } } : {}),
  });
  const capture = readJobJson<CaptureRun['capture']>(result, 'capture.json');
  if (capture?.ok !== true) throw new Error(`${profile}: the guest capture failed: ${capture?.error ?? result.stderr}`);
  const read = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(result.jobDir, name)));
  return {
    result,
    capture,
    transcript: fs.readFileSync(path.join(result.jobDir, 'transcript.txt'), 'utf8'),
    usbmsPcap: read('usbms.pcap'),
    kernelPcap: read('kernel.pcap'),
  };
}
