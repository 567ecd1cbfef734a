/**
 * Preload (context-isolated, sandboxed, hence CommonJS and importing nothing
 * but 'electron'): hands the page the MessagePort of the main process's usbms
 * service (node-main.ts). A MessagePort cannot cross contextBridge, so it is
 * re-posted to the page's own window (same origin only).
 * The WebUSB path needs nothing here: the page uses `navigator.usb` directly.
 */
import electron = require('electron');

const { ipcRenderer } = electron;

// Same value as USBMS_PORT_CHANNEL in node-main.ts (a sandboxed preload cannot load that module).
const USBMS_PORT_CHANNEL = 'usbms:port';

ipcRenderer.on(USBMS_PORT_CHANNEL, (event, message: { token: string }) => {
  window.postMessage({ usbmsPort: true, token: message.token }, window.location.origin, event.ports);
});
