import { UsbmsError, UsbmsErrorCode } from '@usbms/core';
import type { App, Panel } from '../app.js';
import { field, h } from '../dom.js';
import { errorLine } from '../errors.js';
import { formatBytes } from '../hex.js';

interface Sample {
  /** Seconds since start. */
  t: number;
  /** MB/s (10^6 bytes) over the last WINDOW_S seconds (smoothed: single reads are too noisy to plot). */
  mbps: number;
}

const WINDOW_S = 0.5;

const MiB = 1024 * 1024;

/** Rounds up to 1, 2 or 5 × 10^n, for readable axis labels. */
export function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(v, 1e-9)));
  const m = v / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/** Sequential read throughput with a progress bar and a chart; cancellable. */
export function createBenchPanel(app: App): Panel {
  const total = h(
    'select',
    { id: 'bench-total' },
    ...[4, 16, 64, 256, 1024].map((m) => h('option', { value: String(m * MiB), text: formatBytes(m * MiB), selected: m === 64 })),
    h('option', { value: 'inf', text: 'Until cancelled' }),
  );
  const chunk = h(
    'select',
    { id: 'bench-chunk' },
    ...[64, 256, 1024, 4096].map((k) => h('option', { value: String(k * 1024), text: formatBytes(k * 1024), selected: k === 1024 })),
  );
  const run = h('button', { type: 'submit', id: 'bench-run', text: 'Run benchmark' });
  const cancel = h('button', { type: 'button', id: 'bench-cancel', class: 'secondary', text: 'Cancel', disabled: true });
  const progress = h('progress', { id: 'bench-progress', max: 1, value: 0, 'aria-label': 'Benchmark progress' });
  const summary = h('p', { id: 'bench-summary', 'aria-live': 'polite', class: 'bench-summary' });
  const canvas = h('canvas', { id: 'bench-chart', width: 640, height: 220, role: 'img', 'aria-label': 'Throughput over time' });
  let controller: AbortController | undefined;
  let samples: Sample[] = [];

  const form = h(
    'form',
    { class: 'row-form', 'aria-label': 'Sequential read benchmark' },
    field('Amount to read', total),
    field('Size of each READ', chunk),
    h('div', { class: 'actions' }, run, cancel),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void start();
  });
  cancel.addEventListener('click', () => controller?.abort(new Error('Cancelled by the user')));

  async function start(): Promise<void> {
    const session = app.session;
    if (!session) {
      summary.textContent = 'No device open.';
      return;
    }
    const lu = session.device.lun(app.lun);
    controller = new AbortController();
    const signal = controller.signal;
    run.disabled = true;
    cancel.disabled = false;
    cancel.focus();
    samples = [];
    progress.value = 0;
    const endless = total.value === 'inf';
    const want = endless ? Infinity : Number(total.value);
    if (endless) progress.removeAttribute('value');
    let done = 0;
    const t0 = performance.now();
    const points: { t: number; done: number }[] = [{ t: 0, done: 0 }];
    try {
      const cap = lu.capacity ?? (await lu.readCapacity({ signal }));
      const blocksPerRead = Math.max(1, Math.floor(Number(chunk.value) / cap.blockSize));
      const buffer = new Uint8Array(blocksPerRead * cap.blockSize);
      let lba = 0;
      summary.textContent = 'Running…';
      while (done < want) {
        const blocks = Math.min(blocksPerRead, cap.lastLba - lba + 1, Math.ceil((want - done) / cap.blockSize));
        await lu.read(lba, blocks, { signal, into: buffer.subarray(0, blocks * cap.blockSize) });
        done += blocks * cap.blockSize;
        lba = lba + blocks > cap.lastLba ? 0 : lba + blocks;
        const t = (performance.now() - t0) / 1000;
        points.push({ t, done });
        while (points.length > 2 && (points[1] as { t: number }).t < t - WINDOW_S) points.shift();
        const first = points[0] as { t: number; done: number };
        samples.push({ t, mbps: t > first.t ? (done - first.done) / (t - first.t) / 1e6 : 0 });
        // An endless run must not grow without bound: halve the resolution of the history.
        if (samples.length > 4000) samples = samples.filter((_, i) => i % 2 === 0);
        if (!endless) progress.value = done / want;
        if (samples.length % 4 === 1) {
          draw();
          summary.textContent = `${formatBytes(done)} read, ${rate(done, t0)}`;
          // Yield to the page so Cancel and the chart stay responsive on a fast (simulated) device.
          await new Promise((r) => setTimeout(r, 0));
        }
      }
      summary.textContent = `Done: ${formatBytes(done)} in ${((performance.now() - t0) / 1000).toFixed(2)} s, ${rate(done, t0)}.`;
      summary.dataset.state = 'done';
    } catch (error) {
      if (error instanceof UsbmsError && error.code === UsbmsErrorCode.Aborted) {
        summary.textContent = `Cancelled after ${formatBytes(done)} (${rate(done, t0)}).`;
        summary.dataset.state = 'cancelled';
      } else {
        summary.textContent = `Stopped: ${errorLine(error)}`;
        summary.dataset.state = 'error';
        app.showError(error, 'Benchmark');
      }
    } finally {
      draw();
      if (!endless || progress.hasAttribute('value')) progress.value = Math.min(1, done / (Number.isFinite(want) ? want : Math.max(done, 1)));
      else progress.value = 0;
      run.disabled = false;
      cancel.disabled = true;
      controller = undefined;
    }
  }

  function rate(bytes: number, t0: number): string {
    const s = (performance.now() - t0) / 1000;
    return s > 0 ? `${(bytes / s / 1e6).toFixed(1)} MB/s` : '—';
  }

  function draw(): void {
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 640;
    const hgt = canvas.clientHeight || 220;
    if (canvas.width !== Math.round(w * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(hgt * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const style = getComputedStyle(canvas);
    const fg = style.getPropertyValue('--chart-fg').trim() || '#2563eb';
    const grid = style.getPropertyValue('--chart-grid').trim() || '#d0d7de';
    const text = style.color || '#333';
    ctx.clearRect(0, 0, w, hgt);
    const pad = { l: 56, r: 12, t: 12, b: 28 };
    const maxT = Math.max(1, samples.at(-1)?.t ?? 1);
    const maxY = niceCeil(samples.reduce((m, s) => Math.max(m, s.mbps), 1) * 1.1);
    ctx.strokeStyle = grid;
    ctx.fillStyle = text;
    ctx.font = '12px system-ui, sans-serif';
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = pad.t + ((hgt - pad.t - pad.b) * i) / 4;
      ctx.beginPath();
      ctx.moveTo(pad.l, y);
      ctx.lineTo(w - pad.r, y);
      ctx.stroke();
      const v = (maxY * (4 - i)) / 4;
      ctx.fillText(`${v.toFixed(maxY >= 20 ? 0 : maxY >= 2 ? 1 : 2)} MB/s`, 4, y + 4);
    }
    ctx.fillText('0 s', pad.l, hgt - 8);
    ctx.fillText(`${maxT.toFixed(1)} s`, w - pad.r - 40, hgt - 8);
    if (samples.length === 0) return;
    ctx.strokeStyle = fg;
    ctx.lineWidth = 2;
    ctx.beginPath();
    samples.forEach((s, i) => {
      const x = pad.l + ((w - pad.l - pad.r) * s.t) / maxT;
      const y = hgt - pad.b - ((hgt - pad.t - pad.b) * s.mbps) / maxY;
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }

  const element = h('div', { class: 'bench-panel' }, form, progress, summary, h('div', { class: 'chart-wrap' }, canvas));
  // Redraw at the new size when the layout changes (otherwise the bitmap is stretched).
  new ResizeObserver(() => draw()).observe(canvas);
  return {
    id: 'bench',
    title: 'Benchmark',
    element,
    update: () => {
      if (!app.session) controller?.abort(new Error('The device was closed'));
      draw();
    },
  };
}
