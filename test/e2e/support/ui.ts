// Small helpers the specs share: elements are found by data-testid, as a person would find them
// by their label, never by CSS structure.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { $, $$, browser } from '@wdio/globals';
import { repoRoot } from '../wdio.shared.conf.js';

export const byTestId = (id: string) => $(`[data-testid="${id}"]`);

export const allByTestId = (id: string) => $$(`[data-testid="${id}"]`);

/** Waits for the input, then replaces its value. */
export async function typeInto(testId: string, text: string): Promise<void> {
  const input = byTestId(testId);
  await input.waitForDisplayed();
  await input.setValue(text);
}

/** Hands files to a file input, as choosing them in the picker does. */
export async function chooseFiles(inputTestId: string, ...paths: string[]): Promise<void> {
  const input = byTestId(inputTestId);
  await input.waitForExist();
  // addValue, not setValue: clearing a file input is not allowed, and the app clears it itself.
  await input.addValue(paths.join('\n'));
}

export const artifactsDir = path.join(repoRoot, 'test', 'artifacts');

/**
 * Saves a screenshot of the whole scrolled content: the window is made tall enough for the page,
 * captured, and put back, since Chromedriver only captures the viewport.
 */
export async function saveFullScreenshot(fileName: string): Promise<void> {
  mkdirSync(artifactsDir, { recursive: true });
  const before = await browser.getWindowSize();
  const contentHeight = await browser.execute(() => {
    const content = document.querySelector('.content');
    return content === null ? document.documentElement.scrollHeight : content.scrollHeight;
  });
  // Keep the shot a readable size even for a long page.
  const height = Math.min(
    Math.max(contentHeight + (before.height - (await browser.execute(() => window.innerHeight))), before.height),
    2400,
  );
  await browser.setWindowSize(before.width, height);
  await browser.execute(() => document.querySelector('.content')?.scrollTo(0, 0));
  await browser.saveScreenshot(path.join(artifactsDir, fileName));
  await browser.setWindowSize(before.width, before.height);
}
