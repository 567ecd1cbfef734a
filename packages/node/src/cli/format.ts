/** Text helpers for the CLI. Pure functions. */

/** Hex + ASCII dump, 16 bytes a line, like `sg_raw`/`hexdump -C`. */
export function hexDump(data: Uint8Array, options: { offset?: number; maxBytes?: number } = {}): string {
  const base = options.offset ?? 0;
  const limit = Math.min(data.length, options.maxBytes ?? data.length);
  const lines: string[] = [];
  for (let i = 0; i < limit; i += 16) {
    const row = data.subarray(i, Math.min(i + 16, limit));
    let hex = '';
    let ascii = '';
    for (let j = 0; j < 16; j++) {
      const b = row[j];
      hex += b === undefined ? '   ' : `${b.toString(16).padStart(2, '0')} `;
      if (j === 7) hex += ' ';
      if (b !== undefined) ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    lines.push(`${(base + i).toString(16).padStart(8, '0')}  ${hex} |${ascii}|`);
  }
  if (limit < data.length) lines.push(`... ${data.length - limit} more bytes`);
  return lines.join('\n');
}

export function toHex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)} ${units[unit]}`;
}

/** SI capacity, as drive vendors label it: 8004304896 -> "8.00 GB". */
export function formatSiBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(2)} ${units[unit]}`;
}

export function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/** "VID:PID[:SERIAL]", as `--device` takes it. */
export function deviceId(info: { vendorId?: number; productId?: number; serialNumber?: string }): string {
  return `${hex4(info.vendorId ?? 0)}:${hex4(info.productId ?? 0)}${info.serialNumber ? `:${info.serialNumber}` : ''}`;
}

export function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Two aligned columns: "key: value". */
export function keyValues(rows: [string, string | number | boolean | undefined][]): string {
  const shown = rows.filter((r): r is [string, string | number | boolean] => r[1] !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${String(v)}`).join('\n');
}

/** JSON with Uint8Array as hex strings and bigint as strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (v instanceof Uint8Array) return toHex(v);
      if (typeof v === 'bigint') return v.toString();
      return v;
    },
    2,
  );
}
