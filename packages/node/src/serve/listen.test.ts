import { describe, expect, it } from 'vitest';
import { hostAllowed } from './listen.js';

describe('hostAllowed (Host header check, DNS-rebinding defence)', () => {
  it('a loopback listener answers to its loopback names on its port only', () => {
    for (const h of ['127.0.0.1:5181', 'localhost:5181', '[::1]:5181', 'LOCALHOST:5181']) expect(hostAllowed(h, '127.0.0.1', 5181), h).toBe(true);
    for (const h of ['evil.example:5181', '127.0.0.1:5182', '127.0.0.1', '192.168.1.5:5181', '', 'a:b:c', '127.0.0.1:5181:1'])
      expect(hostAllowed(h, '127.0.0.1', 5181), h).toBe(false);
  });

  it('a wildcard listener answers to IP literals and localhost, never to a DNS name', () => {
    for (const h of ['192.168.1.5:5181', '10.0.2.15:5181', '127.0.0.1:5181', '[fe80::1]:5181', 'localhost:5181']) {
      expect(hostAllowed(h, '0.0.0.0', 5181), h).toBe(true);
      expect(hostAllowed(h, '::', 5181), h).toBe(true);
    }
    for (const h of ['evil.example:5181', '192.168.1.5:80', '1.2.3.4.nip.io:5181', '192.168.1.5']) expect(hostAllowed(h, '0.0.0.0', 5181), h).toBe(false);
  });

  it('a listener on one address answers to that address only', () => {
    expect(hostAllowed('192.168.1.5:5181', '192.168.1.5', 5181)).toBe(true);
    expect(hostAllowed('[fd00::5]:5181', 'fd00::5', 5181)).toBe(true);
    expect(hostAllowed('10.0.0.1:5181', '192.168.1.5', 5181)).toBe(false);
    expect(hostAllowed('host.example:5181', '192.168.1.5', 5181)).toBe(false);
  });

  it('a Host without a port means port 80', () => {
    expect(hostAllowed('localhost', '127.0.0.1', 80)).toBe(true);
    expect(hostAllowed('localhost', '127.0.0.1', 5181)).toBe(false);
  });
});
