import { connect as netConnect } from 'node:net';
import {
  connectRemote as connectWebSocket,
  DisconnectedError,
  InvalidArgumentError,
  RemoteClient,
  type RemoteConnectOptions,
  type WebSocketConstructorLike,
} from '@usbms/core';
import { WebSocket } from 'ws';
import { socketPort } from './listen.js';
import { DEFAULT_MAX_FRAME_BYTES } from './server.js';

/**
 * Connects to `usbms serve` from Node: `ws://HOST:PORT` (WebSocket, through
 * the `ws` package) or `unix:/path/to/socket`. The devices of the returned
 * client have the API of a local `MscDevice`.
 *
 * @example
 * import { connectRemote } from '@usbms/node';
 * const client = await connectRemote('ws://127.0.0.1:5181', { token: process.env.USBMS_TOKEN ?? '' });
 * const lu = client.device().lun(0);
 * console.log(lu.inquiry?.product, await lu.readCapacity());
 * client.close();
 */
export async function connectRemote(url: string, options: RemoteConnectOptions): Promise<RemoteClient> {
  if (url.startsWith('unix:')) {
    const path = url.slice('unix:'.length);
    const socket = netConnect(path);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (error) => reject(new DisconnectedError(`Could not connect to usbms serve at ${url} (${error.message})`, { cause: error })));
    });
    return RemoteClient.connect(socketPort(socket, DEFAULT_MAX_FRAME_BYTES * 2), options);
  }
  if (url.startsWith('ws://') || url.startsWith('wss://')) {
    return connectWebSocket(url, { ...options, WebSocket: WebSocket as unknown as WebSocketConstructorLike });
  }
  throw new InvalidArgumentError(`connectRemote takes ws://HOST:PORT or unix:/path, got "${url}"`);
}
