// Transcripts recorded on real device implementations in the HIL guest, one per Bulk-Only device profile
// (test/hil/profiles.ts: QEMU usb-storage on xHCI and EHCI, usb-bot with two LUNs, Linux's f_mass_storage
// gadget at high speed and SuperSpeed), checked in by `pnpm fixtures:transcripts`: the host code of today
// must send the same bytes, and a host that sends one byte differently fails with a diff naming the
// command and offset.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BOT_PROFILE_NAMES } from '../../../../test/hil/profiles.js';
import { ReplayMismatchError } from '../errors.js';
import { ReplayTransport } from './replay.js';
import { runTranscriptScenario } from './testing/transcript-scenario.js';
import { parseTranscript } from './transcript.js';

const dir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.transcript'));

describe('transcripts from the HIL devices', () => {
  it('are there for every Bulk-Only HIL device, and for nothing else', () => {
    expect(BOT_PROFILE_NAMES.length).toBeGreaterThanOrEqual(5);
    expect(files.sort()).toEqual(BOT_PROFILE_NAMES.map((name) => `${name}.transcript`).sort());
  });

  describe.each(files)('%s', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');

    it('replays green: every stage, in order, byte for byte', async () => {
      const transcript = parseTranscript(text);
      expect(transcript.steps.length).toBeGreaterThan(30);
      const replay = new ReplayTransport(transcript);
      const log = await runTranscriptScenario(replay);
      replay.assertFinished();
      expect(log).toContain('write+read 64+8: same');
      expect(log.find((l) => l.startsWith('vendor C7 in:'))).toMatch(/check-condition 5\/32\/0/);
    });

    it('fails on a changed host byte with a diff naming the command and the offset', async () => {
      const replay = new ReplayTransport(text);
      await expect(runTranscriptScenario(replay, { lba: 65 })).rejects.toThrow();
      expect(replay.failure).toBeInstanceOf(ReplayMismatchError);
      expect(replay.failure?.message).toMatch(/WRITE\(10\) \(opcode 0x2a\): the host's CBW differs at byte 20 \(CDB byte 5\): transcript 0x40, host 0x41/);
    });
  });
});
