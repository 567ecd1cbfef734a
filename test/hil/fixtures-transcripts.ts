// `pnpm fixtures:transcripts [PROFILE...]`: records the transcript scenario on each Bulk-Only HIL device
// (every profile of BOT_PROFILE_NAMES: QEMU usb-storage on xHCI and EHCI, usb-bot with two LUNs, Linux's
// f_mass_storage gadget at high speed and SuperSpeed; or only the profiles named) and writes the
// transcripts the unit suite replays to packages/core/src/capture/fixtures/<profile>.transcript. A
// transcript is written only once it replays: the scenario run against it gives the same answers and
// consumes every stage. Needs the HIL guest (test/hil/setup.sh, which the pnpm script runs first).
import fs from 'node:fs';
import path from 'node:path';
import { ReplayTransport } from '@usbms/core';
import { runTranscriptScenario } from '../../packages/core/src/capture/testing/transcript-scenario.js';
import { runCapture } from './capture-run.js';
import { BOT_PROFILE_NAMES, type ProfileName } from './profiles.js';
import { REPO_ROOT } from './runner.js';

const named = process.argv.slice(2);
const unknown = named.filter((n) => !BOT_PROFILE_NAMES.includes(n as ProfileName));
if (unknown.length > 0) {
  console.error(`not a Bulk-Only HIL profile: ${unknown.join(', ')} (known: ${BOT_PROFILE_NAMES.join(', ')})`);
  process.exit(2);
}
const profiles = named.length > 0 ? (named as ProfileName[]) : BOT_PROFILE_NAMES;

const dir = path.join(REPO_ROOT, 'packages/core/src/capture/fixtures');
fs.mkdirSync(dir, { recursive: true });
for (const profile of profiles) {
  const run = await runCapture(profile);
  const replay = new ReplayTransport(run.transcript);
  const log = await runTranscriptScenario(replay);
  replay.assertFinished();
  if (JSON.stringify(log) !== JSON.stringify(run.capture.log)) {
    throw new Error(`${profile}: the transcript replays to\n${log.join('\n')}\nbut the device answered\n${run.capture.log?.join('\n')}`);
  }
  const file = path.join(dir, `${profile}.transcript`);
  fs.writeFileSync(file, run.transcript);
  console.log(`${file}: ${run.transcript.split('\n').filter((l) => l.includes(' -> ')).length} stages; ${run.capture.log?.join('; ')}`);
}
