// The simulated USB bridges of the integration rig: for each bridge kind usbms speaks, the simulator's
// emulation of that bridge (@usbms/core/sim) with a drive inside, under the bridge's USB ids. Served at
// command level by guest/sim-target.ts behind the recording gadget (bridges.test.ts).
import { type SimAtaBridgeKind, SimAtaDrive, type SimNvmeBridgeKind, type SimulatedDeviceOptions, simAtaBridge, simNvmeBridge } from '@usbms/core/sim';

export type SimTargetKind = 'sat' | SimAtaBridgeKind | SimNvmeBridgeKind;

/** The drive inside each emulated enclosure: distinct identities, so a mix-up between kinds shows. */
export function simTargetDevice(kind: SimTargetKind): SimulatedDeviceOptions {
  const tag = kind.replace('nvme-', 'N').toUpperCase().slice(0, 8);
  const ata = { model: `USBMS HIL ${kind.toUpperCase()} DISK`, serial: `HIL${tag}01`, firmware: 'HIL1.0', sectors: 1 << 20 };
  switch (kind) {
    case 'sat': {
      // A SAT bridge (JMicron JMS578 ids): ATA PASS-THROUGH goes to the emulated drive.
      const drive = new SimAtaDrive(ata);
      return {
        info: { vendorId: 0x152d, productId: 0x0578 },
        luns: [{ vendor: 'JMicron', product: 'Generic', blocks: drive.sectors, removable: false }],
        vendorCommand: drive.hook,
      };
    }
    case 'jmicron':
    case 'cypress':
    case 'sunplus':
      return simAtaBridge(kind, ata).options;
    default:
      return simNvmeBridge(kind, { model: `USBMS HIL ${kind.toUpperCase()}`, serial: `HIL${tag}01`, firmware: 'HIL1.0', blocks: 1 << 20 }).options;
  }
}
