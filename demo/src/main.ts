import './style.css';
import { DisconnectedError } from '@usbms/core';
import type { UsbLike } from '@usbms/web';
import { watchDevices } from '@usbms/web';
import type { App, Panel, Session } from './app.js';
import { clear, h } from './dom.js';
import { renderError } from './errors.js';
import { createBenchPanel } from './panels/bench.js';
import { createConsolePanel } from './panels/console.js';
import { createDevicePanel } from './panels/device.js';
import { createHealthPanel } from './panels/health.js';
import { createSectorPanel } from './panels/sectors.js';
import { createTracePanel } from './panels/trace.js';
import { deviceLabel, openRemoteSession, openSimulatedSession, openUsbSession, rememberedServe, SIM_KINDS, type SimKind } from './session.js';
import { installFakeUsbFromQuery } from './test-hooks.js';

const fakeUsb = installFakeUsbFromQuery();
const webUsb: UsbLike | undefined = fakeUsb ?? (navigator as unknown as { usb?: UsbLike }).usb;

let session: Session | undefined;
let lun = 0;
let state: 'opening' | 'open' | 'disconnected' | 'closed' = 'closed';
let unsubscribeDisconnect: (() => void) | undefined;
const listeners = { session: new Set<() => void>(), lun: new Set<() => void>() };

const banner = h('div', { id: 'banner', class: 'banner', role: 'alert', hidden: true });
const statusLine = h('span', { id: 'status-line', 'aria-live': 'polite' });
const connPill = h('span', { id: 'conn-state', class: 'pill' });
const connLabel = h('span', { id: 'conn-label', class: 'conn-label' });

const app: App = {
  get session() {
    return session;
  },
  get lun() {
    return lun;
  },
  setLun(n) {
    lun = n;
    for (const l of listeners.lun) l();
  },
  showError(error, context) {
    const dismiss = h('button', { class: 'icon', 'aria-label': 'Dismiss error', text: '×', onclick: () => (banner.hidden = true) });
    clear(banner, renderError(error, context), dismiss);
    banner.hidden = false;
  },
  status(text) {
    statusLine.textContent = text;
  },
  on(event, listener) {
    listeners[event].add(listener);
  },
};

if (webUsb) {
  watchDevices({ onAttach: (info) => app.status(`${deviceLabel(info)} was plugged in: click "Connect USB device" to open it.`) }, { usb: webUsb });
}

const devicePanel = createDevicePanel(app);
const tools: Panel[] = [createConsolePanel(app), createSectorPanel(app), createHealthPanel(app), createTracePanel(app), createBenchPanel(app)];
for (const p of [devicePanel, ...tools]) {
  app.on('session', p.update);
  app.on('lun', p.update);
}

function renderConnection(): void {
  const labels = { opening: 'Opening…', open: 'Connected', disconnected: 'Disconnected', closed: 'No device' } as const;
  connPill.textContent = labels[state];
  connPill.dataset.state = state;
  connLabel.textContent = session ? session.label : state === 'disconnected' ? 'The device was unplugged' : '';
  closeBtn.disabled = !session;
  connectBtn.disabled = !webUsb || state === 'opening';
  simBtn.disabled = state === 'opening';
  serveBtn.disabled = state === 'opening';
  serveConnect.disabled = state === 'opening';
}

async function setSession(next: Session | undefined): Promise<void> {
  const old = session;
  unsubscribeDisconnect?.();
  unsubscribeDisconnect = undefined;
  session = next;
  lun = 0;
  state = next ? 'open' : state === 'disconnected' ? 'disconnected' : 'closed';
  if (next) {
    unsubscribeDisconnect = next.device.onDisconnect(() => {
      if (session !== next) return;
      state = 'disconnected';
      session = undefined;
      app.showError(new DisconnectedError(`${next.label} was disconnected. Commands in flight were cancelled.`), 'Device');
      app.status(`${next.label} was disconnected.`);
      renderConnection();
      for (const l of listeners.session) l();
    });
  }
  renderConnection();
  for (const l of listeners.session) l();
  if (old && old !== next) {
    try {
      await old.device.close({ rejectPending: true });
      old.client?.close();
    } catch {
      // Closing a device that vanished cannot do more; the new session is what matters.
    }
  }
}

async function open(kind: 'simulated' | 'usb' | 'remote'): Promise<void> {
  const previous = state;
  state = 'opening';
  renderConnection();
  try {
    const next =
      kind === 'remote'
        ? await openRemoteSession(serveUrl.value.trim(), serveToken.value.trim())
        : kind === 'usb' && webUsb
          ? await openUsbSession(webUsb)
          : await openSimulatedSession(simKind.value as SimKind);
    serveForm.hidden = true;
    banner.hidden = true;
    await setSession(next);
    app.status(`Opened ${next.label}.`);
  } catch (error) {
    state = session ? 'open' : previous === 'opening' ? 'closed' : previous;
    renderConnection();
    app.showError(error, kind === 'usb' ? 'Connecting the USB device' : kind === 'remote' ? 'Connecting to usbms serve' : 'Opening the simulated device');
  }
}

const connectBtn = h('button', { id: 'connect-usb', text: 'Connect USB device', onclick: () => void open('usb') });
// `?sim=nvme-realtek` (any SIM_KINDS key) opens that simulated enclosure first.
const simKind = h('select', { id: 'sim-kind', 'aria-label': 'Simulated enclosure' });
for (const [value, label] of SIM_KINDS) simKind.append(h('option', { value, text: label }));
const wanted = new URLSearchParams(location.search).get('sim');
if (wanted !== null && SIM_KINDS.some(([k]) => k === wanted)) simKind.value = wanted;
const simBtn = h('button', { id: 'use-sim', class: 'secondary', text: 'Use simulated device', onclick: () => void open('simulated') });
// "Connect to usbms serve": a local service owns the device, so any browser can drive it.
const remembered = rememberedServe();
const serveUrl = h('input', { id: 'serve-url', type: 'url', value: remembered.url, 'aria-label': 'usbms serve URL', size: 24 });
const serveToken = h('input', {
  id: 'serve-token',
  type: 'password',
  value: remembered.token,
  'aria-label': 'usbms serve token',
  placeholder: 'token',
  size: 24,
});
const serveConnect = h('button', { id: 'serve-connect', type: 'submit', text: 'Connect' });
const serveForm = h(
  'form',
  {
    id: 'serve-form',
    class: 'serve-form',
    hidden: true,
    onsubmit: (e: Event) => {
      e.preventDefault();
      void open('remote');
    },
  },
  h('span', { class: 'muted', text: 'usbms serve' }),
  serveUrl,
  serveToken,
  serveConnect,
);
const serveBtn = h('button', {
  id: 'connect-serve',
  class: 'secondary',
  text: 'Connect to usbms serve',
  title: 'Drive a device owned by `usbms serve` on this computer (works in any browser)',
  onclick: () => {
    serveForm.hidden = !serveForm.hidden;
    if (!serveForm.hidden) (serveToken.value ? serveConnect : serveToken).focus();
  },
});
const closeBtn = h('button', {
  id: 'close-device',
  class: 'secondary',
  text: 'Close',
  onclick: () => {
    state = 'closed';
    void setSession(undefined);
  },
});
if (!webUsb) {
  connectBtn.title = 'WebUSB is available only in Chromium-based browsers (Chrome, Edge, Opera) on https:// or localhost.';
}

// Tabs (WAI-ARIA tabs pattern: arrow keys move, Home/End jump, manual activation not needed).
const tablist = h('div', { role: 'tablist', 'aria-label': 'Tools', class: 'tabs' });
const tabButtons: HTMLButtonElement[] = [];
const tabPanels: HTMLElement[] = [];
for (const p of tools) {
  const tab = h('button', { role: 'tab', id: `tab-${p.id}`, 'aria-controls': `panel-${p.id}`, text: p.title });
  const panel = h('section', { role: 'tabpanel', id: `panel-${p.id}`, 'aria-labelledby': `tab-${p.id}`, class: 'tabpanel', tabindex: 0 }, p.element);
  tab.addEventListener('click', () => selectTab(p.id));
  tabButtons.push(tab);
  tabPanels.push(panel);
  tablist.append(tab);
}
tablist.addEventListener('keydown', (e) => {
  const i = tabButtons.indexOf(document.activeElement as HTMLButtonElement);
  if (i < 0) return;
  const n = tabButtons.length;
  const to = e.key === 'ArrowRight' ? (i + 1) % n : e.key === 'ArrowLeft' ? (i - 1 + n) % n : e.key === 'Home' ? 0 : e.key === 'End' ? n - 1 : -1;
  if (to < 0) return;
  e.preventDefault();
  const id = tools[to]?.id;
  if (id) selectTab(id, true);
});
function selectTab(id: string, focus = false): void {
  tools.forEach((p, i) => {
    const selected = p.id === id;
    const tab = tabButtons[i] as HTMLButtonElement;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    (tabPanels[i] as HTMLElement).hidden = !selected;
    if (selected && focus) tab.focus();
  });
  if (location.hash !== `#${id}`) history.replaceState(null, '', `${location.pathname}${location.search}#${id}`);
}

const root = document.getElementById('app') ?? document.body;
clear(
  root,
  h('a', { class: 'skip', href: '#tools', text: 'Skip to tools' }),
  h(
    'header',
    { class: 'topbar' },
    h(
      'div',
      { class: 'brand' },
      h('span', { class: 'logo', 'aria-hidden': 'true', text: '▣' }),
      h('h1', {}, 'usbms ', h('span', { class: 'muted', text: 'device tool' })),
    ),
    h('div', { class: 'conn', role: 'status', 'aria-label': 'Connection' }, connPill, connLabel),
    h('div', { class: 'header-actions' }, connectBtn, serveBtn, simKind, simBtn, closeBtn),
  ),
  serveForm,
  banner,
  h(
    'main',
    { class: 'layout' },
    h('aside', { class: 'panel device', 'aria-labelledby': 'device-h' }, h('h2', { id: 'device-h', text: 'Device' }), devicePanel.element),
    h('div', { class: 'panel work', id: 'tools' }, tablist, ...tabPanels),
  ),
  h(
    'footer',
    { class: 'footer' },
    statusLine,
    h('span', {
      class: 'muted',
      text: webUsb ? (fakeUsb ? 'WebUSB: fake device (?fakeusb)' : 'WebUSB available') : 'WebUSB unavailable in this browser: simulated device only',
    }),
  ),
);
const initial = tools.find((p) => `#${p.id}` === location.hash)?.id ?? 'console';
selectTab(initial);
renderConnection();
void open('simulated');
