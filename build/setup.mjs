// Makes a fresh `npm install` runnable. Dependencies' install scripts are switched off in .npmrc,
// so this does the two pieces of native work the app needs, each only when it is missing:
//  1. better-sqlite3's binding for this Node (prebuilt download where reachable, else compiled);
//  2. Electron's binary, where it can be downloaded; without it the app runs in the browser shell;
//  3. with Electron, a second better-sqlite3 binding built for Electron's ABI, kept apart in
//     build/native/electron/ so the Node one (CLI, shell, tests) keeps working.
// It never fails because Electron is unavailable: that is a normal state on air-gapped machines.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const quiet = process.argv.includes('--quiet');
const log = (line) => { if (!quiet) console.log(`setup: ${line}`); };

function run(cmd, args, cwd) {
  const result = spawnSync(cmd, args, { cwd, stdio: quiet ? 'pipe' : 'inherit', env: process.env });
  return result.status === 0;
}

export function sqliteBindingWorks() {
  const probe = spawnSync(process.execPath, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: root, stdio: 'pipe' });
  return probe.status === 0;
}

export function electronBinaryPath() {
  try {
    const dir = path.dirname(require.resolve('electron/package.json'));
    const relative = readFileSync(path.join(dir, 'path.txt'), 'utf8');
    const binary = path.join(dir, 'dist', relative);
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

function ensureSqlite() {
  if (sqliteBindingWorks()) return;
  log('building better-sqlite3 for this Node (first run only; about a minute)...');
  const dir = path.dirname(require.resolve('better-sqlite3/package.json'));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // `npm rebuild` runs the package's own install script: prebuilt binary, else node-gyp.
  run(npm, ['rebuild', 'better-sqlite3', '--ignore-scripts=false', '--foreground-scripts'], root);
  if (!sqliteBindingWorks()) {
    console.error(`setup: better-sqlite3 could not be built in ${dir}. Install python3, make and a C++ compiler, then run \`npm run setup\`.`);
    process.exit(1);
  }
  log('better-sqlite3 ready');
}

function ensureElectron() {
  if (electronBinaryPath()) return;
  if (process.env.CLEANROOM_SKIP_ELECTRON === '1' || process.env.CI === 'true') {
    log('Electron binary not installed; the browser shell will be used');
    return;
  }
  const dir = path.dirname(require.resolve('electron/package.json'));
  log('fetching Electron\'s binary (skipped with CLEANROOM_SKIP_ELECTRON=1)...');
  const ok = spawnSync(process.execPath, ['install.js'], { cwd: dir, stdio: 'pipe', timeout: 120_000 }).status === 0;
  log(ok && electronBinaryPath()
    ? 'Electron binary installed'
    : 'Electron\'s binary cannot be downloaded from this machine; the browser shell will be used instead');
}

export const electronSqliteBinding = path.join(root, 'build', 'native', 'electron', 'better_sqlite3.node');

function ensureElectronSqlite() {
  if (!electronBinaryPath() || existsSync(electronSqliteBinding)) return;
  const electronVersion = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version;
  log(`building better-sqlite3 for Electron ${electronVersion}...`);
  const source = path.dirname(require.resolve('better-sqlite3/package.json'));
  const work = mkdtempSync(path.join(os.tmpdir(), 'cleanroom-sqlite-electron-'));
  try {
    cpSync(source, work, { recursive: true, filter: (file) => !file.startsWith(path.join(source, 'build')) });
    const nodeGyp = process.env.npm_config_node_gyp;
    const gypArgs = ['rebuild', '--release', `--target=${electronVersion}`, `--arch=${process.arch}`, '--dist-url=https://electronjs.org/headers'];
    const ok = nodeGyp ? run(process.execPath, [nodeGyp, ...gypArgs], work) : run('npx', ['--yes', 'node-gyp', ...gypArgs], work);
    if (!ok) {
      log('could not build better-sqlite3 for Electron (its headers must be downloadable); use the browser shell: CLEANROOM_SHELL=1 npm start');
      return;
    }
    mkdirSync(path.dirname(electronSqliteBinding), { recursive: true });
    copyFileSync(path.join(work, 'build', 'Release', 'better_sqlite3.node'), electronSqliteBinding);
    log('better-sqlite3 for Electron ready');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureSqlite();
  ensureElectron();
  ensureElectronSqlite();
}
