/**
 * The exchange the checked-in transcripts record (`pnpm fixtures:transcripts`
 * runs it on each HIL device; the unit suite replays it). Deterministic: what
 * the host sends depends only on what the device answered.
 */
import { MscDevice } from '../../device.js';
import type { MscTransport } from '../../transport.js';

/** What the scenario may vary, so a test can make the host send a different byte. */
export interface TranscriptScenarioOptions {
  /** First block of the write/read-back (default 64). */
  lba?: number;
  /** Seed of the written pattern (default 1). */
  seed?: number;
}

/** Runs the scenario; returns one line per step with what the device answered (for comparison across runs). */
export async function runTranscriptScenario(transport: MscTransport, options: TranscriptScenarioOptions = {}): Promise<string[]> {
  const lba = options.lba ?? 64;
  const seed = options.seed ?? 1;
  const log: string[] = [];
  const device = await MscDevice.open(transport, { readOnly: false, defaultTimeoutMs: 20_000 });
  try {
    const lu = device.lun(0);
    log.push(`luns ${device.luns.length}, inquiry ${lu.inquiry?.vendor ?? '?'} ${lu.inquiry?.product ?? '?'}`);
    const tur = await device.execute({ lun: 0, cdb: Uint8Array.of(0x00, 0, 0, 0, 0, 0), direction: 'none' });
    log.push(`TEST UNIT READY ${tur.status}`);
    const capacity = await lu.readCapacity();
    log.push(`capacity ${capacity.blocks} x ${capacity.blockSize}`);
    const first = await lu.read(0, 8);
    log.push(`read 0+8: ${first.length} bytes`);
    const pattern = new Uint8Array(8 * capacity.blockSize);
    for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7 + seed) & 0xff;
    await lu.write(lba, pattern);
    const back = await lu.read(lba, 8);
    log.push(`write+read ${lba}+8: ${back.every((b, i) => b === pattern[i]) ? 'same' : 'DIFFERENT'}`);
    // Vendor-style data-in with an allocation length the device may not fill (residue).
    const inq = await device.execute({ lun: 0, cdb: Uint8Array.of(0x12, 0, 0, 0, 0x60, 0), direction: 'in', length: 0x60 });
    log.push(`INQUIRY(96) ${inq.status}, ${inq.data.length} bytes, residue ${inq.residue}`);
    // A vendor opcode the device does not know, with a data-in stage: CHECK CONDITION (ILLEGAL REQUEST), often after a stalled data stage.
    const vendorIn = await device.execute({ lun: 0, cdb: Uint8Array.of(0xc7, 0, 0, 0, 0, 0, 0, 0, 0x10, 0), direction: 'in', length: 16 });
    log.push(
      `vendor C7 in: ${vendorIn.status} ${vendorIn.sense === undefined ? '' : `${vendorIn.sense.senseKey}/${vendorIn.sense.asc}/${vendorIn.sense.ascq}`}`,
    );
    // The same with a data-out stage.
    const vendorOut = await device.execute({
      lun: 0,
      cdb: Uint8Array.of(0xc8, 0, 0, 0, 0, 0, 0, 0, 0x02, 0),
      direction: 'out',
      data: pattern.subarray(0, 512),
    });
    log.push(
      `vendor C8 out: ${vendorOut.status} ${vendorOut.sense === undefined ? '' : `${vendorOut.sense.senseKey}/${vendorOut.sense.asc}/${vendorOut.sense.ascq}`}`,
    );
    const sense = await lu.requestSense();
    log.push(`REQUEST SENSE ${sense === undefined ? 'none' : `${sense.senseKey}/${sense.asc}/${sense.ascq}`}`);
  } finally {
    await device.close();
  }
  log.push('closed');
  return log;
}
