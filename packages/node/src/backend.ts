import { existsSync } from 'node:fs';
import { InvalidArgumentError, UnsupportedError } from '@usbms/core';
import { loadUsbfsSys } from './usbfs/sys.js';

/**
 * How `@usbms/node` talks to the device:
 * - `usb`: node-usb 3.1 (every platform; Linux through usbfs inside node-usb);
 * - `usbfs`: Linux only, usbfs ioctls straight from usbms (`UsbfsTransport`):
 *   cancellable transfers, several queued per endpoint, one reaper thread.
 */
export type Backend = 'usb' | 'usbfs';

export const BACKENDS: readonly Backend[] = ['usb', 'usbfs'];

/** Which backend a call uses and why, for `--verbose` and `usbms list`. */
export interface BackendChoice {
  backend: Backend;
  /** "--backend", "USBMS_BACKEND", or "default". */
  source: 'option' | 'environment' | 'default';
  /** One sentence for a notice. */
  reason: string;
}

/** What `chooseBackend` reads; tests pass their own. */
export interface BackendEnvironment {
  env?: Record<string, string | undefined>;
  platform?: NodeJS.Platform;
  /** Whether /dev/bus/usb exists (default: checks the filesystem). */
  usbfsNodes?: () => boolean;
  /** Whether the FFI loads, and why not (default: loads koffi once). */
  usbfsSys?: () => { ok: true } | { ok: false; reason: string };
}

function parseBackend(text: string, where: string): Backend {
  const value = text.trim().toLowerCase();
  if (value === 'usb' || value === 'usbfs') return value;
  throw new InvalidArgumentError(`${where}: unknown backend "${text}" (expected ${BACKENDS.join(' or ')})`);
}

/** Why the usbfs backend cannot run here, or undefined when it can. */
export function usbfsUnavailable(environment: BackendEnvironment = {}): string | undefined {
  const platform = environment.platform ?? process.platform;
  if (platform !== 'linux') return `usbfs exists on Linux only (this is ${platform})`;
  const sys = (environment.usbfsSys ?? loadUsbfsSys)();
  if (!sys.ok) return sys.reason;
  const nodes = environment.usbfsNodes ?? (() => existsSync('/dev/bus/usb'));
  if (!nodes()) return '/dev/bus/usb does not exist (no USB host controller, or usbfs is not mounted)';
  return undefined;
}

/**
 * Picks the backend: the caller's `backend` option, else the `USBMS_BACKEND`
 * environment variable, else `usbfs` on Linux where it can run (the FFI loads
 * and /dev/bus/usb exists), else `usb` (the reason is in `reason`, for
 * `--verbose`). A caller that injects its own node-usb module (`customUsb`:
 * a test double or a WebUSB-style object) gets `usb` by default, since usbfs
 * would bypass it. Asking for `usbfs` where it cannot run is an
 * UnsupportedError that says why.
 */
export function chooseBackend(requested: Backend | string | undefined, environment: BackendEnvironment & { customUsb?: boolean } = {}): BackendChoice {
  const env = environment.env ?? process.env;
  let choice: BackendChoice;
  if (requested !== undefined) {
    const backend = parseBackend(requested, 'backend');
    choice = { backend, source: 'option', reason: `backend ${backend} (asked for)` };
  } else if (env.USBMS_BACKEND !== undefined && env.USBMS_BACKEND !== '') {
    const backend = parseBackend(env.USBMS_BACKEND, 'USBMS_BACKEND');
    choice = { backend, source: 'environment', reason: `backend ${backend} (USBMS_BACKEND)` };
  } else if (environment.customUsb === true) {
    choice = { backend: 'usb', source: 'default', reason: 'backend usb (a node-usb module was passed in)' };
  } else {
    const why = usbfsUnavailable(environment);
    choice =
      why === undefined
        ? { backend: 'usbfs', source: 'default', reason: 'backend usbfs (default on Linux; --backend usb or USBMS_BACKEND=usb for node-usb)' }
        : { backend: 'usb', source: 'default', reason: `backend usb (default here: ${why})` };
    return choice;
  }
  if (choice.backend === 'usbfs') {
    const why = usbfsUnavailable(environment);
    if (why !== undefined) throw new UnsupportedError(`The usbfs backend is not available: ${why}. Use --backend usb (USBMS_BACKEND=usb).`);
  }
  return choice;
}
