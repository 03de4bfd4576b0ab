// The window itself never scrolls: the app scrolls its content area beside the sidebar, so a page
// taller than the window must not make the document taller than the window (issue 14: hidden
// elements placed against the page let the window scroll to a blank page under a model output).
import { browser, expect } from '@wdio/globals';

export async function expectWindowUnscrolled(): Promise<void> {
  const page = await browser.execute(() => ({
    scrollY: window.scrollY,
    documentHeight: document.documentElement.scrollHeight,
    windowHeight: window.innerHeight,
    contentScrolls: (document.getElementById('content')?.scrollHeight ?? 0) > window.innerHeight,
  }));
  expect(page.contentScrolls).toBe(true); // the check means something only on a page taller than the window
  expect(page.scrollY).toBe(0);
  expect(page.documentHeight).toBeLessThanOrEqual(page.windowHeight);
}
