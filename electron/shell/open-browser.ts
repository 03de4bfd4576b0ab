// Starts the system Chromium (or Chrome) in app mode on the shell's address: a window without
// tabs or address bar, with its own profile under the home so it shares nothing with the user's
// everyday browser and phones home as little as Chromium allows.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

export interface OpenBrowserOptions {
  readonly url: string;
  /** The Cleanroom home; the browser profile lives in <home>/browser-profile. */
  readonly home: string;
  /** An executable to use instead of searching (a path or a name on PATH). */
  readonly browser?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Called if the started browser later exits with a failure (e.g. it refused to run). */
  readonly onFailedExit?: (description: string) => void;
}

export type OpenBrowserResult = { readonly ok: true; readonly browser: string } | { readonly ok: false; readonly reason: string };

/** Names searched on PATH, in order, when neither an option nor CLEANROOM_BROWSER names one. */
export const browserNames = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'] as const;

/** Where browsers live when they are not on PATH (macOS and Windows installers). */
function wellKnownLocations(env: NodeJS.ProcessEnv): string[] {
  if (process.platform === 'darwin') {
    return [
      '/Applications/Chromium.app/Contents/MacOS/Chromium',
      '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    ];
  }
  if (process.platform === 'win32') {
    return [env.ProgramFiles, env['ProgramFiles(x86)'], env.LOCALAPPDATA]
      .filter((dir): dir is string => typeof dir === 'string' && dir !== '')
      .map((dir) => path.join(dir, 'Google', 'Chrome', 'Application', 'chrome.exe'));
  }
  return [];
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A path to an executable for a name or path, searching PATH for bare names. */
export function resolveExecutable(nameOrPath: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (nameOrPath.includes('/') || nameOrPath.includes(path.sep)) {
    return isExecutable(nameOrPath) ? path.resolve(nameOrPath) : null;
  }
  const extensions = process.platform === 'win32' ? ['', '.exe', '.cmd'] : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    for (const extension of extensions) {
      const candidate = path.join(dir, nameOrPath + extension);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return null;
}

/** The browser to start, or why there is none. */
export function findBrowser(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { ok: true; executable: string } | { ok: false; reason: string } {
  const requested = explicit ?? (env.CLEANROOM_BROWSER === '' ? undefined : env.CLEANROOM_BROWSER);
  if (requested !== undefined) {
    const executable = resolveExecutable(requested, env);
    if (executable === null) {
      const source = explicit === undefined ? 'CLEANROOM_BROWSER names' : 'The browser option names';
      return { ok: false, reason: `${source} "${requested}", which is not an executable.` };
    }
    return { ok: true, executable };
  }
  for (const name of browserNames) {
    const executable = resolveExecutable(name, env);
    if (executable !== null) return { ok: true, executable };
  }
  for (const location of wellKnownLocations(env)) {
    if (isExecutable(location)) return { ok: true, executable: location };
  }
  return { ok: false, reason: `No Chromium or Chrome found (looked for ${browserNames.join(', ')} on PATH; set CLEANROOM_BROWSER to choose one).` };
}

export function browserArguments(url: string, profileDir: string): string[] {
  return [
    `--app=${url}`,
    `--user-data-dir=${profileDir}`,
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ];
}

/** Starts the browser detached (it may outlive this process) and reports whether it started. */
export async function openBrowser(options: OpenBrowserOptions): Promise<OpenBrowserResult> {
  const env = options.env ?? process.env;
  const found = findBrowser(options.browser, env);
  if (!found.ok) return found;
  const profileDir = path.join(options.home, 'browser-profile');
  try {
    mkdirSync(profileDir, { recursive: true, mode: 0o700 });
  } catch {
    return { ok: false, reason: `Could not create the browser profile folder ${profileDir}.` };
  }
  const child = spawn(found.executable, browserArguments(options.url, profileDir), {
    detached: true,
    stdio: 'ignore',
    env,
  });
  return new Promise((resolve) => {
    child.once('spawn', () => {
      // Not keeping this process alive for the browser; still hearing of it if it fails.
      child.unref();
      child.once('exit', (code, signal) => {
        if (code === 0) return;
        // The usual cause on Linux: Chromium refuses to run as root with its sandbox on, and
        // turning the sandbox off is not a choice to make for the user.
        const hint = process.getuid?.() === 0 ? '; Chromium does not run as root with its sandbox on' : '';
        options.onFailedExit?.(`${found.executable} exited (${signal ?? `code ${code}`})${hint}`);
      });
      resolve({ ok: true, browser: found.executable });
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      resolve({ ok: false, reason: `Could not start ${found.executable} (${error.code ?? error.message}).` });
    });
  });
}
