// Opens the app under test for a spec, whichever target the run is for:
// - chromium: starts a fresh browser shell (`cleanroom serve`) on a new temporary home and loads
//   the address it prints, token included, as a person would. A spec with two parties calls it
//   twice, the second time with `{ window: 'new' }`: each party gets its own shell, home and
//   browser window (a different port, so a different origin and sessionStorage), and
//   `focus()` switches the driver between them;
// - electron: uses the window wdio-electron-service opened (its home comes from
//   wdio.electron.conf.ts). One app only.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { browser } from '@wdio/globals';
import { currentTarget, type E2eTarget } from './target.js';
import { repoRoot } from '../wdio.shared.conf.js';

export interface OpenedApp {
  readonly target: E2eTarget;
  /** Makes this app's window the one the driver talks to (and screenshots). */
  focus(): Promise<void>;
  /** Stops what openApp started and removes its home. */
  close(): Promise<void>;
  /** Chromium: the address the shell printed, its token included; undefined for Electron. */
  readonly url?: string;
}

export interface OpenAppOptions {
  /** 'current' (the default) loads the app in the driver's current window; 'new' opens a window for it. */
  readonly window?: 'current' | 'new';
}

const cliBundle = path.join(repoRoot, 'build', 'out', 'cli.cjs');

export async function openApp(options: OpenAppOptions = {}): Promise<OpenedApp> {
  const target = currentTarget();
  const inNewWindow = options.window === 'new';
  if (target === 'electron') {
    if (inNewWindow) throw new Error('The Electron target drives one app with one home: a second party needs the chromium target.');
    await waitForRenderer();
    return { target, focus: async () => undefined, close: async () => undefined };
  }

  const shell = await startShell();
  let handle: string;
  try {
    if (inNewWindow) {
      // WebDriver's own New Window: no window.open() from the first app's page. It opens at the
      // browser's default size: give it the first window's, so both parties' screenshots match.
      const size = await browser.getWindowSize();
      handle = (await browser.createWindow('window')).handle;
      await browser.switchToWindow(handle);
      await browser.setWindowSize(size.width, size.height);
    } else {
      handle = await browser.getWindowHandle();
    }
    await browser.url(shell.url);
    await waitForRenderer();
  } catch (error) {
    await shell.stop();
    throw error;
  }
  return { target, focus: () => browser.switchToWindow(handle), close: () => shell.stop(), url: shell.url };
}

/** Waits until React has put the first screen on the page. */
async function waitForRenderer(): Promise<void> {
  await browser.waitUntil(async () => (await browser.$('#root').getProperty('childElementCount')) !== 0, {
    timeoutMsg: 'The renderer did not draw anything: is build/out/renderer up to date (npm run build)?',
  });
}

interface RunningShell {
  readonly url: string;
  stop(): Promise<void>;
}

async function startShell(): Promise<RunningShell> {
  if (!existsSync(cliBundle)) throw new Error(`${cliBundle} is missing: run \`npm run build\` first (npm test does this).`);
  const home = mkdtempSync(path.join(os.tmpdir(), 'cleanroom-e2e-'));
  // The shell must not pick up a developer's own home or passphrase from the environment.
  const env = { ...process.env };
  delete env.CLEANROOM_HOME;
  delete env.CLEANROOM_PASSPHRASE;
  const child = spawn(process.execPath, [cliBundle, '--home', home, 'serve', '--no-open', '--json'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stopOnExit = () => child.kill('SIGTERM');
  process.once('exit', stopOnExit);

  const stop = async () => {
    process.removeListener('exit', stopOnExit);
    await stopChild(child);
    rmSync(home, { recursive: true, force: true });
  };

  try {
    const url = await readListeningUrl(child);
    return { url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Resolves with the URL from the shell's one JSON line; rejects if it exits first. */
function readListeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
    });
    if (child.stdout === null) {
      reject(new Error('cleanroom serve was started without a stdout pipe.'));
      return;
    }
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return; // Not the JSON line (e.g. a warning printed by Node); keep reading.
      }
      const url = (parsed as { url?: unknown }).url;
      if (typeof url === 'string') resolve(url);
      else reject(new Error(`cleanroom serve printed JSON without a url: ${line}`));
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      reject(new Error(`cleanroom serve exited (${signal ?? `code ${code}`}) before listening:\n${stderr.trim()}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}
