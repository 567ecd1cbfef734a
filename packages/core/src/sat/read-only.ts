/**
 * Read-only mode for ATA PASS-THROUGH is an allowlist: a non-data ATA command
 * can erase a drive (SANITIZE, SECURITY ERASE), shrink it (SET MAX ADDRESS),
 * or change it (SET FEATURES, DOWNLOAD MICROCODE, self-tests), so the
 * direction of the data stage says nothing. Only these reads pass.
 */
import { AtaCommandCode, AtaProtocol, parseAtaPassThrough, SmartFeature } from './pass-through.js';

const READ_ONLY_SMART_FEATURES: ReadonlySet<number> = new Set([
  SmartFeature.ReadData,
  SmartFeature.ReadThresholds,
  SmartFeature.ReadLog,
  SmartFeature.ReturnStatus,
]);

/** Protocols that transfer nothing to the device and reset nothing (SAT-4 table 194). */
const READ_PROTOCOLS: ReadonlySet<number> = new Set([AtaProtocol.NonData, AtaProtocol.PioDataIn, AtaProtocol.Dma, AtaProtocol.UdmaDataIn]);

/**
 * Why a CDB may not be sent to a device opened read-only, or undefined when it may. Only ATA PASS-THROUGH
 * CDBs are judged here (undefined for anything else): IDENTIFY DEVICE, SMART READ DATA / READ THRESHOLDS /
 * READ LOG / RETURN STATUS, READ LOG (DMA) EXT and CHECK POWER MODE pass, with a protocol and T_DIR that
 * move no data to the device; every other ATA command is refused, whatever its direction.
 */
export function ataReadOnlyRefusal(cdb: Uint8Array): string | undefined {
  const pt = parseAtaPassThrough(cdb);
  if (pt === undefined) {
    // A truncated ATA PASS-THROUGH CDB is refused too: the device would read fields we did not check.
    return cdb[0] === 0x85 || cdb[0] === 0xa1 ? 'a truncated ATA PASS-THROUGH CDB' : undefined;
  }
  const name = `ATA command 0x${pt.command.toString(16).padStart(2, '0')}`;
  if (!READ_PROTOCOLS.has(pt.protocol)) return `${name} with protocol ${pt.protocol} (resets and data-out protocols are not reads)`;
  if (pt.tLength !== 0 && !pt.tDirIn) return `${name} with T_DIR = to the device`;
  switch (pt.command) {
    case AtaCommandCode.IdentifyDevice:
    case AtaCommandCode.CheckPowerMode:
    case AtaCommandCode.ReadLogExt:
    case AtaCommandCode.ReadLogDmaExt:
      return undefined;
    case AtaCommandCode.Smart:
      // 48-bit FEATURES with a non-zero upper byte is not one of the SMART read subcommands.
      if (pt.features <= 0xff && READ_ONLY_SMART_FEATURES.has(pt.features)) return undefined;
      return `SMART subcommand 0x${pt.features.toString(16).padStart(2, '0')}`;
    default:
      return name;
  }
}

/** True when a device opened read-only may send this ATA PASS-THROUGH CDB (always true for other CDBs). */
export function isAtaPassThroughAllowedReadOnly(cdb: Uint8Array): boolean {
  return ataReadOnlyRefusal(cdb) === undefined;
}
