import { describe, expect, it } from 'vitest';
import { MscDevice } from '../device.js';
import { SimulatedDevice } from '../sim/device.js';
import { decodeStages, describeCdb, stagesOfPcap, stagesOfTranscript } from './decode.js';
import { ChunkCollector, isCbw, type PcapUsbRecord, PcapWriter, parsePcap } from './pcap.js';
import { RecordingTransport } from './recording-transport.js';
import { runTranscriptScenario } from './testing/transcript-scenario.js';
import { parseTranscript, TranscriptRecorder } from './transcript.js';

async function capture(body: (t: RecordingTransport, sim: SimulatedDevice) => Promise<unknown>): Promise<{ pcap: Uint8Array; transcript: string }> {
  const sim = new SimulatedDevice({ luns: [{ blocks: 2048, blockSize: 512 }] });
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

  it("takes an early status read the kernel saw before its CBW as that command's status stage", async () => {
    // node-usb runs every transfer on its own thread, so the kernel (usbmon) may get the status read the
    // engine submits together with a CBW before the CBW itself. Rebuild that order from usbms's capture:
    // each status read submitted right after its CBW goes first.
    const { pcap } = await capture((t) => runTranscriptScenario(t));
    const records = parsePcap(pcap);
    const raced: PcapUsbRecord[] = [...records];
    let swapped = 0;
    for (let i = 0; i + 1 < raced.length; i++) {
      const [cbw, status] = [raced[i] as PcapUsbRecord, raced[i + 1] as PcapUsbRecord];
      const submitted = (r: PcapUsbRecord, inward: boolean): boolean =>
        r.header.type === 'S' && r.header.transferType === 3 && (r.header.endpoint & 0x80) === (inward ? 0x80 : 0);
      if (submitted(cbw, false) && isCbw(cbw.data) && submitted(status, true)) {
        raced.splice(i, 2, status, cbw);
        swapped += 1;
      }
    }
    // Every command without a data-in stage: TEST UNIT READY, WRITE(10), vendor C8h (data-out), SYNCHRONIZE CACHE.
    expect(swapped).toBe(4);
    const expected = decodeStages(stagesOfPcap(records));
    const decoded = decodeStages(stagesOfPcap(raced));
    expect(decoded.lines).toEqual(expected.lines);
    expect(decoded.lines.join('\n')).not.toMatch(/no CSW|outside a command/i);
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
