// Where tests find the repository and the built bundles (`npm test` builds before running them).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const builtDir = path.join(repoRoot, 'build', 'out');

/** Path of a built bundle; fails with the fix when `npm run build` has not run. */
export function built(file: string): string {
  const full = path.join(builtDir, file);
  if (!existsSync(full)) throw new Error(`${full} is missing: run \`npm run build\` first (npm test does this).`);
  return full;
}

/** The worker entry for tests that run core from source under tsx. */
export const workerSourceEntry = path.join(repoRoot, 'electron', 'worker', 'main.ts');
export const tsxExecArgv = ['--import', 'tsx'];
