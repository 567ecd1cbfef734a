import { CBW_LENGTH, CSW_SIGNATURE, decodeCbw, encodeCsw } from '../src/bot/wrappers.js';
import type {
  BulkInOptions,
  BulkInResult,
  BulkOutResult,
  ClassRequest,
  ControlResult,
  MscTransport,
  TransferOptions,
  TransportInfo,
} from '../src/transport.js';

/**
 * A transport with no latency at all: a minimal BOT target that answers
 * TEST UNIT READY, INQUIRY and READ(10) from memory. It measures the cost
 * of the stack above the transport, nothing else. Every transfer resolves
 * as a microtask, as a real adapter's promise would.
 */
export class ZeroLatencyTransport implements MscTransport {
  readonly info: TransportInfo = { maxPacketSizeIn: 512, maxPacketSizeOut: 512, speed: 'high', vendorId: 0x1234, productId: 0x5678 };
  /** Bytes this transport wrote into caller-supplied buffers (zero-copy path). */
  bytesIntoCaller = 0;
  /** Bytes this transport handed out in buffers of its own (the stack must copy them). */
  bytesOwnBuffer = 0;
  readonly #inquiry = new Uint8Array(36);
  readonly #csw = new Uint8Array(13);
  readonly #capacity = new Uint8Array(8);
  readonly #disk: Uint8Array;
  #pendingData: { offset: number; length: number } | undefined;
  #pendingCsw = false;

  constructor(diskBytes = 4 << 20) {
    this.#disk = new Uint8Array(diskBytes);
    for (let i = 0; i < this.#disk.length; i++) this.#disk[i] = (i * 31) & 0xff;
    this.#inquiry.set([0x00, 0x80, 0x06, 0x02, 31]);
    this.#inquiry.set(new TextEncoder().encode('BENCH   ZERO-LATENCY    1.00'), 8);
  }

  async bulkOut(data: Uint8Array, _options: TransferOptions): Promise<BulkOutResult> {
    if (data.length !== CBW_LENGTH) return { status: 'ok', bytesWritten: data.length };
    const cbw = decodeCbw(data);
    const opcode = cbw.cdb[0];
    let residue = 0;
    if (opcode === 0x12) {
      this.#pendingData = { offset: -1, length: Math.min(36, cbw.dataTransferLength) };
      residue = cbw.dataTransferLength - this.#pendingData.length;
    } else if (opcode === 0x28) {
      const v = new DataView(cbw.cdb.buffer, cbw.cdb.byteOffset);
      const lba = v.getUint32(2);
      const blocks = v.getUint16(7);
      this.#pendingData = { offset: (lba * 512) % this.#disk.length, length: blocks * 512 };
    } else if (opcode === 0x25) {
      const v = new DataView(this.#capacity.buffer);
      v.setUint32(0, this.#disk.length / 512 - 1);
      v.setUint32(4, 512);
      this.#pendingData = { offset: -3, length: 8 };
    } else if (opcode === 0x03) {
      this.#pendingData = { offset: -2, length: Math.min(18, cbw.dataTransferLength) };
    }
    encodeCsw({ signature: CSW_SIGNATURE, tag: cbw.tag, residue, status: 0 }, this.#csw);
    this.#pendingCsw = true;
    return { status: 'ok', bytesWritten: data.length };
  }

  async bulkIn(length: number, options: BulkInOptions): Promise<BulkInResult> {
    const pending = this.#pendingData;
    if (pending) {
      this.#pendingData = undefined;
      const n = Math.min(length, pending.length);
      let source: Uint8Array;
      if (pending.offset === -1) source = this.#inquiry.subarray(0, n);
      else if (pending.offset === -3) source = this.#capacity;
      else if (pending.offset === -2) source = new Uint8Array(n).fill(0).fill(0x70, 0, 1);
      else {
        const end = Math.min(pending.offset + n, this.#disk.length);
        source = this.#disk.subarray(pending.offset, end);
      }
      if (options.into) {
        options.into.set(source);
        this.bytesIntoCaller += source.length;
        return { status: 'ok', data: options.into.subarray(0, source.length) };
      }
      this.bytesOwnBuffer += source.length;
      return { status: 'ok', data: source.slice() };
    }
    if (this.#pendingCsw) {
      this.#pendingCsw = false;
      return { status: 'ok', data: this.#csw };
    }
    return { status: 'stall', data: new Uint8Array(0) };
  }

  async clearHalt(_pipe: 'in' | 'out', _options: TransferOptions): Promise<void> {}

  async classRequest(request: ClassRequest, _options: TransferOptions): Promise<ControlResult> {
    return request.request === 'get-max-lun' ? { status: 'ok', data: new Uint8Array([0]) } : { status: 'ok', data: new Uint8Array(0) };
  }

  async close(): Promise<void> {}

  onDisconnect(_listener: () => void): () => void {
    return () => undefined;
  }
}
