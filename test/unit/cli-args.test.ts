// The `cleanroom` argument parser: every command, global options anywhere, and the usage errors
// that must become exit code 2.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { api } from '../../shared/contract.js';
import { commandSpecs, helpText, type Invocation, parseArgs, usageHint, UsageError } from '../../electron/cli/args.js';

function run(argv: string[]): Extract<Invocation, { kind: 'run' }> {
  const invocation = parseArgs(argv);
  assert.equal(invocation.kind, 'run');
  return invocation as Extract<Invocation, { kind: 'run' }>;
}

function usageError(argv: string[], pattern: RegExp): UsageError {
  let caught: unknown;
  try {
    parseArgs(argv);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof UsageError, `expected a UsageError for ${JSON.stringify(argv)}`);
  assert.match(caught.message, pattern);
  return caught;
}

describe('cli args: commands', () => {
  it('parses identity create with its alias', () => {
    const parsed = run(['identity', 'create', '--alias', 'St Mary']);
    assert.deepEqual(parsed.command, { name: 'identity create', alias: 'St Mary' });
    assert.deepEqual(parsed.settings, { json: false });
  });

  it('accepts --option=value', () => {
    assert.deepEqual(run(['identity', 'create', '--alias=Acme']).command, { name: 'identity create', alias: 'Acme' });
    assert.equal(run(['--home=/tmp/h', 'identity', 'show']).settings.home, '/tmp/h');
  });

  it('parses identity show, engine, and identity passphrase', () => {
    assert.deepEqual(run(['identity', 'show']).command, { name: 'identity show' });
    assert.deepEqual(run(['engine']).command, { name: 'engine' });
    assert.deepEqual(run(['identity', 'passphrase', '--new-passphrase-file', 'new.txt']).command, {
      name: 'identity passphrase',
      newPassphraseFile: 'new.txt',
    });
  });

  it('parses serve with defaults, a port and --no-open', () => {
    assert.deepEqual(run(['serve']).command, { name: 'serve', port: 0, open: true });
    assert.deepEqual(run(['serve', '--port', '8123', '--no-open']).command, { name: 'serve', port: 8123, open: false });
  });

  it('takes global options anywhere on the line', () => {
    const expected = { home: '/data/h', json: true, passphraseFile: 'p.txt' };
    assert.deepEqual(run(['--home', '/data/h', '--json', '--passphrase-file', 'p.txt', 'identity', 'show']).settings, expected);
    assert.deepEqual(run(['identity', '--json', 'show', '--home', '/data/h', '--passphrase-file', 'p.txt']).settings, expected);
    assert.deepEqual(run(['identity', 'show', '--passphrase-file', 'p.txt', '--home', '/data/h', '--json']).settings, expected);
  });

  it('treats words after -- as arguments, not options', () => {
    usageError(['--', '--json'], /unknown command "--json"/);
  });
});

describe('cli args: help and version', () => {
  it('answers --help and -h, for the whole command or one command', () => {
    assert.deepEqual(parseArgs(['--help']), { kind: 'help', topic: null });
    assert.deepEqual(parseArgs(['-h']), { kind: 'help', topic: null });
    assert.deepEqual(parseArgs(['identity', 'create', '--help']), { kind: 'help', topic: 'identity create' });
    assert.deepEqual(parseArgs(['identity', '-h']), { kind: 'help', topic: 'identity' });
    assert.deepEqual(parseArgs(['serve', '--port', 'x', '--help']), { kind: 'help', topic: 'serve' });
  });

  it('answers --version', () => {
    assert.deepEqual(parseArgs(['--version']), { kind: 'version' });
  });

  it('lists every command in the help, with summaries taken from the contract', () => {
    const text = helpText(null);
    for (const name of Object.keys(commandSpecs)) assert.ok(text.includes(name), `help lists ${name}`);
    assert.ok(text.includes(api['identity.create'].summary));
    assert.ok(text.includes(api['engine.info'].summary));
    assert.match(helpText('identity create'), /Usage: cleanroom identity create --alias NAME/);
    assert.match(helpText('serve'), /--no-open/);
  });

  it('gives a usage hint naming the command when one was recognised', () => {
    assert.match(usageHint('identity create'), /cleanroom identity create --alias NAME/);
    assert.match(usageHint(null), /cleanroom --help/);
  });
});

describe('cli args: usage errors', () => {
  it('refuses a passphrase given as an option value, saying why', () => {
    usageError(['identity', 'create', '--alias', 'A', '--passphrase', 'secret'], /--passphrase is refused: .*process list.*CLEANROOM_PASSPHRASE/);
    usageError(['--passphrase=secret', 'identity', 'show'], /--passphrase is refused/);
    usageError(['identity', 'passphrase', '--new-passphrase', 'x'], /--new-passphrase is refused: .*--new-passphrase-file/);
  });

  it('refuses unknown commands and subcommands', () => {
    usageError(['frobnicate'], /unknown command "frobnicate"/);
    usageError(['identity', 'delete'], /unknown command "identity delete"; identity subcommands are: create, show, passphrase/);
    usageError(['identity'], /needs a subcommand: create, show, passphrase/);
    usageError([], /no command given/);
    usageError(['identity', 'show', 'extra'], /unexpected argument "extra"/);
  });

  it('refuses unknown options and options of another command', () => {
    usageError(['identity', 'show', '--frob'], /unknown option --frob/);
    usageError(['identity', 'show', '-x'], /unknown option -x/);
    const error = usageError(['identity', 'show', '--port', '80'], /--port is not an option of `cleanroom identity show`/);
    assert.equal(error.command, 'identity show');
  });

  it('refuses missing required options and values', () => {
    const error = usageError(['identity', 'create'], /needs --alias/);
    assert.equal(error.command, 'identity create');
    usageError(['identity', 'create', '--alias'], /--alias needs a value/);
    usageError(['identity', 'create', '--alias', '--json'], /--alias needs a value/);
    usageError(['identity', 'passphrase'], /needs --new-passphrase-file/);
    usageError(['identity', 'show', '--home', ''], /--home needs a non-empty value/);
    usageError(['identity', 'show', '--passphrase-file='], /--passphrase-file needs a non-empty value/);
  });

  it('refuses a flag with a value and an option given twice', () => {
    usageError(['identity', 'show', '--json=yes'], /--json takes no value/);
    usageError(['--home', 'a', 'identity', 'show', '--home', 'b'], /--home is given more than once/);
  });

  it('refuses a port that is not a port number', () => {
    for (const port of ['x', '-1', '65536', '1.5', '']) {
      usageError(['serve', `--port=${port}`], /--port must be a whole number from 0 to 65535/);
    }
  });
});

describe('cli args: runs, outputs and receipts', () => {
  it('parses run ROOM SNAPSHOT, and run list ROOM as the listing', () => {
    assert.deepEqual(run(['run', 'Readmissions', '3f2a9c']).command, { name: 'run', room: 'Readmissions', snapshot: '3f2a9c' });
    assert.deepEqual(run(['run', 'list', 'Readmissions']).command, { name: 'run list', room: 'Readmissions' });
    assert.equal(run(['--json', 'run', 'list', 'R']).settings.json, true);
  });

  it('parses output list, show with each format, and release', () => {
    assert.deepEqual(run(['output', 'list', 'R']).command, { name: 'output list', room: 'R' });
    assert.deepEqual(run(['output', 'show', 'R', 'rates']).command, { name: 'output show', room: 'R', output: 'rates', format: 'table' });
    for (const format of ['table', 'csv', 'json']) {
      assert.deepEqual(run(['output', 'show', 'R', '3f2a9c:rates', '--format', format]).command, {
        name: 'output show',
        room: 'R',
        output: '3f2a9c:rates',
        format,
      });
    }
    assert.deepEqual(run(['output', 'release', 'R', '3f2a9c', '--out', 'out.cleanroom']).command, {
      name: 'output release',
      room: 'R',
      run: '3f2a9c',
      out: 'out.cleanroom',
    });
  });

  it('parses receipt save and receipt verify', () => {
    assert.deepEqual(run(['receipt', 'save', 'R', '3f2a9c', '--out', 'r.cleanroom-receipt']).command, {
      name: 'receipt save',
      room: 'R',
      run: '3f2a9c',
      out: 'r.cleanroom-receipt',
    });
    assert.deepEqual(run(['receipt', 'verify', 'r.cleanroom-receipt']).command, { name: 'receipt verify', file: 'r.cleanroom-receipt' });
  });

  it('refuses a bad --format, a missing --out, and missing or extra arguments', () => {
    usageError(['output', 'show', 'R', 'rates', '--format', 'xlsx'], /--format must be table, csv, json, not "xlsx"/);
    usageError(['output', 'release', 'R', '3f2a9c'], /`cleanroom output release` needs --out/);
    usageError(['receipt', 'save', 'R', '3f2a9c', '--out='], /--out needs a non-empty value/);
    usageError(['run'], /`cleanroom run` needs ROOM SNAPSHOT/);
    usageError(['run', 'R'], /`cleanroom run` needs SNAPSHOT/);
    usageError(['run', 'list'], /`cleanroom run list` needs ROOM/);
    usageError(['run', 'list', 'R', 'extra'], /unexpected argument "extra" after `cleanroom run list`/);
    usageError(['receipt', 'verify'], /`cleanroom receipt verify` needs F/);
    usageError(['output'], /`cleanroom output` needs a subcommand: list, show, release/);
    usageError(['receipt', 'check', 'f'], /unknown command "receipt check"; receipt subcommands are: save, verify/);
    usageError(['run', 'R', 'abc123', '--format', 'csv'], /--format is not an option of `cleanroom run`/);
  });

  it('answers help for a command without its arguments, and lists the new commands', () => {
    assert.deepEqual(parseArgs(['run', '--help']), { kind: 'help', topic: 'run' });
    assert.deepEqual(parseArgs(['run', 'list', '--help']), { kind: 'help', topic: 'run list' });
    assert.deepEqual(parseArgs(['room', 'show', '--help']), { kind: 'help', topic: 'room show' });
    assert.deepEqual(parseArgs(['output', '--help']), { kind: 'help', topic: 'output' });
    assert.match(helpText('output show'), /Usage: cleanroom output show ROOM OUTPUT \[--format FORMAT\]/);
    assert.match(helpText('run'), /Ctrl-C cancels/);
    assert.match(helpText('receipt'), /receipt verify/);
    assert.ok(helpText(null).includes(api['run.list'].summary));
  });
});
