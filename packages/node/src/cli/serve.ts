import { InvalidArgumentError, type MscDevice } from '@usbms/core';
import { listDevices, type MscDeviceInfo, watchDevices } from '../discovery.js';
import { openDevice } from '../index.js';
import { messageOf } from '../map-error.js';
import { DEFAULT_ALLOWED_ORIGINS, isLoopback, type Listener, listenUnixSocket, listenWebSocket, parseListen } from '../serve/listen.js';
import { RemoteServer } from '../serve/server.js';
import { defaultTokenFile, generateToken, writeTokenFile } from '../serve/token.js';
import type { CliContext } from './context.js';
import { hex4, toJson } from './format.js';
import { DEFAULT_LISTEN, type ServeOptions } from './serve-options.js';

function parseOpcodes(text: string | undefined): number[] {
  if (text === undefined) return [];
  return text.split(',').map((part) => {
    const n = Number.parseInt(part.trim().replace(/^0x/i, ''), 16);
    if (!Number.isInteger(n) || n < 0xc0 || n > 0xff) throw new InvalidArgumentError(`--allow-vendor takes vendor opcodes C0-FF in hex, got "${part}"`);
    return n;
  });
}

/**
 * `usbms serve`: owns the devices it opens and serves them to any number of
 * clients (docs/remote-protocol.md) until Ctrl-C or SIGTERM.
 */
export async function cmdServe(ctx: CliContext, opts: ServeOptions): Promise<number> {
  const readOnly = opts.readOnly === true;
  const token = generateToken();
  const tokenFile = opts.tokenFile ?? defaultTokenFile();
  const server = new RemoteServer({
    tokens: [{ token, readOnly }],
    allowVendorOpcodes: parseOpcodes(opts.allowVendor),
    ...(opts.maxInFlight === undefined ? {} : { maxInFlight: Math.max(1, Number.parseInt(opts.maxInFlight, 10) || 1) }),
    // Connection log lines go to stderr, with --json too (stdout carries the one JSON document).
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const listeners: Listener[] = [];
  let stopWatching: (() => void) | undefined;
  const serveDevice = (device: MscDevice): void => {
    const served = server.addDevice(device);
    const i = device.info;
    const name = [device.luns[0]?.inquiry?.vendor, device.luns[0]?.inquiry?.product].filter(Boolean).join(' ');
    ctx.note(
      `usbms serve: device ${served.id}: ${name || 'mass-storage device'}${i.vendorId === undefined ? '' : ` (${hex4(i.vendorId)}:${hex4(i.productId ?? 0)})`}`,
    );
  };
  try {
    if (ctx.isSim || ctx.options.device !== undefined) {
      serveDevice(await ctx.open({ writable: !readOnly }));
    } else {
      // No device named: every mass-storage device, now and as they are plugged in.
      const opening = new Set<string>();
      const open = async (info: MscDeviceInfo): Promise<void> => {
        const key = `${info.busNumber ?? ''}-${info.address ?? ''}-${info.vendorId}-${info.productId}`;
        if (opening.has(key)) return;
        opening.add(key);
        try {
          serveDevice(await openDevice(info, { readOnly }));
        } catch (error) {
          ctx.note(`usbms serve: could not open ${hex4(info.vendorId)}:${hex4(info.productId)}: ${messageOf(error)}`);
        }
      };
      for (const info of await listDevices().catch(() => [])) await open(info);
      stopWatching = watchDevices({ onAttach: (info) => void open(info), onError: () => undefined });
    }
    if (opts.listen !== undefined || opts.socket === undefined) {
      const { host, port } = parseListen(opts.listen ?? DEFAULT_LISTEN);
      if (!isLoopback(host)) {
        process.stderr.write(
          `usbms serve: warning: listening on ${host}, not loopback: anyone who can reach this address and has the token can send commands to the device(s)\n`,
        );
      }
      listeners.push(await listenWebSocket(server, { host, port, allowedOrigins: [...DEFAULT_ALLOWED_ORIGINS, ...(opts.allowOrigin ?? [])] }));
    }
    if (opts.socket !== undefined) listeners.push(await listenUnixSocket(server, opts.socket));
    writeTokenFile(tokenFile, token);
    const urls = listeners.map((l) => l.url);
    if (ctx.json) {
      ctx.out(toJson({ urls, token, tokenFile, readOnly, devices: server.devices.map((d) => d.describe(readOnly)) }));
    } else {
      ctx.out(`usbms serve: ${server.devices.length} device(s) on ${urls.join(' and ')}${readOnly ? ' (read-only)' : ''}`);
      ctx.out(`token: ${token}`);
      ctx.out(`(written to ${tokenFile}, readable by you only; Ctrl-C to stop)`);
    }
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) return resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      process.once('SIGTERM', () => resolve());
    });
    return 0;
  } finally {
    stopWatching?.();
    for (const l of listeners) await l.close();
    await server.close();
  }
}
