// Big calls, run inside the HIL guest (bundled on the host by ab-run.ts): the device opened as shipped,
// then HOPS_N reads and HOPS_N writes of HOPS_BIG_BYTES (default 32 MiB) from LBA 0, each one
// `lu.read`/`lu.write` call (split by usbms into its default command size and pipeline jobs of 16).
// Prints MB/s of every call and the median of each kind; nothing is written to $HIL_OUT.
import type { LogicalUnit } from '../../packages/core/src/index.js';
import { openAsShipped, profile } from './guest-config.js';
import { median } from './stats.js';

const N = Number(process.env.HOPS_N ?? 5);
const BYTES = Number(process.env.HOPS_BIG_BYTES ?? 32 * 1024 * 1024);
const LABEL = process.env.HOPS_LABEL ?? '';
const log = (s: string): void => console.log(`[big-call ${profile.name}${LABEL ? ` ${LABEL}` : ''}] ${s}`);

/** MB/s (10^6 bytes per second) of each of `n` calls of `call`. */
async function rates(n: number, call: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call();
    out.push(BYTES / 1e3 / (performance.now() - t));
  }
  return out;
}

const device = await openAsShipped();
try {
  const lu: LogicalUnit = device.lun(0);
  const { blockSize, blocks } = await lu.readCapacity();
  const count = BYTES / blockSize;
  if (!Number.isInteger(count) || count > blocks) throw new Error(`HOPS_BIG_BYTES ${BYTES}: not whole blocks of ${blockSize} within ${blocks}`);
  const buffer = new Uint8Array(BYTES);
  await lu.read(0, count, { into: buffer }); // warm-up, and the data written back below
  const read = await rates(N, () => lu.read(0, count, { into: buffer }));
  const write = await rates(N, () => lu.write(0, buffer));
  await lu.flush();
  const fmt = (xs: number[]): string => `${xs.map((x) => x.toFixed(1)).join(' ')} (median ${median(xs).toFixed(1)})`;
  log(`${device.info.speed ?? '?'} speed, command ${device.maxTransferBytes} bytes, ${BYTES} bytes per call`);
  log(`read  MB/s ${fmt(read)}`);
  log(`write MB/s ${fmt(write)}`);
} finally {
  await device.close();
}
