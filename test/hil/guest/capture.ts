// Inside the HIL guest: runs the transcript scenario (packages/core/src/capture/testing) on the profile's
// device through @usbms/node with a RecordingTransport, and writes to $HIL_OUT:
//   transcript.txt  the transcript (the fixture `pnpm fixtures:transcripts` checks in)
//   usbms.pcap      usbms's own capture of the run (--pcap's writer)
//   kernel.pcap     the kernel's usbmon capture of the same run (tshark -i usbmonN, an independent oracle)
//   capture.json    the scenario's log, bus/address, errors
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ChunkCollector, PcapWriter, RecordingTransport, TranscriptRecorder } from '@usbms/core';
import { listDevices, openTransport } from '@usbms/node';
import { runTranscriptScenario } from '../../../packages/core/src/capture/testing/transcript-scenario.js';
import { getProfile } from '../profiles.js';
import { hilOut, hilProfile, writeResult } from './host.js';

const profile = getProfile(hilProfile());
const out = hilOut();

/** Starts tshark on the bus's usbmon interface; resolves once it captures. */
async function startUsbmon(bus: number, file: string): Promise<ChildProcess> {
  const child = spawn('tshark', ['-i', `usbmon${bus}`, '-F', 'pcap', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tshark did not start capturing on usbmon${bus} within 120 s: ${stderr}`)), 120_000);
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/Capturing on/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tshark exited (${code}) before capturing: ${stderr}`));
    });
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  await exited;
}

const result: Record<string, unknown> = { profile: profile.name };
try {
  const info = (await listDevices()).find((d) => d.serialNumber === profile.expect.serial);
  if (info === undefined) throw new Error(`no device with serial ${profile.expect.serial}`);
  result.busNumber = info.busNumber;
  result.address = info.address;
  const usbmon = await startUsbmon(info.busNumber ?? 1, path.join(out, 'kernel.pcap'));
  // Let tshark's first buffers reach the file before the run starts.
  await new Promise((r) => setTimeout(r, 1000));
  const transport = await openTransport(info);
  const recording = new RecordingTransport(transport);
  const pcapSink = new ChunkCollector();
  const pcap = new PcapWriter(pcapSink, { info: recording.info });
  let text = '';
  const recorder = new TranscriptRecorder(
    { write: (t) => (text += t) },
    {
      info: recording.info,
      concurrentPipes: recording.concurrentPipes,
      portReset: recording.portReset !== undefined,
      comments: [
        `${profile.description}: the transcript scenario (packages/core/src/capture/testing/transcript-scenario.ts)`,
        'regenerate: pnpm fixtures:transcripts',
      ],
    },
  );
  recording.on((event) => {
    pcap.record(event);
    recorder.record(event);
  });
  result.log = await runTranscriptScenario(recording);
  await new Promise((r) => setTimeout(r, 1000));
  await stop(usbmon);
  fs.writeFileSync(path.join(out, 'transcript.txt'), text);
  fs.writeFileSync(path.join(out, 'usbms.pcap'), pcapSink.bytes());
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
}
writeResult('capture.json', result);
process.exit(result.ok === true ? 0 : 1);
