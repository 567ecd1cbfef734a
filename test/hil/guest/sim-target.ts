// A simulated USB bridge behind the recording gadget (guest/bot-gadget.py --sim SOCKET), at command level.
// The gadget terminates BOT on the USB side (it logs every CBW, data stage and CSW) and sends each command
// here over a Unix socket; this program runs it on the simulator's emulation of one bridge kind (SAT, the
// JMicron/Cypress/Sunplus SATA bridges, the JMicron/ASMedia/Realtek NVMe bridges: @usbms/core/sim) and
// returns status, sense and data-in. So the kernel's usb-storage and smartctl meet the same emulation the
// unit tests use, and the gadget's log shows exactly what each host sent.
//
// Usage (bundled by bundle.ts): node sim-target.mjs --kind nvme-realtek --socket /tmp/sim.sock
//
// Wire format, little-endian (one request, one reply, in order, on one connection):
//   request: u8 lun, u8 direction (0 none, 1 in, 2 out), u16 CDB length, u32 transfer length,
//            u32 data-out length, then the CDB, then the data-out bytes
//   reply:   u8 status (BOT CSW status: 0 good, 1 failed, 2 phase error), u8 0, u16 sense length,
//            u32 data-in length, then the sense bytes (fixed format, only after status 1), then data-in
import fs from 'node:fs';
import net from 'node:net';
import { rawResetRecovery, runRawCommand, SimulatedDevice } from '@usbms/core/sim';
import { type SimTargetKind, simTargetDevice } from './sim-bridges.js';

const REQUEST_HEADER = 12;
const REQUEST_SENSE = Uint8Array.of(0x03, 0x00, 0x00, 0x00, 252, 0x00);

/** Runs one command on the simulated device and fetches its sense after a CHECK CONDITION. */
async function runOne(
  sim: SimulatedDevice,
  request: { lun: number; direction: 'none' | 'in' | 'out'; length: number; cdb: Uint8Array; data: Uint8Array },
): Promise<{ status: number; sense: Uint8Array; data: Uint8Array }> {
  const { transport } = sim;
  const r = await runRawCommand(transport, {
    cdb: request.cdb,
    lun: request.lun,
    direction: request.direction,
    length: request.length,
    ...(request.direction === 'out' ? { data: request.data } : {}),
  });
  if (r.csw === undefined || r.csw.status === 2) {
    // Phase error or no CSW: the device needs reset recovery (BOT 1.0 §5.3.4); report a phase error.
    await rawResetRecovery(transport);
    return { status: 2, sense: new Uint8Array(0), data: r.data };
  }
  if (r.csw.status !== 1) return { status: r.csw.status, sense: new Uint8Array(0), data: r.data };
  const sense = await runRawCommand(transport, { cdb: REQUEST_SENSE, lun: request.lun, direction: 'in', length: 252 });
  return { status: 1, sense: sense.csw?.status === 0 ? sense.data : new Uint8Array(0), data: r.data };
}

function encodeReply(reply: { status: number; sense: Uint8Array; data: Uint8Array }): Uint8Array {
  const out = new Uint8Array(8 + reply.sense.length + reply.data.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, reply.status);
  view.setUint16(2, reply.sense.length, true);
  view.setUint32(4, reply.data.length, true);
  out.set(reply.sense, 8);
  out.set(reply.data, 8 + reply.sense.length);
  return out;
}

/** Serves one connection: requests are answered strictly in order. */
function serve(sim: SimulatedDevice, socket: net.Socket, log: (line: string) => void): void {
  let pending = new Uint8Array(0);
  let chain = Promise.resolve();
  socket.on('data', (chunk: Uint8Array) => {
    const joined = new Uint8Array(pending.length + chunk.length);
    joined.set(pending);
    joined.set(chunk, pending.length);
    pending = joined;
    for (;;) {
      if (pending.length < REQUEST_HEADER) return;
      const view = new DataView(pending.buffer, pending.byteOffset, pending.length);
      const lun = view.getUint8(0);
      const dir = view.getUint8(1);
      const cdbLength = view.getUint16(2, true);
      const length = view.getUint32(4, true);
      const outLength = view.getUint32(8, true);
      if (dir > 2 || cdbLength < 1 || cdbLength > 16 || outLength > 16 << 20 || length > 16 << 20) {
        log(`bad request header ${Buffer.from(pending.subarray(0, REQUEST_HEADER)).toString('hex')}`);
        socket.destroy();
        return;
      }
      const total = REQUEST_HEADER + cdbLength + outLength;
      if (pending.length < total) return;
      const cdb = pending.slice(REQUEST_HEADER, REQUEST_HEADER + cdbLength);
      const data = pending.slice(REQUEST_HEADER + cdbLength, total);
      pending = pending.slice(total);
      const direction = dir === 0 ? 'none' : dir === 1 ? 'in' : 'out';
      chain = chain.then(async () => {
        const reply = await runOne(sim, { lun, direction, length, cdb, data }).catch((error: unknown) => {
          log(`cdb ${Buffer.from(cdb).toString('hex')}: ${(error as Error).stack ?? String(error)}`);
          return { status: 2, sense: new Uint8Array(0), data: new Uint8Array(0) };
        });
        socket.write(encodeReply(reply));
      });
    }
  });
  socket.on('error', (error) => log(`socket: ${error.message}`));
}

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (value === undefined) throw new Error(`missing --${name}`);
  return value;
}

const kind = arg('kind') as SimTargetKind;
const socketPath = arg('socket');
const sim = new SimulatedDevice(simTargetDevice(kind));
const log = (line: string): void => {
  process.stderr.write(`[sim-target ${kind}] ${line}\n`);
};
fs.rmSync(socketPath, { force: true });
const server = net.createServer((socket) => serve(sim, socket, log));
server.listen(socketPath, () => {
  // The orchestrating script waits for this line before it starts the gadget.
  process.stdout.write(`listening ${socketPath}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
