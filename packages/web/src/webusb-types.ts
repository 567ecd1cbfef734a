/**
 * The subset of WebUSB this package uses, declared structurally so that
 * `navigator.usb`, Electron's renderer `navigator.usb`, node-usb's `WebUSB`
 * and the fake in `@usbms/web/fake` all fit, and so that the package builds
 * without the DOM library. Names mirror the WebUSB spec (WICG WebUSB §5-§7).
 */

/** Endpoint direction (WebUSB `USBDirection`). */
export type UsbDirectionLike = 'in' | 'out';
/** Transfer status (WebUSB `USBTransferStatus`): a STALL or babble is a result, not an exception. */
export type UsbTransferStatusLike = 'ok' | 'stall' | 'babble';

/** An endpoint descriptor (WebUSB `USBEndpoint`). */
export interface UsbEndpointLike {
  readonly endpointNumber: number;
  readonly direction: UsbDirectionLike;
  readonly type: 'bulk' | 'interrupt' | 'isochronous';
  readonly packetSize: number;
}

/** An alternate setting of an interface (WebUSB `USBAlternateInterface`). */
export interface UsbAlternateInterfaceLike {
  readonly alternateSetting: number;
  readonly interfaceClass: number;
  readonly interfaceSubclass: number;
  readonly interfaceProtocol: number;
  readonly interfaceName: string | null;
  readonly endpoints: readonly UsbEndpointLike[];
}

/** An interface of a configuration (WebUSB `USBInterface`). */
export interface UsbInterfaceLike {
  readonly interfaceNumber: number;
  readonly alternate: UsbAlternateInterfaceLike;
  readonly alternates: readonly UsbAlternateInterfaceLike[];
  readonly claimed: boolean;
}

/** A configuration descriptor (WebUSB `USBConfiguration`). */
export interface UsbConfigurationLike {
  readonly configurationValue: number;
  readonly configurationName: string | null;
  readonly interfaces: readonly UsbInterfaceLike[];
}

/** Setup of a control transfer (WebUSB `USBControlTransferParameters`). */
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

/** `USBOutTransferResult`: status and the number of bytes the device accepted. */
export interface UsbOutTransferResultLike {
  readonly status: UsbTransferStatusLike | undefined;
  readonly bytesWritten: number;
}

/** A USB device (WebUSB `USBDevice`): descriptors, open/claim, and transfers. */
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
  /** Opens a session with the device. */
  open(): Promise<void>;
  /** Ends the session; pending transfers are aborted. */
  close(): Promise<void>;
  /** Selects a configuration by its bConfigurationValue. */
  selectConfiguration(configurationValue: number): Promise<void>;
  /** Claims an interface for exclusive use (Chrome refuses protected classes such as mass storage). */
  claimInterface(interfaceNumber: number): Promise<void>;
  /** Releases a claimed interface. */
  releaseInterface(interfaceNumber: number): Promise<void>;
  /** Selects an alternate setting of a claimed interface. */
  selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void>;
  /** A control transfer with a data-in stage of up to `length` bytes. */
  controlTransferIn(setup: UsbControlTransferParametersLike, length: number): Promise<UsbInTransferResultLike>;
  /** A control transfer with an optional data-out stage. */
  controlTransferOut(setup: UsbControlTransferParametersLike, data?: Uint8Array<ArrayBuffer>): Promise<UsbOutTransferResultLike>;
  /** CLEAR_FEATURE(ENDPOINT_HALT) on an endpoint (USB 2.0 §9.4.1), after a STALL. */
  clearHalt(direction: UsbDirectionLike, endpointNumber: number): Promise<void>;
  /** A bulk or interrupt IN transfer of up to `length` bytes. */
  transferIn(endpointNumber: number, length: number): Promise<UsbInTransferResultLike>;
  /** WebUSB takes no SharedArrayBuffer-backed views (BufferSource), hence `Uint8Array<ArrayBuffer>`. */
  transferOut(endpointNumber: number, data: Uint8Array<ArrayBuffer>): Promise<UsbOutTransferResultLike>;
  /** A USB port reset of the device; pending transfers are aborted. */
  reset(): Promise<void>;
}

/** A filter of `requestDevice`/`getDevices` (WebUSB `USBDeviceFilter`). */
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

/** The `USB` object: `navigator.usb`, Electron's, node-usb's `WebUSB`, or `FakeUsb`. */
export interface UsbLike {
  /** Devices the page already has permission for. */
  getDevices(): Promise<UsbDeviceLike[]>;
  /** Shows the device chooser (needs a user gesture in browsers). */
  requestDevice(options: { filters: UsbDeviceFilterLike[] }): Promise<UsbDeviceLike>;
  /** Listens for devices being connected or disconnected. */
  addEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
  /** Removes a listener added with `addEventListener`. */
  removeEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
}
