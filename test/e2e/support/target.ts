// Which app the end-to-end specs drive. Each wdio config sets it before the workers start, so
// the specs and support/app.ts stay the same for both targets.
export type E2eTarget = 'chromium' | 'electron';

export const e2eTargetVariable = 'CLEANROOM_E2E_TARGET';

export function currentTarget(): E2eTarget {
  const value = process.env[e2eTargetVariable];
  if (value === 'chromium' || value === 'electron') return value;
  throw new Error(`${e2eTargetVariable} is not set: run the specs through test/e2e/wdio.chromium.conf.ts or wdio.electron.conf.ts.`);
}
