import { defineCommand, InterruptedSessionError, MscDevice, ReadOnlyError, RemoteClient, read10, ScsiCheckConditionError, type TraceEvent } from '@usbms/core';
import { createPortPair } from '@usbms/core/internal';
import { SimulatedDevice } from '@usbms/core/sim';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteServer } from './server.js';

const TOKEN = 'test-token-0123456789abcdef';
const RO_TOKEN = 'read-only-token-0123456789ab';

async function setup(options: { latency?: number } = {}) {
  const sim = new SimulatedDevice({ luns: [{ blocks: 2048, blockSize: 512 }], ...(options.latency ? { transferDelayMs: options.latency } : {}) });
  const device = await MscDevice.open(sim.transport);
  const server = new RemoteServer({
    tokens: [
      { token: TOKEN, readOnly: false },
      { token: RO_TOKEN, readOnly: true },
    ],
    allowVendorOpcodes: [0xc1],
  });
  server.addDevice(device);
  const clients: RemoteClient[] = [];
  const connect = async (token = TOKEN): Promise<RemoteClient> => {
    const [a, b] = createPortPair();
    server.attach(b, { peer: 'test' });
    const client = await RemoteClient.connect(a, { token });
    clients.push(client);
    return client;
  };
  cleanup = async () => {
    for (const c of clients) c.close();
    await server.close();
  };
  return { sim, device, server, connect };
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe('RemoteServer and RemoteClient (in-memory ports)', () => {
  it('serves typed commands, block I/O and raw execute with the local API', async () => {
    const { sim, connect } = await setup();
    const client = await connect();
    const device = client.device();
    const lu = device.lun(0);
    expect(lu.inquiry?.vendor).toBe('USBMS');
    expect(await lu.readCapacity()).toMatchObject({ blocks: 2048, blockSize: 512 });
    const data = new Uint8Array(1024).map((_, i) => i & 0xff);
    await lu.write(10, data);
    expect(await lu.read(10, 2)).toEqual(data);
    // Raw path: CHECK CONDITION comes back as a status with decoded sense.
    const bad = await device.execute({ cdb: Uint8Array.of(0x28, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0), direction: 'in', length: 512 });
    expect(bad.status).toBe('check-condition');
    expect(bad.sense?.senseKey).toBe(0x5);
    // Typed path: the same is a typed error with its sense.
    const error = await lu.read(4000, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const typed = await device.run(read10({ lba: 0xfffffff0, blocks: 1, blockSize: 512 })).catch((e: unknown) => e);
    expect(typed).toBeInstanceOf(ScsiCheckConditionError);
    expect((typed as ScsiCheckConditionError).code).toBe('CHECK_CONDITION');
    sim.assertClean();
  });

  it('refuses a wrong token and closes the connection', async () => {
    const { connect } = await setup();
    await expect(connect('wrong-token-0123456789abcdef')).rejects.toMatchObject({ code: 'ACCESS_DENIED' });
  });

  it('read-only tokens: reads allowed, writes and unlisted opcodes refused before anything is sent', async () => {
    const { sim, connect } = await setup();
    const client = await connect(RO_TOKEN);
    const lu = client.device().lun(0);
    expect(client.device().readOnly).toBe(true);
    await lu.read(0, 1);
    const before = sim.log.length;
    await expect(
      client.device().execute({ cdb: Uint8Array.of(0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0), direction: 'out', data: new Uint8Array(512) }),
    ).rejects.toBeInstanceOf(ReadOnlyError);
    await expect(client.device().execute({ cdb: Uint8Array.of(0xc0, 0, 0, 0, 0, 0), direction: 'none' })).rejects.toMatchObject({ code: 'READ_ONLY' });
    expect(sim.log.length).toBe(before);
    // 0xC1 is in the server's vendor allowlist: it reaches the device (which rejects it: no vendor hook).
    const vendor = defineCommand({ name: 'VENDOR C1', direction: 'none', cdb: () => [0xc1, 0, 0, 0, 0, 0] });
    await expect(client.device().run(vendor())).rejects.toBeInstanceOf(ScsiCheckConditionError);
    // The vendor command, then the automatic REQUEST SENSE of its CHECK CONDITION.
    expect(sim.log.slice(before).map((r) => r.opcode)).toEqual([0xc1, 0x03]);
  });

  it('forwards the device trace to subscribers', async () => {
    const { connect } = await setup();
    const client = await connect();
    const events: TraceEvent[] = [];
    const off = client.device().onTrace((e) => events.push(e));
    await new Promise((r) => setTimeout(r, 10));
    await client.device().testUnitReady();
    off();
    expect(events.map((e) => e.type)).toContain('command-start');
    const start = events.find((e) => e.type === 'command-start');
    expect(start?.type === 'command-start' && start.cdb).toBeInstanceOf(Uint8Array);
  });

  it('cancels a queued command by request id without touching the device', async () => {
    const { sim, connect } = await setup({ latency: 20 });
    const a = await connect();
    const b = await connect();
    const slow = a.device().lun(0).read(0, 64);
    const controller = new AbortController();
    const queued = b.device().testUnitReady({ signal: controller.signal });
    controller.abort();
    await expect(queued).rejects.toMatchObject({ code: 'ABORTED' });
    await slow;
    await new Promise((r) => setTimeout(r, 20));
    expect(sim.log.filter((r) => r.opcode === 0x00)).toHaveLength(0);
  });

  it('an exclusive session holds other clients off until release', async () => {
    const { sim, connect } = await setup();
    const a = await connect();
    const b = await connect();
    const session = await a.device().acquireExclusive({ leaseMs: 2000 });
    const order: string[] = [];
    const other = b
      .device()
      .testUnitReady()
      .then(() => order.push('b'));
    await new Promise((r) => setTimeout(r, 30));
    await a.device().testUnitReady();
    order.push('a1');
    await a.device().testUnitReady();
    order.push('a2');
    expect(order).toEqual(['a1', 'a2']);
    await session.release();
    await other;
    expect(order).toEqual(['a1', 'a2', 'b']);
    sim.assertClean();
  });

  it('a holder that dies leaves the device marked interrupted until cleared', async () => {
    const { connect } = await setup();
    const a = await connect();
    const b = await connect();
    await a.device().acquireExclusive({ leaseMs: 2000 });
    const waiting = b.device().testUnitReady();
    a.close();
    await expect(waiting).rejects.toBeInstanceOf(InterruptedSessionError);
    await new Promise((r) => setTimeout(r, 10));
    expect(b.device().interrupted).toBe(true);
    await expect(b.device().testUnitReady()).rejects.toMatchObject({ code: 'INTERRUPTED_SESSION' });
    await b.device().clearInterruptedSession();
    await b.device().testUnitReady();
  });

  it('a lease that is not renewed expires and marks the device interrupted; renewals keep it', async () => {
    const { server, connect } = await setup();
    const a = await connect();
    const served = server.devices[0];
    // A client that renews (every leaseMs / 3) keeps its session past the lease time.
    const session = await a.device().acquireExclusive({ leaseMs: 150 });
    await new Promise((r) => setTimeout(r, 300));
    expect(served?.holder).toBeDefined();
    await session.release();
    expect(served?.interrupted).toBe(false);
    // A holder that stops renewing (here: one that never does) loses it after leaseMs.
    served?.grant(9999, 100);
    await new Promise((r) => setTimeout(r, 200));
    expect(served?.holder).toBeUndefined();
    expect(served?.interrupted).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(a.device().interrupted).toBe(true);
  });
});
