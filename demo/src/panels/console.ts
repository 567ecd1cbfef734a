import type { App, Panel } from '../app.js';
import { BUILTIN_COMMANDS } from '../builtins.js';
import { clear, dl, field, h } from '../dom.js';
import { errorLine } from '../errors.js';
import { hex2, hexDump, parseHex, toHex } from '../hex.js';

interface HistoryEntry {
  cdb: string;
  direction: 'none' | 'in' | 'out';
  length: number;
  data: string;
  lun: number;
  outcome: string;
  ok: boolean;
}

/** Command console: built-in or raw CDB, direction, length/data; result, sense and dump; history. */
export function createConsolePanel(app: App): Panel {
  const preset = h('select', { id: 'cmd-preset' }, h('option', { value: '', text: 'Custom (raw CDB)' }));
  for (const [i, c] of BUILTIN_COMMANDS.entries()) preset.append(h('option', { value: String(i), text: c.name }));
  const cdb = h('input', {
    id: 'cmd-cdb',
    type: 'text',
    class: 'mono',
    autocomplete: 'off',
    spellcheck: false,
    placeholder: '12 00 00 00 24 00',
    required: true,
  });
  const direction = h(
    'select',
    { id: 'cmd-direction' },
    h('option', { value: 'none', text: 'None (no data)' }),
    h('option', { value: 'in', text: 'In (device → host)' }),
    h('option', { value: 'out', text: 'Out (host → device)' }),
  );
  const length = h('input', { id: 'cmd-length', type: 'number', min: '0', max: '16777216', step: '1', value: '0' });
  const data = h('textarea', { id: 'cmd-data', class: 'mono', rows: 3, spellcheck: false, placeholder: '55 53 42 4d …' });
  const timeout = h('input', { id: 'cmd-timeout', type: 'number', min: '100', step: '100', value: '5000' });
  const note = h('p', { class: 'muted small', 'aria-live': 'polite' });
  const send = h('button', { type: 'submit', id: 'cmd-send', text: 'Send command', 'aria-keyshortcuts': 'Control+Enter' });
  const lengthField = field('Transfer length (bytes)', length);
  const dataField = field('Data out (hex)', data);
  const result = h('div', { id: 'cmd-result', class: 'result', 'aria-live': 'polite', 'aria-label': 'Command result' });
  const history = h('ol', { id: 'cmd-history', class: 'history', 'aria-label': 'Command history' });
  const entries: HistoryEntry[] = [];

  const syncDirection = () => {
    lengthField.hidden = direction.value !== 'in';
    dataField.hidden = direction.value !== 'out';
  };
  preset.addEventListener('change', () => {
    const c = BUILTIN_COMMANDS[Number(preset.value)];
    if (!preset.value || !c) {
      note.textContent = '';
      return;
    }
    cdb.value = c.cdb;
    direction.value = c.direction;
    length.value = String(c.length ?? 0);
    data.value = c.data ?? '';
    note.textContent = c.note;
    syncDirection();
  });
  direction.addEventListener('change', syncDirection);
  cdb.addEventListener('input', () => {
    preset.value = '';
    note.textContent = '';
  });

  const form = h(
    'form',
    { class: 'console-form', 'aria-label': 'Send a SCSI command' },
    h('div', { class: 'grid2' }, field('Built-in command', preset), field('CDB (hex, 1–16 bytes)', cdb, 'Spaces optional, e.g. 12 00 00 00 24 00')),
    note,
    h('div', { class: 'grid3' }, field('Data direction', direction), lengthField, field('Timeout (ms)', timeout)),
    dataField,
    h('div', { class: 'actions' }, send),
  );
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void run();
  });
  syncDirection();

  async function run(): Promise<void> {
    const session = app.session;
    if (!session) {
      clear(result, h('p', { class: 'err', text: 'No device open.' }));
      return;
    }
    let cdbBytes: Uint8Array;
    let dataBytes: Uint8Array | undefined;
    try {
      cdbBytes = parseHex(cdb.value, 'CDB');
      if (cdbBytes.length < 1 || cdbBytes.length > 16) throw new Error(`CDB: ${cdbBytes.length} bytes; BOT carries 1 to 16 (BOT 1.0 §5.1)`);
      if (direction.value === 'out') dataBytes = parseHex(data.value, 'Data');
    } catch (error) {
      clear(result, h('p', { class: 'err', role: 'alert', text: error instanceof Error ? error.message : String(error) }));
      cdb.focus();
      return;
    }
    const dir = direction.value as 'none' | 'in' | 'out';
    const len = dir === 'in' ? Math.max(0, Math.floor(Number(length.value) || 0)) : 0;
    const lun = app.lun;
    send.disabled = true;
    clear(result, h('p', { class: 'muted', text: 'Running…' }));
    const started = performance.now();
    const entry: HistoryEntry = { cdb: toHex(cdbBytes), direction: dir, length: len, data: dataBytes ? toHex(dataBytes) : '', lun, outcome: '', ok: false };
    try {
      const r = await session.device.execute({
        cdb: cdbBytes,
        direction: dir,
        lun,
        timeoutMs: Math.max(100, Number(timeout.value) || 5000),
        ...(dir === 'in' ? { length: len } : {}),
        ...(dataBytes ? { data: dataBytes } : {}),
      });
      const ms = performance.now() - started;
      const good = r.status === 'good';
      entry.ok = good;
      entry.outcome = good ? 'GOOD' : `CHECK CONDITION${r.sense ? ` ${r.sense.senseKeyName}` : ''}`;
      clear(
        result,
        h('div', { class: 'result-head' }, h('span', { class: `badge ${good ? 'good' : 'bad'}`, id: 'cmd-status', text: good ? 'GOOD' : 'CHECK CONDITION' })),
        dl([
          ['Status', `${hex2(r.statusCode)} ${good ? 'GOOD' : 'CHECK CONDITION'}`],
          ['Residue', `${r.residue} bytes`],
          ['Received', `${r.data.length} bytes`],
          ['Time', `${ms.toFixed(1)} ms`],
          [
            'Sense',
            r.sense
              ? `${r.sense.senseKeyName}: ${r.sense.description} (key ${hex2(r.sense.senseKey)}, ASC ${hex2(r.sense.asc)}, ASCQ ${hex2(r.sense.ascq)})` +
                (r.sense.information !== undefined ? `, information ${r.sense.information}` : '')
              : '—',
          ],
        ]),
        dir === 'in'
          ? h('pre', {
              class: 'hex',
              id: 'cmd-dump',
              tabindex: 0,
              'aria-label': 'Data received, hex and ASCII',
              text: hexDump(r.data, { maxBytes: 64 * 1024 }),
            })
          : null,
      );
    } catch (error) {
      entry.outcome = errorLine(error).split(':')[0] ?? 'ERROR';
      clear(
        result,
        h('div', { class: 'result-head' }, h('span', { class: 'badge bad', id: 'cmd-status', text: 'ERROR' })),
        h('p', { class: 'err wrap', text: errorLine(error) }),
      );
      app.showError(error, 'Command');
    } finally {
      send.disabled = false;
      entries.unshift(entry);
      if (entries.length > 100) entries.pop();
      renderHistory();
    }
  }

  function renderHistory(): void {
    clear(
      history,
      ...entries.map((e) =>
        h(
          'li',
          {},
          h('button', {
            class: `link mono ${e.ok ? '' : 'err'}`,
            title: 'Load this command into the form',
            text: `LUN ${e.lun} · ${e.cdb} · ${e.direction}${e.direction === 'in' ? ` ${e.length}` : ''} → ${e.outcome}`,
            onclick: () => {
              preset.value = '';
              cdb.value = e.cdb;
              direction.value = e.direction;
              length.value = String(e.length);
              data.value = e.data;
              syncDirection();
              cdb.focus();
            },
          }),
        ),
      ),
    );
  }

  const element = h(
    'div',
    { class: 'console-panel' },
    form,
    result,
    h('section', { 'aria-labelledby': 'hist-h' }, h('h3', { id: 'hist-h', text: 'History' }), history),
  );
  return { id: 'console', title: 'Console', element, update: () => undefined };
}
