import type { MscDevice, RemoteClient, RemoteDevice } from '@usbms/core';
import type { UsbDeviceLike } from '@usbms/web';

import type { SessionCapture } from './capture.js';

/** A device the tool drives: opened here (simulator, WebUSB) or served by `usbms serve`; the same API. */
export type SessionDevice = MscDevice | RemoteDevice;

/** One open device, simulated, real over WebUSB, or real through `usbms serve`. */
export interface Session {
  kind: 'simulated' | 'usb' | 'remote';
  /** Short name for the header, e.g. "Simulated disk" or "USB 0781:5581 SanDisk Cruzer". */
  label: string;
  device: SessionDevice;
  /** The WebUSB device, for the descriptor view. */
  usbDevice?: UsbDeviceLike;
  /** Every USB transfer of the session, for "Export pcap". */
  capture?: SessionCapture;
  /** The connection to `usbms serve`, closed with the session. */
  client?: RemoteClient;
}

/** What panels may ask of the application shell. */
export interface App {
  readonly session: Session | undefined;
  /** The logical unit chosen in the device panel. */
  readonly lun: number;
  setLun(lun: number): void;
  /** Shows an error in the banner (and announces it). */
  showError(error: unknown, context: string): void;
  /** Short status message in the footer (polite live region). */
  status(text: string): void;
  on(event: 'session' | 'lun', listener: () => void): void;
}

/** A panel: built once, told when the session or LUN changes. */
export interface Panel {
  readonly id: string;
  readonly title: string;
  readonly element: HTMLElement;
  /** Called after a session opens or closes (undefined) and when the LUN changes. */
  update(): void;
}
