// What every CLI command shares: the process context, opening core on the chosen home, calling it
// through the contract, getting the passphrase, and printing a result as text or JSON.
import path from 'node:path';
import { type ApiMethod, type ApiRequest, type ApiResponse } from '../../shared/contract.js';
import { unwrap } from '../../shared/errors.js';
import { type Core, defaultHome, openCore } from '../core/index.js';
import { type CommandName, type GlobalSettings, UsageError } from './args.js';
import { passphraseFrom } from './passphrase.js';

export const exitCodes = { ok: 0, refused: 1, usage: 2 } as const;

export interface CliContext {
  /** Arguments after `node cli.cjs`. */
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** The folder holding the bundles: worker.cjs and renderer/ are found here. */
  readonly bundleDir: string;
  /** Writes one line (a newline is added). */
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** Writes text exactly as given (CSV, whose bytes must match the app's export). */
  readonly stdoutText: (text: string) => void;
  /** Writes text to stderr as given: a progress line rewritten in place on a terminal. */
  readonly stderrText: (text: string) => void;
  /** Whether stderr is a terminal, where progress is one line updated in place. */
  readonly stderrIsTerminal: boolean;
  /** Resolves when the process is asked to stop; listening starts on the first call. */
  readonly stopRequested: () => Promise<string>;
}

export function openCliCore(context: CliContext, settings: GlobalSettings, host: 'cli' | 'shell'): Promise<Core> {
  return openCore({
    home: settings.home === undefined ? defaultHome(context.env) : path.resolve(settings.home),
    host,
    workerEntry: path.join(context.bundleDir, 'worker.cjs'),
  });
}

export async function withCore<T>(context: CliContext, settings: GlobalSettings, use: (core: Core) => Promise<T>): Promise<T> {
  const core = await openCliCore(context, settings, 'cli');
  try {
    return await use(core);
  } finally {
    await core.close();
  }
}

/**
 * Core with the identity unlocked, for commands that sign or decrypt. The passphrase is checked
 * for presence before the home is opened, so a missing one is a usage error that touches nothing.
 */
export async function withUnlockedCore<T>(
  context: CliContext,
  settings: GlobalSettings,
  command: CommandName,
  use: (core: Core) => Promise<T>,
): Promise<T> {
  const passphrase = requirePassphrase(context, settings, command);
  return withCore(context, settings, async (core) => {
    await invoke(core, 'identity.unlock', { passphrase });
    return use(core);
  });
}

/**
 * Core unlocked when a passphrase is at hand, locked otherwise: for commands that need the keys
 * only for part of their work (checking a notebook that uses my private library reads it).
 */
export async function withCoreUnlockedIfPossible<T>(context: CliContext, settings: GlobalSettings, use: (core: Core) => Promise<T>): Promise<T> {
  const passphrase = passphraseFrom(settings.passphraseFile, context.env);
  return withCore(context, settings, async (core) => {
    if (passphrase !== null) await invoke(core, 'identity.unlock', { passphrase });
    return use(core);
  });
}

/** Calls core through `dispatch`, so the request is checked against the contract like any host's. */
export async function invoke<M extends ApiMethod>(core: Core, method: M, request: ApiRequest<M>): Promise<ApiResponse<M>> {
  return unwrap(await core.dispatch(method, request)) as ApiResponse<M>;
}

export function requirePassphrase(context: CliContext, settings: GlobalSettings, command: CommandName): string {
  const passphrase = passphraseFrom(settings.passphraseFile, context.env);
  if (passphrase === null) {
    throw new UsageError('this command needs the passphrase: set CLEANROOM_PASSPHRASE or use --passphrase-file F', command);
  }
  return passphrase;
}

export function report(context: CliContext, settings: GlobalSettings, value: unknown, lines: readonly string[]): void {
  if (settings.json) context.stdout(JSON.stringify({ ok: true, value }));
  else for (const line of lines) context.stdout(line);
}
