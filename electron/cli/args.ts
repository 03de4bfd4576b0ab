// The `cleanroom` command line: which commands exist, which options each takes, and a parser that
// turns argv into one typed invocation or a UsageError (exit code 2). Pure: no I/O, no core.
import { api, type ApiMethod } from '../../shared/contract.js';

export class UsageError extends Error {
  /** The command whose usage line should follow the message, when one was recognised. */
  readonly command: CommandName | null;

  constructor(message: string, command: CommandName | null = null) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

interface OptionSpec {
  /** Without the leading dashes. */
  readonly name: string;
  /** Placeholder for the value, e.g. "DIR"; absent for a flag. */
  readonly value?: string;
  readonly summary: string;
}

interface CommandSpec {
  readonly words: readonly string[];
  readonly options: readonly OptionSpec[];
  readonly summary: string;
  /** Extra lines for `cleanroom <command> --help`. */
  readonly details?: readonly string[];
}

const summaryOf = (method: ApiMethod): string => api[method].summary;

const passphraseSource = 'The passphrase is read from CLEANROOM_PASSPHRASE or the first line of --passphrase-file F.';

export const globalOptions: readonly OptionSpec[] = [
  { name: 'home', value: 'DIR', summary: 'Home folder (default: CLEANROOM_HOME or the desktop app\'s home).' },
  { name: 'json', summary: 'Machine-readable output: one JSON object on stdout.' },
  { name: 'passphrase-file', value: 'F', summary: 'Read the passphrase from the first line of file F.' },
  { name: 'help', summary: 'Show help (also -h).' },
  { name: 'version', summary: 'Show the version.' },
];

export const commandSpecs = {
  'identity create': {
    words: ['identity', 'create'],
    options: [{ name: 'alias', value: 'NAME', summary: 'The name other members will see.' }],
    summary: summaryOf('identity.create'),
    details: [passphraseSource],
  },
  'identity show': {
    words: ['identity', 'show'],
    options: [],
    summary: 'Shows the alias, sharing identifier and fingerprint (no passphrase needed).',
  },
  'identity passphrase': {
    words: ['identity', 'passphrase'],
    options: [{ name: 'new-passphrase-file', value: 'F', summary: 'Read the new passphrase from the first line of F.' }],
    summary: summaryOf('identity.changePassphrase'),
    details: ['The current passphrase is read from CLEANROOM_PASSPHRASE or the first line of --passphrase-file F.'],
  },
  serve: {
    words: ['serve'],
    options: [
      { name: 'port', value: 'N', summary: 'Port on 127.0.0.1 (default: a random free port).' },
      { name: 'no-open', summary: 'Do not open a browser; just print the address.' },
    ],
    summary: 'Serves Cleanroom to a browser on 127.0.0.1 and opens Chromium in app mode; stops on Ctrl-C.',
    details: ['With --json, prints one line {"url":"...","port":N} as soon as it listens.'],
  },
  engine: {
    words: ['engine'],
    options: [],
    summary: summaryOf('engine.info'),
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof commandSpecs;

const commandNames = Object.keys(commandSpecs) as CommandName[];

export interface GlobalSettings {
  readonly home?: string;
  readonly json: boolean;
  readonly passphraseFile?: string;
}

export type Command =
  | { readonly name: 'identity create'; readonly alias: string }
  | { readonly name: 'identity show' }
  | { readonly name: 'identity passphrase'; readonly newPassphraseFile: string }
  | { readonly name: 'serve'; readonly port: number; readonly open: boolean }
  | { readonly name: 'engine' };

export type Invocation =
  | { readonly kind: 'help'; readonly topic: CommandName | 'identity' | null }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly settings: GlobalSettings; readonly command: Command };

/** Options that would put a secret on the command line, and why they are refused. */
const secretFlags: Record<string, string> = {
  passphrase: 'a passphrase given as an option is visible in the process list and shell history; set CLEANROOM_PASSPHRASE or use --passphrase-file F',
  'new-passphrase': 'a passphrase given as an option is visible in the process list and shell history; use --new-passphrase-file F',
};

const optionsByName = new Map<string, OptionSpec>();
for (const option of [...globalOptions, ...commandNames.flatMap((name): readonly OptionSpec[] => commandSpecs[name].options)]) {
  optionsByName.set(option.name, option);
}

const globalNames = new Set(globalOptions.map((option) => option.name));

/** Parses argv (without node and the script). Throws UsageError for anything it cannot run. */
export function parseArgs(argv: readonly string[]): Invocation {
  const words: string[] = [];
  const given = new Map<string, string | true>();
  let endOfOptions = false;

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (endOfOptions || token === '-' || !token.startsWith('-')) {
      words.push(token);
      continue;
    }
    if (token === '--') {
      endOfOptions = true;
      continue;
    }
    if (token === '-h') {
      given.set('help', true);
      continue;
    }
    if (!token.startsWith('--')) throw new UsageError(`unknown option ${token}`);

    const equals = token.indexOf('=');
    const name = token.slice(2, equals === -1 ? undefined : equals);
    const secretReason = secretFlags[name];
    if (secretReason !== undefined) throw new UsageError(`--${name} is refused: ${secretReason}.`);
    const spec = optionsByName.get(name);
    if (spec === undefined) throw new UsageError(`unknown option --${name}`);
    if (given.has(name)) throw new UsageError(`--${name} is given more than once`);

    if (spec.value === undefined) {
      if (equals !== -1) throw new UsageError(`--${name} takes no value`);
      given.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (equals !== -1) {
      value = token.slice(equals + 1);
    } else {
      const next = argv[i + 1];
      // "--alias --json" is far more likely a forgotten value than an alias starting with "--".
      if (next !== undefined && !next.startsWith('--')) {
        value = next;
        i++;
      }
    }
    if (value === undefined) throw new UsageError(`--${name} needs a value: --${name} ${spec.value}`);
    given.set(name, value);
  }

  if (given.has('help')) return { kind: 'help', topic: helpTopic(words) };
  if (given.has('version')) return { kind: 'version' };
  if (words.length === 0) throw new UsageError('no command given');

  const name = resolveCommand(words);
  const spec: CommandSpec = commandSpecs[name];
  const allowed = new Set(spec.options.map((option) => option.name));
  for (const option of given.keys()) {
    if (!globalNames.has(option) && !allowed.has(option)) {
      throw new UsageError(`--${option} is not an option of \`cleanroom ${name}\``, name);
    }
  }

  const text = (option: string): string | undefined => {
    const value = given.get(option);
    return typeof value === 'string' ? value : undefined;
  };
  const required = (option: string): string => {
    const value = text(option);
    if (value === undefined) throw new UsageError(`\`cleanroom ${name}\` needs --${option}`, name);
    return value;
  };
  const nonEmpty = (option: string, value: string): string => {
    if (value === '') throw new UsageError(`--${option} needs a non-empty value`, name);
    return value;
  };

  const home = text('home');
  const passphraseFile = text('passphrase-file');
  const settings: GlobalSettings = {
    json: given.has('json'),
    ...(home === undefined ? {} : { home: nonEmpty('home', home) }),
    ...(passphraseFile === undefined ? {} : { passphraseFile: nonEmpty('passphrase-file', passphraseFile) }),
  };

  let command: Command;
  switch (name) {
    case 'identity create':
      command = { name, alias: required('alias') };
      break;
    case 'identity passphrase':
      command = { name, newPassphraseFile: nonEmpty('new-passphrase-file', required('new-passphrase-file')) };
      break;
    case 'serve':
      command = { name, port: parsePort(text('port'), name), open: !given.has('no-open') };
      break;
    case 'identity show':
    case 'engine':
      command = { name };
      break;
  }
  return { kind: 'run', settings, command };
}

function resolveCommand(words: readonly string[]): CommandName {
  for (const name of commandNames) {
    const spec: CommandSpec = commandSpecs[name];
    if (spec.words.length > words.length) continue;
    if (!spec.words.every((word, index) => words[index] === word)) continue;
    const extra = words.slice(spec.words.length);
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" after \`cleanroom ${name}\``, name);
    return name;
  }
  if (words[0] === 'identity') {
    const subcommands = commandNames.filter((name) => name.startsWith('identity ')).map((name) => name.slice(9));
    if (words.length === 1) throw new UsageError(`\`cleanroom identity\` needs a subcommand: ${subcommands.join(', ')}`);
    throw new UsageError(`unknown command "identity ${words[1]}"; identity subcommands are: ${subcommands.join(', ')}`);
  }
  throw new UsageError(`unknown command "${words[0]}"`);
}

function helpTopic(words: readonly string[]): CommandName | 'identity' | null {
  if (words.length === 0) return null;
  if (words.length === 1 && words[0] === 'identity') return 'identity';
  return resolveCommand(words);
}

function parsePort(value: string | undefined, command: CommandName): number {
  if (value === undefined) return 0;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`--port must be a whole number from 0 to 65535, not "${value}"`, command);
  }
  return Number(value);
}

// ---- help text -------------------------------------------------------------------------------

const optionLine = (option: OptionSpec): string => {
  const left = option.value === undefined ? `--${option.name}` : `--${option.name} ${option.value}`;
  return `  ${left.padEnd(26)}${option.summary}`;
};

/** The one-line usage of a command, e.g. "cleanroom identity create --alias NAME". */
export function usageLine(name: CommandName): string {
  const spec: CommandSpec = commandSpecs[name];
  const options = spec.options.map((option) => {
    const text = option.value === undefined ? `--${option.name}` : `--${option.name} ${option.value}`;
    return name === 'identity create' || name === 'identity passphrase' ? text : `[${text}]`;
  });
  return ['cleanroom', name, ...options].join(' ');
}

export function helpText(topic: CommandName | 'identity' | null): string {
  if (topic === null || topic === 'identity') {
    const names = topic === null ? commandNames : commandNames.filter((name) => name.startsWith('identity '));
    return [
      'Cleanroom: offline data clean rooms.',
      '',
      'Usage: cleanroom [global options] <command> [options]',
      '',
      'Commands:',
      ...names.map((name) => `  ${name.padEnd(22)}${commandSpecs[name].summary}`),
      '',
      'Global options (allowed anywhere on the line):',
      ...globalOptions.map(optionLine),
      '',
      'Passphrases are never taken from an option value: set CLEANROOM_PASSPHRASE or use --passphrase-file F.',
      'Exit codes: 0 done, 1 refused (the reason is printed), 2 usage error.',
      'Run `cleanroom <command> --help` for a command\'s options.',
    ].join('\n');
  }
  const spec: CommandSpec = commandSpecs[topic];
  return [
    `Usage: ${usageLine(topic)}`,
    '',
    spec.summary,
    ...(spec.details ?? []),
    ...(spec.options.length > 0 ? ['', 'Options:', ...spec.options.map(optionLine)] : []),
    '',
    'Global options:',
    ...globalOptions.map(optionLine),
  ].join('\n');
}

/** The short hint printed after a usage error. */
export function usageHint(command: CommandName | null): string {
  return command === null
    ? 'Run `cleanroom --help` for the list of commands.'
    : `Usage: ${usageLine(command)}\nRun \`cleanroom ${command} --help\` for details.`;
}
