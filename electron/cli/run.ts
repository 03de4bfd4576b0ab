// The `cleanroom` command: turns an invocation into core calls and core's answers into output
// and an exit code. No business logic lives here: every decision (is this passphrase strong
// enough, may this home be opened, ...) is core's, reached through `core.dispatch`.
import path from 'node:path';
import { type ApiMethod, type ApiRequest, type ApiResponse } from '../../shared/contract.js';
import { type ApiError, CleanroomError, unwrap } from '../../shared/errors.js';
import { groupForReading, type IdentityPublic } from '../../shared/identity.js';
import { type Core, defaultHome, openCore } from '../core/index.js';
import { appVersion } from '../core/version.js';
import { startShell } from '../shell/server.js';
import {
  type Command,
  type CommandName,
  type GlobalSettings,
  helpText,
  type Invocation,
  parseArgs,
  usageHint,
  UsageError,
} from './args.js';
import { passphraseFrom, readPassphraseFile } from './passphrase.js';

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
  /** Resolves when the process is asked to stop; listening starts on the first call. */
  readonly stopRequested: () => Promise<string>;
}

/** Runs one command line and returns its exit code. Never throws. */
export async function runCli(context: CliContext): Promise<number> {
  // Known before parsing so that even a usage error can answer in JSON.
  const json = context.argv.includes('--json');
  let invocation: Invocation;
  try {
    invocation = parseArgs(context.argv);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(context, json, error);
    throw error;
  }

  if (invocation.kind === 'help') {
    context.stdout(helpText(invocation.topic));
    return exitCodes.ok;
  }
  if (invocation.kind === 'version') {
    context.stdout(json ? JSON.stringify({ ok: true, value: { version: appVersion } }) : `cleanroom ${appVersion}`);
    return exitCodes.ok;
  }

  const { settings, command } = invocation;
  try {
    return await runCommand(context, settings, command);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(context, settings.json, error);
    if (error instanceof CleanroomError) return refusal(context, settings.json, { code: error.code, message: error.message });
    if (context.env.CLEANROOM_DEBUG) context.stderr(error instanceof Error ? (error.stack ?? error.message) : String(error));
    const name = error instanceof Error ? error.name : typeof error;
    return refusal(context, settings.json, {
      code: 'INTERNAL',
      message: `unexpected ${name}; run again with CLEANROOM_DEBUG=1 for details`,
    });
  }
}

function usageFailure(context: CliContext, json: boolean, error: UsageError): number {
  if (json) context.stdout(JSON.stringify({ ok: false, error: { code: 'BAD_REQUEST', message: error.message } }));
  if (error.message === 'no command given') {
    context.stderr(helpText(null));
  } else {
    context.stderr(`cleanroom: ${error.message}`);
    context.stderr(usageHint(error.command));
  }
  return exitCodes.usage;
}

function refusal(context: CliContext, json: boolean, error: ApiError): number {
  // One line on stderr, whatever the message: scripts and people both read it.
  const line = error.message.replace(/\s*\n\s*/g, ' ');
  if (json) context.stdout(JSON.stringify({ ok: false, error: { code: error.code, message: line } }));
  context.stderr(`cleanroom: ${line}`);
  return exitCodes.refused;
}

async function runCommand(context: CliContext, settings: GlobalSettings, command: Command): Promise<number> {
  switch (command.name) {
    case 'identity create': {
      const passphrase = requirePassphrase(context, settings, command.name);
      const identity = await withCore(context, settings, (core) =>
        invoke(core, 'identity.create', { alias: command.alias, passphrase }),
      );
      report(context, settings, identity, [
        `Created the identity "${identity.alias}". Keep the passphrase safe: it cannot be recovered.`,
        '',
        ...identityLines(identity),
      ]);
      return exitCodes.ok;
    }
    case 'identity show': {
      const status = await withCore(context, settings, (core) => invoke(core, 'identity.status', {}));
      if (status.state === 'none') {
        throw new CleanroomError('NO_IDENTITY', 'This home has no identity yet; create one with `cleanroom identity create --alias NAME`.');
      }
      report(context, settings, status.identity, identityLines(status.identity));
      return exitCodes.ok;
    }
    case 'identity passphrase': {
      const current = requirePassphrase(context, settings, command.name);
      const next = readPassphraseFile(command.newPassphraseFile);
      await withCore(context, settings, (core) => invoke(core, 'identity.changePassphrase', { current, next }));
      report(context, settings, {}, ['Passphrase changed.']);
      return exitCodes.ok;
    }
    case 'engine': {
      const info = await withCore(context, settings, (core) => invoke(core, 'engine.info', {}));
      report(context, settings, info, [`DuckDB ${info.duckdbVersion}`]);
      return exitCodes.ok;
    }
    case 'serve':
      return serve(context, settings, command);
  }
}

async function serve(context: CliContext, settings: GlobalSettings, command: Extract<Command, { name: 'serve' }>): Promise<number> {
  // Listen for SIGINT/SIGTERM first: a signal that arrives while starting still stops us cleanly.
  const stopped = context.stopRequested();
  const core = await openCliCore(context, settings, 'shell');
  try {
    const shell = await startShell({
      core,
      port: command.port,
      rendererDir: path.join(context.bundleDir, 'renderer'),
      open: command.open,
      log: (line) => context.stderr(line),
    });
    try {
      if (settings.json) {
        context.stdout(JSON.stringify({ url: shell.url, port: shell.port }));
      } else {
        context.stdout(`Cleanroom is running at ${shell.url}`);
        context.stdout('The address holds this session\'s secret token: do not share it. Press Ctrl-C to stop.');
      }
      await stopped;
    } finally {
      await shell.close();
    }
  } finally {
    await core.close();
  }
  if (!settings.json) context.stdout('Cleanroom stopped.');
  return exitCodes.ok;
}

function openCliCore(context: CliContext, settings: GlobalSettings, host: 'cli' | 'shell'): Promise<Core> {
  return openCore({
    home: settings.home === undefined ? defaultHome(context.env) : path.resolve(settings.home),
    host,
    workerEntry: path.join(context.bundleDir, 'worker.cjs'),
  });
}

async function withCore<T>(context: CliContext, settings: GlobalSettings, use: (core: Core) => Promise<T>): Promise<T> {
  const core = await openCliCore(context, settings, 'cli');
  try {
    return await use(core);
  } finally {
    await core.close();
  }
}

/** Calls core through `dispatch`, so the request is checked against the contract like any host's. */
async function invoke<M extends ApiMethod>(core: Core, method: M, request: ApiRequest<M>): Promise<ApiResponse<M>> {
  return unwrap(await core.dispatch(method, request)) as ApiResponse<M>;
}

function requirePassphrase(context: CliContext, settings: GlobalSettings, command: CommandName): string {
  const passphrase = passphraseFrom(settings.passphraseFile, context.env);
  if (passphrase === null) {
    throw new UsageError('this command needs the passphrase: set CLEANROOM_PASSPHRASE or use --passphrase-file F', command);
  }
  return passphrase;
}

function report(context: CliContext, settings: GlobalSettings, value: unknown, lines: readonly string[]): void {
  if (settings.json) context.stdout(JSON.stringify({ ok: true, value }));
  else for (const line of lines) context.stdout(line);
}

function identityLines(identity: IdentityPublic): string[] {
  const label = (text: string) => text.padEnd(20);
  const fingerprint = groupForReading(identity.fingerprint);
  return [
    `${label('Alias')}${identity.alias}`,
    `${label('Sharing identifier')}${groupForReading(identity.sharingId).join(' ')}`,
    `${label('Fingerprint')}${fingerprint.slice(0, 8).join(' ')}`,
    `${label('')}${fingerprint.slice(8).join(' ')}`,
    `${label('Created')}${identity.createdAt}`,
  ];
}
