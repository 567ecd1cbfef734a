/**
 * `usbms serve --sim` as a subprocess: clients over WebSocket and the Unix
 * socket, the token file, and refusals (no token, wrong Origin, wrong Host,
 * text, malformed, oversized and fuzzed frames) that leave the server and its
 * other clients working.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RemoteClient } from '@usbms/core';
import { encodeExecute, encodeValueFrame, FrameType } from '@usbms/core/internal';
import { connectRemote } from '@usbms/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

const BIN = fileURLToPath(new URL('../../packages/node/bin/usbms.mjs', import.meta.url));

let tmp = '';
let child: ChildProcess;
let info: { urls: string[]; token: string; tokenFile: string };
let stderr = '';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'usbms-serve-'));
  child = spawn(
    process.execPath,
    [BIN, '--sim', '--sim-size', '4M', '--json', 'serve', '--listen', '127.0.0.1:0', '--socket', join(tmp, 'serve.sock'), '--token-file', join(tmp, 'token')],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, USBMS_FROM_SOURCE: '1' } },
  );
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  info = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`usbms serve did not start\n${stderr}`)), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        // --json prints one (pretty-printed) JSON document once it listens.
        const parsed = JSON.parse(out);
        clearTimeout(timer);
        resolve(parsed);
      } catch {
        // Not complete yet.
      }
    });
    child.once('exit', (code) => reject(new Error(`usbms serve exited ${code}\n${stderr}`)));
  });
}, 90_000);

afterAll(async () => {
  child?.kill('SIGTERM');
  await new Promise((r) => child?.once('exit', r));
  await rm(tmp, { recursive: true, force: true });
});

const wsUrl = (): string => info.urls.find((u) => u.startsWith('ws://')) ?? '';
const unixUrl = (): string => info.urls.find((u) => u.startsWith('unix:')) ?? '';

/** Opens a raw WebSocket with chosen headers; resolves with the socket or the HTTP status of the refusal. */
function rawWs(headers: Record<string, string>, protocols: string[] = ['usbms.v1']): Promise<WebSocket | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl(), protocols, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(-1));
  });
}

/** Sends frames on a raw socket and resolves with how the server ended it (close code) or 'open' after 500 ms. */
function sendRaw(ws: WebSocket, frames: (Uint8Array | string)[], waitMs = 500): Promise<number | 'open'> {
  return new Promise((resolve) => {
    ws.once('close', (code) => resolve(code));
    for (const f of frames) ws.send(f);
    setTimeout(() => resolve('open'), waitMs);
  });
}

const hello = (token: string): Uint8Array => encodeValueFrame(FrameType.Hello, 1, { token, client: 'raw' });

describe('usbms serve --sim', () => {
  it('writes the token to a 0600 file and serves WebSocket and Unix-socket clients', async () => {
    expect(statSync(info.tokenFile).mode & 0o777).toBe(0o600);
    expect(statSync(unixUrl().slice(5)).mode & 0o777).toBe(0o600);
    for (const url of [wsUrl(), unixUrl()]) {
      const client = await connectRemote(url, { token: info.token });
      const lu = client.device().lun(0);
      expect((await lu.readCapacity()).blocks).toBe(8192);
      const data = new Uint8Array(512).fill(url.length & 0xff);
      await lu.write(7, data);
      expect(await lu.read(7, 1)).toEqual(data);
      client.close();
    }
  });

  it('refuses a wrong token, a wrong Origin and a wrong Host; allows the device tool origin', async () => {
    await expect(connectRemote(wsUrl(), { token: 'nope' })).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    await expect(connectRemote(unixUrl(), { token: 'nope' })).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
    expect(await rawWs({ Origin: 'http://evil.example' })).toBe(403);
    expect(await rawWs({ Host: `evil.example:${new URL(wsUrl()).port}` })).toBe(421);
    const tool = await rawWs({ Origin: 'http://localhost:5180' });
    expect(tool).toBeInstanceOf(WebSocket);
    (tool as WebSocket).close();
  });

  it('takes the token in the subprotocol offer, as browsers must', async () => {
    const ws = await rawWs({ Origin: 'http://localhost:5180' }, ['usbms.v1', `usbms.token.${info.token}`]);
    expect(ws).toBeInstanceOf(WebSocket);
    const socket = ws as WebSocket;
    expect(socket.protocol).toBe('usbms.v1');
    const answer = new Promise<Uint8Array>((resolve) => socket.once('message', (d: Buffer) => resolve(new Uint8Array(d))));
    socket.send(encodeValueFrame(FrameType.Hello, 1, { client: 'no token in hello' }));
    expect((await answer)[1]).toBe(FrameType.Welcome);
    socket.close();
  });

  it('refuses commands before HELLO, text, malformed, oversized and fuzzed frames without harm to other clients', async () => {
    const good = await connectRemote(wsUrl(), { token: info.token });
    const before = good.device().lun(0).read(0, 1);
    const execute = encodeExecute(1, {
      device: 1,
      lun: 0,
      direction: 'none',
      flags: 0,
      timeoutMs: 0,
      length: 0,
      cdb: Uint8Array.of(0),
      name: '',
      data: undefined,
    });
    // A command without HELLO first.
    expect(await sendRaw((await rawWs({})) as WebSocket, [execute])).not.toBe('open');
    // Text frame.
    expect(await sendRaw((await rawWs({})) as WebSocket, ['hello'])).toBe(1003);
    // Malformed after a good HELLO: bad version, then a lying CDB length.
    const badVersion = execute.slice();
    badVersion[0] = 9;
    expect(await sendRaw((await rawWs({})) as WebSocket, [hello(info.token), badVersion])).not.toBe('open');
    const badCdb = execute.slice();
    badCdb[15] = 40;
    expect(await sendRaw((await rawWs({})) as WebSocket, [hello(info.token), badCdb])).not.toBe('open');
    // Oversized: WebSocket closes with 1009 (message too big).
    expect(await sendRaw((await rawWs({})) as WebSocket, [hello(info.token), new Uint8Array((16 << 20) + 1024)], 15_000)).toBe(1009);
    // Oversized on the Unix socket: a length prefix far above the limit.
    const sock = netConnect(unixUrl().slice(5));
    await new Promise((r) => sock.once('connect', r));
    const closed = new Promise((r) => sock.once('close', r));
    const reply: Buffer[] = [];
    sock.on('data', (d: Buffer) => reply.push(d));
    sock.write(Uint8Array.of(0xff, 0xff, 0xff, 0x7f));
    await closed;
    // The ERROR frame (after its 4-byte length): type 0xFF, REMOTE_PROTOCOL.
    const answer = Buffer.concat(reply);
    expect(answer[5]).toBe(FrameType.Error);
    expect(answer.toString('latin1')).toContain('REMOTE_PROTOCOL');
    // Fuzzed frames (bounded): random bytes after HELLO, each on its own connection.
    let seed = 0x1234567;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 40; i++) {
      const frame = new Uint8Array(rand() % 80);
      for (let j = 0; j < frame.length; j++) frame[j] = rand() & 0xff;
      if (frame.length > 1 && i % 2 === 0) {
        frame[0] = 1;
        frame[1] = [0x10, 0x11, 0x13, 0x14][i % 4] ?? 0x10;
      }
      const ws = (await rawWs({})) as WebSocket;
      await sendRaw(ws, [hello(info.token), frame]);
      ws.terminate();
    }
    // The server and the good client are fine.
    await before;
    expect((await good.device().lun(0).read(0, 1)).length).toBe(512);
    expect(child.exitCode).toBeNull();
    good.close();
  }, 60_000);

  it('announces nothing to unauthenticated sockets and keeps serving after clients vanish', async () => {
    const clients: RemoteClient[] = [];
    for (let i = 0; i < 5; i++) clients.push(await connectRemote(i % 2 ? wsUrl() : unixUrl(), { token: info.token }));
    await Promise.all(clients.map((c) => c.device().testUnitReady()));
    for (const c of clients) c.close();
    const after = await connectRemote(wsUrl(), { token: info.token });
    await after.device().testUnitReady();
    after.close();
  });
});
