/**
 * `MscDevice`: one claimed mass-storage interface. This file owns opening (Get Max LUN, INQUIRY of
 * each LUN, quirk matching on the descriptor and then on INQUIRY), the command path (one queue job per
 * command: CBW, data, CSW and the automatic REQUEST SENSE; typed commands with the retry policy's
 * decisions carried out) and closing. What callers pass in is in device-options.ts, the checks before
 * anything is sent in command-checks.ts, the commands of one LUN in logical-unit.ts.
 */
import { abortReason } from './bot/abort.js';
import { BotEngine } from './bot/engine.js';
import { checkExecuteRequest, checkLun, refuseIfReadOnly, type Transaction } from './command-checks.js';
import { Exchanges, PIPELINE_COMMANDS, type PipelinedCommand, type PipelineStep } from './device-exchanges.js';
import {
  type BlockReadOptions,
  type BlockWriteOptions,
  type CloseOptions,
  checkOpenOptions,
  DEFAULT_TIMEOUT_MS,
  defaultMaxTransferBytes,
  type ExecuteRequest,
  type ExecuteResult,
  type MscDeviceOptions,
  type RunOptions,
} from './device-options.js';
import { DeviceLifecycle, type DeviceState } from './device-state.js';
import { BabbleError, InvalidArgumentError, ScsiCheckConditionError, WriteProtectedError } from './errors.js';
import { LogicalUnit } from './logical-unit.js';
import { CommandQueue } from './queue.js';
import { describeQuirkRule, matchQuirks, type QuirkMatchInput, type QuirkRule, type Quirks } from './quirks.js';
import { decideRetry } from './retry-policy.js';
import type { Capacity } from './scsi/capacity.js';
import type { CommandOptions, ScsiCommand } from './scsi/command.js';
import * as scsi from './scsi/index.js';
import { checkConditionMessage, formatSense } from './sense/index.js';
import type { SenseData } from './sense/types.js';
import { checkTimeout } from './timer.js';
import { now, type TraceListener, Tracer } from './trace.js';
import type { MscTransport, TransportInfo } from './transport.js';

export type {
  BlockReadOptions,
  BlockWriteOptions,
  CloseOptions,
  ExecuteRequest,
  ExecuteResult,
  MscDeviceOptions,
  RunOptions,
} from './device-options.js';
export type { DeviceState } from './device-state.js';
export { LogicalUnit, type LogicalUnitHost } from './logical-unit.js';

/** Queue priorities: recovery and user resets run ahead of queued I/O. */
export const Priority = { Normal: 0, High: 10 } as const;

const sleep = (ms: number, signal: AbortSignal | undefined): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      if (signal) reject(abortReason(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** The error for a command that ended in CHECK CONDITION, naming the LUN. */
function lunCheckConditionError(command: string, sense: SenseData | undefined, lun: number): ScsiCheckConditionError {
  return new ScsiCheckConditionError(checkConditionMessage(`${command} on LUN ${lun}`, sense), sense, {
    details: { command, lun },
  });
}

/**
 * One claimed mass-storage interface. Every command of every caller goes
 * through one serialized queue, so transfers of different commands never
 * interleave on the wire.
 *
 * @example
 * const device = await MscDevice.open(transport);
 * const lu = device.lun(0);
 * const { blocks, blockSize } = await lu.readCapacity();
 * const first = await lu.read(0, 1);
 * await device.close();
 */
export class MscDevice {
  readonly transport: MscTransport;
  #quirks: Quirks;
  #quirkRules: readonly QuirkRule[] = [];
  #options: MscDeviceOptions;
  #engine: BotEngine;
  #queue: CommandQueue;
  #tracer = new Tracer();
  #luns: LogicalUnit[] = [];
  #maxLun = 0;
  /** The one owner of open / failed / disconnected / closed: the engine and transport report to it. */
  readonly #lifecycle = new DeviceLifecycle();
  /** What runs inside each queue job: the BOT exchange, trace events, the automatic REQUEST SENSE. */
  readonly #exchanges: Exchanges;
  #disconnectListeners = new Set<() => void>();
  #unsubscribeDisconnect: () => void;
  /** MscTransport.writesIntoDirectly: a caller who gives up on a read into its own buffer is told once the transfers ended. */
  readonly #writesIntoDirectly: boolean;

  private constructor(transport: MscTransport, options: MscDeviceOptions) {
    this.transport = transport;
    this.#writesIntoDirectly = transport.writesIntoDirectly === true;
    this.#options = options;
    if (options.onTrace) this.#tracer.on(options.onTrace);
    this.#quirks = this.#matchQuirks(quirkInput(transport.info), 'descriptor');
    this.#engine = new BotEngine(transport, {
      quirks: this.#quirks,
      strictResidue: options.strictResidue ?? false,
      tracer: this.#tracer,
      onFailure: (error) => this.#lifecycle.report(error),
      ...(options.earlyStatus === undefined ? {} : { earlyStatus: options.earlyStatus }),
    });
    this.#queue = new CommandQueue();
    this.#exchanges = new Exchanges(this.#engine, this.#tracer, () => this.#quirks.padCdbTo12 === true);
    // What a transition means for everyone else: the queue rejects (running, queued and later jobs),
    // disconnect listeners hear of it.
    this.#lifecycle.onChange((state, cause) => {
      if (state === 'failed' || state === 'disconnected') this.#queue.fail(cause);
      if (state === 'disconnected') for (const listener of this.#disconnectListeners) listener();
    });
    this.#unsubscribeDisconnect = transport.onDisconnect(() => this.#lifecycle.disconnect());
  }

  /**
   * The quirks in effect: the built-in table and `quirkRules` matched on the USB descriptor, then again
   * with the INQUIRY strings of LUN 0 once read, with the `quirks` option on top. A fresh match replaces
   * the object (it is never changed in place), and the engine is handed its part explicitly.
   */
  get quirks(): Quirks {
    return this.#quirks;
  }

  /**
   * True while the engine submits the status read together with the CBW for
   * commands without data-in (see `MscDeviceOptions.earlyStatus`); false when
   * turned off or once the device stalled such a read.
   */
  get earlyStatus(): boolean {
    return this.#engine.earlyStatus;
  }

  /**
   * Opens a device on a claimed interface: Get Max LUN, then a 36-byte
   * INQUIRY per LUN, as Linux does for USB. VPD pages, REPORT LUNS and MODE
   * SENSE are sent only when asked, since cheap devices hang on them. A LUN
   * with no medium still opens. On failure the transport is closed.
   */
  static async open(transport: MscTransport, options: MscDeviceOptions = {}): Promise<MscDevice> {
    checkOpenOptions(options);
    const device = new MscDevice(transport, options);
    try {
      await device.#discover();
    } catch (error) {
      await device.close({ flush: false, rejectPending: true }).catch(() => undefined);
      throw error;
    }
    return device;
  }

  async #discover(): Promise<void> {
    this.#maxLun = this.quirks.singleLun
      ? 0
      : await this.#queue.run(({ signal }) => this.#engine.getMaxLun({ timeoutMs: this.#timeout(undefined), signal }), {
          priority: Priority.High,
          name: 'GET MAX LUN',
        });
    for (let lun = 0; lun <= this.#maxLun; lun++) {
      const unit = new LogicalUnit(this, lun);
      try {
        unit.inquiry = await this.run(scsi.inquiry({ allocationLength: 36 }), { lun });
      } catch (error) {
        // A LUN that rejects INQUIRY stays listed without data; transport failures propagate.
        if (!(error instanceof ScsiCheckConditionError)) throw error;
      }
      if (this.#options.readBlockLimits && unit.inquiry && !this.quirks.noVpdPages) {
        await unit.blockLimits().catch((error: unknown) => {
          // A device without the page says so with CHECK CONDITION; anything else is real trouble.
          if (!(error instanceof ScsiCheckConditionError)) throw error;
        });
      }
      this.#luns.push(unit);
      if (lun === 0 && unit.inquiry) {
        const { vendor, product, revision } = unit.inquiry;
        const refined = this.#matchQuirks(
          { ...quirkInput(this.transport.info), inquiryVendor: vendor, inquiryProduct: product, inquiryRevision: revision },
          'inquiry',
        );
        this.#quirks = refined;
        this.#engine.useQuirks(refined);
      }
    }
  }

  /** Resolves the quirks for what is known so far, then the `quirks` option on top; records and traces the matching rules. */
  #matchQuirks(input: QuirkMatchInput, stage: 'descriptor' | 'inquiry'): Quirks {
    const match = matchQuirks(input, this.#options.quirkRules);
    Object.assign(match.quirks, this.#options.quirks); // a fresh object from matchQuirks, not yet shared
    this.#quirkRules = match.rules;
    if (this.#tracer.active) {
      this.#tracer.emit({ type: 'quirks', id: 0, stage, rules: match.rules.map(describeQuirkRule), quirks: { ...match.quirks }, time: now() });
    }
    return match.quirks;
  }

  /** The quirk rules (built-in, then `quirkRules`) that matched this device, in the order applied. */
  get matchedQuirkRules(): readonly QuirkRule[] {
    return this.#quirkRules;
  }

  /** What the transport reports about the USB device and interface (IDs, strings, bus speed, packet sizes): `transport.info`. */
  get info(): TransportInfo {
    return this.transport.info;
  }

  /** Current lifecycle state; anything but `open` means commands are refused. */
  get state(): DeviceState {
    return this.#lifecycle.state;
  }

  /** True when opened with `readOnly`: write-class commands are refused before they are sent (ReadOnlyError). */
  get readOnly(): boolean {
    return this.#options.readOnly ?? false;
  }

  /** Highest LUN number (Get Max LUN; 0 for single-LUN devices). */
  get maxLun(): number {
    return this.#maxLun;
  }

  /** The logical units found at open, indexed by LUN number (0 to {@link MscDevice.maxLun}). */
  get luns(): readonly LogicalUnit[] {
    return this.#luns;
  }

  /**
   * The logical unit numbered `n`. Throws InvalidArgumentError when `n` is not
   * an integer from 0 to {@link MscDevice.maxLun}.
   */
  lun(n: number): LogicalUnit {
    checkLun(n, this.#maxLun);
    const unit = this.#luns[n];
    if (!unit) throw new InvalidArgumentError(`LUN ${n} is not open`);
    return unit;
  }

  /**
   * Largest data stage of one READ/WRITE command, in bytes: the
   * `maxTransferBytes` option, else the quirk, else the default for the bus
   * speed, and never more than the platform takes in one transfer
   * (`transport.info.maxTransferSize`, e.g. Linux usbfs's memory limit).
   */
  get maxTransferBytes(): number {
    const wanted = this.#options.maxTransferBytes ?? this.quirks.maxTransferBytes ?? defaultMaxTransferBytes(this.transport.info);
    const platform = this.transport.info.maxTransferSize;
    return platform !== undefined && platform > 0 && platform < wanted ? platform : wanted;
  }

  /** Subscribes to the structured trace of every command. Free when nobody listens. */
  onTrace(listener: TraceListener): () => void {
    return this.#tracer.on(listener);
  }

  /** Called once when the device is unplugged. */
  onDisconnect(listener: () => void): () => void {
    this.#disconnectListeners.add(listener);
    return () => this.#disconnectListeners.delete(listener);
  }

  /**
   * Sends any CDB and returns status, data, residue and decoded sense without
   * throwing on CHECK CONDITION (unless `throwOnCheckCondition`). Invalid input is
   * rejected before anything is sent; a phase error or transport failure throws
   * after reset recovery. No automatic retries: this is the raw path.
   */
  async execute(request: ExecuteRequest): Promise<ExecuteResult> {
    const lun = request.lun ?? 0;
    const transaction = checkExecuteRequest(request, lun, this.#maxLun);
    refuseIfReadOnly(this.readOnly, transaction);
    const result = await this.#transact(lun, transaction, request, undefined);
    if (result.status === 'check-condition' && request.throwOnCheckCondition) {
      throw lunCheckConditionError(transaction.name, result.sense, lun);
    }
    return result;
  }

  /**
   * Runs a command built by a builder (`scsi.*` or your own `defineCommand`)
   * and returns its decoded response. CHECK CONDITION throws
   * ScsiCheckConditionError after the bounded retries (UNIT ATTENTION, becoming ready).
   */
  async run<T>(command: ScsiCommand<T>, options: RunOptions = {}): Promise<T> {
    const result = await this.runRaw(command, options, undefined);
    return command.decode(result.data);
  }

  /**
   * @internal Runs `count` block commands of one LUN in order, as `runRaw` each, handing each GOOD
   * result and its command to `done` (which may throw to stop). Without tracing they go as pipelines
   * of up to 16 commands per queue job (`BotEngine.pipeline`); the first that does not pass in full
   * takes the retry policy here, then the rest follow.
   */
  async runRawMany(
    count: number,
    commandAt: (index: number) => PipelinedCommand,
    options: RunOptions,
    done: (index: number, result: ExecuteResult, command: PipelinedCommand) => void,
  ): Promise<void> {
    const lun = options.lun ?? 0;
    checkLun(lun, this.#maxLun);
    for (let i = 0; i < count; ) {
      if (this.#tracer.active || count - i === 1) {
        const next = commandAt(i);
        done(i, await this.#runWithRetries(next, options), next);
        i++;
        continue;
      }
      const batch: PipelinedCommand[] = [];
      for (let j = i; j < count && batch.length < PIPELINE_COMMANDS; j++) {
        const next = commandAt(j);
        refuseIfReadOnly(this.readOnly, next.command);
        batch.push(next);
      }
      const step = await this.#transactMany(lun, batch, options);
      for (const [k, result] of step.results.entries()) done(i + k, result, batch[k] as PipelinedCommand);
      i += step.results.length;
      if (step.error !== undefined) throw step.error;
      if (step.result !== undefined) {
        const failed = batch[step.results.length] as PipelinedCommand;
        done(i, await this.#runWithRetries(failed, options, step.result), failed);
        i++;
      }
    }
  }

  /** @internal Runs a command with the retry policy; returns the raw result (status GOOD). `first`: the result of an attempt already made. */
  runRaw(command: ScsiCommand<unknown>, options: RunOptions, into: Uint8Array | undefined, first?: ExecuteResult): Promise<ExecuteResult> {
    return this.#runWithRetries({ command, into }, options, first);
  }

  async #runWithRetries({ command, into, scratch }: PipelinedCommand, options: RunOptions, first?: ExecuteResult): Promise<ExecuteResult> {
    const lun = options.lun ?? 0;
    checkLun(lun, this.#maxLun);
    refuseIfReadOnly(this.readOnly, command);
    let unitAttentionRetriesLeft = this.#options.unitAttentionRetries ?? 1;
    // Counted from the first result that is not GOOD (the clock is read only then).
    let becomingReadyDeadline: number | undefined;
    let attempt = first;
    for (;;) {
      const result = attempt ?? (await this.#transact(lun, command, options, into, scratch));
      attempt = undefined;
      if (result.status === 'good') {
        if (result.babble) {
          // Linux: a data stage longer than asked, then GOOD, fails the command (USB_STOR_XFER_LONG -> fake ILLEGAL REQUEST sense).
          throw new BabbleError(
            `${command.name} on LUN ${lun}: the device sent more than the ${command.length} bytes requested (babble); the data is not trusted`,
            {
              details: { command: command.name, lun, requested: command.length },
            },
          );
        }
        return result;
      }
      const sense = result.sense;
      const t = now();
      becomingReadyDeadline ??= t + (this.#options.becomingReadyTimeoutMs ?? 30_000);
      const decision = decideRetry(sense, { unitAttentionRetriesLeft, now: t, becomingReadyDeadline });
      switch (decision.action) {
        case 'retry':
          unitAttentionRetriesLeft--;
          continue;
        case 'wait-and-retry':
          await sleep(this.#options.becomingReadyPollMs ?? 500, options.signal);
          continue;
        case 'fail':
          if (decision.error === 'write-protected' && sense !== undefined) {
            this.#luns[lun]?.markWriteProtected();
            throw new WriteProtectedError(`${command.name} refused: the medium in LUN ${lun} is write-protected (${formatSense(sense)})`, {
              cause: lunCheckConditionError(command.name, sense, lun),
              details: { lun, sense },
            });
          }
          if (decision.error === 'check-condition' && decision.mediumChanged) this.#luns[lun]?.invalidate();
          throw lunCheckConditionError(command.name, sense, lun);
      }
    }
  }

  // Typed commands on the device itself, for a LUN given in the options (default 0).
  // Each is `device.lun(lun).<method>()`; the logical unit documents them. A LUN that
  // does not exist rejects the promise (InvalidArgumentError) like any other bad input.

  /** `f` on the logical unit `options.lun` (default 0); whatever it throws rejects (no async wrapper: a turn fewer per command). */
  #atLun<T>(options: RunOptions, f: (lu: LogicalUnit) => Promise<T>): Promise<T> {
    try {
      return f(this.lun(options.lun ?? 0));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** TEST UNIT READY on `options.lun` (see {@link LogicalUnit.testUnitReady}). */
  testUnitReady(options: RunOptions = {}): Promise<void> {
    return this.#atLun(options, (lu) => lu.testUnitReady(options));
  }

  /** REQUEST SENSE on `options.lun` (see {@link LogicalUnit.requestSense}). */
  requestSense(options: RunOptions = {}): Promise<SenseData | undefined> {
    return this.#atLun(options, (lu) => lu.requestSense(options));
  }

  /** Standard INQUIRY data of `options.lun`, read anew (see {@link LogicalUnit.readInquiry}). */
  inquiry(options: RunOptions = {}): Promise<scsi.InquiryData> {
    return this.#atLun(options, (lu) => lu.readInquiry(options));
  }

  /** A VPD page of `options.lun` (see {@link LogicalUnit.inquiryVpd}). */
  inquiryVpd(page: number, options: RunOptions = {}): Promise<Uint8Array> {
    return this.#atLun(options, (lu) => lu.inquiryVpd(page, options));
  }

  /** READ CAPACITY of `options.lun` (see {@link LogicalUnit.readCapacity}). */
  readCapacity(options: RunOptions = {}): Promise<Capacity> {
    return this.#atLun(options, (lu) => lu.readCapacity(options));
  }

  /** Reads blocks of `options.lun` (see {@link LogicalUnit.read}). */
  read(lba: number, blocks: number, options: BlockReadOptions & RunOptions = {}): Promise<Uint8Array> {
    return this.#atLun(options, (lu) => lu.read(lba, blocks, options));
  }

  /** Writes blocks of `options.lun` (see {@link LogicalUnit.write}). */
  write(lba: number, data: Uint8Array, options: BlockWriteOptions & RunOptions = {}): Promise<void> {
    return this.#atLun(options, (lu) => lu.write(lba, data, options));
  }

  /** SYNCHRONIZE CACHE of `options.lun` (see {@link LogicalUnit.flush}). */
  flush(options: RunOptions = {}): Promise<void> {
    return this.#atLun(options, (lu) => lu.flush(options));
  }

  /** MODE SENSE of `options.lun` (see {@link LogicalUnit.modeSense}). */
  modeSense(options: RunOptions & { page?: number } = {}): Promise<scsi.ModeSenseData> {
    return this.#atLun(options, (lu) => lu.modeSense(options));
  }

  /** Ejects the medium of `options.lun` (see {@link LogicalUnit.eject}). */
  eject(options: RunOptions = {}): Promise<void> {
    return this.#atLun(options, (lu) => lu.eject(options));
  }

  /** REPORT LUNS, sent to `options.lun` (see {@link LogicalUnit.reportLuns}). */
  reportLuns(options: RunOptions = {}): Promise<number[]> {
    return this.#atLun(options, (lu) => lu.reportLuns(options));
  }

  /** Runs reset recovery (BOT 1.0 §5.3.4) ahead of queued commands. */
  async reset(options: CommandOptions = {}): Promise<void> {
    const timeoutMs = this.#timeout(options.timeoutMs);
    await this.#queue.run(
      async ({ signal }) => {
        await this.#engine.resetRecovery({ timeoutMs, signal });
      },
      {
        priority: Priority.High,
        name: 'RESET RECOVERY',
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
  }

  /**
   * Flushes written LUNs (SYNCHRONIZE CACHE), lets queued work finish (or rejects
   * it with `rejectPending`), then releases the interface. Idempotent. A failed
   * flush is thrown after the interface has been released.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#lifecycle.state === 'closed') return;
    let flushError: unknown;
    if (this.#lifecycle.state === 'open' && (options.flush ?? true) && !options.rejectPending) {
      for (const unit of this.#luns) {
        if (!unit.dirty) continue;
        try {
          await unit.flush();
        } catch (error) {
          flushError ??= error;
        }
      }
    }
    await this.#queue.close({ rejectPending: options.rejectPending ?? false });
    this.#lifecycle.close();
    this.#unsubscribeDisconnect();
    await this.transport.close();
    if (flushError !== undefined) throw flushError;
  }

  /** The time limit of one command: the caller's (checked: positive or Infinity), the command's own default, else the device's. */
  #timeout(requested: number | undefined, commandDefault?: number): number {
    if (requested !== undefined) checkTimeout('timeoutMs', requested);
    return requested ?? commandDefault ?? this.#options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * What every queue job of a command checks first: the device still takes commands (else the
   * lifecycle's refusal is thrown) and the time limit; and whatever path it takes (typed, execute(),
   * raw, pipelined), a write-class command marks its LUN for SYNCHRONIZE CACHE at close, as does any
   * command sent with `flush: true`.
   */
  #admit(lun: number, command: Transaction | ScsiCommand<unknown>, options: CommandOptions): number {
    const refusal = this.#lifecycle.refusal(command.name);
    if (refusal !== undefined) throw refusal;
    const timeoutMs = this.#timeout(options.timeoutMs, command.timeoutMs);
    this.#markIfWrites(lun, command);
    return timeoutMs;
  }

  #markIfWrites(lun: number, command: Transaction | ScsiCommand<unknown>): void {
    if (
      ('flush' in command && command.flush === true) ||
      ('writesMedium' in command && command.writesMedium === true) ||
      scsi.isWriteClassOpcode(command.cdb)
    ) {
      this.#luns[lun]?.markDirty();
    }
  }

  /**
   * One queue job: CBW, data, CSW, and the automatic REQUEST SENSE after CHECK CONDITION. `scratch`:
   * `into` is usbms's own buffer (see PipelinedCommand.scratch), so a caller who gives up is told at once.
   */
  #transact(
    lun: number,
    command: Transaction | ScsiCommand<unknown>,
    options: CommandOptions,
    into: Uint8Array | undefined,
    scratch?: boolean,
  ): Promise<ExecuteResult> {
    let timeoutMs: number;
    try {
      timeoutMs = this.#admit(lun, command, options);
    } catch (error) {
      return Promise.reject(error);
    }
    const cdb = this.#exchanges.cdbOf(command.cdb);
    const hold = into !== undefined && scratch !== true && this.#writesIntoDirectly;
    return this.#queue.run(({ signal, release }) => this.#exchanges.one(lun, command, cdb, timeoutMs, signal, into, hold ? release : undefined), {
      priority: Priority.Normal,
      timeoutMs,
      name: command.name,
      signal: options.signal,
      holdUntilReleased: hold,
    });
  }

  /**
   * Up to 16 commands of one LUN as one queue job (`BotEngine.pipeline`): the
   * results of those that passed in full, then the first that did not (with its sense), or its error.
   */
  #transactMany(lun: number, commands: readonly PipelinedCommand[], options: CommandOptions): Promise<PipelineStep> {
    const first = commands[0];
    if (first === undefined) return Promise.resolve({ results: [] });
    let timeoutMs: number;
    try {
      timeoutMs = this.#admit(lun, first.command, options);
    } catch (error) {
      return Promise.reject(error);
    }
    for (const { command } of commands.slice(1)) this.#markIfWrites(lun, command);
    const hold = this.#writesIntoDirectly && commands.some((c) => c.into !== undefined && c.scratch !== true);
    return this.#queue.run(({ signal, release }) => this.#exchanges.many(lun, commands, timeoutMs, signal, hold ? release : undefined), {
      priority: Priority.Normal,
      // Each command has its own limit in the engine; the job as a whole gets theirs summed.
      timeoutMs: timeoutMs * commands.length,
      name: `${first.command.name} x${commands.length}`,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(hold ? { holdUntilReleased: true } : {}),
    });
  }
}

/** What the quirk table matches on before the first INQUIRY. */
function quirkInput(info: TransportInfo): QuirkMatchInput {
  const input: QuirkMatchInput = {};
  if (info.vendorId !== undefined) input.vendorId = info.vendorId;
  if (info.productId !== undefined) input.productId = info.productId;
  if (info.bcdDevice !== undefined) input.bcdDevice = info.bcdDevice;
  if (info.interfaceSubclass !== undefined) input.interfaceSubclass = info.interfaceSubclass;
  return input;
}
