import { UsbmsError, UsbmsErrorCode } from '@usbms/core';
import { h } from './dom.js';

const alternatives = [
  ['Electron', 'an Electron app that allows the class with session.setUSBProtectedClassesHandler (recipe in demo/electron).'],
  ['Isolated Web App', 'a Chrome Isolated Web App with the "usb-unrestricted" permission policy.'],
  ['Vendor interface', 'a device that exposes Bulk-Only Transport on a vendor-specific (0xFF) interface.'],
  ['Node.js', 'the Node library or CLI, @usbms/node (npx usbms list).'],
] as const;

/** Renders an error for people: what happened, and what to do. */
export function renderError(error: unknown, context: string): HTMLElement {
  const code = error instanceof UsbmsError ? error.code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (code === UsbmsErrorCode.ProtectedClass) {
    return h(
      'div',
      { class: 'error-body', 'data-code': code },
      h('strong', { text: 'This browser does not let web pages use USB mass-storage devices.' }),
      h('p', {
        text:
          'Chromium treats interface class 0x08 (mass storage) as a protected class: ordinary pages may not claim it ' +
          'and class requests to it are blocked. This is browser policy, not a fault of your device. What works instead:',
      }),
      h('ul', {}, ...alternatives.map(([name, text]) => h('li', {}, h('b', { text: `${name}: ` }), text))),
      h('p', { class: 'muted', text: 'The simulated device keeps working here: click "Use simulated device".' }),
      h('details', {}, h('summary', { text: 'Technical details' }), h('code', { class: 'wrap', text: message })),
    );
  }
  const hints: Record<string, string> = {
    [UsbmsErrorCode.Disconnected]: 'Plug the device back in and click "Connect USB device", or continue with the simulated device.',
    [UsbmsErrorCode.AccessDenied]: 'Another driver or program holds the device (see the message).',
    [UsbmsErrorCode.NotFound]: 'No device was chosen.',
    [UsbmsErrorCode.Unsupported]: '',
    [UsbmsErrorCode.Timeout]: 'The device did not answer in time; it was reset and can be used again.',
    [UsbmsErrorCode.Aborted]: '',
    [UsbmsErrorCode.WriteProtected]: 'The medium is write-protected.',
    [UsbmsErrorCode.DeviceFailed]: 'Reset recovery failed: reconnect the device.',
  };
  const hint = code ? hints[code] : undefined;
  return h(
    'div',
    { class: 'error-body', 'data-code': code ?? 'ERROR' },
    h('strong', { text: `${context} failed${code ? ` (${code})` : ''}` }),
    h('p', { class: 'wrap', text: message }),
    hint ? h('p', { class: 'muted', text: hint }) : null,
  );
}

/** One line for inline results. */
export function errorLine(error: unknown): string {
  if (error instanceof UsbmsError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
