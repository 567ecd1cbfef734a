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

/** An endpoint of an alternate setting (WebUSB `USBEndpoint`). */
export interface UsbEndpointLike {
  /** Endpoint number without the direction bit (WebUSB convention). */
  readonly endpointNumber: number;
  readonly direction: UsbDirection;
  readonly type: 'bulk' | 'interrupt' | 'isochronous' | 'control' | string;
  readonly packetSize: number;
}

/** One alternate setting of an interface (WebUSB `USBAlternateInterface`): class codes and endpoints. */
export interface UsbAlternateLike {
  readonly alternateSetting: number;
  readonly interfaceClass: number;
  readonly interfaceSubclass: number;
  readonly interfaceProtocol: number;
  readonly interfaceName?: string | null | undefined;
  readonly endpoints: readonly UsbEndpointLike[];
}

/** An interface of a configuration (WebUSB `USBInterface`): the current alternate setting and all of them. */
export interface UsbInterfaceLike {
  readonly interfaceNumber: number;
  readonly claimed: boolean;
  readonly alternate: UsbAlternateLike;
  readonly alternates: readonly UsbAlternateLike[];
}

/** A configuration of a device (WebUSB `USBConfiguration`) and its interfaces. */
export interface UsbConfigurationLike {
  readonly configurationValue: number;
  readonly configurationName?: string | null | undefined;
  readonly interfaces: readonly UsbInterfaceLike[];
}

/**
 * The setup stage of a control transfer (WebUSB `USBControlTransferParameters`):
 * bmRequestType type and recipient, bRequest, wValue, wIndex (USB 2.0 §9.3).
 */
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
  /** bcdDevice split as WebUSB does (node-usb 3 reports these). */
  readonly deviceVersionMajor?: number | undefined;
  readonly deviceVersionMinor?: number | undefined;
  readonly deviceVersionSubminor?: number | undefined;
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

  /** Opens the device for I/O; needed before claiming an interface. Fails without OS permission to the device. */
  open(): Promise<void>;
  /** Closes the device, ending access to its claimed interfaces. */
  close(): Promise<void>;
  /** Resets the device on its port (USB 2.0 §7.1.7.5): the last step of recovery when a Bulk-Only reset did not help. */
  reset(): Promise<void>;
  /** SET_CONFIGURATION (USB 2.0 §9.4.7): makes `configurationValue` the active configuration. */
  selectConfiguration(configurationValue: number): Promise<void>;
  /** Claims the interface for exclusive use; fails (busy) while a kernel driver such as usb-storage holds it. */
  claimInterface(interfaceNumber: number): Promise<void>;
  /** Releases a claimed interface. */
  releaseInterface(interfaceNumber: number): Promise<void>;
  /** SET_INTERFACE (USB 2.0 §9.4.10): selects an alternate setting of a claimed interface. */
  selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void>;
  /** CLEAR_FEATURE(ENDPOINT_HALT) (USB 2.0 §9.4.1) on an endpoint: how the host clears a STALL (BOT 1.0 §5.3.4, §6.7). */
  clearHalt(direction: UsbDirection, endpointNumber: number): Promise<void>;

  /**
   * An IN transfer of up to `length` bytes on `endpointNumber` with a native
   * timeout. Resolves with the bytes received (`null` is read as a stall);
   * stalls, timeouts and disconnects reject with node-usb's message-only
   * errors, which only `classifyUsbError` interprets.
   */
  nativeTransferIn(endpointNumber: number, timeoutMs: number, length: number): Promise<Uint8Array | null>;
  /** An OUT transfer of `data` with a native timeout; resolves with the bytes written. Errors as for `nativeTransferIn`. */
  nativeTransferOut(endpointNumber: number, timeoutMs: number, data: Uint8Array): Promise<number>;
  /** A control IN transfer of up to `length` bytes, e.g. Get Max LUN (BOT 1.0 §3.2); `null` is read as a stall. */
  nativeControlTransferIn(setup: UsbControlSetup, timeoutMs: number, length: number): Promise<Uint8Array | null>;
  /** A control OUT transfer, e.g. Bulk-Only Mass Storage Reset (BOT 1.0 §3.1); resolves with the bytes written. */
  nativeControlTransferOut(setup: UsbControlSetup, timeoutMs: number, data?: Uint8Array | null): Promise<number>;

  /** Linux only in node-usb 3. */
  detachKernelDriver?(interfaceNumber: number): Promise<void>;
  /** Linux only in node-usb 3. */
  attachKernelDriver?(interfaceNumber: number): Promise<void>;
}

/** A hotplug event of {@link UsbLike} (WebUSB `USBConnectionEvent`). */
export interface UsbConnectionEventLike {
  readonly device: UsbDeviceLike;
}

/** A listener for {@link UsbLike}'s `connect` and `disconnect` events. */
export type UsbConnectionListener = (event: UsbConnectionEventLike) => void;

/** node-usb's `usb` object (a `WebUSB` instance that allows all devices). */
export interface UsbLike {
  /** Every attached USB device (node-usb grants all of them; no permission prompt as in browsers). */
  getDevices(): Promise<UsbDeviceLike[]>;
  /** Subscribes to hotplug: `connect` when a device is plugged in, `disconnect` when one is unplugged. */
  addEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
  /** Removes a listener added with `addEventListener`. */
  removeEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void;
}
