import type { BulkInOptions, BulkInResult, BulkOutResult, ClassRequest, ControlResult, MscTransport, TransferOptions, TransportInfo } from '@usbms/core';
import { AbortError } from '@usbms/core';

/**
 * A scriptable MscTransport for the adapter's unit tests: it answers bulk-IN
 * with a byte pattern, records bulk-OUT, and can stall, babble or hang (until
 * its signal fires) on demand. Protocol behaviour is the simulator's job.
 */
export class ScriptedTransport implements MscTransport {
  readonly info: TransportInfo = { maxPacketSizeIn: 512, maxPacketSizeOut: 512 };
  readonly written: Uint8Array[] = [];
  readonly classRequests: string[] = [];
  readonly inLengths: number[] = [];
  /** Results for the next bulk-IN calls, consumed in order; 'hang' waits for the signal. */
  nextIn: ('stall' | 'babble' | 'hang' | number)[] = [];
  nextOut: ('stall' | 'hang')[] = [];
  maxLun = 0;
  resets = 0;

  async bulkOut(data: Uint8Array, options: TransferOptions): Promise<BulkOutResult> {
    const next = this.nextOut.shift();
    if (next === 'hang') return this.#hang(options);
    if (next === 'stall') return { status: 'stall', bytesWritten: 0 };
    this.written.push(data.slice());
    return { status: 'ok', bytesWritten: data.length };
  }

  async bulkIn(length: number, options: BulkInOptions): Promise<BulkInResult> {
    this.inLengths.push(length);
    const next = this.nextIn.shift();
    if (next === 'hang') return this.#hang(options);
    if (next === 'stall') return { status: 'stall', data: new Uint8Array(0) };
    const n = next === 'babble' ? length : Math.min(length, next ?? length);
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = i & 0xff;
    return { status: next === 'babble' ? 'babble' : 'ok', data };
  }

  async clearHalt(): Promise<void> {}

  async classRequest(request: ClassRequest): Promise<ControlResult> {
    this.classRequests.push(request.request);
    if (request.request === 'get-max-lun') return { status: 'ok', data: Uint8Array.of(this.maxLun) };
    this.resets++;
    return { status: 'ok', data: new Uint8Array(0) };
  }

  async portReset(): Promise<void> {
    this.resets++;
  }

  async close(): Promise<void> {}

  onDisconnect(): () => void {
    return () => undefined;
  }

  #hang(options: TransferOptions): Promise<never> {
    return new Promise((_, reject) => {
      options.signal?.addEventListener('abort', () => reject(new AbortError()), { once: true });
    });
  }
}
