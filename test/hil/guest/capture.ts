// Inside the HIL guest: runs the transcript scenario (packages/core/src/capture/testing) on the profile's
// device through @usbms/node with a RecordingTransport, and writes to $HIL_OUT:
//   transcript.txt  the transcript (the fixture `pnpm fixtures:transcripts` checks in)
//   usbms.pcap      usbms's own capture of the run (--pcap's writer)
//   kernel.pcap     the kernel's usbmon capture of the same run (tshark -i usbmonN, an independent oracle)
//   capture.json    the scenario's log, bus/address, tshark's report, errors
// HIL_CAPTURE_STRESS=N runs N busy loops in the guest during the run (tshark and node-usb's transfer threads
// then compete for the CPU), to check that the comparison holds on a starved machine.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChunkCollector, type PcapUsbRecord, PcapWriter, parsePcap, RecordingTransport, TranscriptRecorder } from '@usbms/core';
import { listDevices, type MscDeviceInfo, openTransport, UsbfsTransport } from '@usbms/node';
import { runTranscriptScenario } from '../../../packages/core/src/capture/testing/transcript-scenario.js';
import { getProfile } from '../profiles.js';
import { hilOut, hilProfile, writeResult } from './host.js';

const profile = getProfile(hilProfile());
const out = hilOut();

interface Usbmon {
  child: ChildProcess;
  file: string;
  /** tshark's stderr so far (its closing report: packets captured, and dropped if any). */
  stderr(): string;
}

/** Starts tshark on the bus's usbmon interface; resolves once it captures. */
async function startUsbmon(bus: number, file: string): Promise<Usbmon> {
  const child = spawn('tshark', ['-i', `usbmon${bus}`, '-F', 'pcap', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tshark did not start capturing on usbmon${bus} within 120 s: ${stderr}`)), 120_000);
    child.stderr?.on('data', () => {
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
  return { child, file, stderr: () => stderr };
}

/** The capture file's records so far; undefined while its last record is still being written. */
function recordsSoFar(file: string): PcapUsbRecord[] | undefined {
  try {
    return parsePcap(new Uint8Array(fs.readFileSync(file)));
  } catch {
    return undefined;
  }
}

/**
 * Stops the usbmon capture once it holds everything that happened on the bus before `since` (ms since the
 * epoch). usbmon queues events in the order they happen and tshark (dumpcap) writes them in that order,
 * but it reads the queue on its own schedule, and whatever it has not read when it is stopped is lost:
 * stopping after a fixed delay cuts the end of the run off whenever tshark lags behind (a busy guest).
 * So a GET_STATUS (USB 2.0 §9.4.5) to the device after `since` puts one event on the bus, and the capture
 * is stopped once the file holds an event stamped at or after `since`: every earlier one is then in it.
 * Events usbmon itself dropped (its buffer full) are reported by tshark, and fail the run.
 */
async function drainAndStop(usbmon: Usbmon, info: MscDeviceInfo, since: number): Promise<void> {
  const device = info.device;
  await device.open();
  try {
    await device.nativeControlTransferIn({ requestType: 'standard', recipient: 'device', request: 0x00, value: 0, index: 0 }, 5000, 2);
  } finally {
    await device.close();
  }
  const deadline = Date.now() + 120_000;
  while (!(recordsSoFar(usbmon.file) ?? []).some((r) => r.time * 1000 >= since)) {
    if (Date.now() > deadline) throw new Error(`the usbmon capture holds no event after the run within 120 s: ${usbmon.stderr()}`);
    await sleep(100);
  }
  const exited = new Promise<void>((resolve) => usbmon.child.once('exit', () => resolve()));
  usbmon.child.kill('SIGINT');
  await exited;
  const dropped = Number(/(\d+) packets? dropped/.exec(usbmon.stderr())?.[1] ?? 0);
  if (dropped > 0) throw new Error(`usbmon dropped ${dropped} events, the kernel's capture is incomplete: ${usbmon.stderr()}`);
}

const result: Record<string, unknown> = { profile: profile.name };
const hogs: ChildProcess[] = [];
let usbmon: Usbmon | undefined;
try {
  const info = (await listDevices()).find((d) => d.serialNumber === profile.expect.serial);
  if (info === undefined) throw new Error(`no device with serial ${profile.expect.serial}`);
  result.busNumber = info.busNumber;
  result.address = info.address;
  usbmon = await startUsbmon(info.busNumber ?? 1, path.join(out, 'kernel.pcap'));
  // Let tshark's first buffers reach the file before the run starts.
  await new Promise((r) => setTimeout(r, 1000));
  const transport = await openTransport(info);
  // Which @usbms/node backend recorded it (usbfs, the default on Linux, or node-usb with USBMS_BACKEND=usb).
  const backend = transport instanceof UsbfsTransport ? 'usbfs' : 'usb';
  result.backend = backend;
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
        `recorded through the @usbms/node backend ${backend}`,
        'regenerate: pnpm fixtures:transcripts',
      ],
    },
  );
  recording.on((event) => {
    pcap.record(event);
    recorder.record(event);
  });
  for (let i = 0; i < Number(process.env.HIL_CAPTURE_STRESS ?? 0); i++) hogs.push(spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
  result.log = await runTranscriptScenario(recording);
  await drainAndStop(usbmon, info, Date.now());
  fs.writeFileSync(path.join(out, 'transcript.txt'), text);
  fs.writeFileSync(path.join(out, 'usbms.pcap'), pcapSink.bytes());
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
}
for (const hog of hogs) hog.kill('SIGKILL');
result.tshark = usbmon?.stderr();
writeResult('capture.json', result);
process.exit(result.ok === true ? 0 : 1);
