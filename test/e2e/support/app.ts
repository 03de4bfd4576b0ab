// Opens the app under test for a spec, whichever target the run is for:
// - chromium: starts a fresh browser shell (`cleanroom serve`) on a new temporary home and loads
//   the address it prints, token included, as a person would;
// - electron: uses the window wdio-electron-service opened (its home comes from
//   wdio.electron.conf.ts).
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
  /** Stops what openApp started and removes its home. */
  close(): Promise<void>;
}

const cliBundle = path.join(repoRoot, 'build', 'out', 'cli.cjs');

export async function openApp(): Promise<OpenedApp> {
  const target = currentTarget();
  if (target === 'electron') {
    await waitForRenderer();
    return { target, close: async () => undefined };
  }

  const shell = await startShell();
  await browser.url(shell.url);
  await waitForRenderer();
  return { target, close: () => shell.stop() };
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
