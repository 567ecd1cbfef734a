import { RemoteProtocolError } from '../errors.js';

/**
 * The one thing the remote client and server need from a connection: send a
 * frame, receive frames in order, learn when it closed. Adapters below cover
 * WebSocket (browsers and `ws`), MessagePort (DOM, Node worker threads) and
 * Electron's MessagePortMain; `@usbms/node` adds Unix and TCP sockets over
 * a 4-byte little-endian length prefix. Frames are whole messages: a port never
 * splits or joins them.
 */
export interface RemotePort {
  /** Sends one frame. After close, frames are dropped. */
  send(frame: Uint8Array): void;
  /** Sets the receiver of incoming frames (one; a later call replaces it). */
  onFrame(listener: (frame: Uint8Array) => void): void;
  /** Called once when the connection is gone, whichever side closed it. */
  onClose(listener: (reason: string) => void): void;
  /** Closes the connection. Idempotent. */
  close(reason?: string): void;
}

/** Shared bookkeeping of the adapters: one frame listener, close listeners called once. */
class PortBase {
  #frame: ((frame: Uint8Array) => void) | undefined;
  #closeListeners: ((reason: string) => void)[] = [];
  #early: Uint8Array[] = [];
  closed = false;

  onFrame(listener: (frame: Uint8Array) => void): void {
    this.#frame = listener;
    // Frames that arrived before anyone listened are delivered now, in order.
    const early = this.#early;
    this.#early = [];
    for (const frame of early) listener(frame);
  }

  onClose(listener: (reason: string) => void): void {
    if (this.closed) queueMicrotask(() => listener('closed'));
    else this.#closeListeners.push(listener);
  }

  deliver(frame: Uint8Array): void {
    if (this.closed) return;
    if (this.#frame) this.#frame(frame);
    else if (this.#early.length < 64) this.#early.push(frame);
  }

  closedBy(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const listeners = this.#closeListeners;
    this.#closeListeners = [];
    for (const listener of listeners) listener(reason);
  }
}

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** What {@link webSocketPort} needs: the browser `WebSocket` and the `ws` package's both fit. */
export interface WebSocketLike {
  /** Set to 'arraybuffer' by the adapter. */
  binaryType: string;
  /** 1 while open (WebSocket.OPEN). */
  readonly readyState: number;
  /** Sends one binary message. */
  send(data: Uint8Array): void;
  /** Closes the connection. */
  close(code?: number, reason?: string): void;
  /** A message arrived. */
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  /** The connection closed. */
  addEventListener(type: 'close', listener: (event: { code?: number; reason?: string }) => void): void;
  /** The connection failed. */
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

const WS_OPEN = 1;

/** A {@link RemotePort} over an open WebSocket (binary messages; text messages close it). */
export function webSocketPort(ws: WebSocketLike): RemotePort {
  const base = new PortBase();
  ws.binaryType = 'arraybuffer';
  ws.addEventListener('message', (event) => {
    const bytes = toBytes(event.data);
    if (bytes === undefined) {
      // 1003: unsupported data (RFC 6455 §7.4.1): the protocol is binary only.
      ws.close(1003, 'binary frames only');
      base.closedBy('text frame');
      return;
    }
    base.deliver(bytes);
  });
  ws.addEventListener('close', (event) => base.closedBy(`websocket closed (${event.code ?? 0}${event.reason ? `: ${event.reason}` : ''})`));
  ws.addEventListener('error', () => base.closedBy('websocket error'));
  if (ws.readyState > WS_OPEN) base.closedBy('websocket closed');
  return {
    send(frame) {
      if (!base.closed && ws.readyState === WS_OPEN) ws.send(frame);
    },
    onFrame: (listener) => base.onFrame(listener),
    onClose: (listener) => base.onClose(listener),
    close(reason) {
      if (base.closed) return;
      ws.close(1000, reason?.slice(0, 120));
      base.closedBy(reason ?? 'closed');
    },
  };
}

/**
 * What {@link messagePortPort} needs. Fits the DOM `MessagePort` (and
 * `Worker`), Node's `worker_threads` `MessagePort`, and Electron's
 * `MessagePortMain` (which has `on` instead of `addEventListener`).
 */
export interface MessagePortLike {
  /** Sends one message (structured clone). */
  postMessage(message: unknown): void;
  /** Closes the port. */
  close?(): void;
  /** Starts delivery of queued messages (DOM ports, MessagePortMain). */
  start?(): void;
  /** DOM and Node ports: 'message' events carry `data`. */
  addEventListener?(type: string, listener: (event: { data?: unknown }) => void): void;
  /** Electron MessagePortMain: 'message' with `{ data }`, and 'close'. */
  on?(type: string, listener: (event: { data?: unknown }) => void): unknown;
}

/**
 * A {@link RemotePort} over a message port. Frames travel as Uint8Array
 * (structured clone). DOM MessagePorts announce no close: pass `onClose` of the
 * port's owner (e.g. a worker's exit) or close the port from this side.
 */
export function messagePortPort(port: MessagePortLike): RemotePort {
  const base = new PortBase();
  const onMessage = (event: { data?: unknown }): void => {
    const bytes = toBytes(event?.data);
    // An empty message is the other side's close (see close() below).
    if (bytes?.length === 0) base.closedBy('peer closed');
    else if (bytes !== undefined) base.deliver(bytes);
  };
  if (typeof port.addEventListener === 'function') {
    port.addEventListener('message', onMessage);
    port.addEventListener('close', () => base.closedBy('port closed'));
  } else if (typeof port.on === 'function') {
    // Electron MessagePortMain: 'message' with { data, ports }, and 'close'.
    port.on('message', onMessage);
    port.on('close', () => base.closedBy('port closed'));
  } else {
    throw new RemoteProtocolError('messagePortPort needs a port with addEventListener or on');
  }
  port.start?.();
  return {
    send(frame) {
      if (!base.closed) port.postMessage(frame);
    },
    onFrame: (listener) => base.onFrame(listener),
    onClose: (listener) => base.onClose(listener),
    close(reason) {
      if (base.closed) return;
      // Tell the other side (DOM ports have no close event of their own): an empty message.
      try {
        port.postMessage(new Uint8Array(0));
      } catch {
        // The port may already be closed.
      }
      port.close?.();
      base.closedBy(reason ?? 'closed');
    },
  };
}

/** Two connected in-memory ports (for tests and for client and server in one process). Frames are delivered asynchronously, in order. */
export function createPortPair(): [RemotePort, RemotePort] {
  const a = new PortBase();
  const b = new PortBase();
  const make = (self: PortBase, other: PortBase): RemotePort => ({
    send(frame) {
      if (self.closed) return;
      const copy = frame.slice();
      queueMicrotask(() => other.deliver(copy));
    },
    onFrame: (listener) => self.onFrame(listener),
    onClose: (listener) => self.onClose(listener),
    close(reason) {
      if (self.closed) return;
      self.closedBy(reason ?? 'closed');
      queueMicrotask(() => other.closedBy('peer closed'));
    },
  });
  return [make(a, b), make(b, a)];
}

/** Length prefix of stream framing: a u32, little-endian, counting the frame's bytes. */
export const LENGTH_PREFIX_BYTES = 4;

/** Prepends the 4-byte length of stream framing (Unix and TCP sockets). */
export function lengthPrefixed(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length, true);
  out.set(frame, LENGTH_PREFIX_BYTES);
  return out;
}

/**
 * Cuts a byte stream into frames of stream framing (u32 LE length, then the
 * frame). A length above `maxFrameBytes` throws RemoteProtocolError before
 * anything is buffered for it, so a hostile peer cannot make it allocate.
 */
export class LengthPrefixedDecoder {
  readonly #max: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;

  constructor(maxFrameBytes: number) {
    this.#max = maxFrameBytes;
  }

  /** Adds bytes; returns the frames completed by them, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.#buffered < LENGTH_PREFIX_BYTES) return frames;
      const head = this.#peek(LENGTH_PREFIX_BYTES);
      const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
      if (length > this.#max) {
        throw new RemoteProtocolError(`frame of ${length} bytes is larger than the limit of ${this.#max}`, { details: { size: length, limit: this.#max } });
      }
      if (this.#buffered < LENGTH_PREFIX_BYTES + length) return frames;
      this.#take(LENGTH_PREFIX_BYTES);
      frames.push(this.#take(length));
    }
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this.#chunks) {
      const part = c.subarray(0, n - at);
      out.set(part, at);
      at += part.length;
      if (at === n) break;
    }
    return out;
  }

  #take(n: number): Uint8Array {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.#chunks[0];
      if (c === undefined) break;
      const need = n - at;
      if (c.length <= need) {
        out.set(c, at);
        at += c.length;
        this.#chunks.shift();
      } else {
        out.set(c.subarray(0, need), at);
        this.#chunks[0] = c.subarray(need);
        at += need;
      }
    }
    return out;
  }
}
