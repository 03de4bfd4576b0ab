// End-to-end suite against the desktop app: the same specs, driven through wdio-electron-service
// with the built main process (build/out/main.cjs) on Electron from node_modules. Each worker
// session gets a fresh home, passed to the app as --home=DIR.
//
// Needs Electron's binary (node_modules/electron/dist), which cannot be downloaded on machines
// without internet access; the service also fetches the Chromedriver matching Electron's Chromium
// unless ELECTRON_CHROMEDRIVER_BIN names one.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { e2eTargetVariable, type E2eTarget } from './support/target.js';
import { e2eDir, repoRoot, sharedConfig } from './wdio.shared.conf.js';

const target: E2eTarget = 'electron';
process.env[e2eTargetVariable] = target;

const mainEntry = path.join(repoRoot, 'build', 'out', 'main.cjs');
const chromedriverBinary = process.env.ELECTRON_CHROMEDRIVER_BIN;

/** Homes made by this worker's sessions, removed when the session ends. */
const sessionHomes: string[] = [];

function removeSessionHomes(): void {
  for (const home of sessionHomes.splice(0)) rmSync(home, { recursive: true, force: true });
}

// afterSession does not run when the session could not be created (e.g. Electron failed to start).
process.once('exit', removeSessionHomes);

export const config: WebdriverIO.Config = {
  ...sharedConfig,
  // Two parties need two homes at once; one Electron session is one app with one home, so the
  // two-party specs run against browser shells only (wdio.chromium.conf.ts).
  exclude: ['rooms', 'assets', 'runs', 'train'].map((spec) => path.join(e2eDir, 'specs', `${spec}.e2e.ts`)),
  services: ['electron'],
  capabilities: [
    {
      browserName: 'electron',
      'wdio:electronServiceOptions': {
        appEntryPoint: mainEntry,
        // Replaces the service's default (['--no-sandbox']), so keep it: CI containers run as root.
        appArgs: ['--no-sandbox'],
      },
      ...(chromedriverBinary !== undefined ? { 'wdio:chromedriverOptions': { binary: chromedriverBinary } } : {}),
    },
  ],
  // Electron opens a real window: give it a virtual display on Linux CI.
  autoXvfb: true,

  beforeSession(_config, capabilities) {
    // By now the service has turned the Electron capability into Chrome options that launch
    // `electron --app=<main.cjs> …`: add this session's own home to the app's arguments.
    const home = mkdtempSync(path.join(os.tmpdir(), 'cleanroom-e2e-electron-'));
    sessionHomes.push(home);
    const chromeOptions = (capabilities as WebdriverIO.Capabilities)['goog:chromeOptions'] ?? {};
    chromeOptions.args = [...(chromeOptions.args ?? []), `--home=${home}`];
    (capabilities as WebdriverIO.Capabilities)['goog:chromeOptions'] = chromeOptions;
  },

  afterSession() {
    removeSessionHomes();
  },
};
