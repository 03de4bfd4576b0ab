// The `cleanroom` command: turns an invocation into core calls and core's answers into output
// and an exit code. No business logic lives here: every decision (is this passphrase strong
// enough, may this home be opened, ...) is core's, reached through `core.dispatch`.
import path from 'node:path';
import { type ApiError, CleanroomError } from '../../shared/errors.js';
import { groupForReading, type IdentityPublic } from '../../shared/identity.js';
import { appVersion } from '../core/version.js';
import { startShell } from '../shell/server.js';
import { type Command, type GlobalSettings, helpText, type Invocation, parseArgs, usageHint, UsageError } from './args.js';
import { readPassphraseFile } from './passphrase.js';
import { assetCommands } from './assets.js';
import { demoCommand } from './demo.js';
import { modelCommands } from './models.js';
import { roomCommands, type RoomCommand } from './rooms.js';
import { runCommands } from './runs.js';
import { type CliContext, exitCodes, invoke, openCliCore, report, requirePassphrase, withCore } from './session.js';

export { type CliContext, exitCodes } from './session.js';

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
    case 'table inspect':
    case 'table add':
    case 'volume add':
    case 'asset list':
    case 'notebook check':
    case 'notebook add':
    case 'notebook list':
    case 'notebook show':
    case 'approve':
    case 'revoke':
      return assetCommands(context, settings, command);
    case 'run':
    case 'run list':
    case 'output list':
    case 'output show':
    case 'output release':
    case 'receipt save':
    case 'receipt verify':
      return runCommands(context, settings, command);
    case 'model show':
    case 'model save':
    case 'predict':
      return modelCommands(context, settings, command);
    case 'demo':
      return demoCommand(context, settings, command);
    default:
      return roomCommands(context, settings, command satisfies RoomCommand);
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
