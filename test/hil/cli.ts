// Command-line wrapper of the runner, for poking at a device profile by hand:
//   node --import tsx test/hil/cli.ts --profile xhci-storage [--timeout 300] [--keep-quiet] -- <command...>
//   node --import tsx test/hil/cli.ts --list
// Boots the guest, runs the command in this directory, streams its output, exits with its exit code
// (or 125 if the guest could not be started: QEMU missing, setup failed, hard timeout).
import { PROFILE_NAMES, PROFILES } from './profiles.js';
import { HilInfrastructureError, runInGuest } from './runner.js';

function usage(): never {
  console.error(`usage: cli.ts --profile NAME [--timeout SECONDS] [--quiet] -- COMMAND [ARGS...]\n       cli.ts --list\nprofiles: ${PROFILE_NAMES.join(', ')}`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const dashdash = argv.indexOf('--');
const flags = dashdash >= 0 ? argv.slice(0, dashdash) : argv;
const command = dashdash >= 0 ? argv.slice(dashdash + 1) : [];

if (flags.includes('--list')) {
  for (const name of PROFILE_NAMES) console.log(`${name.padEnd(14)} ${PROFILES[name].description}`);
  process.exit(0);
}
const flagValue = (name: string): string | undefined => {
  const i = flags.indexOf(name);
  return i >= 0 ? flags[i + 1] : undefined;
};
const profile = flagValue('--profile');
if (!profile || command.length === 0) usage();
const timeoutSeconds = Number(flagValue('--timeout') ?? '300');

try {
  const result = await runInGuest({
    profile: profile as (typeof PROFILE_NAMES)[number],
    command,
    timeoutMs: timeoutSeconds * 1000,
    echo: !flags.includes('--quiet'),
  });
  if (flags.includes('--quiet')) {
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
  }
  console.error(
    `[hil] ${result.profile}: exit ${result.exitCode}; devices ready at ${result.bootSeconds ?? '?'} s guest uptime; ` +
      `${(result.durationMs / 1000).toFixed(1)} s wall; job folder ${result.jobDir}`,
  );
  process.exit(result.exitCode);
} catch (error) {
  if (error instanceof HilInfrastructureError) {
    console.error(`[hil] INFRASTRUCTURE FAILURE: ${error.message}`);
    process.exit(125);
  }
  throw error;
}
