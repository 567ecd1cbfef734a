import type { TraceEvent } from '@usbms/core';
import type { App, Panel } from '../app.js';
import { download, downloadBlob, h } from '../dom.js';
import { hex2, toHex } from '../hex.js';

const MAX_EVENTS = 20_000;
const MAX_ROWS = 400;

/** One line of text per event: what the wire saw. */
export function describeTraceEvent(e: TraceEvent): string {
  switch (e.type) {
    case 'command-start':
      return `${e.name} LUN ${e.lun} CDB ${toHex(e.cdb)} ${e.direction}${e.direction === 'none' ? '' : ` ${e.length} B`}`;
    case 'cbw':
      return `CBW tag ${e.tag} ${toHex(e.bytes)}`;
    case 'data':
      return `DATA ${e.direction.toUpperCase()} ${e.actual}/${e.requested} B ${e.status === 'ok' ? '' : e.status.toUpperCase()}`.trim();
    case 'csw':
      return `CSW tag ${e.tag} status ${e.status} residue ${e.residue} ${toHex(e.bytes)}`;
    case 'sense':
      return `SENSE ${hex2(e.senseKey)}/${hex2(e.asc)}/${hex2(e.ascq)} ${e.text}`;
    case 'recovery':
      return `RECOVERY ${e.step} ${e.ok ? 'ok' : 'FAILED'}${e.detail ? ` ${e.detail}` : ''}`;
    case 'command-end':
      return `END ${e.outcome}${e.residue !== undefined ? ` residue ${e.residue}` : ''}${e.error ? ` ${e.error}` : ''}`;
    case 'quirks':
      return `QUIRKS (${e.stage}) ${e.rules.length === 0 ? 'no rule matched' : e.rules.join('; ')}`;
  }
}

/** JSON-safe form of an event (byte arrays as hex). */
export function serializeTraceEvent(e: TraceEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) out[k] = v instanceof Uint8Array ? toHex(v, '') : v;
  return out;
}

/** Live trace of every CBW / data / CSW with timings, exportable as JSON Lines. */
export function createTracePanel(app: App): Panel {
  const events: TraceEvent[] = [];
  let dropped = 0;
  let origin: number | undefined;
  let paused = false;
  let unsubscribe: (() => void) | undefined;
  let pending = false;

  const tbody = h('tbody', { id: 'trace-body' });
  const count = h('span', { class: 'muted', id: 'trace-count', 'aria-live': 'off' });
  const pause = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false', text: 'Pause', onclick: () => togglePause() });
  const table = h(
    'table',
    { class: 'trace', 'aria-label': 'Wire trace' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col', text: 'Time (ms)' }),
        h('th', { scope: 'col', text: '#' }),
        h('th', { scope: 'col', text: 'Event' }),
        h('th', { scope: 'col', text: 'Detail' }),
        h('th', { scope: 'col', text: 'Took (ms)' }),
      ),
    ),
    tbody,
  );

  function togglePause(): void {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
  }

  function onEvent(e: TraceEvent): void {
    if (paused) return;
    origin ??= e.time;
    events.push(e);
    if (events.length > MAX_EVENTS) {
      events.shift();
      dropped++;
    }
    if (!pending) {
      pending = true;
      requestAnimationFrame(render);
    }
  }

  function render(): void {
    pending = false;
    const shown = events.slice(-MAX_ROWS);
    const rows = shown.map((e) => {
      const took = 'durationMs' in e ? e.durationMs.toFixed(3) : '';
      return h(
        'tr',
        { class: `ev-${e.type}` },
        h('td', { class: 'num', text: (e.time - (origin ?? e.time)).toFixed(3) }),
        h('td', { class: 'num', text: e.id }),
        h('td', { text: e.type }),
        h('td', { class: 'mono', text: describeTraceEvent(e) }),
        h('td', { class: 'num', text: took }),
      );
    });
    tbody.replaceChildren(...rows.reverse());
    count.textContent = `${events.length} events${dropped ? ` (${dropped} oldest dropped)` : ''}${events.length > MAX_ROWS ? `, newest ${MAX_ROWS} shown` : ''}`;
  }

  const element = h(
    'div',
    { class: 'trace-panel' },
    h(
      'div',
      { class: 'actions' },
      pause,
      h('button', {
        type: 'button',
        class: 'secondary',
        text: 'Clear',
        onclick: () => {
          events.length = 0;
          dropped = 0;
          origin = undefined;
          render();
        },
      }),
      h('button', {
        type: 'button',
        id: 'trace-export',
        text: 'Export (JSON Lines)',
        onclick: () => {
          const text = `${events.map((e) => JSON.stringify(serializeTraceEvent(e))).join('\n')}\n`;
          download(`usbms-trace-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`, text, 'application/jsonl');
        },
      }),
      h('button', {
        type: 'button',
        id: 'trace-export-pcap',
        class: 'secondary',
        text: 'Export pcap',
        title: 'Every USB transfer of this session as a pcap file for Wireshark (data stages cut at 64 bytes)',
        onclick: () => {
          const capture = app.session?.capture;
          if (capture === undefined) return;
          downloadBlob(capture.fileName(), capture.blob());
        },
      }),
      count,
    ),
    h('div', { class: 'table-wrap', tabindex: 0, 'aria-label': 'Trace table, scrollable' }, table),
  );

  return {
    id: 'trace',
    title: 'Trace',
    element,
    update: () => {
      unsubscribe?.();
      unsubscribe = app.session?.device.onTrace(onEvent);
    },
  };
}
