// `npm start`: prepares what a fresh install lacks, builds, then launches the desktop app where
// Electron's binary is installed, and the browser shell (system Chromium in app mode) otherwise.
// Extra arguments go to the app, e.g. `npm start -- --home /tmp/demo-home`.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAll } from './build.mjs';
import { electronBinaryPath } from './setup.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const setup = spawn(process.execPath, [path.join(root, 'build', 'setup.mjs')], { stdio: 'inherit' });
const setupCode = await new Promise((resolve) => setup.on('close', resolve));
if (setupCode !== 0) process.exit(setupCode ?? 1);
await buildAll({ quiet: true });

const args = process.argv.slice(2);
const electron = process.env.CLEANROOM_SHELL === '1' ? null : electronBinaryPath();
let child;
if (electron) {
  console.log('start: launching the Cleanroom desktop app (Electron)');
  const homeArgs = args.flatMap((arg, i) => (arg === '--home' && args[i + 1] ? [`--home=${path.resolve(args[i + 1])}`] : []));
  child = spawn(electron, [root, ...homeArgs], { stdio: 'inherit' });
} else {
  console.log('start: Electron\'s binary is not installed here, so Cleanroom runs as the browser shell');
  child = spawn(process.execPath, [path.join(root, 'build', 'out', 'cli.cjs'), ...args, 'serve'], { stdio: 'inherit' });
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('close', (code) => process.exit(code ?? 0));
