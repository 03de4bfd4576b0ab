// What the Chromium and Electron runs of the end-to-end suite share: the specs, Mocha, the
// reporter and the waits. Each target's config adds its capabilities.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const e2eDir = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(e2eDir, '..', '..');

export const sharedConfig = {
  runner: 'local',
  specs: [path.join(e2eDir, 'specs', '*.e2e.ts')],
  // One app at a time: two cores, and each spec file drives its own fresh home.
  maxInstances: 1,
  logLevel: 'warn',
  framework: 'mocha',
  reporters: ['spec'],
  mochaOpts: {
    ui: 'bdd',
    // The steps of a spec build on each other (create, lock, unlock…): stop at the first failure.
    bail: true,
    // Generous: the first Argon2id derivation and the DuckDB worker start-up run on a slow CI box.
    timeout: 180_000,
  },
  // How long a UI state may take to appear (waitForDisplayed, waitUntil).
  waitforTimeout: 20_000,
  connectionRetryCount: 1,
} satisfies Partial<WebdriverIO.Config>;
