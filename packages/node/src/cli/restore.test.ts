// `usbms restore` in-process over the simulator, for what the CLI tests cannot reach from outside:
// a device that takes part of a call (PartialWriteError) while the next chunk of the image is
// already being read ahead (ChunkReader).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CliContext } from './context.js';
import { cmdRestore } from './image.js';

const dirs: string[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('restore with the image read ahead', () => {
  it('a device that takes part of a call: the restore goes on right after the last block it took, and the medium ends up as the image', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'usbms-restore-'));
    dirs.push(dir);
    const image = join(dir, 'image.img');
    const target = join(dir, 'target.img');
    // 512 blocks; 8-block commands, 16 per call: four calls of 128 blocks.
    const content = randomBytes(512 * 512);
    await writeFile(image, content);
    const notes: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((text) => {
      notes.push(String(text));
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const ctx = new CliContext({ simImage: target, simSize: '256K', maxTransfer: '4K' }, new AbortController().signal);
    await ctx.open({ writable: true });
    // One MEDIUM ERROR on the WRITE covering LBA 140: the second call stops after its first command (128-135).
    ctx.simulator?.inject({ kind: 'medium-error', lba: 140, writes: true });
    await cmdRestore(ctx, { input: image, yes: true });
    await ctx.close();
    expect(notes.join('')).toContain('the device took 8 of 128 blocks at LBA 128; continuing at LBA 136');
    expect((await readFile(target)).equals(content)).toBe(true);
  });
});
