/**
 * Which pass-through reaches the drive behind a USB bridge, and sending ATA or
 * NVMe commands along it.
 *
 * `auto` never sends a vendor opcode to a device that is not known to accept it:
 * it looks the USB VID:PID up in a small table of bridges, then tries SAT (T10
 * SAT-4 ATA PASS-THROUGH(16), a standard opcode) with IDENTIFY DEVICE, and else
 * gives up with "no ATA/NVMe pass-through (tried: ...)". A vendor CDB sent to the
 * wrong chip can do anything that chip's firmware does with that opcode.
 *
 * @example
 * const route = await selectBridge(device);              // or selectBridge(device, 'nvme-realtek')
 * if (route.family === 'nvme') console.log(await runNvme(device, route.kind, nvmeSmartHealthLog()));
 * else console.log(await runAtaVia(device, route, smartReadData()));
 */
import type { MscDevice } from '../device.js';
import { InvalidArgumentError, ReadOnlyError, ScsiCheckConditionError, UnsupportedError, UsbmsError } from '../errors.js';
import type { AtaCommand, AtaResult } from '../sat/commands.js';
import { identifyDevice } from '../sat/commands.js';
import { ataPassThrough } from '../sat/pass-through.js';
import { ataReadOnlyRefusal } from '../sat/read-only.js';
import { type RunAtaOptions, runAta } from '../sat/run.js';
import {
  type AtaBridgeKind,
  cypressAtaCdb,
  cypressReadRegistersCdb,
  decodeBridgeRegisters,
  decodeJmicronPort,
  JMICRON_PORT_REGISTER,
  jmicronAtaCdb,
  jmicronReadRegisterCdb,
  jmicronSmartStatusRegisters,
  sunplusAtaCdbs,
  sunplusReadRegistersCdb,
} from './ata-bridges.js';
import type { NvmeBridgeKind } from './nvme-bridges.js';
import { type BridgeRunOptions, type BridgeTarget, runBridgeCdb, targetIsReadOnly } from './run-nvme.js';

/** Every pass-through usbms speaks: SAT, three vendor SATA bridges, three NVMe bridges (smartctl's `-d` names in README). */
export type BridgeKind = 'sat' | AtaBridgeKind | NvmeBridgeKind;
/** `--bridge` values. */
export const BRIDGE_KINDS: readonly BridgeKind[] = ['sat', 'jmicron', 'cypress', 'sunplus', 'nvme-jmicron', 'nvme-asmedia', 'nvme-realtek'];

/** smartctl's `-d` type for each kind. */
export const SMARTCTL_DEVICE_TYPE: Readonly<Record<BridgeKind, string>> = {
  sat: 'sat',
  jmicron: 'usbjmicron',
  cypress: 'usbcypress',
  sunplus: 'usbsunplus',
  'nvme-jmicron': 'sntjmicron',
  'nvme-asmedia': 'sntasmedia',
  'nvme-realtek': 'sntrealtek',
};

/** A USB bridge known to take one pass-through convention (facts about shipping chips, by USB ID). */
export interface KnownBridge {
  vendorId: number;
  productId: number;
  kind: BridgeKind;
  chip: string;
}

/**
 * Bridges by USB ID. Deliberately short: only chips whose convention is well established; anything else
 * goes through the SAT probe or an explicit `--bridge`.
 */
export const KNOWN_BRIDGES: readonly KnownBridge[] = [
  { vendorId: 0x152d, productId: 0x0583, kind: 'nvme-jmicron', chip: 'JMicron JMS583' },
  { vendorId: 0x174c, productId: 0x2362, kind: 'nvme-asmedia', chip: 'ASMedia ASM2362' },
  { vendorId: 0x0bda, productId: 0x9210, kind: 'nvme-realtek', chip: 'Realtek RTL9210' },
  { vendorId: 0x152d, productId: 0x2329, kind: 'jmicron', chip: 'JMicron JM20329' },
  { vendorId: 0x152d, productId: 0x2338, kind: 'jmicron', chip: 'JMicron JM20337/8' },
  { vendorId: 0x04b4, productId: 0x6830, kind: 'cypress', chip: 'Cypress CY7C68300' },
  { vendorId: 0x04fc, productId: 0x0c15, kind: 'sunplus', chip: 'Sunplus SPIF215' },
  { vendorId: 0x04fc, productId: 0x0c25, kind: 'sunplus', chip: 'Sunplus SPIF225' },
  { vendorId: 0x152d, productId: 0x0578, kind: 'sat', chip: 'JMicron JMS578' },
];

/** The table entry for a USB ID, if any. */
export function knownBridge(vendorId: number | undefined, productId: number | undefined): KnownBridge | undefined {
  return KNOWN_BRIDGES.find((b) => b.vendorId === vendorId && b.productId === productId);
}

/** How commands reach the drive. */
export interface BridgeRoute {
  kind: BridgeKind;
  family: 'ata' | 'nvme';
  /** How the kind was chosen. */
  how: 'explicit' | 'usb-id' | 'sat-probe';
  /** The table entry, when `how` is 'usb-id'. */
  chip?: string;
  /** JMicron SATA bridges: the port the drive is on. */
  port?: 0 | 1;
  /** Cypress: the ATACB signature byte (default 24h). */
  cypressSignature?: number;
}

export interface SelectBridgeOptions extends BridgeRunOptions {
  /** JMicron SATA bridges: the port; default: read it from the bridge (register 720Fh). */
  port?: 0 | 1;
  /** Cypress: the ATACB signature byte (smartctl `-d usbcypress,0xNN`). */
  cypressSignature?: number;
}

const family = (kind: BridgeKind): 'ata' | 'nvme' => (kind.startsWith('nvme-') ? 'nvme' : 'ata');

function fhex(n: number | undefined): string {
  return n === undefined ? '????' : n.toString(16).padStart(4, '0');
}

/**
 * Chooses the pass-through for `device`: `kind` when given (JMicron SATA bridges are asked for their port),
 * else `auto` (the USB ID table, then a SAT probe). Throws UnsupportedError "no ATA/NVMe pass-through
 * (tried: ...)" when nothing answers.
 */
export async function selectBridge(device: MscDevice, kind: BridgeKind | 'auto' = 'auto', options: SelectBridgeOptions = {}): Promise<BridgeRoute> {
  if (kind !== 'auto') {
    if (!BRIDGE_KINDS.includes(kind)) throw new InvalidArgumentError(`unknown bridge "${String(kind)}"; one of auto, ${BRIDGE_KINDS.join(', ')}`);
    return complete(device, { kind, family: family(kind), how: 'explicit' }, options);
  }
  const tried: string[] = [];
  const { vendorId, productId } = device.info;
  const known = knownBridge(vendorId, productId);
  if (known !== undefined) return complete(device, { kind: known.kind, family: family(known.kind), how: 'usb-id', chip: known.chip }, options);
  tried.push(`USB ID ${fhex(vendorId)}:${fhex(productId)} is not in the bridge table`);
  try {
    await runAta(device, identifyDevice(), { ...probeOptions(options), cdbSize: 16 });
    return { kind: 'sat', family: 'ata', how: 'sat-probe' };
  } catch (error) {
    if (!(error instanceof UsbmsError) || error instanceof ReadOnlyError) throw error;
    tried.push(
      `SAT ATA PASS-THROUGH(16) IDENTIFY DEVICE: ${error instanceof ScsiCheckConditionError ? error.message.replace(/^.*? failed: /, '') : error.message}`,
    );
  }
  throw new UnsupportedError(`no ATA/NVMe pass-through (tried: ${tried.join('; ')}); name one with --bridge`, { details: { tried } });
}

function probeOptions(options: BridgeRunOptions): RunAtaOptions {
  const out: RunAtaOptions = {};
  if (options.lun !== undefined) out.lun = options.lun;
  if (options.signal !== undefined) out.signal = options.signal;
  if (options.timeoutMs !== undefined) out.timeoutMs = options.timeoutMs;
  return out;
}

async function complete(device: MscDevice, route: BridgeRoute, options: SelectBridgeOptions): Promise<BridgeRoute> {
  if (route.kind === 'cypress' && options.cypressSignature !== undefined) route.cypressSignature = options.cypressSignature;
  if (route.kind === 'jmicron') {
    route.port = options.port ?? decodeJmicronPort(await runBridgeCdb(device, jmicronReadRegisterCdb(JMICRON_PORT_REGISTER, 1), options));
  }
  return route;
}

/**
 * Sends an ATA command along an ATA route (SAT or a vendor SATA bridge) and decodes the answer with the
 * command's own decoder, so every route returns the same results. On a device opened read-only the SAT
 * allowlist applies to every route (ReadOnlyError before anything is sent).
 */
export async function runAtaVia<T>(
  target: BridgeTarget & Parameters<typeof runAta>[0],
  route: BridgeRoute,
  command: AtaCommand<T>,
  options: RunAtaOptions = {},
): Promise<T> {
  if (route.family !== 'ata') throw new InvalidArgumentError(`${command.name} is an ATA command; the ${route.kind} route carries NVMe`);
  // SAT takes the ATA PASS-THROUGH options (CDB size, peripheral type); the vendor CDBs have one size.
  if (route.kind === 'sat') return runAta(target, command, options);
  const vouched = targetIsReadOnly(target);
  if (vouched) {
    // The allowlist judges the command itself: as the SAT CDB it would be.
    const refusal = ataReadOnlyRefusal(ataPassThrough({ ...command.passThrough, cdbSize: 16 }).cdb);
    if (refusal !== undefined) throw new ReadOnlyError(`${command.name} refused: ${refusal} is not an ATA read, and the device was opened read-only`);
  }
  return command.decode(await executeAtaVia(target, route, command, probeOptions(options), vouched));
}

async function executeAtaVia(
  target: BridgeTarget,
  route: BridgeRoute,
  command: AtaCommand<unknown>,
  options: BridgeRunOptions,
  vouched: boolean,
): Promise<AtaResult> {
  switch (route.kind) {
    case 'jmicron': {
      const step = jmicronAtaCdb(command, route.port ?? 0);
      const data = await runBridgeCdb(target, step, options, vouched);
      if (command.needsRegisters === true) return { data: new Uint8Array(0), registers: jmicronSmartStatusRegisters(data) };
      return { data };
    }
    case 'cypress': {
      const signature = route.cypressSignature;
      const data = await runBridgeCdb(target, cypressAtaCdb(command, signature), options, vouched);
      if (command.needsRegisters !== true) return { data };
      const registers = decodeBridgeRegisters(
        'Cypress ATACB registers',
        await runBridgeCdb(target, cypressReadRegistersCdb(command, signature), options, vouched),
      );
      return { data, registers };
    }
    case 'sunplus': {
      let data: Uint8Array = new Uint8Array(0);
      for (const step of sunplusAtaCdbs(command)) data = await runBridgeCdb(target, step, options, vouched);
      if (command.needsRegisters !== true) return { data };
      const registers = decodeBridgeRegisters('Sunplus status', await runBridgeCdb(target, sunplusReadRegistersCdb(), options, vouched));
      return { data, registers };
    }
    default:
      throw new InvalidArgumentError(`no vendor ATA convention for route ${route.kind}`);
  }
}
