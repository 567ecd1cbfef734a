import { describe, expect, it } from 'vitest';
import { MscDevice } from '../device.js';
import { SimulatedDevice } from '../sim/device.js';
import type { SimulatedDeviceOptions } from '../sim/types.js';
import { decodeStages, describeCdb, stagesOfPcap, stagesOfTranscript } from './decode.js';
import { ChunkCollector, isCbw, type PcapUsbRecord, PcapWriter, parsePcap } from './pcap.js';
import { RecordingTransport } from './recording-transport.js';
import { runTranscriptScenario } from './testing/transcript-scenario.js';
import { parseTranscript, TranscriptRecorder } from './transcript.js';

async function capture(
  body: (t: RecordingTransport, sim: SimulatedDevice) => Promise<unknown>,
  options: Partial<SimulatedDeviceOptions> = {},
): Promise<{ pcap: Uint8Array; transcript: string }> {
  const sim = new SimulatedDevice({ luns: [{ blocks: 2048, blockSize: 512 }], ...options });
  const recording = new RecordingTransport(sim.transport);
  const sink = new ChunkCollector();
  const pcap = new PcapWriter(sink, { info: recording.info, snapLength: 0 });
  let text = '';
  const recorder = new TranscriptRecorder({ write: (t) => (text += t) }, { info: recording.info, concurrentPipes: true, portReset: true });
  recording.on((e) => {
    pcap.record(e);
    recorder.record(e);
  });
  await body(recording, sim);
  return { pcap: sink.bytes(), transcript: text };
}

describe('decode', () => {
  it('decodes a pcap and the transcript of the same exchange into the same commands', async () => {
    const { pcap, transcript } = await capture((t) => runTranscriptScenario(t));
    const fromPcap = decodeStages(stagesOfPcap(parsePcap(pcap)));
    const fromTranscript = decodeStages(stagesOfTranscript(parseTranscript(transcript)));
    expect(fromPcap.lines).toEqual(fromTranscript.lines);
    const text = fromPcap.lines.join('\n');
    expect(text).toContain('#1 LUN 0 INQUIRY alloc=36 in 36/36 -> GOOD residue 0  "USBMS" "Sim Disk" "1.00"');
    expect(text).toContain('#3 LUN 0 READ CAPACITY(10) in 8/8 -> GOOD residue 0  last LBA 2047, block 512');
    expect(text).toContain('#5 LUN 0 WRITE(10) lba=64 blocks=8 out 4096/4096 -> GOOD residue 0');
    expect(text).toContain(
      '#8 LUN 0 VENDOR SPECIFIC (0xC7) cdb=c7 00 00 00 00 00 00 00 10 00 in 0/16 [in(16) stall, clear-halt 0x81] -> CHECK-CONDITION residue 16',
    );
    expect(text).toMatch(/#9 LUN 0 REQUEST SENSE alloc=18 in 18\/18 -> GOOD residue 0 {2}sense ILLEGAL REQUEST: Invalid command operation code \(05\/20\/00\)/);
    expect(text).toContain(
      '#10 LUN 0 VENDOR SPECIFIC (0xC8) cdb=c8 00 00 00 00 00 00 00 02 00 out 0/512 [out(512) stall, clear-halt 0x02] -> CHECK-CONDITION residue 512',
    );
    expect(fromPcap.lines[0]).toBe('get-max-lun = 0');
  });

  /**
   * usbms's capture in the order the kernel (usbmon) may see it: node-usb runs every transfer on its own
   * thread, so the status read the engine submits together with a CBW can reach the kernel first. Each
   * status read submitted right after its CBW goes before it; one that stalled (QEMU stalls an IN token
   * that arrives before the CBW) also completes before the CBW is submitted.
   */
  function raceStatusReads(records: readonly PcapUsbRecord[]): { raced: PcapUsbRecord[]; moved: number } {
    const raced = [...records];
    const submitted = (r: PcapUsbRecord | undefined, inward: boolean): r is PcapUsbRecord =>
      r?.header.type === 'S' && r.header.transferType === 3 && (r.header.endpoint & 0x80) === (inward ? 0x80 : 0);
    let moved = 0;
    for (let i = 0; i + 1 < raced.length; i++) {
      const [cbw, status] = [raced[i], raced[i + 1]];
      if (!submitted(cbw, false) || !isCbw(cbw.data) || !submitted(status, true)) continue;
      const at = raced.findIndex((r) => r.header.type !== 'S' && r.header.id === status.header.id && r.header.endpoint === status.header.endpoint);
      const completion = raced[at];
      if (completion !== undefined && completion.header.status === -32) {
        raced.splice(at, 1);
        raced.splice(i, 2, status, completion, cbw);
        i += 1;
      } else {
        raced.splice(i, 2, status, cbw);
      }
      moved += 1;
    }
    return { raced, moved };
  }

  it("takes an early status read the kernel saw before its CBW as that command's status stage", async () => {
    const { pcap } = await capture((t) => runTranscriptScenario(t));
    const records = parsePcap(pcap);
    const { raced, moved } = raceStatusReads(records);
    // Every command without a data-in stage: TEST UNIT READY, WRITE(10), vendor C8h (data-out), SYNCHRONIZE CACHE.
    expect(moved).toBe(4);
    const expected = decodeStages(stagesOfPcap(records));
    const decoded = decodeStages(stagesOfPcap(raced));
    expect(decoded.lines).toEqual(expected.lines);
    expect(decoded.lines.join('\n')).not.toMatch(/no CSW|outside a command/i);
  });

  it("takes an early status read that QEMU stalled before the CBW was submitted as that command's", async () => {
    const { pcap } = await capture((t) => runTranscriptScenario(t), { stallEarlyIn: true });
    const records = parsePcap(pcap);
    const { raced, moved } = raceStatusReads(records);
    // TEST UNIT READY's read (answered: the command had run) and WRITE(10)'s (stalled: the device still
    // wanted data-out; the engine stops reading early after it, BOT 1.0 §6.7.2 recovery).
    expect(moved).toBe(2);
    const stalled = raced.findIndex((r) => r.header.type === 'C' && r.header.status === -32);
    expect(isCbw(raced[stalled + 1]?.data ?? new Uint8Array(0))).toBe(true);
    const expected = decodeStages(stagesOfPcap(records));
    expect(expected.lines.join('\n')).toContain('WRITE(10) lba=64 blocks=8 out 4096/4096 [in(13) stall, clear-halt 0x81] -> GOOD');
    expect(decodeStages(stagesOfPcap(raced)).lines).toEqual(expected.lines);
  });

  it('shows a phase error and the reset recovery after it', async () => {
    const { pcap } = await capture(async (t, sim) => {
      const device = await MscDevice.open(t);
      sim.inject({ kind: 'phase-error', opcode: 0x00 });
      await expect(device.lun(0).testUnitReady()).rejects.toThrow(/phase error/);
      await device.close();
    });
    const text = decodeStages(stagesOfPcap(parsePcap(pcap))).lines.join('\n');
    expect(text).toMatch(/#2 LUN 0 TEST UNIT READY -> PHASE-ERROR residue 0\nbulk-only-reset\nclear-halt 0x81\nclear-halt 0x02/);
  });

  it('describes CDB fields of the common commands', () => {
    expect(describeCdb(Uint8Array.of(0x28, 0, 0, 0, 1, 0, 0, 0, 8, 0))).toBe('lba=256 blocks=8');
    expect(describeCdb(Uint8Array.of(0x08, 0x01, 0x02, 0x03, 0, 0))).toBe('lba=66051 blocks=256');
    expect(describeCdb(Uint8Array.of(0x88, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0))).toBe('lba=4294967296 blocks=4096');
    expect(describeCdb(Uint8Array.of(0x12, 1, 0x80, 0, 0xff, 0))).toBe('vpd=0x80 alloc=255');
    expect(describeCdb(Uint8Array.of(0x1b, 0, 0, 0, 2, 0))).toBe('start=0 loej=1');
  });

  it('survives cut and garbage stages', () => {
    const stages = stagesOfTranscript(
      parseTranscript('usbms-transcript 1\ninfo maxPacketSizeIn=512 maxPacketSizeOut=512\nin 13 -> ok 5553425301\nout 55534243 -> ok\n'),
    );
    expect(decodeStages(stages).lines).toEqual(['bulk in 5 bytes outside a command', 'bulk out 4 bytes outside a command']);
  });
});
