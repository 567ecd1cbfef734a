import type { MscDevice } from '@usbms/core';
import type { UsbDeviceLike } from '@usbms/web';

/** One open device, simulated or real. */
import type { SessionCapture } from './capture.js';

export interface Session {
  kind: 'simulated' | 'usb';
  /** Short name for the header, e.g. "Simulated disk" or "USB 0781:5581 SanDisk Cruzer". */
  label: string;
  device: MscDevice;
  /** The WebUSB device, for the descriptor view. */
  usbDevice?: UsbDeviceLike;
  /** Every USB transfer of the session, for "Export pcap". */
  capture?: SessionCapture;
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
