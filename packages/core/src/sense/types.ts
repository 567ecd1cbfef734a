/** Sense key values (SPC-4 §4.5.6, table 49). */
export const SenseKey = {
  NoSense: 0x0,
  RecoveredError: 0x1,
  NotReady: 0x2,
  MediumError: 0x3,
  HardwareError: 0x4,
  IllegalRequest: 0x5,
  UnitAttention: 0x6,
  DataProtect: 0x7,
  BlankCheck: 0x8,
  VendorSpecific: 0x9,
  CopyAborted: 0xa,
  AbortedCommand: 0xb,
  VolumeOverflow: 0xd,
  Miscompare: 0xe,
  Completed: 0xf,
} as const;
export type SenseKey = (typeof SenseKey)[keyof typeof SenseKey];

/** Sense-key-specific data (SPC-4 §4.5.2.4), present only when SKSV is set. */
export type SenseKeySpecific =
  | {
      kind: 'field-pointer';
      /** C/D: true when the error is in the CDB, false when in the parameter data. */
      inCdb: boolean;
      /** Bit pointer (0-7) when BPV is set. */
      bitPointer?: number;
      fieldPointer: number;
    }
  | { kind: 'actual-retry-count'; count: number }
  | { kind: 'progress' /** 0..65535, fraction of 65536 */; progress: number }
  | { kind: 'segment-pointer'; bitPointer?: number; fieldPointer: number; segmentDescriptor: boolean }
  | { kind: 'unit-attention-queue-overflow'; overflow: boolean }
  | { kind: 'raw'; bytes: Uint8Array };

/** Decoded sense data, fixed (0x70/0x71) or descriptor (0x72/0x73) format (SPC-4 §4.5). */
export interface SenseData {
  responseCode: number;
  format: 'fixed' | 'descriptor';
  /** false for deferred errors (response codes 0x71/0x73). */
  current: boolean;
  senseKey: number;
  asc: number;
  ascq: number;
  /** Information field (often the failing LBA), when valid and a safe integer. */
  information?: number;
  /** Command-specific information, when present and non-zero. */
  commandSpecific?: number;
  senseKeySpecific?: SenseKeySpecific;
  filemark: boolean;
  endOfMedium: boolean;
  incorrectLength: boolean;
  /** "MEDIUM ERROR", ... */
  senseKeyName: string;
  /** Text of ASC/ASCQ from the SPC table, e.g. "Unrecovered read error". */
  description: string;
  /** The raw bytes as received (trimmed to the sense length the device declared). */
  raw: Uint8Array;
  /** FIELD REPLACEABLE UNIT CODE, when present and non-zero (vendor-specific meaning). */
  fieldReplaceableUnit?: number;
  /** Descriptor format only: every sense data descriptor as received (SPC-4 §4.5.2.1). */
  descriptors?: SenseDescriptor[];
}

/** One sense data descriptor of descriptor-format sense (SPC-4 §4.5.2). */
export interface SenseDescriptor {
  /** DESCRIPTOR TYPE, e.g. 0x00 information, 0x02 sense key specific, 0x04 stream commands, 0x09 ATA status return. */
  type: number;
  /** The bytes after the 2-byte descriptor header, bounded by the sense data received. */
  data: Uint8Array;
}
