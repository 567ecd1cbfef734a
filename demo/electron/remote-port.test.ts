import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { type MessagePortLike, MscDevice, messagePortPort, RemoteClient, ScsiCheckConditionError } from '@usbms/core';
import { SimulatedDevice } from '@usbms/core/sim';
import { RemoteServer } from '@usbms/node';
import { describe, expect, it } from 'vitest';

/** A Node MessagePort dressed as Electron's MessagePortMain: `on('message', (event) => event.data)`, no addEventListener. */
function asMessagePortMain(port: MessagePort): MessagePortLike {
  return {
    postMessage: (message) => port.postMessage(message),
    on: (type, listener) => port.on(type, type === 'message' ? (data: unknown) => listener({ data }) : () => listener({})),
    start: () => port.start(),
    close: () => port.close(),
  };
}

describe('the Electron recipe: @usbms/node served to the renderer over a message port', () => {
  it('the renderer side (DOM-style port) drives the main side (MessagePortMain-style port) with typed results and errors', async () => {
    const sim = new SimulatedDevice({ luns: [{ blocks: 1024, blockSize: 512 }] });
    const token = 'electron-recipe-token-0123456789';
    const server = new RemoteServer({ tokens: [{ token, readOnly: false }] });
    server.addDevice(await MscDevice.open(sim.transport));
    const { port1, port2 } = new MessageChannel();
    server.attach(messagePortPort(asMessagePortMain(port1)), { peer: 'renderer' });
    const client = await RemoteClient.connect(messagePortPort(port2 as unknown as MessagePortLike), { token });
    const lu = client.device().lun(0);
    const data = new Uint8Array(512).fill(0x5a);
    await lu.write(3, data);
    expect(await lu.read(3, 1)).toEqual(data);
    await expect(lu.read(2000, 1)).rejects.toThrow(/beyond the end/);
    const error = await client
      .device()
      .execute({ cdb: Uint8Array.of(0x28, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0), direction: 'in', length: 512, throwOnCheckCondition: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiCheckConditionError);
    expect((error as ScsiCheckConditionError).sense?.senseKey).toBe(0x5);
    // Closing the renderer's port is seen by the main side (the session ends there).
    client.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(server.sessionCount).toBe(0);
    await server.close();
  });
});
