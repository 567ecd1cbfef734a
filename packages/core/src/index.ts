/**
 * `@usbms/core`: the transport-agnostic USB Mass Storage host stack. Every
 * export is listed here by name (test/structure/public-api.test.ts pins the
 * list): adding one is a deliberate change. Plumbing shared with
 * `@usbms/node` and `@usbms/web` lives in `@usbms/core/internal`, which is not
 * part of the public API.
 */

// Transports: the mass-storage class codes, for device filters (the transport contract is at the end).
export {
  MSC_CLASS,
  MscProtocol,
  MscSubclass,
  VENDOR_CLASS,
} from './bot/wire.js';

// Bridges: USB-to-ATA and USB-to-NVMe bridges' own pass-through commands, NVMe admin commands.
export type { AtaBridgeKind } from './bridge/ata-bridges.js';
export {
  NVME_BROADCAST_NSID,
  type NvmeAdminCommand,
  NvmeCriticalWarning,
  type NvmeErrorLogEntry,
  type NvmeGetLogPageOptions,
  type NvmeIdentifyController,
  type NvmeIdentifyNamespace,
  type NvmeLbaFormat,
  NvmeLogId,
  type NvmePowerState,
  type NvmeSmartHealth,
  nvmeErrorLog,
  nvmeGetLogPage,
  nvmeIdentifyController,
  nvmeIdentifyNamespace,
  nvmeSmartHealthLog,
} from './bridge/nvme.js';
export type { NvmeBridgeKind, NvmeCompletion } from './bridge/nvme-bridges.js';
export {
  BRIDGE_KINDS,
  type BridgeKind,
  type BridgeRoute,
  KNOWN_BRIDGES,
  type KnownBridge,
  runAtaVia,
  type SelectBridgeOptions,
  SMARTCTL_DEVICE_TYPE,
  selectBridge,
} from './bridge/route.js';
export { type BridgeRunOptions, type BridgeTarget, runNvme } from './bridge/run-nvme.js';

// Capture: record, replay and decode USB traffic (usbmon pcap, transcripts).
export {
  type CaptureStage,
  type DecodedCapture,
  type DecodedCommand,
  decodeStages,
  stagesOfPcap,
  stagesOfTranscript,
} from './capture/decode.js';
export {
  type CaptureSink,
  ChunkCollector,
  DEFAULT_PCAP_SNAPLEN,
  type PcapUsbRecord,
  PcapWriter,
  type PcapWriterOptions,
  parsePcap,
} from './capture/pcap.js';
export {
  RecordingTransport,
  type RecordingTransportOptions,
  type UrbComplete,
  type UrbEvent,
  type UrbListener,
  type UrbOperation,
  type UrbStatus,
  type UrbSubmit,
} from './capture/recording-transport.js';
export { ReplayTransport } from './capture/replay.js';
export {
  parseTranscript,
  TRANSCRIPT_MAGIC,
  type Transcript,
  TranscriptRecorder,
  type TranscriptRecorderOptions,
  type TranscriptRequest,
  type TranscriptResult,
  type TranscriptSink,
  type TranscriptStep,
} from './capture/transcript.js';

// Devices: open a transport as a device, its logical units, options and results.
export { MscDevice } from './device.js';
export type { AlternateKind, BulkEndpointInfo, MscAlternateInfo, MscInterfaceInfo } from './device-interfaces.js';
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

// Errors: one class per failure, stable codes, and a form that crosses processes.
export {
  AbortError,
  AccessDeniedError,
  BabbleError,
  ClosedError,
  DeviceFailedError,
  DisconnectedError,
  deserializeError,
  InterruptedSessionError,
  InvalidArgumentError,
  InvalidCswError,
  NotFoundError,
  NvmeStatusError,
  ParseError,
  type PartialWriteDetails,
  PartialWriteError,
  PhaseError,
  ProtectedClassError,
  ProtocolViolationError,
  ReadOnlyError,
  RemoteProtocolError,
  ReplayMismatchError,
  ScsiCheckConditionError,
  type SerializedUsbmsError,
  serializeError,
  TimeoutError,
  TransportError,
  UnsupportedError,
  UsbmsError,
  UsbmsErrorCode,
  type UsbmsErrorOptions,
  VerifyMismatchError,
  WriteProtectedError,
} from './errors.js';

// Devices: a logical unit of a device (or of a remote device).
export { LogicalUnit, type LogicalUnitHost } from './logical-unit.js';

// Quirks: per-device workarounds and the rules that select them.
export { BUILTIN_QUIRK_RULES } from './quirk-table.js';
export {
  defaultQuirks,
  matchQuirks,
  type QuirkMatch,
  type QuirkMatchInput,
  type QuirkRule,
  type Quirks,
  resolveQuirks,
} from './quirks.js';

// Remote: a device served by another process (usbms serve, Electron's main process) over a port.
export {
  connectRemote,
  RemoteClient,
  type RemoteConnectOptions,
  type RemoteDeviceDescriptor,
  type RemoteEvent,
  type RemoteLimits,
  type RemoteWelcome,
  type WebSocketConstructorLike,
} from './remote/client.js';
export { type ExclusiveSession, RemoteDevice } from './remote/device.js';
export { type MessagePortLike, messagePortPort, type RemotePort, type WebSocketLike, webSocketPort } from './remote/port.js';

// ATA (SAT): ATA commands through SCSI/ATA Translation, IDENTIFY and SMART.
export {
  type AtaCommand,
  type AtaPowerMode,
  type AtaResult,
  checkPowerMode,
  identifyDevice,
  identifyDeviceRaw,
  type PowerModeResult,
  type ReadLogExtOptions,
  readExtendedSelfTestLog,
  readGpLogDirectory,
  readLogExt,
  SmartSelfTest,
  smartExecuteOfflineImmediate,
  smartReadData,
  smartReadErrorLog,
  smartReadLog,
  smartReadLogDirectory,
  smartReadSelfTestLog,
  smartReadThresholds,
  smartReturnStatus,
} from './sat/commands.js';
export { type AtaIdentify, decodeIdentifyDevice } from './sat/identify.js';
export {
  AtaCommandCode,
  type AtaPassThroughCdb,
  type AtaPassThroughOptions,
  AtaProtocol,
  type AtaTaskfile,
  ataPassThrough,
  SmartFeature,
} from './sat/pass-through.js';
export { AtaError, type AtaRegisters, AtaStatus } from './sat/registers.js';
export { AtaCommandError, type AtaTarget, executeAta, type RunAtaOptions, runAta } from './sat/run.js';
export {
  ATA_LOG_NAMES,
  decodeSmartData,
  decodeSmartThresholds,
  type ErrorLogCommand,
  type ErrorLogEntry,
  type LogDirectory,
  type SelfTestLog,
  type SelfTestLogEntry,
  type SelfTestStatus,
  SMART_ATTRIBUTES,
  type SmartAttribute,
  type SmartAttributeDefinition,
  type SmartAttributeVerdict,
  type SmartData,
  type SmartHealth,
  type SmartRawFormat,
  type SmartThresholds,
  type SummaryErrorLog,
} from './sat/smart.js';

// Commands: SCSI command builders, response decoders, opcodes, user-defined (vendor) commands.
export {
  type Capacity,
  decodeReadCapacity10,
  decodeReadCapacity16,
  decodeReadFormatCapacities,
  type FormatCapacities,
  type FormatCapacityDescriptor,
  type FormatCapacityDescriptorType,
  type ReadCapacity10Data,
  type ReadCapacity16Data,
} from './scsi/capacity.js';
export type { CommandOptions, DataDirection, ScsiCommand } from './scsi/command.js';
export {
  type BlockRangeOptions,
  type CdbPaddingOptions,
  type InquiryOptions,
  type InquiryVpdOptions,
  type InquiryVpdPageOptions,
  inquiry,
  inquiryBlockDeviceCharacteristics,
  inquiryBlockLimits,
  inquiryDeviceIdentification,
  inquirySupportedVpdPages,
  inquiryUnitSerialNumber,
  inquiryVpd,
  type ModePageControl,
  type ModeSense10Options,
  type ModeSenseOptions,
  modeSense6,
  modeSense10,
  PowerCondition,
  type PreventAllowMediumRemovalOptions,
  preventAllowMediumRemoval,
  type ReadCapacity16Options,
  type ReadFormatCapacitiesOptions,
  type ReadOptions,
  type ReportLunsOptions,
  type RequestSenseOptions,
  read10,
  read16,
  readCapacity10,
  readCapacity16,
  readFormatCapacities,
  reportLuns,
  requestSense,
  type StartStopUnitOptions,
  type SynchronizeCacheOptions,
  startStopUnit,
  synchronizeCache10,
  synchronizeCache16,
  testUnitReady,
  type VerifyOptions,
  verify10,
  type WriteOptions,
  write10,
  write16,
} from './scsi/commands.js';
export {
  type BlockDeviceCharacteristics,
  type BlockLimits,
  type Designator,
  decodeBlockDeviceCharacteristics,
  decodeBlockLimits,
  decodeDeviceIdentification,
  decodeInquiry,
  decodeSupportedVpdPages,
  decodeUnitSerialNumber,
  decodeVpdPage,
  type InquiryData,
  type NominalFormFactor,
  PeripheralDeviceType,
  VpdPage,
  type VpdPageData,
} from './scsi/inquiry.js';
export {
  type CachingPage,
  decodeModeSense6,
  decodeModeSense10,
  type ModeBlockDescriptor,
  ModePage,
  type ModePageData,
  type ModeSenseData,
} from './scsi/mode-sense.js';
export { opcodeName, ScsiOpcode, ScsiServiceAction } from './scsi/opcodes.js';
export { decodeReportLuns, type ReportedLun, type ReportLunsData } from './scsi/report-luns.js';
export {
  type CommandBuilder,
  defineCommand,
  expectLength,
  type InCommandSpec,
  type NoDataCommandSpec,
  type OutCommandSpec,
} from './scsi/vendor.js';

// Sense: fixed and descriptor sense data, sense keys, ASC/ASCQ text.
export { describeAsc } from './sense/asc-table.js';
export { decodeSense, senseKeyName } from './sense/decode.js';
export { formatSense } from './sense/format.js';
export { type SenseData, type SenseDescriptor, SenseKey, type SenseKeySpecific } from './sense/types.js';

// Tracing: what the engine did, command by command.
export type { RecoveryStep, TraceEvent, TraceListener } from './trace.js';

// Transports: the contract an adapter implements.
export type {
  BulkInOptions,
  BulkInResult,
  BulkOutResult,
  ClassRequest,
  ControlResult,
  MscTransport,
  TransferOptions,
  TransportInfo,
  UsbSpeed,
} from './transport.js';
