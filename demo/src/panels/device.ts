import type { App, Panel, Session } from '../app.js';
import { clear, confirmDialog, dl, h } from '../dom.js';
import { errorLine } from '../errors.js';
import { formatBytes, hex2, hex4, hexDump } from '../hex.js';

const VPD_NAMES: Record<number, string> = {
  0x00: 'Supported VPD pages',
  0x80: 'Unit serial number',
  0x83: 'Device identification',
  0x86: 'Extended INQUIRY data',
  0x89: 'ATA information',
  0xb0: 'Block limits',
  0xb1: 'Block device characteristics',
  0xb2: 'Logical block provisioning',
};

/** Keeps a section's content replaceable and labelled. */
function section(title: string): { el: HTMLElement; body: HTMLElement } {
  const body = h('div', { class: 'section-body' });
  const headingId = `dev-${title.toLowerCase().replace(/[^a-z]+/g, '-')}`;
  const el = h('section', { class: 'dev-section', 'aria-labelledby': headingId }, h('h3', { id: headingId, text: title }), body);
  return { el, body };
}

function usbRows(session: Session): [string, string][] {
  const info = session.device.info;
  const rows: [string, string][] = [];
  const d = session.usbDevice;
  if (d) {
    rows.push(['VID:PID', `${hex4(d.vendorId)}:${hex4(d.productId)}`]);
    rows.push(['Manufacturer', d.manufacturerName ?? '—'], ['Product', d.productName ?? '—'], ['Serial', d.serialNumber ?? '—']);
    rows.push(['USB version', `${d.usbVersionMajor}.${d.usbVersionMinor}${d.usbVersionSubminor}`]);
    rows.push(['Device release', `${d.deviceVersionMajor}.${d.deviceVersionMinor}${d.deviceVersionSubminor}`]);
    rows.push(['Configuration', d.configuration ? String(d.configuration.configurationValue) : 'none']);
  } else if (session.kind === 'remote') {
    rows.push(['Source', 'usbms serve (the service owns the USB device)']);
    if (info.vendorId !== undefined) rows.push(['VID:PID', `${hex4(info.vendorId)}:${hex4(info.productId ?? 0)}`]);
    if (info.product !== undefined) rows.push(['Product', info.product]);
  } else {
    rows.push(['Source', 'Simulated device (RAM disk in this page)']);
  }
  if (info.interfaceNumber !== undefined) rows.push(['Interface', String(info.interfaceNumber)]);
  if (info.interfaceSubclass !== undefined) {
    rows.push(['Class / sub / proto', `0x08 / ${hex2(info.interfaceSubclass)} / ${hex2(info.interfaceProtocol ?? 0)}`]);
  }
  rows.push(['Bulk packet size', `IN ${info.maxPacketSizeIn} B, OUT ${info.maxPacketSizeOut} B`]);
  if (info.speed) rows.push(['Speed', info.speed]);
  if (info.maxTransferSize) rows.push(['Max transfer', formatBytes(info.maxTransferSize)]);
  rows.push(['LUNs', String(session.device.maxLun + 1)]);
  return rows;
}

/** Device panel: USB descriptors, LUN choice, INQUIRY, VPD pages, capacity, write-protect, sense status. */
export function createDevicePanel(app: App): Panel {
  const usb = section('USB');
  const lunSelect = h('select', {
    id: 'lun-select',
    'aria-label': 'Logical unit',
    onchange: () => app.setLun(Number(lunSelect.value)),
  });
  const inquiry = section('INQUIRY');
  const capacity = section('Capacity');
  const status = section('Status');
  const vpd = section('VPD pages');
  const vpdView = h('div', { class: 'vpd-view', 'aria-live': 'polite' });
  const refresh = h('button', { class: 'secondary small', text: 'Refresh', 'aria-label': 'Refresh logical unit information', onclick: () => void load() });
  const reset = h('button', {
    class: 'secondary small',
    id: 'dev-reset',
    text: 'Reset',
    title: 'Bulk-Only reset recovery (BOT 1.0 §5.3.4)',
    onclick: () => void act('Reset', async (s) => s.device.reset()),
  });
  const eject = h('button', {
    class: 'secondary small',
    id: 'dev-eject',
    text: 'Eject',
    title: 'START STOP UNIT with LOEJ (SBC-3 §5.25)',
    onclick: () =>
      void act('Eject', async (s) => {
        if (
          await confirmDialog(
            'Eject the medium?',
            `This asks ${s.label}, LUN ${app.lun}, to eject its medium. Removable media may need to be reinserted.`,
            'Eject',
          )
        ) {
          await s.device.lun(app.lun).eject();
        }
      }),
  });

  async function act(what: string, fn: (s: Session) => Promise<void>): Promise<void> {
    const s = app.session;
    if (!s) return;
    try {
      await fn(s);
      app.status(`${what}: done.`);
    } catch (error) {
      app.showError(error, what);
    }
    await load();
  }
  const element = h(
    'div',
    { class: 'device-panel' },
    usb.el,
    h('div', { class: 'lun-row' }, h('label', { for: 'lun-select', text: 'Logical unit' }), lunSelect, refresh, reset, eject),
    inquiry.el,
    capacity.el,
    status.el,
    vpd.el,
  );
  let generation = 0;

  async function load(): Promise<void> {
    const session = app.session;
    const gen = ++generation;
    for (const control of [lunSelect, refresh, reset, eject]) control.disabled = !session;
    if (!session) {
      for (const s of [usb, inquiry, capacity, status, vpd]) clear(s.body, h('p', { class: 'muted', text: 'No device open.' }));
      lunSelect.replaceChildren();
      return;
    }
    clear(usb.body, dl(usbRows(session)));
    if (lunSelect.options.length !== session.device.maxLun + 1) {
      lunSelect.replaceChildren(...session.device.luns.map((_, i) => h('option', { value: String(i), text: `LUN ${i}` })));
    }
    lunSelect.value = String(app.lun);
    const lu = session.device.lun(app.lun);
    const stale = () => gen !== generation;
    for (const s of [inquiry, capacity, status, vpd]) clear(s.body, h('p', { class: 'muted', text: 'Loading…' }));
    clear(vpdView);

    try {
      const inq = lu.inquiry ?? (await lu.readInquiry());
      if (stale()) return;
      clear(
        inquiry.body,
        dl([
          ['Vendor', inq.vendor || '—'],
          ['Product', inq.product || '—'],
          ['Revision', inq.revision || '—'],
          ['Device type', `${inq.deviceTypeName} (${hex2(inq.peripheralDeviceType)})`],
          ['Removable', inq.removable ? 'yes' : 'no'],
          ['SPC version', String(inq.version)],
        ]),
      );
    } catch (error) {
      if (!stale()) clear(inquiry.body, h('p', { class: 'err', text: errorLine(error) }));
    }

    try {
      await lu.testUnitReady();
      if (stale()) return;
      clear(status.body, dl([['Unit', h('span', { class: 'badge good', text: 'Ready' })]]));
    } catch (error) {
      if (stale()) return;
      clear(status.body, dl([['Unit', h('span', { class: 'badge bad', text: 'Not ready' })]]), h('p', { class: 'err', text: errorLine(error) }));
    }
    try {
      const sense = await lu.requestSense();
      if (stale()) return;
      status.body.append(
        dl([['Sense', sense ? `${sense.senseKeyName}: ${sense.description} (${hex2(sense.senseKey)}/${hex2(sense.asc)}/${hex2(sense.ascq)})` : 'none']]),
      );
    } catch (error) {
      if (!stale()) status.body.append(h('p', { class: 'err', text: `REQUEST SENSE: ${errorLine(error)}` }));
    }

    try {
      const cap = await lu.readCapacity();
      if (stale()) return;
      let wp = 'unknown';
      try {
        wp = (await lu.isWriteProtected()) ? 'yes' : 'no';
      } catch (error) {
        wp = `unknown (${errorLine(error)})`;
      }
      if (stale()) return;
      clear(
        capacity.body,
        dl([
          ['Size', `${formatBytes(cap.bytes)} (${cap.bytes.toLocaleString('en-US')} bytes)`],
          ['Blocks', `${cap.blocks.toLocaleString('en-US')} × ${cap.blockSize} B`],
          ['Last LBA', cap.lastLba.toLocaleString('en-US')],
          ['Write-protected', wp],
        ]),
      );
    } catch (error) {
      if (!stale()) clear(capacity.body, h('p', { class: 'err', text: errorLine(error) }));
    }

    try {
      const pages = await lu.vpdPages();
      if (stale()) return;
      const list = h('ul', { class: 'vpd-list' });
      for (const page of pages) {
        list.append(
          h('li', {}, h('button', { class: 'link', text: `${hex2(page)} ${VPD_NAMES[page] ?? 'Vendor/other page'}`, onclick: () => void showVpd(page) })),
        );
      }
      clear(vpd.body, pages.length ? list : h('p', { class: 'muted', text: 'The device lists no VPD pages.' }), vpdView);
    } catch (error) {
      if (!stale()) clear(vpd.body, h('p', { class: 'muted', text: `No VPD pages (${errorLine(error)})` }));
    }
  }

  async function showVpd(page: number): Promise<void> {
    const session = app.session;
    if (!session) return;
    const lu = session.device.lun(app.lun);
    clear(vpdView, h('p', { class: 'muted', text: 'Reading…' }));
    try {
      let decoded: HTMLElement | undefined;
      if (page === 0x80) decoded = dl([['Serial number', await lu.serialNumber()]]);
      else if (page === 0x83) {
        const ids = await lu.deviceIdentification();
        decoded = dl(ids.map((d): [string, string] => [`${d.designatorTypeName} (${d.association})`, d.text]));
      } else if (page === 0xb0) {
        const bl = await lu.blockLimits();
        decoded = dl(Object.entries(bl).map(([k, v]): [string, string] => [k, String(v)]));
      } else if (page === 0xb1) {
        const bc = await lu.blockDeviceCharacteristics();
        decoded = dl(Object.entries(bc).map(([k, v]): [string, string] => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)]));
      }
      const raw = await lu.inquiryVpd(page);
      clear(vpdView, h('h4', { text: `VPD ${hex2(page)} ${VPD_NAMES[page] ?? ''}` }), decoded ?? null, h('pre', { class: 'hex small', text: hexDump(raw) }));
    } catch (error) {
      clear(vpdView, h('p', { class: 'err', text: errorLine(error) }));
    }
  }

  return { id: 'device', title: 'Device', element, update: () => void load() };
}
