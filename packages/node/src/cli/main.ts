/**
 * `usbms`: talk SCSI to USB mass-storage devices from the command line.
 * Follows sg3_utils habits: one readable error line with the sense decoded,
 * sg3_utils exit codes, `--json` for scripts, `--sim` to try it without hardware.
 */
import { AbortError, formatSense, serializeError, UsbmsError } from '@usbms/core';
import { Command, CommanderError, Option } from 'commander';
import { messageOf } from '../map-error.js';
import { cmdIdentify, cmdSmart, collect, normalizeSmartArgs, type SmartCliOptions } from './ata.js';
import { cmdBench, cmdRead, cmdWrite } from './block-io.js';
import { cmdDecode } from './capture.js';
import { cmdCapacity, cmdEject, cmdInquiry, cmdSense, cmdTur } from './commands.js';
import { CliContext, type GlobalOptions } from './context.js';
import { CliError, CliErrorCode, ExitCode, exitCodeFor, exitCodeHelp, osErrorOf, senseOf } from './exit.js';
import { toJson } from './format.js';
import { cmdDump, cmdRestore, type RestoreOptions } from './image.js';
import { cmdList, cmdWatch } from './list.js';
import { cmdRaw, type RawOptions } from './raw.js';
import { DEFAULT_LISTEN, type ServeOptions } from './serve-options.js';
import { SIZE_UNITS_HELP } from './units.js';

const interrupt = new AbortController();
let interrupted = false;

/**
 * The `--json` form of an error: a stable `code` that says what failed
 * (USAGE, FILE, the core's TIMEOUT/CHECK_CONDITION/..., never TRANSPORT for
 * a file problem), the message, and the exit code.
 */
export function errorJson(error: unknown, exitCode: number): Record<string, unknown> {
  let serialized: Record<string, unknown>;
  if (error instanceof CliError) {
    serialized = { name: error.name, code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) };
  } else if (error instanceof UsbmsError) {
    serialized = { ...serializeError(error) };
  } else {
    const os = osErrorOf(error);
    serialized =
      os === undefined
        ? { name: error instanceof Error ? error.name : 'Error', code: CliErrorCode.Other, message: messageOf(error) }
        : { name: 'FileError', code: CliErrorCode.File, message: messageOf(error), details: { errno: os.code } };
  }
  return { error: serialized, exitCode };
}

/** One line: what failed and why, with the sense decoded; the stack only with --verbose. */
function reportError(error: unknown, options: GlobalOptions, command: string, ctx?: CliContext): number {
  const code = interrupted || (error instanceof UsbmsError && error instanceof AbortError) ? ExitCode.Interrupted : exitCodeFor(error);
  if (options.json === true) {
    const text = `${toJson(errorJson(error, code))}\n`;
    // With `-o -` stdout carries the data: the JSON report goes to stderr.
    (ctx?.stdoutIsData === true ? process.stderr : process.stdout).write(text);
  }
  let message = messageOf(error);
  if (code === ExitCode.Interrupted) message = `interrupted${message && !/abort|interrupt/i.test(message) ? ` (${message})` : ''}`;
  const sense = senseOf(error);
  if (sense !== undefined && !message.includes(formatSense(sense))) message += ` [${formatSense(sense)}]`;
  const codeName = error instanceof UsbmsError || error instanceof CliError ? ` (${error.code})` : '';
  // Core errors are one line; the CLI's own (a resume refusal with both identities) may span several.
  const text = error instanceof CliError ? message : message.replace(/\s*\n\s*/g, ' ');
  process.stderr.write(`usbms ${command}: ${text}${options.verbose === true ? codeName : ''}\n`);
  if (options.verbose === true && error instanceof Error) {
    process.stderr.write(`${error.stack ?? ''}\n`);
    let cause: unknown = error.cause;
    while (cause instanceof Error) {
      process.stderr.write(`caused by: ${cause.stack ?? cause.message}\n`);
      cause = cause.cause;
    }
  }
  return code;
}

/** Wraps a subcommand: builds the context, runs it, always closes the device, sets the exit code. */
// biome-ignore lint/suspicious/noConfusingVoidType: subcommands return an exit code or nothing at all.
function action<A extends unknown[]>(fn: (ctx: CliContext, ...args: A) => Promise<number | void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args.at(-1) as Command;
    const options = cmd.optsWithGlobals<GlobalOptions>();
    const ctx = new CliContext(options, interrupt.signal);
    let code: number = ExitCode.Ok;
    try {
      // commander passes (...positional, options, command); our handlers take (...positional, options).
      const result = await fn(ctx, ...(args.slice(0, -1) as A));
      if (typeof result === 'number') code = result;
    } catch (error) {
      code = reportError(error, options, cmd.name(), ctx);
    } finally {
      await ctx.close();
    }
    if (interrupted) {
      if (ctx.whole && code === ExitCode.Ok) process.stderr.write(`usbms ${cmd.name()}: interrupted after it had finished; its result stands (exit 0)\n`);
      else code = ExitCode.Interrupted;
    }
    process.exitCode = code;
  };
}

export function buildProgram(): Command {
  const program = new Command('usbms')
    // Usage errors throw (CommanderError) instead of exiting, so main() reports them (exit 1, --json too).
    .exitOverride()
    .description('Send SCSI commands to USB mass-storage devices (Bulk-Only Transport) from user space.')
    .version('0.1.0')
    .option('-d, --device <id>', 'device: VID:PID[:SERIAL] (hex), an index from `usbms list`, or (Linux) its disk /dev/sdX')
    .option('--sim', 'use the simulated device (RAM); --sim=FILE backs it with an image file so data persists across runs')
    .addOption(new Option('--sim-image <file>', 'same as --sim=FILE').hideHelp())
    .option('--sim-size <bytes>', 'size of a new simulated medium or image (e.g. 64M)', '64M')
    .addOption(new Option('--sim-latency <ms>', 'added latency per simulated USB transfer').hideHelp())
    .addOption(new Option('--sim-bridge <kind>', 'the simulated disk sits in an emulated vendor bridge (jmicron, cypress, sunplus, nvme-*)').hideHelp())
    .addOption(new Option('--sim-no-medium', 'simulate an empty card-reader slot').hideHelp())
    .addOption(new Option('--sim-bad-lba <lbas>', 'simulated unreadable blocks, comma-separated').hideHelp())
    .addOption(new Option('--sim-id <vid:pid>', 'USB VID:PID[:SERIAL] the simulated device reports').hideHelp())
    .option('-l, --lun <n>', 'logical unit number', '0')
    .option('-t, --timeout <ms>', 'per-command timeout in milliseconds')
    .option('--json', 'machine-readable JSON output (errors too)')
    .option('-v, --verbose', 'the quirk rules that matched the device; stack traces and error codes on failure')
    .option('-f, --force', 'detach the kernel driver even if a partition of the disk is mounted (loses its cached writes)')
    .option('--no-reattach', 'leave the kernel driver detached on exit')
    .option('--interface <n>', 'interface number to use')
    .option('--vendor-interface <n>', 'treat this vendor-class (0xFF) interface as Bulk-Only')
    .option('--backend <name>', 'usb (node-usb, the default) or usbfs (Linux: usbfs ioctls straight from usbms); default from USBMS_BACKEND')
    .option(
      '--max-transfer <bytes>',
      'largest READ/WRITE command, e.g. 4M (default 120K below SuperSpeed, 1M at SuperSpeed; larger is faster where the device takes it)',
    )
    .option('--pcap <file>', 'capture the USB traffic to FILE as pcap (usbmon, Wireshark/tshark dissect it), streamed as it happens')
    .option('--pcap-snaplen <bytes>', 'bytes of each data stage kept in --pcap (default 64; 0 = all). CBWs, CSWs and control transfers are always whole')
    .option('--record <file>', 'record a transcript of the exchange to FILE (replayable, see docs/transcript-format.md)')
    .showHelpAfterError('(run `usbms --help` for usage)')
    .addHelpText(
      'after',
      `
Examples:
  usbms list
  usbms --device 0781:5567 inquiry
  usbms --sim capacity
  usbms --sim=disk.img write 0 -i boot.bin --yes
  usbms raw 12 00 00 00 24 00 --in 36
  usbms identify ; usbms smart -a ; usbms smart -t short ; usbms smart -l selftest
  usbms dump -o stick.img            # Ctrl-C, then run again to resume

Sizes (--size, --in, --max-transfer, ...): ${SIZE_UNITS_HELP}; 0x for hex.

Exit codes (sg3_utils 1.46 conventions, plus 130):
${exitCodeHelp()}`,
    );

  program
    .command('list')
    .description('list USB mass-storage devices and their interfaces')
    .action(action((ctx) => cmdList(ctx)));
  program
    .command('watch')
    .description('print mass-storage devices as they are plugged in and out (Ctrl-C to stop)')
    .action(action((ctx) => cmdWatch(ctx)));

  program
    .command('inquiry')
    .description('standard INQUIRY data and VPD pages (serial number, identification, block limits)')
    .option('--no-vpd', 'standard INQUIRY only (some devices hang on VPD requests)')
    .option('-p, --page <page>', 'one VPD page, decoded and dumped: sg_inq name (sn, di, bl, bdc, ai, ...) or number (0x80)')
    .action(action((ctx, opts: { vpd?: boolean; page?: string }) => cmdInquiry(ctx, opts)));

  program
    .command('capacity')
    .description('READ CAPACITY: last LBA, block size, size')
    .option('--16', 'READ CAPACITY(16): also physical block size, protection and thin provisioning (sg_readcap --16)')
    .action(action((ctx, opts: Record<string, boolean | undefined>) => cmdCapacity(ctx, { long: opts['16'] === true })));
  program
    .command('sense')
    .description('REQUEST SENSE, decoded')
    .option('--desc', 'ask for descriptor-format sense data (DESC bit)')
    .action(action((ctx, opts: { desc?: boolean }) => cmdSense(ctx, opts)));
  program
    .command('tur')
    .description('TEST UNIT READY (exit 2 when not ready)')
    .option('-n, --number <n>', 'send N commands and report timing, like sg_turs -n N (exit code of the last failure)')
    .action(action((ctx, opts: { number?: string }) => cmdTur(ctx, opts)));
  program
    .command('eject')
    .description('allow removal and eject the medium (START STOP UNIT LoEj)')
    .action(action((ctx) => cmdEject(ctx)));

  program
    .command('raw')
    .description('send any CDB, sg_raw style: prints the CDB with its name, status, residue, decoded sense and a hex dump')
    .argument('<cdb...>', 'CDB bytes in hex, one byte per word like sg_raw (12 00 00 00 24 00), or one word for the whole CDB (120000002400)')
    .option('--in <bytes>', 'receive up to N bytes of data in (sg_raw --request)')
    .option('--out <file>', 'send FILE as data out ("-" = stdin)')
    .option('--data <hex>', 'send these hex bytes as data out, e.g. "de ad be ef"')
    .option('--send <bytes>', 'send exactly N bytes of data out (from --out/--data, default stdin), like sg_raw --send')
    .option('--skip <bytes>', 'skip the first N bytes of the data-out source, like sg_raw --skip')
    .option('-o, --output <file>', 'save data in to FILE ("-" = stdout; the report then goes to stderr)')
    .addOption(new Option('--save <file>', 'same as --output').hideHelp())
    .option('--dump', 'hex dump data in even when saved')
    .option('--dry-run', 'print the CDB and exit without opening the device')
    .option('--pdt <type>', "peripheral device type for opcode names (default: the LUN's; e.g. 5 for CD/DVD: A1h is BLANK)")
    .option('--flush', 'SYNCHRONIZE CACHE this LUN before exit (write-class opcodes get it anyway; vendor data-out only with --flush)')
    .action(action((ctx, cdb: string[], opts: RawOptions) => cmdRaw(ctx, cdb, opts)));

  program
    .command('read')
    .description('read blocks; hex dump, or save with -o (- for stdout)')
    .argument('<lba>', 'first logical block address')
    .argument('<blocks>', 'number of blocks')
    .option('-o, --output <file>', 'write the data to FILE ("-" = stdout)')
    .action(action((ctx, lba: string, blocks: string, opts: { output?: string }) => cmdRead(ctx, lba, blocks, opts)));

  program
    .command('write')
    .description('write a file at an LBA (asks for confirmation; --yes to skip)')
    .argument('<lba>', 'first logical block address')
    .requiredOption('-i, --input <file>', 'data to write (a whole number of blocks)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--verify', 'read back and compare')
    .option('--pad', 'zero-fill the last partial block')
    .action(action((ctx, lba: string, opts: { input: string; yes?: boolean; verify?: boolean; pad?: boolean }) => cmdWrite(ctx, lba, opts)));

  program
    .command('dump')
    .description('copy a LUN to an image file; resumable (FILE.partial + FILE.partial.json)')
    .requiredOption('-o, --output <file>', 'image file to create')
    .option('--lba <n>', 'first block (default 0)')
    .option('--count <n>', 'number of blocks (default: to the end)')
    .option('--chunk-blocks <n>', 'blocks per READ command')
    .option('--skip-bad', 'zero-fill unreadable blocks (MEDIUM/HARDWARE ERROR) and log them instead of stopping')
    .option('--bad-log <file>', 'where --skip-bad logs unreadable blocks (default FILE.badblocks)')
    .option('--no-resume', 'start over even if FILE.partial exists')
    .option('--overwrite', 'replace an existing FILE')
    .action(action((ctx, opts: Parameters<typeof cmdDump>[1]) => cmdDump(ctx, opts)));

  program
    .command('restore')
    .description('write an image file back to a LUN (asks for confirmation; --yes to skip)')
    .requiredOption('-i, --input <file>', 'image file')
    .option('--lba <n>', 'first block (default 0)')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--verify', 'read back and compare')
    .option('--no-resume', 'start over even if FILE.restore.json records an interrupted restore')
    .action(action((ctx, opts: RestoreOptions) => cmdRestore(ctx, opts)));

  program
    .command('identify')
    .description('ATA IDENTIFY DEVICE through SAT ATA PASS-THROUGH: model, serial, firmware, capacity, sector sizes, features')
    .option('--cdb12', 'use ATA PASS-THROUGH(12) (bridges that only know A1h)')
    .option('--bridge <kind>', BRIDGE_HELP)
    .action(action((ctx, opts: { cdb12?: boolean; bridge?: string }) => cmdIdentify(ctx, opts)));

  program
    .command('smart')
    .description('ATA SMART through SAT, smartctl style (default -H -A); exit 36 when the drive says FAILED')
    .option('-H, --health', "SMART RETURN STATUS: the drive's own overall health self-assessment")
    .option('-A, --attributes', 'attributes with thresholds, raw values decoded')
    .option('-a, --all', 'identity, health, attributes, error and self-test logs')
    .option('--log <name>', '-l: error | selftest | xselftest | directory | gplog-directory (repeatable)', collect)
    .option('--test <test>', '-t: start a self-test: short | long | conveyance | offline')
    .option('-X, --abort', 'abort the running self-test')
    .option('--cdb12', 'use ATA PASS-THROUGH(12) (bridges that only know A1h)')
    .option('--bridge <kind>', BRIDGE_HELP)
    .addHelpText(
      'after',
      `
-l and -t after "smart" mean --log and --test, as in smartctl (elsewhere they are --lun and --timeout).
Health: PASSED means the drive reports no pre-failure attribute at or below its threshold (smartctl's
meaning: a drive can fail without warning while PASSED; FAILED predicts failure within 24 hours).
Exit status: 0 PASSED, 36 FAILED or a pre-fail attribute failing now (sg3_utils' "false"), otherwise
the sg3_utils codes (e.g. 9 when the bridge does not know ATA PASS-THROUGH, 11 when the drive aborts
the ATA command).`,
    )
    .action(action((ctx, opts: SmartCliOptions) => cmdSmart(ctx, opts)));

  program
    .command('bench')
    .description('sequential read (and with --write, write) throughput and TEST UNIT READY latency')
    .option('--size <bytes>', 'bytes to read/write (default 16 MiB)')
    .option('--lba <n>', 'first block (default 0)')
    .option('--turs <n>', 'TEST UNIT READY commands to time (default 100)')
    .option('--write', 'also time writes (reads the region first and writes the same data back)')
    .option('-y, --yes', 'do not ask for confirmation of --write')
    .action(action((ctx, opts: { size?: string; turs?: string; write?: boolean; yes?: boolean; lba?: string }) => cmdBench(ctx, opts)));

  program
    .command('decode')
    .description('print a pcap capture (usbmon) or a transcript as SCSI commands: opcode, CDB fields, data length, status, residue, sense')
    .argument('<file>', "a .pcap (from --pcap, or the kernel's usbmon via tshark -F pcap) or a transcript (from --record); - for stdin")
    .action(action((ctx, file: string) => cmdDecode(ctx, file)));

  program
    .command('serve')
    .description('serve the device(s) to other processes and browsers over WebSocket or a Unix socket (token required; docs/remote-protocol.md)')
    .option('--listen <host:port>', `WebSocket address (default ${DEFAULT_LISTEN}; loopback only unless you name another address)`)
    .option('--socket <path>', 'also (or, without --listen, only) serve on this Unix socket')
    .option('--read-only', 'the token allows only reading commands (no data-out, no vendor opcodes unless --allow-vendor)')
    .option('--allow-origin <origin>', 'browser origin allowed to connect besides the device tool (repeatable)', (v: string, all: string[] = []) => [...all, v])
    .option('--allow-vendor <opcodes>', 'vendor opcodes (hex, comma-separated) read-only tokens may send')
    .option('--token-file <file>', 'where to write the token (default ~/.usbms/serve.token, mode 0600)')
    .option('--max-in-flight <n>', 'commands one client may have queued at once (default 64)')
    .action(action(async (ctx, opts: ServeOptions) => (await import('./serve.js')).cmdServe(ctx, opts)));

  return program;
}

/** --bridge help: the pass-throughs and smartctl's name for each. */
const BRIDGE_HELP =
  'pass-through: auto (USB ID table, then a SAT probe; default) | sat | jmicron | cypress | sunplus | nvme-jmicron | nvme-asmedia | nvme-realtek (smartctl -d sat, usbjmicron, usbcypress, usbsunplus, sntjmicron, sntasmedia, sntrealtek)';

/**
 * `--sim=FILE` -> `--sim --sim-image FILE`. (A commander option with an
 * optional value would swallow the subcommand in `usbms --sim inquiry`.)
 */
export function normalizeArgs(argv: string[]): string[] {
  return normalizeSmartArgs(argv.flatMap((arg, i) => (i >= 2 && arg.startsWith('--sim=') ? ['--sim', '--sim-image', arg.slice('--sim='.length)] : [arg])));
}

/** True when the raw arguments ask for --json (usage errors happen before options are parsed). */
function wantsJson(argv: readonly string[]): boolean {
  return argv.slice(2).includes('--json');
}

export async function main(argv: string[] = process.argv): Promise<void> {
  process.on('SIGINT', () => {
    if (interrupted) {
      // Second Ctrl-C: give up on a clean close.
      process.exit(ExitCode.Interrupted);
    }
    interrupted = true;
    interrupt.abort(new AbortError('Interrupted (SIGINT)'));
  });
  try {
    await buildProgram().parseAsync(normalizeArgs(argv));
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // --help and --version end here too, with exit code 0; commander already printed them.
    if (error.exitCode === 0) {
      process.exitCode = ExitCode.Ok;
      return;
    }
    // Commander printed the message on stderr; scripts asking for JSON get it on stdout as well.
    if (wantsJson(argv)) {
      const usage = new CliError(error.message.replace(/^error: /, ''), {
        exitCode: ExitCode.Syntax,
        code: CliErrorCode.Usage,
        details: { commander: error.code },
      });
      process.stdout.write(`${toJson(errorJson(usage, ExitCode.Syntax))}\n`);
    }
    process.exitCode = ExitCode.Syntax;
  }
}
