// Where the browser saves downloads during a Chromium run, and how a spec waits for one. The
// folder is made once by wdio.chromium.conf.ts in the launcher and passed to the workers through
// the environment, so the browser's download preference and the specs name the same folder.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { browser } from '@wdio/globals';
import { e2eDownloadsVariable } from './target.js';

/** Chromium's name for a download still being written. */
const partialSuffix = '.crdownload';

export function downloadsDir(): string {
  const dir = process.env[e2eDownloadsVariable];
  if (dir === undefined || dir === '') {
    throw new Error(`${e2eDownloadsVariable} is not set: downloads are only configured in test/e2e/wdio.chromium.conf.ts.`);
  }
  return dir;
}

/** The names in the downloads folder now: pass it to waitForDownload before clicking. */
export function downloadedNames(): Set<string> {
  return new Set(readdirSync(downloadsDir()));
}

/**
 * Waits until a file that was not in `before` has finished downloading, and returns its path.
 * Finished: no partial file is left, and the file has bytes.
 */
export async function waitForDownload(before: ReadonlySet<string>, what: string): Promise<string> {
  const dir = downloadsDir();
  let found: string | undefined;
  await browser.waitUntil(
    () => {
      const names = readdirSync(dir);
      if (names.some((name) => name.endsWith(partialSuffix))) return false;
      found = names.find((name) => !before.has(name) && statSync(path.join(dir, name)).size > 0);
      return found !== undefined;
    },
    { timeoutMsg: `${what} was not downloaded into ${dir}.` },
  );
  return path.join(dir, found as string);
}
