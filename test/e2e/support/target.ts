// What the wdio configs tell the specs through the environment (set in the launcher, inherited by
// the workers): which app they drive, so the specs and support/app.ts stay the same for both
// targets, and where a Chromium run saves downloads.
export type E2eTarget = 'chromium' | 'electron';

export const e2eTargetVariable = 'CLEANROOM_E2E_TARGET';

export function currentTarget(): E2eTarget {
  const value = process.env[e2eTargetVariable];
  if (value === 'chromium' || value === 'electron') return value;
  throw new Error(`${e2eTargetVariable} is not set: run the specs through test/e2e/wdio.chromium.conf.ts or wdio.electron.conf.ts.`);
}

/** The folder Chromium saves downloads into (Chromium target only); see support/downloads.ts. */
export const e2eDownloadsVariable = 'CLEANROOM_E2E_DOWNLOADS';
