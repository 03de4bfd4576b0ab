// End-to-end suite against the browser shell in the system Chromium: each spec starts its own
// `cleanroom serve` on a fresh home (see support/app.ts). Nothing is downloaded: the browser and
// its driver come from the system (Debian's chromium and chromium-driver) or from
// CHROMIUM_BIN / CHROMEDRIVER_BIN.
import { e2eTargetVariable, type E2eTarget } from './support/target.js';
import { sharedConfig } from './wdio.shared.conf.js';

const target: E2eTarget = 'chromium';
process.env[e2eTargetVariable] = target;

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
      },
      'wdio:chromedriverOptions': { binary: process.env.CHROMEDRIVER_BIN ?? '/usr/bin/chromedriver' },
    },
  ],
  // Headless Chromium needs no display.
  autoXvfb: false,
};
