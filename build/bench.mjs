// `npm run bench`: builds, then runs every test/bench/*.bench.ts. Each prints its measurements
// next to a baseline measured in the same run, as ratios; no bench asserts a wall-clock bound.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAll } from './build.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const setup = spawnSync(process.execPath, [path.join(root, 'build', 'setup.mjs'), '--quiet'], { stdio: 'inherit' });
if (setup.status !== 0) process.exit(setup.status ?? 1);
await buildAll({ quiet: true });
const benches = readdirSync(path.join(root, 'test', 'bench')).filter((file) => file.endsWith('.bench.ts')).sort();
let failed = 0;
for (const file of benches) {
  console.log(`\n=== ${file} ===`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'test', 'bench', file)], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
