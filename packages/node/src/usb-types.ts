/**
 * The slice of node-usb 3.1 (`usb` package) this adapter uses, declared
 * structurally. node-usb 3's `UsbDevice` is a WebUSB `USBDevice` plus
 * `native*` transfer methods that take explicit timeouts, `bus`/`ports`/`speed`,
 * and (Linux only) `detachKernelDriver`/`attachKernelDriver`.
 *
 * Declaring only what we call keeps the adapter testable with a plain fake
 * object (see `fake-usb.test-helper.ts`) and lets any WebUSB-compatible
 * implementation with the native extensions drive it. The real `usb` module is
 * imported in exactly one place (`platform.ts`).
 */

export type UsbDirection = 'in' | 'out';

export interface UsbEndpointLike {
  /** Endpoint number without the direction bit (WebUSB convention). */
  readonly endpointNumber: number;
  readonly direction: UsbDirection;
  readonly type: 'bulk' | 'interrupt' | 'isochronous' | 'control' | string;
  readonly packetSize: number;
}

export interface UsbAlternateLike {
  readonly alternateSetting: number;
  readonly interfaceClass: number;
  readonly interfaceSubclass: number;
  readonly interfaceProtocol: number;
  readonly interfaceName?: string | null | undefined;
  readonly endpoints: readonly UsbEndpointLike[];
}

export interface UsbInterfaceLike {
  readonly interfaceNumber: number;
  readonly claimed: boolean;
  readonly alternate: UsbAlternateLike;
  readonly alternates: readonly UsbAlternateLike[];
}

export interface UsbConfigurationLike {
  readonly configurationValue: number;
  readonly configurationName?: string | null | undefined;
  readonly interfaces: readonly UsbInterfaceLike[];
}

export interface UsbControlSetup {
  requestType: 'standard' | 'class' | 'vendor';
  recipient: 'device' | 'interface' | 'endpoint' | 'other';
  request: number;
  value: number;
  index: number;
}

/** A node-usb 3 device (`UsbDevice`), as far as this adapter needs it. */
export interface UsbDeviceLike {
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceClass: number;
  readonly manufacturerName?: string | null | undefined;
  readonly productName?: string | null | undefined;
  readonly serialNumber?: string | null | undefined;
  /** node-usb: bus id ("1", "001", ...). */
  readonly bus?: string | undefined;
  readonly address?: number | undefined;
  /** node-usb: port chain from the root hub, e.g. [1, 4]. */
  readonly ports?: readonly number[] | undefined;
  /** node-usb: 'low' | 'full' | 'high' | 'super' | 'superPlus'. */
  readonly speed?: string | null | undefined;
  /** node-usb: opaque stable id of the device while it is attached. */
  readonly handle?: string | undefined;
  readonly opened: boolean;
  /** The active configuration. node-usb throws ("configuration error: ...") when the device is unconfigured; WebUSB returns null. */
  readonly configuration: UsbConfigurationLike | null | undefined;
  readonly configurations: readonly UsbConfigurationLike[];

  open(): Promise<void>;
  close(): Promise<void>;
  reset(): Promise<void>;
  selectConfiguration(configurationValue: number): Promise<void>;
  claimInterface(interfaceNumber: number): Promise<void>;
  releaseInterface(interfaceNumber: number): Promise<void>;
  selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void>;
  clearHalt(direction: UsbDirection, endpointNumber: number): Promise<void>;

  nativeTransferIn(endpointNumber: number, timeoutMs: number, length: number): Promise<Uint8Array | null>;
  nativeTransferOut(endpointNumber: number, timeoutMs: number, data: Uint8Array): Promise<number>;
  nativeControlTransferIn(setup: UsbControlSetup, timeoutMs: number, length: number): Promise<Uint8Array | null>;
  nativeControlTransferOut(setup: UsbControlSetup, timeoutMs: number, data?: Uint8Array | null): Promise<number>;

  /** Linux only in node-usb 3. */
  detachKernelDriver?(interfaceNumber: number): Promise<void>;
  /** Linux only in node-usb 3. */
  attachKernelDriver?(interfaceNumber: number): Promise<void>;
}

export interface UsbConnectionEventLike {
  readonly device: UsbDeviceLike;
}

export type UsbConnectionListener = (event: UsbConnectionEventLike) => void;

/** node-usb's `usb` object (a `WebUSB` instance that allows all devices). */
export interface UsbLike {
  getDevices(): Promise<UsbDeviceLike[]>;
  addEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
  removeEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
}
