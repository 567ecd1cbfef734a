// The options of `usbms serve`, apart from the command itself: main.ts loads serve.ts (and the
// WebSocket library under it) only when `serve` runs, so every other call starts faster.

/** Options of `usbms serve` (see main.ts). */
export interface ServeOptions {
  listen?: string;
  socket?: string;
  readOnly?: boolean;
  allowOrigin?: string[];
  allowVendor?: string;
  tokenFile?: string;
  maxInFlight?: string;
}

export const DEFAULT_LISTEN = '127.0.0.1:5181';
