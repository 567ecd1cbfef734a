import { MSC_CLASS, MscProtocol, NotFoundError, UnsupportedError } from '@usbms/core';
import { hex4 } from '@usbms/core/internal';
import type { UsbAlternateInterfaceLike, UsbConfigurationLike, UsbDeviceLike, UsbEndpointLike } from './webusb-types.js';

// The class code lives in @usbms/core (bot/wire.ts); re-exported for this package's modules (not public).
export { MSC_CLASS } from '@usbms/core';
/**
 * @deprecated Use `MscProtocol.BulkOnly` (from `@usbms/core`); removed in 0.3.
 * @category Deprecated
 */
export const BOT_PROTOCOL = MscProtocol.BulkOnly;
/**
 * @deprecated Use `MscProtocol.Uas` (from `@usbms/core`); removed in 0.3.
 * @category Deprecated
 */
export const UAS_PROTOCOL = MscProtocol.Uas;

/** Which interface to use, when it is not the device's class 0x08 / protocol 0x50 (Bulk-Only) interface. */
export interface BotInterfaceSelection {
  /** Pick this interface instead of searching for class 0x08 / protocol 0x50 (e.g. a vendor-class BOT interface). */
  interfaceNumber?: number;
  /** With `interfaceNumber`: the alternate setting to use (default: the first with a bulk-IN/OUT pair). */
  alternateSetting?: number;
}

/** Where Bulk-Only Transport lives on a device. */
export interface BotInterface {
  configurationValue: number;
  interfaceNumber: number;
  alternateSetting: number;
  interfaceClass: number;
  interfaceSubclass: number;
  interfaceProtocol: number;
  bulkIn: UsbEndpointLike;
  bulkOut: UsbEndpointLike;
}

function bulkPair(alt: UsbAlternateInterfaceLike): { bulkIn: UsbEndpointLike; bulkOut: UsbEndpointLike } | undefined {
  // BOT 1.0 §4.4: exactly one bulk-IN and one bulk-OUT endpoint (an interrupt endpoint is CBI, not BOT).
  const bulkIn = alt.endpoints.find((e) => e.type === 'bulk' && e.direction === 'in');
  const bulkOut = alt.endpoints.find((e) => e.type === 'bulk' && e.direction === 'out');
  return bulkIn && bulkOut ? { bulkIn, bulkOut } : undefined;
}

/**
 * Finds the Bulk-Only interface: the active configuration first (selecting
 * another one would disturb other users of the device), then the others.
 * UAS devices usually offer BOT as alternate setting 0 and UAS as 1 (UAS 1.0 §4.1).
 */
export function findBotInterface(device: UsbDeviceLike, selection: BotInterfaceSelection = {}): BotInterface {
  const configs: UsbConfigurationLike[] = [];
  if (device.configuration) configs.push(device.configuration);
  for (const c of device.configurations) if (!configs.some((x) => x.configurationValue === c.configurationValue)) configs.push(c);
  let sawUas = false;
  for (const config of configs) {
    for (const iface of config.interfaces) {
      if (selection.interfaceNumber !== undefined && iface.interfaceNumber !== selection.interfaceNumber) continue;
      for (const alt of iface.alternates) {
        if (selection.interfaceNumber !== undefined) {
          if (selection.alternateSetting !== undefined && alt.alternateSetting !== selection.alternateSetting) continue;
        } else {
          if (alt.interfaceClass !== MSC_CLASS) continue;
          if (alt.interfaceProtocol === MscProtocol.Uas) sawUas = true;
          if (alt.interfaceProtocol !== MscProtocol.BulkOnly) continue;
        }
        const pair = bulkPair(alt);
        if (!pair) continue;
        return {
          configurationValue: config.configurationValue,
          interfaceNumber: iface.interfaceNumber,
          alternateSetting: alt.alternateSetting,
          interfaceClass: alt.interfaceClass,
          interfaceSubclass: alt.interfaceSubclass,
          interfaceProtocol: alt.interfaceProtocol,
          ...pair,
        };
      }
    }
  }
  const name = deviceLabel(device);
  if (selection.interfaceNumber !== undefined) {
    throw new NotFoundError(
      `${name}: interface ${selection.interfaceNumber}` +
        (selection.alternateSetting !== undefined ? ` alternate setting ${selection.alternateSetting}` : '') +
        ' has no bulk-IN/bulk-OUT endpoint pair, so it cannot carry Bulk-Only Transport.',
    );
  }
  if (sawUas) {
    throw new UnsupportedError(`${name} offers mass storage only over UAS (protocol 0x62); usbms speaks Bulk-Only Transport (0x50).`);
  }
  throw new NotFoundError(
    `${name} has no mass-storage Bulk-Only interface (class 0x08, protocol 0x50). If it speaks BOT on a ` +
      'vendor-specific interface, pass { interfaceNumber } to open it.',
  );
}

/** "USB device VID:PID (manufacturer product)", for messages. */
export function deviceLabel(device: UsbDeviceLike): string {
  const id = `${hex4(device.vendorId)}:${hex4(device.productId)}`;
  const name = [device.manufacturerName, device.productName].filter((s) => s).join(' ');
  return name ? `USB device ${id} (${name})` : `USB device ${id}`;
}
