import type { App, Panel } from '../app.js';
import { confirmDialog, download, field, h, readFile } from '../dom.js';
import { errorLine } from '../errors.js';
import { formatBytes, hexDump } from '../hex.js';

/** Largest range shown or saved at once: keeps the page responsive. */
const MAX_READ_BYTES = 16 * 1024 * 1024;
const MAX_SHOWN_BYTES = 64 * 1024;

/** Sector viewer: read any LBA range, hex view, go to LBA, save a range, write sectors from a file (confirmed). */
export function createSectorPanel(app: App): Panel {
  const lba = h('input', { id: 'sec-lba', type: 'number', min: '0', step: '1', value: '0' });
  const count = h('input', { id: 'sec-count', type: 'number', min: '1', max: '32768', step: '1', value: '1' });
  const read = h('button', { type: 'submit', id: 'sec-read', text: 'Read' });
  const prev = h('button', { type: 'button', class: 'secondary', text: '◀ Previous', 'aria-label': 'Previous range', onclick: () => step(-1) });
  const next = h('button', { type: 'button', class: 'secondary', text: 'Next ▶', 'aria-label': 'Next range', onclick: () => step(1) });
  const save = h('button', { type: 'button', class: 'secondary', id: 'sec-save', text: 'Save range to file…', onclick: () => void saveRange() });
  const info = h('p', { class: 'muted', id: 'sec-info', 'aria-live': 'polite' });
  const view = h('pre', { class: 'hex', id: 'sec-hex', tabindex: 0, 'aria-label': 'Sector contents, hex and ASCII' });

  const file = h('input', { id: 'sec-file', type: 'file' });
  const writeLba = h('input', { id: 'sec-write-lba', type: 'number', min: '0', step: '1', value: '0' });
  const writeBtn = h('button', { type: 'submit', id: 'sec-write', class: 'danger', text: 'Write…' });
  const writeResult = h('p', { id: 'sec-write-result', 'aria-live': 'polite' });

  const readForm = h(
    'form',
    { class: 'row-form', 'aria-label': 'Read sectors' },
    field('Go to LBA', lba),
    field('Blocks', count),
    h('div', { class: 'actions' }, read, prev, next, save),
  );
  readForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void readRange();
  });
  const writeForm = h(
    'form',
    { class: 'row-form', 'aria-label': 'Write sectors from a file' },
    field('File (padded with zeros to whole blocks)', file),
    field('Write at LBA', writeLba),
    h('div', { class: 'actions' }, writeBtn),
  );
  writeForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void writeFromFile();
  });

  function blockSize(): number | undefined {
    return app.session?.device.lun(app.lun).capacity?.blockSize;
  }

  async function range(): Promise<{ start: number; blocks: number; size: number } | undefined> {
    const session = app.session;
    if (!session) {
      info.textContent = 'No device open.';
      return undefined;
    }
    const cap = session.device.lun(app.lun).capacity ?? (await session.device.lun(app.lun).readCapacity());
    const start = Math.floor(Number(lba.value));
    let blocks = Math.max(1, Math.floor(Number(count.value) || 1));
    if (!Number.isSafeInteger(start) || start < 0 || start > cap.lastLba) {
      info.textContent = `LBA must be between 0 and ${cap.lastLba}.`;
      lba.focus();
      return undefined;
    }
    blocks = Math.min(blocks, cap.lastLba - start + 1, Math.floor(MAX_READ_BYTES / cap.blockSize));
    return { start, blocks, size: cap.blockSize };
  }

  async function readRange(): Promise<Uint8Array | undefined> {
    const session = app.session;
    try {
      const r = await range();
      if (!r || !session) return undefined;
      read.disabled = true;
      const t0 = performance.now();
      const bytes = await session.device.lun(app.lun).read(r.start, r.blocks);
      const ms = performance.now() - t0;
      info.textContent =
        `LBA ${r.start}–${r.start + r.blocks - 1} (${r.blocks} × ${r.size} B = ${formatBytes(bytes.length)}) read in ${ms.toFixed(1)} ms` +
        (bytes.length > MAX_SHOWN_BYTES ? `; showing the first ${formatBytes(MAX_SHOWN_BYTES)}` : '');
      view.textContent = hexDump(bytes, { baseAddress: r.start * r.size, maxBytes: MAX_SHOWN_BYTES });
      return bytes;
    } catch (error) {
      info.textContent = errorLine(error);
      app.showError(error, 'Read');
      return undefined;
    } finally {
      read.disabled = false;
    }
  }

  function step(direction: 1 | -1): void {
    const blocks = Math.max(1, Math.floor(Number(count.value) || 1));
    lba.value = String(Math.max(0, Math.floor(Number(lba.value) || 0) + direction * blocks));
    void readRange();
  }

  async function saveRange(): Promise<void> {
    const r = await range();
    const bytes = await readRange();
    if (!r || !bytes) return;
    download(`lun${app.lun}-lba${r.start}-${r.blocks}blocks.bin`, bytes);
    app.status(`Saved ${formatBytes(bytes.length)} to a file.`);
  }

  async function writeFromFile(): Promise<void> {
    const session = app.session;
    const f = file.files?.[0];
    if (!session || !f) {
      writeResult.textContent = session ? 'Choose a file first.' : 'No device open.';
      return;
    }
    try {
      const lu = session.device.lun(app.lun);
      const cap = lu.capacity ?? (await lu.readCapacity());
      const at = Math.floor(Number(writeLba.value));
      const raw = await readFile(f);
      if (raw.length === 0) throw new Error('The file is empty.');
      const blocks = Math.ceil(raw.length / cap.blockSize);
      if (!Number.isSafeInteger(at) || at < 0 || at + blocks - 1 > cap.lastLba)
        throw new Error(`The range LBA ${at}+${blocks} is outside the medium (last LBA ${cap.lastLba}).`);
      if (blocks * cap.blockSize > MAX_READ_BYTES) throw new Error(`Files up to ${formatBytes(MAX_READ_BYTES)} can be written here.`);
      const data = new Uint8Array(blocks * cap.blockSize);
      data.set(raw);
      const ok = await confirmDialog(
        'Overwrite sectors?',
        `This writes ${blocks} block${blocks > 1 ? 's' : ''} (${formatBytes(data.length)}) from "${f.name}" at LBA ${at} of ${session.label}, LUN ${app.lun}. ` +
          'The old contents are lost. File systems on the device may be damaged.',
        'Overwrite',
      );
      if (!ok) {
        writeResult.textContent = 'Write cancelled.';
        return;
      }
      writeBtn.disabled = true;
      await lu.write(at, data, { verify: true });
      await lu.flush();
      writeResult.textContent = `Wrote and verified ${blocks} block${blocks > 1 ? 's' : ''} at LBA ${at}.`;
      lba.value = String(at);
      count.value = String(Math.min(blocks, 64));
      await readRange();
    } catch (error) {
      writeResult.textContent = errorLine(error);
      app.showError(error, 'Write');
    } finally {
      writeBtn.disabled = false;
    }
  }

  const element = h(
    'div',
    { class: 'sector-panel' },
    readForm,
    info,
    view,
    h(
      'section',
      { class: 'write-section', 'aria-labelledby': 'write-h' },
      h('h3', { id: 'write-h', text: 'Write sectors from a file' }),
      writeForm,
      writeResult,
    ),
  );
  return {
    id: 'sectors',
    title: 'Sectors',
    element,
    update: () => {
      view.textContent = '';
      const bs = blockSize();
      info.textContent = app.session ? `Block size ${bs ?? '?'} B. Enter an LBA and press Read.` : 'No device open.';
    },
  };
}
