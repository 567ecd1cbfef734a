/**
 * The subset of WebUSB this package uses, declared structurally so that
 * `navigator.usb`, Electron's renderer `navigator.usb`, node-usb's `WebUSB`
 * and the fake in `@usbms/web/fake` all fit, and so that the package builds
 * without the DOM library. Names mirror the WebUSB spec (WICG WebUSB §5-§7).
 */

export type UsbDirectionLike = 'in' | 'out';
export type UsbTransferStatusLike = 'ok' | 'stall' | 'babble';

export interface UsbEndpointLike {
  readonly endpointNumber: number;
  readonly direction: UsbDirectionLike;
  readonly type: 'bulk' | 'interrupt' | 'isochronous';
  readonly packetSize: number;
}

export interface UsbAlternateInterfaceLike {
  readonly alternateSetting: number;
  readonly interfaceClass: number;
  readonly interfaceSubclass: number;
  readonly interfaceProtocol: number;
  readonly interfaceName: string | null;
  readonly endpoints: readonly UsbEndpointLike[];
}

export interface UsbInterfaceLike {
  readonly interfaceNumber: number;
  readonly alternate: UsbAlternateInterfaceLike;
  readonly alternates: readonly UsbAlternateInterfaceLike[];
  readonly claimed: boolean;
}

export interface UsbConfigurationLike {
  readonly configurationValue: number;
  readonly configurationName: string | null;
  readonly interfaces: readonly UsbInterfaceLike[];
}

export interface UsbControlTransferParametersLike {
  requestType: 'standard' | 'class' | 'vendor';
  recipient: 'device' | 'interface' | 'endpoint' | 'other';
  request: number;
  value: number;
  index: number;
}

/** `USBInTransferResult`: `data` is a DataView over the received bytes (may be absent on stall). */
export interface UsbInTransferResultLike {
  readonly status: UsbTransferStatusLike | undefined;
  readonly data?: DataView | null | undefined;
}

export interface UsbOutTransferResultLike {
  readonly status: UsbTransferStatusLike | undefined;
  readonly bytesWritten: number;
}

export interface UsbDeviceLike {
  readonly usbVersionMajor: number;
  readonly usbVersionMinor: number;
  readonly usbVersionSubminor: number;
  readonly deviceClass: number;
  readonly deviceSubclass: number;
  readonly deviceProtocol: number;
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly deviceVersionSubminor: number;
  readonly manufacturerName?: string | null | undefined;
  readonly productName?: string | null | undefined;
  readonly serialNumber?: string | null | undefined;
  readonly configuration: UsbConfigurationLike | null;
  readonly configurations: readonly UsbConfigurationLike[];
  readonly opened: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(configurationValue: number): Promise<void>;
  claimInterface(interfaceNumber: number): Promise<void>;
  releaseInterface(interfaceNumber: number): Promise<void>;
  selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void>;
  controlTransferIn(setup: UsbControlTransferParametersLike, length: number): Promise<UsbInTransferResultLike>;
  controlTransferOut(setup: UsbControlTransferParametersLike, data?: Uint8Array<ArrayBuffer>): Promise<UsbOutTransferResultLike>;
  clearHalt(direction: UsbDirectionLike, endpointNumber: number): Promise<void>;
  transferIn(endpointNumber: number, length: number): Promise<UsbInTransferResultLike>;
  /** WebUSB takes no SharedArrayBuffer-backed views (BufferSource), hence `Uint8Array<ArrayBuffer>`. */
  transferOut(endpointNumber: number, data: Uint8Array<ArrayBuffer>): Promise<UsbOutTransferResultLike>;
  reset(): Promise<void>;
}

export interface UsbDeviceFilterLike {
  vendorId?: number;
  productId?: number;
  classCode?: number;
  subclassCode?: number;
  protocolCode?: number;
  serialNumber?: string;
}

/** A `connect`/`disconnect` event: `USBConnectionEvent`. */
export interface UsbConnectionEventLike {
  readonly device: UsbDeviceLike;
}

/** Listener shape accepted by both the DOM's `USB.addEventListener` and the fake. */
export type UsbConnectionListener = (event: UsbConnectionEventLike) => void;

export interface UsbLike {
  getDevices(): Promise<UsbDeviceLike[]>;
  requestDevice(options: { filters: UsbDeviceFilterLike[] }): Promise<UsbDeviceLike>;
  addEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
  removeEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
}
