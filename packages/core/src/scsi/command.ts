/** Direction of the data stage, from the host's point of view. */
export type DataDirection = 'none' | 'in' | 'out';

/**
 * A SCSI command as data: what one pure builder function returns
 * (see `scsi/commands.ts`). The device layer sends it through the queue and
 * BOT and hands the data-in bytes actually received to `decode`.
 */
export interface ScsiCommand<T = Uint8Array> {
  /** Short name for traces and errors, e.g. "READ(10)". */
  readonly name: string;
  /** The CDB, 1-16 bytes, big-endian fields (SPC-4 §4.2). */
  readonly cdb: Uint8Array;
  readonly direction: DataDirection;
  /** Bytes requested ('in'), bytes sent ('out', equals data.length), 0 for 'none'. */
  readonly length: number;
  /** Data-out bytes. */
  readonly data?: Uint8Array;
  /** Default timeout for this command type, in ms (the device layer has a general default). */
  readonly timeoutMs?: number;
  /** True for commands that change the medium; a read-only device refuses them. */
  readonly writesMedium?: boolean;
  /** Decodes the data-in bytes received (may be fewer than `length`). Throws ParseError on garbage. */
  readonly decode: (data: Uint8Array) => T;
}

/** Options every device/LUN method accepts. */
export interface CommandOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}
