import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** A fresh random token: 24 bytes, base64url (also a valid WebSocket subprotocol token, RFC 6455 §4.1). */
export function generateToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Where `usbms serve` writes its token unless told otherwise: ~/.usbms/serve.token (like Jupyter's runtime files). */
export function defaultTokenFile(): string {
  return path.join(homedir(), '.usbms', 'serve.token');
}

/** Writes the token to a file only its owner can read (0600, in a 0700 directory when it creates one). */
export function writeTokenFile(file: string, token: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of a file that already existed.
  chmodSync(file, 0o600);
}
