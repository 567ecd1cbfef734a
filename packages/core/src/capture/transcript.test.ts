import { describe, expect, it } from 'vitest';
import { MscDevice } from '../device.js';
import { ParseError, ReplayMismatchError, TimeoutError } from '../errors.js';
import { SimulatedDevice } from '../sim/device.js';
import { RecordingTransport } from './recording-transport.js';
import { ReplayTransport } from './replay.js';
import { runTranscriptScenario } from './testing/transcript-scenario.js';
import { formatStep, parseTranscript, TranscriptRecorder } from './transcript.js';

/** Records `body` against a fresh simulator; returns the transcript text. */
async function record(body: (transport: RecordingTransport, sim: SimulatedDevice) => Promise<unknown>): Promise<string> {
  const sim = new SimulatedDevice({ luns: [{ blocks: 2048, blockSize: 512 }] });
  const recording = new RecordingTransport(sim.transport);
  let text = '';
  const recorder = new TranscriptRecorder(
    { write: (t) => (text += t) },
    { info: recording.info, concurrentPipes: recording.concurrentPipes, portReset: recording.portReset !== undefined, options: { earlyStatus: true } },
  );
  recording.on((event) => recorder.record(event));
  await body(recording, sim);
  return text;
}

describe('transcripts', () => {
  it('record -> parse -> format gives the same lines, with the header pinning info, pipes and options', async () => {
    const text = await record((t) => runTranscriptScenario(t));
    const transcript = parseTranscript(text);
    expect(transcript.info).toMatchObject({ maxPacketSizeIn: 512, vendorId: 0x1209, interfaceSubclass: 6 });
    expect(transcript.concurrentPipes).toBe(true);
    expect(transcript.portReset).toBe(true);
    expect(transcript.options).toEqual({ earlyStatus: 'true' });
    const stageLines = text.split('\n').filter((l) => l.includes(' -> '));
    expect(transcript.steps.map(formatStep)).toEqual(stageLines);
    // The vendor data-in command stalls its data stage, the host clears the halt (BOT 1.0 §6.7.2).
    expect(stageLines).toContain('in 16 -> stall');
    expect(stageLines).toContain('clear-halt in -> ok');
    expect(text).toMatch(/^# VENDOR SPECIFIC \(0xC7\) \(c7\), LUN 0, tag \d+, 16 bytes in$/m);
  });

  it('replays green: same answers, every stage played, CSW tags follow the host', async () => {
    const text = await record((t) => runTranscriptScenario(t));
    const live = await runTranscriptScenario(new SimulatedDevice({ luns: [{ blocks: 2048, blockSize: 512 }] }).transport);
    const replay = new ReplayTransport(text);
    expect(await runTranscriptScenario(replay)).toEqual(live);
    replay.assertFinished();
    expect(replay.closed).toBe(true);
  });

  it('normalises CBW tags: a host whose tags start elsewhere still replays', async () => {
    const text = await record((t) => runTranscriptScenario(t));
    const shifted = text.replace(
      /^out 55534243(..)/gm,
      (_m, tag: string) => `out 55534243${((Number.parseInt(tag, 16) + 100) & 0xff).toString(16).padStart(2, '0')}`,
    );
    const shiftedCsw = shifted.replace(
      /^in 13 -> ok 55534253(..)/gm,
      (_m, tag: string) => `in 13 -> ok 55534253${((Number.parseInt(tag, 16) + 100) & 0xff).toString(16).padStart(2, '0')}`,
    );
    expect(shiftedCsw).not.toBe(text);
    const replay = new ReplayTransport(shiftedCsw);
    await runTranscriptScenario(replay);
    replay.assertFinished();
  });

  it('a changed CDB byte fails at the CBW with a diff naming the command and the offset', async () => {
    const text = await record((t) => runTranscriptScenario(t));
    const replay = new ReplayTransport(text);
    await expect(runTranscriptScenario(replay, { lba: 65 })).rejects.toThrow();
    const failure = replay.failure;
    expect(failure).toBeInstanceOf(ReplayMismatchError);
    expect(failure?.message).toMatch(/command #5 WRITE\(10\) \(opcode 0x2a\): the host's CBW differs at byte 20 \(CDB byte 5\): transcript 0x40, host 0x41/);
    expect(failure?.message).toContain('transcript: ... 00 00 0a 2a 00 00 00 00 [40] 00');
    expect(failure?.details).toMatchObject({ offset: 20 });
    expect(() => replay.assertFinished()).toThrow(failure);
  });

  it('a changed data-out byte fails at the data stage with the command and offset', async () => {
    const text = await record((t) => runTranscriptScenario(t));
    const replay = new ReplayTransport(text);
    await expect(runTranscriptScenario(replay, { seed: 2 })).rejects.toThrow();
    expect(replay.failure?.message).toMatch(/WRITE\(10\) \(opcode 0x2a\): the host's data-out stage differs at byte 0: transcript 0x01, host 0x02/);
  });

  it('names a different stage: the host asks for a different transfer than the transcript has', async () => {
    const text = await record(async (t) => {
      const device = await MscDevice.open(t);
      await device.lun(0).testUnitReady();
      await device.close();
    });
    const replay = new ReplayTransport(text);
    const device = await MscDevice.open(replay);
    await expect(device.lun(0).readCapacity()).rejects.toThrow();
    expect(replay.failure?.message).toMatch(/the host's CBW differs at byte 8|the host sent/);
    expect(replay.failure?.message).toContain('TEST UNIT READY (opcode 0x00)');
  });

  it('records a timeout as an event and replays it as TimeoutError, with the recovery that followed', async () => {
    const body = async (t: RecordingTransport, sim: SimulatedDevice) => {
      const device = await MscDevice.open(t, { defaultTimeoutMs: 50 });
      sim.inject({ kind: 'hang', stage: 'data' });
      const failed = await device
        .lun(0)
        .read(0, 1)
        .then(
          () => 'ok',
          (e: unknown) => (e as Error).name,
        );
      await device.lun(0).testUnitReady();
      await device.close();
      return failed;
    };
    let failed: unknown;
    const text = await record(async (t, sim) => {
      failed = await body(t, sim);
    });
    expect(failed).toBe('TimeoutError');
    expect(text).toMatch(/^in 8 -> timeout$/m);
    expect(text).toMatch(/^ctrl bulk-only-reset -> ok$/m);
    const replay = new ReplayTransport(text);
    const device = await MscDevice.open(replay, { defaultTimeoutMs: 50 });
    await expect(device.lun(0).read(0, 1)).rejects.toBeInstanceOf(TimeoutError);
    await device.lun(0).testUnitReady();
    await device.close();
    replay.assertFinished();
  });

  it('reports a host that stops early', async () => {
    const text = await record((t) => runTranscriptScenario(t));
    const replay = new ReplayTransport(text);
    const device = await MscDevice.open(replay);
    expect(() => replay.assertFinished()).toThrow(/Replay ended early: the host stopped before transcript line \d+ \(a CBW for TEST UNIT READY/);
    await device.close();
  });

  it('parses strictly: errors name the line', () => {
    const head = 'usbms-transcript 1\ninfo maxPacketSizeIn=512 maxPacketSizeOut=512\n';
    expect(() => parseTranscript('')).toThrow(ParseError);
    expect(() => parseTranscript('hello')).toThrow(/line 1: expected "usbms-transcript 1"/);
    expect(() => parseTranscript('usbms-transcript 2')).toThrow(/version 2/);
    expect(() => parseTranscript('usbms-transcript 1\nin 1 -> ok 00')).toThrow(/no info line/);
    expect(() => parseTranscript(`${head}out 5 -> ok`)).toThrow(/line 3: .*hex/);
    expect(() => parseTranscript(`${head}in 2 -> ok 000102`)).toThrow(/line 3: 3 bytes answer a request of 2/);
    expect(() => parseTranscript(`${head}in x -> ok`)).toThrow(/line 3: in takes a length/);
    expect(() => parseTranscript(`${head}ctrl frobnicate -> ok`)).toThrow(/unknown control request/);
    expect(() => parseTranscript(`${head}out 00 -> ok 5`)).toThrow(/bytes written/);
    expect(() => parseTranscript(`${head}out 00 -> maybe`)).toThrow(/unknown result/);
    expect(() => parseTranscript(`${head}in 1`)).toThrow(/REQUEST -> RESULT/);
    expect(() => parseTranscript(`${head}pipes sideways`)).toThrow(/line 3/);
    expect(() => parseTranscript('usbms-transcript 1\ninfo maxPacketSizeIn=abc maxPacketSizeOut=512')).toThrow(/not a number/);
    const t = parseTranscript(
      `${head}# a comment\n\nin 4 -> ok 01\nout 0102 -> stall 1\nclear-halt out -> ok\nin 13 -> timeout\nport-reset -> error "gone away"\n`,
    );
    expect(t.steps.map((s) => [s.line, s.result.status])).toEqual([
      [5, 'ok'],
      [6, 'stall'],
      [7, 'ok'],
      [8, 'timeout'],
      [9, 'error'],
    ]);
    expect(t.steps.map(formatStep)).toEqual([
      'in 4 -> ok 01',
      'out 0102 -> stall 1',
      'clear-halt out -> ok',
      'in 13 -> timeout',
      'port-reset -> error "gone away"',
    ]);
  });
});
