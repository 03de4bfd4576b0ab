// `cleanroom demo [--dir D] [--ui]`: three parties, synthetic data, both stories end to end
// (demo-story.ts), then with --ui one browser-shell window per party on the demo's homes, already
// unlocked, so a presenter can click through the same rooms live until Ctrl-C.
import path from 'node:path';
import { openCore, type Core } from '../core/index.js';
import { type Shell, startShell } from '../shell/server.js';
import { type Command, type GlobalSettings } from './args.js';
import { defaultDemoDir, demoParties, demoPassphrase, partyKeys, runDemo } from './demo-story.js';
import { type CliContext, exitCodes, invoke } from './session.js';

export async function demoCommand(context: CliContext, settings: GlobalSettings, command: Extract<Command, { name: 'demo' }>): Promise<number> {
  // With --json, stdout carries only the result; the narration goes to stderr.
  const log = settings.json ? context.stderr : context.stdout;
  const result = await runDemo({
    dir: command.dir === undefined ? defaultDemoDir() : path.resolve(command.dir),
    log,
    workerEntry: path.join(context.bundleDir, 'worker.cjs'),
  });
  if (settings.json) context.stdout(JSON.stringify({ ok: true, value: result }));
  if (!command.ui) return exitCodes.ok;

  // Listen for Ctrl-C before starting anything, so a signal during start-up still stops cleanly.
  const stopped = context.stopRequested();
  const opened: { core: Core; shell: Shell | null }[] = [];
  try {
    log('');
    log('== The same rooms in the browser ==');
    for (const key of partyKeys) {
      const core = await openCore({ home: result.homes[key], host: 'shell', workerEntry: path.join(context.bundleDir, 'worker.cjs') });
      const entry: { core: Core; shell: Shell | null } = { core, shell: null };
      opened.push(entry);
      await invoke(core, 'identity.unlock', { passphrase: demoPassphrase });
      entry.shell = await startShell({ core, rendererDir: path.join(context.bundleDir, 'renderer'), open: true, log: (line) => context.stderr(`  ${demoParties[key].alias}: ${line}`) });
      log(`  ${demoParties[key].alias.padEnd(18)} ${entry.shell.url}`);
    }
    log('  Each address holds its session\'s secret token: do not share it. Press Ctrl-C to stop.');
    await stopped;
  } finally {
    for (const entry of opened.reverse()) {
      await entry.shell?.close();
      await entry.core.close();
    }
  }
  log('Demo windows closed; the homes stay in place.');
  return exitCodes.ok;
}
