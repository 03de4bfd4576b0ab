// Copies text for the Copy buttons. navigator.clipboard needs a secure context and permission;
// the browser shell on http://127.0.0.1 is treated as secure by Chromium, but a locked-down
// profile can still refuse, so fall back to the older selection-based copy.
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard !== undefined && typeof navigator.clipboard.writeText === 'function') {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Refused (no permission, document not focused): try the fallback below.
  }
  return copyWithSelection(text);
}

function copyWithSelection(text: string): boolean {
  const previousFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.setAttribute('aria-hidden', 'true');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    // Deprecated but still the only synchronous copy without the Clipboard API.
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  previousFocus?.focus();
  return copied;
}
