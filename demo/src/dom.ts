/** A few DOM helpers: enough to build the tool without a framework. */

export type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown>;

/**
 * Creates an element. `props`: `class`, `text`, `on<event>` handlers,
 * element properties (value, disabled, ...) and any attribute (aria-*, for, ...).
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = String(value);
    else if (key === 'text') el.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value as EventListener);
    else if (key in el && !key.includes('-') && typeof value !== 'string') (el as unknown as Props)[key] = value;
    else if (key === 'value' || key === 'checked') (el as unknown as Props)[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, ...children);
}

let idCounter = 0;
export const uid = (prefix: string): string => `${prefix}-${++idCounter}`;

/** A labelled form field: label + control (+ optional hint), wired with for/id and aria-describedby. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || uid('f');
  control.id = id;
  const wrap = h('div', { class: 'field' }, h('label', { for: id, text: label }), control);
  if (hint) {
    const hid = `${id}-hint`;
    control.setAttribute('aria-describedby', hid);
    wrap.append(h('small', { id: hid, class: 'hint', text: hint }));
  }
  return wrap;
}

/** Definition list from [term, value] pairs; values may be nodes. */
export function dl(rows: [string, Child][]): HTMLDListElement {
  const list = h('dl', { class: 'kv' });
  for (const [k, v] of rows) list.append(h('dt', { text: k }), h('dd', {}, v ?? '—'));
  return list;
}

/** Offers bytes or text as a file download. */
export function download(name: string, data: Uint8Array | string, type = 'application/octet-stream'): void {
  const part: BlobPart = typeof data === 'string' ? data : new Uint8Array(data);
  downloadBlob(name, new Blob([part], { type }));
}

/** Offers a Blob as a file download. */
export function downloadBlob(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Asks for confirmation in an accessible modal <dialog>; resolves true on "confirm". */
export function confirmDialog(title: string, body: string, confirmLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': titleId },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: titleId, text: title }),
        h('p', { text: body }),
        h(
          'div',
          { class: 'actions' },
          h('button', { value: 'cancel', class: 'secondary', text: 'Cancel', autofocus: true }),
          h('button', { value: 'confirm', class: 'danger', text: confirmLabel }),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Reads a user-chosen file as bytes. */
export async function readFile(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}
