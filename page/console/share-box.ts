// A key's share link with a Copy button and its QR code: what an analyst hands a technician.
import { h, say } from './dom.js';
import { qrSvg } from './qr.js';

/** Copies text to the clipboard; where that is refused (no permission, plain http), selects it so the person can copy it. */
async function copyOrSelect(text: string, shown: HTMLElement, status: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    say(status, 'Copied. Paste it into a message to the technician.', 'ok');
  } catch {
    window.getSelection()?.selectAllChildren(shown);
    say(status, 'This browser did not let the page copy. The link is selected: press Ctrl+C (⌘C), or long-press it and choose Copy.');
  }
}

/**
 * The link, a Copy button, a status line and the QR code. Every part has a
 * data-testid; `withIds` also gives them ids (#share-link, #copy-link, #copy-status, #qr) for the one box of a just-created key.
 */
export function shareBox(link: string, label: string, withIds = false): HTMLElement {
  const id = (name: string) => (withIds ? name : null);
  const shown = h('code', { id: id('share-link'), 'data-testid': 'share-link', class: 'share-link' }, link);
  const status = h('p', { id: id('copy-status'), 'data-testid': 'copy-status', class: 'muted', role: 'status', 'aria-live': 'polite' });
  const copy = h('button', { type: 'button', id: id('copy-link'), 'data-testid': 'copy-link', class: 'primary', onclick: () => void copyOrSelect(link, shown, status) }, 'Copy link');
  const qr = h('div', { id: id('qr'), 'data-testid': 'qr', class: 'qr' }, qrSvg(link, `QR code of the link for ${label}`));
  return h('div', { class: 'share-box' }, h('p', { class: 'muted' }, 'Send this link to the technician, or let them scan the code:'), shown, h('div', { class: 'row' }, copy), status, qr);
}
