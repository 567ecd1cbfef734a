// `pnpm fixtures:transcripts`: records the transcript scenario on each HIL device (QEMU usb-storage and
// Linux's f_mass_storage gadget) and writes the transcripts the unit suite replays to
// packages/core/src/capture/fixtures/<profile>.transcript. Needs the HIL guest (test/hil/setup.sh).
import fs from 'node:fs';
import path from 'node:path';
import { CAPTURE_PROFILES, runCapture } from './capture-run.js';
import { REPO_ROOT } from './runner.js';

const dir = path.join(REPO_ROOT, 'packages/core/src/capture/fixtures');
fs.mkdirSync(dir, { recursive: true });
for (const profile of CAPTURE_PROFILES) {
  const run = await runCapture(profile);
  const file = path.join(dir, `${profile}.transcript`);
  fs.writeFileSync(file, run.transcript);
  console.log(`${file}: ${run.transcript.split('\n').filter((l) => l.includes(' -> ')).length} stages; ${run.capture.log?.join('; ')}`);
}
