// A small element builder: the console is drawn from code, never from HTML strings (no injection, no inline styles under the CSP).

type Child = Node | string | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined;
export type Attrs = Record<string, AttrValue | ((ev: Event) => void)>;

/** Creates an element: `on<event>` attributes become listeners, `true` a bare attribute, null/false/undefined nothing. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  el.append(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
  return el;
}

/** Shows a message in a status line; `kind` colours it (error or ok) through a data attribute. */
export function say(el: HTMLElement, text: string, kind: 'error' | 'ok' | '' = ''): void {
  el.textContent = text;
  if (kind) el.dataset.kind = kind;
  else delete el.dataset.kind;
}

type Control = HTMLButtonElement | HTMLInputElement | HTMLSelectElement;
const CONTROLS = 'button, input, select';

/** Disables an element's controls (itself included) while a request runs, so a double click sends it once. */
export async function busy<T>(el: HTMLElement, work: () => Promise<T>): Promise<T> {
  const all = [...(el.matches(CONTROLS) ? [el as Control] : []), ...el.querySelectorAll<Control>(CONTROLS)];
  const controls = all.filter((c) => !c.disabled);
  for (const c of controls) c.disabled = true;
  try {
    return await work();
  } finally {
    for (const c of controls) c.disabled = false;
  }
}
