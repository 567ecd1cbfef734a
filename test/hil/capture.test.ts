// usbms's own capture against the kernel's: in the guest, one run of the transcript scenario is captured
// by usbms (RecordingTransport + PcapWriter, what --pcap writes) and by the kernel's usbmon (tshark -i
// usbmonN). Both decode to the same commands, data lengths, statuses and residues; tshark dissects every
// command of usbms's capture as SCSI over USB Mass Storage; the run's transcript replays.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { type DecodedCommand, decodeStages, parsePcap, ReplayTransport, stagesOfPcap } from '@usbms/core';
import { describe, expect, it } from 'vitest';
import { runTranscriptScenario } from '../../packages/core/src/capture/testing/transcript-scenario.js';
import { CAPTURE_PROFILES, runCapture } from './capture-run.js';

describe.each(CAPTURE_PROFILES)('%s: --pcap against the kernel usbmon capture', (profile) => {
  it('same commands, data lengths, statuses and residues; tshark dissects every command; the transcript replays', async () => {
    const run = await runCapture(profile);
    const ours = stagesOfPcap(parsePcap(run.usbmsPcap));
    const device = `${run.capture.busNumber}.${run.capture.address}`;
    expect(new Set(ours.map((s) => s.device))).toEqual(new Set([device]));
    // The kernel saw the whole bus (root hub, the kernel driver's own commands before and after): keep this device.
    const kernel = stagesOfPcap(parsePcap(run.kernelPcap)).filter((s) => s.device === device);
    // Per command: CDB (name and fields), dCBWDataTransferLength, CSW status and residue, the decoded answer
    // (sense, INQUIRY, capacity), bytes moved by the data stage, and the stall/clear-halt recovery.
    // Known difference, not compared: node-usb rounds every bulk-IN request up to a whole packet (a CSW read
    // is a 1024-byte URB on SuperSpeed), so where the device sends more than the command asked for the
    // kernel's URB completes with all of it while the adapter reports babble with what was asked for.
    const summary = (c: DecodedCommand, babble: boolean): string =>
      [
        c.name,
        c.fields,
        c.expected,
        c.status,
        c.residue,
        c.answer ?? '',
        babble ? 'overrun' : c.transferred,
        c.events
          .filter((e) => /stall|clear-halt|reset/.test(e))
          .map((e) => e.replace(/\(\d+\)/, ''))
          .join(','),
      ].join(' | ');
    const wanted = decodeStages(ours).commands.map((c) =>
      summary(
        c,
        c.events.some((e) => e.includes('babble')),
      ),
    );
    const seen = decodeStages(kernel).commands.map((c) => summary(c, c.direction === 'in' && c.transferred > c.expected));
    expect(wanted.length).toBeGreaterThan(10);
    const at = seen.findIndex((_l, i) => wanted.every((w, j) => seen[i + j] === w));
    expect(at, `usbms:\n${wanted.join('\n')}\n\nkernel usbmon:\n${seen.join('\n')}`).toBeGreaterThanOrEqual(0);

    // tshark (Debian's, outside the guest) on usbms's capture: every CBW is a SCSI command with its LUN and length.
    const dir = fs.mkdtempSync(path.join(run.result.jobDir, 'tshark-'));
    const file = path.join(dir, 'usbms.pcap');
    fs.writeFileSync(file, run.usbmsPcap);
    const rows = execFileSync(
      'tshark',
      [
        '-r',
        file,
        '-T',
        'fields',
        '-E',
        'occurrence=f',
        '-e',
        'usbms.dCBWLUN',
        '-e',
        'scsi_sbc.opcode',
        '-e',
        'scsi.spc.opcode',
        '-e',
        'usbms.dCBWDataTransferLength',
      ],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
      .split('\n')
      .filter((l) => /^0x/.test(l))
      .map((l) => l.split('\t'));
    const commands = decodeStages(ours).commands;
    expect(rows.map(([lun, a, b, len]) => [Number(lun), Number(a || b), Number(len)])).toEqual(commands.map((c) => [c.lun, c.opcode, c.expected]));

    const replay = new ReplayTransport(run.transcript);
    expect(await runTranscriptScenario(replay)).toEqual(run.capture.log);
    replay.assertFinished();
  });
});
