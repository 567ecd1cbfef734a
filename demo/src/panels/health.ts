import {
  type BridgeKind,
  type BridgeRoute,
  identifyDevice,
  MscDevice,
  nvmeIdentifyController,
  nvmeIdentifyNamespace,
  nvmeSmartHealthLog,
  runAtaVia,
  runNvme,
  SMARTCTL_DEVICE_TYPE,
  type SmartAttribute,
  type SmartSelfTest,
  selectBridge,
  smartExecuteOfflineImmediate,
  smartReadData,
  smartReadSelfTestLog,
  smartReadThresholds,
  smartReturnStatus,
} from '@usbms/core';
import type { App, Panel } from '../app.js';
import { clear, dl, field, h } from '../dom.js';
import { formatBytes } from '../hex.js';

const BRIDGES: Array<[BridgeKind | 'auto', string]> = [
  ['auto', 'auto (USB ID table, then SAT)'],
  ['sat', 'SAT (ATA PASS-THROUGH)'],
  ['jmicron', 'JMicron SATA (usbjmicron)'],
  ['cypress', 'Cypress SATA (usbcypress)'],
  ['sunplus', 'Sunplus SATA (usbsunplus)'],
  ['nvme-jmicron', 'JMicron JMS583 NVMe (sntjmicron)'],
  ['nvme-asmedia', 'ASMedia ASM236x NVMe (sntasmedia)'],
  ['nvme-realtek', 'Realtek RTL9210 NVMe (sntrealtek)'],
];

const big = (n: bigint): string => n.toLocaleString('en-US');

/**
 * Health: drive identity and SMART through the bridge's pass-through (SAT, a vendor SATA bridge, or an
 * NVMe bridge): the health verdict, the attribute table (pre-failure attributes marked, thresholds, failing
 * ones highlighted), self-tests with progress and log for ATA, and the SMART/Health log for NVMe.
 */
export function createHealthPanel(app: App): Panel {
  const bridge = h('select', { id: 'health-bridge' });
  for (const [value, label] of BRIDGES) bridge.append(h('option', { value, text: label }));
  const readBtn = h('button', { id: 'health-read', text: 'Read health', onclick: () => void read() });
  const routeLine = h('p', { id: 'health-route', class: 'hint', 'aria-live': 'polite' });
  const identity = h('section', { id: 'health-identity', class: 'dev-section', 'aria-label': 'Identity' });
  const verdict = h('div', { id: 'health-verdict', class: 'verdict', role: 'status' });
  const details = h('section', { id: 'health-details', class: 'dev-section', 'aria-label': 'SMART details' });
  const selfTest = h('section', { id: 'health-selftest', class: 'dev-section', 'aria-label': 'Self-tests' });
  const element = h(
    'div',
    { class: 'health-panel' },
    h('div', { class: 'toolbar' }, field('Pass-through', bridge), readBtn),
    routeLine,
    verdict,
    identity,
    details,
    selfTest,
  );
  let route: BridgeRoute | undefined;
  let busy = false;

  async function read(): Promise<void> {
    const session = app.session;
    if (session === undefined || busy) return;
    busy = true;
    readBtn.disabled = true;
    try {
      // Bridge routes pick by USB ID and probe the device directly; through usbms serve, use the CLI on that machine.
      if (!(session.device instanceof MscDevice))
        throw new Error('Drive health is not available through usbms serve yet: run `usbms smart` where the service runs.');
      route = await selectBridge(session.device, bridge.value as BridgeKind | 'auto', { lun: app.lun });
      routeLine.textContent = `Route: ${route.kind} (smartctl -d ${SMARTCTL_DEVICE_TYPE[route.kind]}), chosen ${route.how === 'usb-id' ? `by USB ID (${route.chip})` : route.how === 'sat-probe' ? 'by a SAT probe' : 'explicitly'}`;
      if (route.family === 'nvme') await readNvme(route);
      else await readAta(route);
      app.status('Health read.');
    } catch (error) {
      clear(verdict);
      clear(identity);
      clear(details);
      clear(selfTest);
      app.showError(error, 'Reading drive health');
    } finally {
      busy = false;
      readBtn.disabled = false;
    }
  }

  function showVerdict(ok: boolean, text: string): void {
    verdict.dataset.health = ok ? 'passed' : 'failed';
    clear(verdict, h('strong', { text: ok ? 'PASSED' : 'FAILED' }), ` ${text}`);
  }

  async function readAta(r: BridgeRoute): Promise<void> {
    const device = app.session?.device;
    if (device === undefined) return;
    const options = { lun: app.lun };
    const id = await runAtaVia(device, r, identifyDevice(), options);
    clear(
      identity,
      h('h3', { text: 'Identity (ATA IDENTIFY DEVICE)' }),
      dl([
        ['Model', id.model],
        ['Serial', id.serial],
        ['Firmware', id.firmware],
        ['Capacity', `${formatBytes(id.capacityBytes)} (${id.sectors.toLocaleString('en-US')} × ${id.logicalSectorSize} B)`],
        ['SMART', id.features.smart.supported ? (id.features.smart.enabled ? 'supported, enabled' : 'supported, disabled') : 'not supported'],
      ]),
    );
    const thresholds = await runAtaVia(device, r, smartReadThresholds(), options);
    const data = await runAtaVia(device, r, smartReadData(thresholds), options);
    const health = await runAtaVia(device, r, smartReturnStatus(), options);
    const failing = data.attributes.filter((a) => a.verdict === 'now');
    showVerdict(
      health === 'passed',
      health === 'passed'
        ? 'SMART overall-health self-assessment'
        : `SMART overall-health self-assessment: ${failing.map((a) => a.name).join(', ') || 'threshold exceeded'}`,
    );
    const rows = data.attributes.map((a: SmartAttribute) =>
      h(
        'tr',
        { class: [a.preFailure ? 'prefail' : 'oldage', a.verdict === 'now' ? 'failing' : a.verdict === 'past' ? 'failed-past' : ''].join(' ').trim() },
        h('td', { text: String(a.id) }),
        h('td', { text: a.name }),
        h('td', { text: a.preFailure ? 'Pre-fail' : 'Old_age' }),
        h('td', { text: String(a.value) }),
        h('td', { text: String(a.worst) }),
        h('td', { text: a.threshold === undefined ? '—' : String(a.threshold) }),
        h('td', { text: a.verdict === 'now' ? 'FAILING_NOW' : a.verdict === 'past' ? 'In_the_past' : '-' }),
        h('td', { text: a.rawText }),
      ),
    );
    clear(
      details,
      h('h3', { text: 'SMART attributes' }),
      h(
        'table',
        { id: 'health-attributes', class: 'attributes' },
        h(
          'thead',
          {},
          h('tr', {}, ...['ID', 'Attribute', 'Type', 'Value', 'Worst', 'Thresh', 'When failed', 'Raw'].map((t) => h('th', { scope: 'col', text: t }))),
        ),
        h('tbody', {}, ...rows),
      ),
    );
    await renderSelfTests(r, data.selfTest.inProgress ? `${data.selfTest.text}, ${data.selfTest.remainingPercent}% remaining` : data.selfTest.text);
  }

  async function renderSelfTests(r: BridgeRoute, status: string): Promise<void> {
    const device = app.session?.device;
    if (device === undefined) return;
    const log = await runAtaVia(device, r, smartReadSelfTestLog(), { lun: app.lun }).catch(() => undefined);
    const start = (test: SmartSelfTest) => async () => {
      try {
        await runAtaVia(device, r, smartExecuteOfflineImmediate(test), { lun: app.lun });
        app.status(test === 'abort' ? 'Self-test aborted.' : `${test} self-test started.`);
        const data = await runAtaVia(device, r, smartReadData(), { lun: app.lun });
        await renderSelfTests(r, data.selfTest.inProgress ? `${data.selfTest.text}, ${data.selfTest.remainingPercent}% remaining` : data.selfTest.text);
      } catch (error) {
        app.showError(error, 'Self-test');
      }
    };
    clear(
      selfTest,
      h('h3', { text: 'Self-tests' }),
      h('p', { id: 'health-selftest-status', text: `Status: ${status}` }),
      h(
        'div',
        { class: 'toolbar' },
        h('button', { id: 'selftest-short', text: 'Start short test', onclick: start('short') }),
        h('button', { id: 'selftest-long', class: 'secondary', text: 'Start extended test', onclick: start('extended') }),
        h('button', { id: 'selftest-abort', class: 'secondary', text: 'Abort test', onclick: start('abort') }),
      ),
      log === undefined
        ? h('p', { text: 'Self-test log unavailable.' })
        : log.entries.length === 0
          ? h('p', { id: 'health-selftest-log', text: 'No self-tests have been logged.' })
          : h(
              'table',
              { id: 'health-selftest-log', class: 'attributes' },
              h(
                'thead',
                {},
                h('tr', {}, ...['#', 'Test', 'Status', 'Remaining', 'Hours', 'LBA of first error'].map((t) => h('th', { scope: 'col', text: t }))),
              ),
              h(
                'tbody',
                {},
                ...log.entries.map((e) =>
                  h(
                    'tr',
                    {},
                    h('td', { text: String(e.number) }),
                    h('td', { text: e.description }),
                    h('td', { text: e.status.text }),
                    h('td', { text: `${e.status.inProgress ? e.status.remainingPercent : 0}%` }),
                    h('td', { text: String(e.lifetimeHours) }),
                    h('td', { text: e.failingLba === undefined ? '-' : String(e.failingLba) }),
                  ),
                ),
              ),
            ),
    );
  }

  async function readNvme(r: BridgeRoute): Promise<void> {
    const device = app.session?.device;
    if (device === undefined || r.family !== 'nvme') return;
    const kind = r.kind as 'nvme-jmicron' | 'nvme-asmedia' | 'nvme-realtek';
    const options = { lun: app.lun };
    const id = await runNvme(device, kind, nvmeIdentifyController(), options);
    const ns = id.namespaces >= 1 ? await runNvme(device, kind, nvmeIdentifyNamespace(1), options) : undefined;
    clear(
      identity,
      h('h3', { text: 'Identity (NVMe Identify Controller / Namespace 1)' }),
      dl([
        ['Model', id.model],
        ['Serial', id.serial],
        ['Firmware', id.firmware],
        ['NVMe version', id.version ?? '< 1.2'],
        ['PCI vendor', `0x${id.pciVendorId.toString(16).padStart(4, '0')}`],
        ['Capacity', ns?.sizeBytes === undefined ? '—' : `${formatBytes(ns.sizeBytes)} (${ns.size.toLocaleString('en-US')} × ${ns.logicalBlockSize} B)`],
        ['Namespaces', String(id.namespaces)],
      ]),
    );
    const s = await runNvme(device, kind, nvmeSmartHealthLog(), options);
    const warnings = Object.entries(s.warnings)
      .filter(([, on]) => on)
      .map(([name]) => name);
    showVerdict(
      s.health === 'passed',
      s.health === 'passed' ? 'no critical warning' : `critical warning 0x${s.criticalWarning.toString(16).padStart(2, '0')}: ${warnings.join(', ')}`,
    );
    clear(
      details,
      h('h3', { text: 'SMART/Health Information (NVMe log 02h)' }),
      dl([
        ['Critical warning', `0x${s.criticalWarning.toString(16).padStart(2, '0')}`],
        ['Temperature', s.temperatureC === undefined ? '—' : `${s.temperatureC} °C`],
        ['Available spare', `${s.availableSpare}% (threshold ${s.availableSpareThreshold}%)`],
        ['Percentage used', `${s.percentageUsed}%`],
        ['Data units read', `${big(s.dataUnitsRead)} [${formatBytes(Number(s.dataUnitsRead) * 512_000)}]`],
        ['Data units written', `${big(s.dataUnitsWritten)} [${formatBytes(Number(s.dataUnitsWritten) * 512_000)}]`],
        ['Power cycles', big(s.powerCycles)],
        ['Power on hours', big(s.powerOnHours)],
        ['Unsafe shutdowns', big(s.unsafeShutdowns)],
        ['Media and data integrity errors', big(s.mediaErrors)],
        ['Error log entries', big(s.errorLogEntries)],
      ]),
    );
    clear(selfTest);
  }

  return {
    id: 'health',
    title: 'Health',
    element,
    update() {
      route = undefined;
      readBtn.disabled = app.session === undefined;
      clear(verdict);
      clear(identity);
      clear(details);
      clear(selfTest);
      routeLine.textContent = app.session === undefined ? 'Open a device first.' : '';
    },
  };
}
