// End-to-end suite against the browser shell in the system Chromium: each spec starts its own
// `cleanroom serve` on a fresh home (see support/app.ts). Nothing is downloaded: the browser and
// its driver come from the system (Debian's chromium and chromium-driver) or from
// CHROMIUM_BIN / CHROMEDRIVER_BIN.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { e2eDownloadsVariable, e2eTargetVariable, type E2eTarget } from './support/target.js';
import { sharedConfig } from './wdio.shared.conf.js';

const target: E2eTarget = 'chromium';
process.env[e2eTargetVariable] = target;

// Made once, in the launcher; the workers inherit the variable and so reuse the same folder.
const ownsDownloads = process.env[e2eDownloadsVariable] === undefined;
const downloads = process.env[e2eDownloadsVariable] ?? mkdtempSync(path.join(os.tmpdir(), 'cleanroom-e2e-downloads-'));
process.env[e2eDownloadsVariable] = downloads;

export const config: WebdriverIO.Config = {
  ...sharedConfig,
  capabilities: [
    {
      browserName: 'chrome',
      'goog:chromeOptions': {
        binary: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
        args: [
          '--headless=new',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
          '--window-size=1280,860',
        ],
        // Downloads (identity cards, packets) land in one known folder, without a save dialog.
        prefs: {
          'download.default_directory': downloads,
          'download.prompt_for_download': false,
          'download.directory_upgrade': true,
        },
      },
      'wdio:chromedriverOptions': { binary: process.env.CHROMEDRIVER_BIN ?? '/usr/bin/chromedriver' },
    },
  ],
  // Headless Chromium needs no display.
  autoXvfb: false,

  onComplete() {
    if (ownsDownloads) rmSync(downloads, { recursive: true, force: true });
  },
};
