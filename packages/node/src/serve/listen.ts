import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import { type RemotePort, type WebSocketLike, webSocketPort } from '@usbms/core';
import { encodeValueFrame, FrameType, LENGTH_PREFIX_BYTES, LengthPrefixedDecoder, REMOTE_SUBPROTOCOL } from '@usbms/core/internal';
import { WebSocketServer } from 'ws';
import { clientError } from './policy.js';
import type { RemoteServer, ServeToken } from './server.js';

/** The device tool's origins (Vite dev server, `pnpm start`), allowed by default. */
export const DEFAULT_ALLOWED_ORIGINS: readonly string[] = ['http://localhost:5180', 'http://127.0.0.1:5180'];

/** Subprotocol prefix that carries the token in a browser's WebSocket offer (browsers cannot set headers). */
export const TOKEN_SUBPROTOCOL_PREFIX = 'usbms.token.';

/** True for 127.0.0.0/8, ::1 and "localhost". */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** "127.0.0.1:5181", "[::1]:0", "5181" -> host and port. */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number.parseInt(m[2] ?? '', 10) : Number.NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new Error(`--listen takes HOST:PORT (e.g. 127.0.0.1:5181), got "${text}"`);
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/**
 * Whether a request's Host header names this listener (DNS-rebinding defence: a page on evil.example that
 * resolves to this machine sends Host: evil.example). The port must be the listener's. A loopback
 * listener answers to 127.0.0.1, localhost and [::1]; a wildcard listener (0.0.0.0, ::) to any IP literal
 * and localhost (the machine's addresses are not known in advance; DNS names are what rebinding uses);
 * any other listener to its own address only.
 */
export function hostAllowed(header: string, listenHost: string, port: number): boolean {
  const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(header.trim().toLowerCase());
  if (!m || Number(m[2] ?? 80) !== port) return false;
  const name = m[1] ?? '';
  const bare = name.replace(/^\[|\]$/g, '');
  if (isLoopback(listenHost)) return name === '127.0.0.1' || name === 'localhost' || name === '[::1]';
  const listen = listenHost.replace(/^\[|\]$/g, '').toLowerCase();
  if (listen === '0.0.0.0' || listen === '::' || listen === '') return name === 'localhost' || (isIP(bare) !== 0 && (isIP(bare) === 4 || name.startsWith('[')));
  return bare === listen;
}

/** Where to listen and which browser origins to accept. */
export interface WebSocketListenOptions {
  host: string;
  port: number;
  /** Browser origins allowed to connect (requests without Origin, i.e. not from a browser, are allowed). */
  allowedOrigins: readonly string[];
}

/** A listening endpoint of the server. */
export interface Listener {
  /** ws://HOST:PORT or unix:PATH */
  readonly url: string;
  /** Stops listening and ends its connections. */
  close(): Promise<void>;
}

/**
 * Serves `server` over WebSocket. Refuses, before the upgrade: a Host header
 * that does not name this listener, and an Origin outside the allowlist. The
 * token comes in the first frame (HELLO) or in the subprotocol offer
 * (`usbms.token.<token>` next to `usbms.v1`).
 */
export async function listenWebSocket(server: RemoteServer, options: WebSocketListenOptions): Promise<Listener> {
  const origins = new Set(options.allowedOrigins);
  const preauth = new WeakMap<IncomingMessage, ServeToken>();
  let port = options.port;
  const wss = new WebSocketServer({
    host: options.host,
    port: options.port,
    maxPayload: server.options.maxFrameBytes,
    perMessageDeflate: false,
    verifyClient: (info, done) => {
      const host = info.req.headers.host ?? '';
      if (!hostAllowed(host, options.host, port)) {
        server.options.log?.(`usbms serve: refused a connection for Host "${host.slice(0, 80)}"`);
        return done(false, 421, 'Misdirected Request');
      }
      const origin = info.req.headers.origin;
      if (origin !== undefined && !origins.has(origin)) {
        server.options.log?.(`usbms serve: refused a connection from origin ${origin.slice(0, 80)} (allow it with --allow-origin)`);
        return done(false, 403, 'Origin not allowed');
      }
      done(true);
    },
    handleProtocols: (protocols, req) => {
      for (const p of protocols) {
        if (!p.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) continue;
        const entry = server.findToken(p.slice(TOKEN_SUBPROTOCOL_PREFIX.length));
        if (entry) preauth.set(req, entry);
      }
      return protocols.has(REMOTE_SUBPROTOCOL) ? REMOTE_SUBPROTOCOL : false;
    },
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const address = wss.address();
  if (typeof address === 'object' && address !== null) port = address.port;
  wss.on('connection', (ws, req) => {
    const authenticated = preauth.get(req);
    const peer = `ws ${req.socket.remotePort ?? ''}`;
    server.attach(webSocketPort(ws as unknown as WebSocketLike), authenticated ? { peer, authenticated } : { peer });
  });
  const hostText = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `ws://${hostText}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** A {@link RemotePort} over a stream socket with stream framing (u32 LE length, then the frame). */
export function socketPort(socket: Socket, maxFrameBytes: number): RemotePort {
  const decoder = new LengthPrefixedDecoder(maxFrameBytes);
  let listener: ((frame: Uint8Array) => void) | undefined;
  const early: Uint8Array[] = [];
  const closeListeners: ((reason: string) => void)[] = [];
  let closed = false;
  const closedBy = (reason: string): void => {
    if (closed) return;
    closed = true;
    for (const l of closeListeners.splice(0)) l(reason);
  };
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => {
    if (closed) return;
    let frames: Uint8Array[];
    try {
      frames = decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (error) {
      // An oversized frame: say why, then hang up (the stream cannot be resynchronised).
      const reply = encodeValueFrame(FrameType.Error, 0, clientError(error));
      const head = Buffer.alloc(LENGTH_PREFIX_BYTES);
      head.writeUInt32LE(reply.length, 0);
      socket.end(Buffer.concat([head, reply]));
      closedBy('oversized frame');
      return;
    }
    for (const f of frames) {
      if (listener) listener(f);
      else early.push(f);
    }
  });
  socket.on('close', () => closedBy('socket closed'));
  socket.on('error', () => closedBy('socket error'));
  return {
    send(frame) {
      if (closed || socket.destroyed) return;
      const head = Buffer.alloc(LENGTH_PREFIX_BYTES);
      head.writeUInt32LE(frame.length, 0);
      socket.cork();
      socket.write(head);
      socket.write(frame);
      socket.uncork();
    },
    onFrame(l) {
      listener = l;
      for (const f of early.splice(0)) l(f);
    },
    onClose(l) {
      if (closed) queueMicrotask(() => l('closed'));
      else closeListeners.push(l);
    },
    close(reason) {
      if (closed) return;
      socket.end();
      closedBy(reason ?? 'closed');
    },
  };
}

/** Serves `server` on a Unix socket (mode 0600). A stale socket file left by a dead server is replaced. */
export async function listenUnixSocket(server: RemoteServer, path: string): Promise<Listener> {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Nothing there.
  }
  const net: Server = createServer((socket) => {
    server.attach(socketPort(socket, server.options.maxFrameBytes), { peer: 'unix socket' });
  });
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    url: `unix:${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        net.close(() => resolve());
        try {
          unlinkSync(path);
        } catch {
          // Already gone.
        }
      }),
  };
}
