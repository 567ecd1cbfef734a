/**
 * One client process of many-clients.test.ts: opens `count` connections to
 * `usbms serve` (alternating WebSocket and Unix socket), and on each writes one
 * block with its own pattern, then reads it back `reads` times with all reads
 * queued at once. Prints one JSON line: commands settled, and any mismatch.
 *
 * Usage: node --conditions=source --import tsx client-worker.ts WS_URL UNIX_URL TOKEN FIRST_ID COUNT READS
 * With COUNT 0 it is the victim: one slow 256-block read of LBA 3000, killed mid-command by the test.
 */
import { connectRemote } from '@usbms/node';

const [wsUrl = '', unixUrl = '', token = '', firstText = '0', countText = '0', readsText = '0'] = process.argv.slice(2);
const first = Number(firstText);
const count = Number(countText);
const reads = Number(readsText);

if (count === 0) {
  const client = await connectRemote(unixUrl, { token });
  process.stdout.write('victim connected\n');
  await client.device().lun(0).read(3000, 256);
  process.stdout.write('victim done (should have been killed)\n');
  process.exit(3);
}

let settled = 0;
const problems: string[] = [];
await Promise.all(
  Array.from({ length: count }, async (_, i) => {
    const id = first + i;
    const client = await connectRemote(i % 2 === 0 ? wsUrl : unixUrl, { token, clientName: `client ${id}` });
    const lu = client.device().lun(0);
    const block = new Uint8Array(512).fill(id & 0xff);
    new DataView(block.buffer).setUint32(0, id, true);
    await lu.write(100 + id, block);
    settled++;
    const results = await Promise.allSettled(Array.from({ length: reads }, () => lu.read(100 + id, 1)));
    for (const r of results) {
      settled++;
      if (r.status === 'rejected') problems.push(`client ${id}: ${String(r.reason)}`);
      else if (new DataView(r.value.buffer, r.value.byteOffset).getUint32(0, true) !== id || r.value[511] !== (id & 0xff)) {
        problems.push(`client ${id} got another client's data`);
      }
    }
    client.close();
  }),
);
process.stdout.write(`${JSON.stringify({ settled, problems })}\n`);
