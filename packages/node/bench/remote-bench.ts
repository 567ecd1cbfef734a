/**
 * `pnpm bench`, remote part: what `usbms serve` adds per command over loopback
 * WebSocket, against a bare `ws` echo of a frame of the same size in the same
 * run. The device is the zero-latency transport of the core bench, so the
 * device itself costs only the stack's few microseconds (measured locally too).
 *
 *   added above the echo = remote TUR - local TUR - echo round trip
 *
 * JSON in test-output/bench/remote.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MscDevice } from '@usbms/core';
import { WebSocket, WebSocketServer } from 'ws';
import { ZeroLatencyTransport } from '../../core/bench/zero-latency-transport.js';
import { connectRemote, listenUnixSocket, listenWebSocket, RemoteServer } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const ITERATIONS = 4000;
const ROUNDS = 5;

/** Median µs per call of `fn` over ROUNDS rounds of ITERATIONS sequential calls (after a warm-up round). */
async function measure(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 500; i++) await fn();
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) await fn();
    rounds.push(Number(process.hrtime.bigint() - start) / 1000 / ITERATIONS);
  }
  rounds.sort((a, b) => a - b);
  return rounds[Math.floor(rounds.length / 2)] ?? 0;
}

async function main(): Promise<void> {
  const device = await MscDevice.open(new ZeroLatencyTransport());
  const local = await measure(() => device.testUnitReady());

  // A bare ws echo: one binary message out, the same back, sequentially. 49 bytes is
  // the EXECUTE frame of a TEST UNIT READY; the echo sends that size both ways.
  const echoServer = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((r) => echoServer.once('listening', r));
  echoServer.on('connection', (ws) => ws.on('message', (data: Buffer) => ws.send(data)));
  const address = echoServer.address();
  const echoPort = typeof address === 'object' && address !== null ? address.port : 0;
  const echoClient = new WebSocket(`ws://127.0.0.1:${echoPort}`, { perMessageDeflate: false });
  echoClient.binaryType = 'arraybuffer';
  await new Promise((r) => echoClient.once('open', r));
  const frame = new Uint8Array(49);
  let waiting: (() => void) | undefined;
  echoClient.on('message', () => waiting?.());
  const echo = await measure(
    () =>
      new Promise<void>((resolve) => {
        waiting = resolve;
        echoClient.send(frame);
      }),
  );

  const token = 'bench-token-0123456789abcdef';
  const server = new RemoteServer({ tokens: [{ token, readOnly: false }] });
  server.addDevice(device);
  const ws = await listenWebSocket(server, { host: '127.0.0.1', port: 0, allowedOrigins: [] });
  const socketPath = join(ROOT, 'test-output', 'bench', 'remote-bench.sock');
  mkdirSync(join(ROOT, 'test-output', 'bench'), { recursive: true });
  const unix = await listenUnixSocket(server, socketPath);
  const wsClient = await connectRemote(ws.url, { token });
  const unixClient = await connectRemote(unix.url, { token });
  const remoteWs = await measure(() => wsClient.device().testUnitReady());
  const remoteUnix = await measure(() => unixClient.device().testUnitReady());
  const read64 = new Uint8Array(64 << 10);
  const localRead = await measure(() => device.lun(0).read(0, 128, { into: read64 }));
  const remoteRead = await measure(() => wsClient.device().lun(0).read(0, 128));

  const result = {
    date: new Date().toISOString(),
    node: process.version,
    iterations: ITERATIONS,
    usPerCommand: {
      localTur: local,
      bareWsEcho: echo,
      remoteTurWebSocket: remoteWs,
      remoteTurUnixSocket: remoteUnix,
      localRead64KiB: localRead,
      remoteRead64KiBWebSocket: remoteRead,
    },
    addedAboveEchoUs: remoteWs - local - echo,
    target: 'added above the echo < 100 µs',
  };
  mkdirSync(join(ROOT, 'test-output', 'bench'), { recursive: true });
  writeFileSync(join(ROOT, 'test-output', 'bench', 'remote.json'), `${JSON.stringify(result, null, 2)}\n`);
  const f = (n: number): string => n.toFixed(1).padStart(8);
  console.log('\nusbms serve: cost per command over loopback (µs, median of rounds)');
  console.log(`  local TEST UNIT READY (no network)      ${f(local)}`);
  console.log(`  bare ws echo, 49-byte frame             ${f(echo)}`);
  console.log(`  remote TEST UNIT READY, WebSocket       ${f(remoteWs)}`);
  console.log(`  remote TEST UNIT READY, Unix socket     ${f(remoteUnix)}`);
  console.log(`  added above the echo (WebSocket)        ${f(result.addedAboveEchoUs)}   target < 100: ${result.addedAboveEchoUs < 100 ? 'met' : 'NOT met'}`);
  console.log(`  local READ 64 KiB                       ${f(localRead)}`);
  console.log(`  remote READ 64 KiB, WebSocket           ${f(remoteRead)}`);

  wsClient.close();
  unixClient.close();
  echoClient.close();
  await ws.close();
  await unix.close();
  await new Promise((r) => echoServer.close(r));
  await server.close();
}

await main();
