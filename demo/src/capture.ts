import { type CaptureSink, type MscTransport, PcapWriter, RecordingTransport } from '@usbms/core';

/** Most pcap bytes a session keeps in the tab (after that, new records are counted, not kept). */
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * The session's USB capture: every transfer of the device, as pcap records
 * (usbmon format, data stages cut at 64 bytes) that "Export pcap" saves for
 * Wireshark. The chunks become one Blob only when exported.
 */
export class SessionCapture implements CaptureSink {
  readonly transport: RecordingTransport;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  #dropped = 0;
  readonly #started = new Date();

  constructor(platform: MscTransport) {
    this.transport = new RecordingTransport(platform);
    const pcap = new PcapWriter(this, { info: this.transport.info });
    this.transport.on((event) => pcap.record(event));
  }

  write(chunk: Uint8Array): void {
    if (this.#bytes + chunk.length > MAX_BYTES) {
      this.#dropped++;
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  /** Bytes kept, and records dropped once the cap was reached. */
  get size(): { bytes: number; dropped: number } {
    return { bytes: this.#bytes, dropped: this.#dropped };
  }

  /** The capture so far as a pcap file. */
  blob(): Blob {
    return new Blob(
      this.#chunks.map((c) => new Uint8Array(c)),
      { type: 'application/vnd.tcpdump.pcap' },
    );
  }

  fileName(): string {
    return `usbms-${this.#started.toISOString().replace(/[:.]/g, '-')}.pcap`;
  }
}
