// `npm run demo`: prepares what a fresh install lacks (the SQLite binding; Electron is not needed,
// so its download is skipped), builds, then runs `cleanroom demo` with the arguments given, e.g.
// `npm run demo -- --ui` or `npm run demo -- --dir /tmp/cleanroom-demo`.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAll } from './build.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function run(args, env = process.env) {
  const child = spawn(process.execPath, args, { stdio: 'inherit', env });
  // Ctrl-C reaches the child from the terminal itself (same process group): this process only
  // waits for it to finish. A SIGTERM sent to this process alone is passed on.
  const ignore = () => {};
  const passOn = () => child.kill('SIGTERM');
  process.on('SIGINT', ignore);
  process.on('SIGTERM', passOn);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', passOn);
      resolve(code ?? (signal ? 1 : 0));
    }),
  );
}

const setupCode = await run([path.join(root, 'build', 'setup.mjs'), '--quiet'], { ...process.env, CLEANROOM_SKIP_ELECTRON: '1' });
if (setupCode !== 0) process.exit(setupCode);
console.log('demo: building Cleanroom…');
await buildAll({ quiet: true });
process.exit(await run([path.join(root, 'build', 'out', 'cli.cjs'), 'demo', ...process.argv.slice(2)]));
