// The bulk endpoints of the interface a NodeUsbTransport claimed, for benchmarks that issue bare
// node-usb transfers next to usbms (guest.ts, diag.ts).
import { type BulkEndpointInfo, describeInterfaces } from '../../packages/node/src/discovery.js';
import type { NodeUsbTransport } from '../../packages/node/src/index.js';

export function bulkEndpoints(transport: NodeUsbTransport): { in: BulkEndpointInfo; out: BulkEndpointInfo } | undefined {
  const config = transport.device.configuration;
  if (!config) return undefined;
  const alt = describeInterfaces(config)
    .find((i) => i.interfaceNumber === transport.interfaceNumber)
    ?.alternates.find((a) => a.alternateSetting === transport.alternateSetting);
  return alt?.bulkIn && alt.bulkOut ? { in: alt.bulkIn, out: alt.bulkOut } : undefined;
}
