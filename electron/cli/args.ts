// The `cleanroom` command line: which commands exist, which options each takes, and a parser that
// turns argv into one typed invocation or a UsageError (exit code 2). Pure: no I/O, no core.
import { type ColumnRole, type SourceFormat, sourceFormats } from '../../shared/asset.js';
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
  /** Takes one or more values: `--member a b` and `--member a --member b` both work. */
  readonly list?: true;
  readonly required?: true;
  readonly summary: string;
}

interface ArgumentSpec {
  /** Placeholder, e.g. "ROOM". */
  readonly name: string;
  /** One or more of them, up to the end of the line. */
  readonly variadic?: true;
}

interface CommandSpec {
  readonly words: readonly string[];
  readonly arguments?: readonly ArgumentSpec[];
  readonly options: readonly OptionSpec[];
  readonly summary: string;
  /** Extra lines for `cleanroom <command> --help`. */
  readonly details?: readonly string[];
}

const summaryOf = (method: ApiMethod): string => api[method].summary;

const passphraseSource = 'The passphrase is read from CLEANROOM_PASSPHRASE or the first line of --passphrase-file F.';
const roomRef = 'ROOM is the room\'s exact name, its id, or the first 6 or more digits of its id.';
const runRef = 'RUN is the run\'s id or its first 6 or more digits (see `cleanroom run list ROOM`).';

/** How `output show` prints a table. */
export const outputFormats = ['table', 'csv', 'json'] as const;
export type OutputFormat = (typeof outputFormats)[number];
/** Import sources that are symbolic links are refused unless this is given (docs/packets.md). */
const followSymlinks: OptionSpec = { name: 'follow-symlinks', summary: 'Read F even if it is a symbolic link (refused otherwise).' };
const outPacket = (what: string): OptionSpec => ({
  name: 'out',
  value: 'F',
  required: true,
  summary: `Write ${what} to file F, or into folder F under a generated name.`,
});

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
  'identity card': {
    words: ['identity', 'card'],
    options: [{ name: 'out', value: 'F', summary: 'Write the card to file F, or into folder F (default: print it).' }],
    summary: summaryOf('identity.card'),
    details: [passphraseSource],
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
  'contact import': {
    words: ['contact', 'import'],
    arguments: [{ name: 'CARD', variadic: true }],
    options: [],
    summary: summaryOf('contact.import'),
    details: ['Compare the sharing identifier it prints with the person, by phone or in person.'],
  },
  'contact list': {
    words: ['contact', 'list'],
    options: [],
    summary: summaryOf('contact.list'),
  },
  'room create': {
    words: ['room', 'create'],
    options: [
      { name: 'name', value: 'NAME', required: true, summary: 'The room\'s name, shown to every member.' },
      { name: 'site', value: 'S', summary: 'Where the room\'s data lives or what it is for (optional).' },
      { name: 'member', value: 'CARD', list: true, required: true, summary: 'Identity card file of a member to invite (1 to 9).' },
      { name: 'mode', value: 'MODE', summary: 'aggregate (default): only policy-checked aggregates; reviewed: any read-only SQL everyone approved.' },
      { name: 'min-group-size', value: 'K', summary: 'Suppress output groups with fewer than K people (default 10).' },
      { name: 'retention-days', value: 'D', summary: 'Keep output tables D days (default 30).' },
      { name: 'invitation-days', value: 'D', summary: 'The invitation expires after D days (default 14).' },
      outPacket('the invitation packet'),
    ],
    summary: 'Imports the members\' cards, creates the room and writes the invitation packet for them.',
    details: [passphraseSource],
  },
  'room list': {
    words: ['room', 'list'],
    options: [],
    summary: summaryOf('room.list'),
  },
  'room show': {
    words: ['room', 'show'],
    arguments: [{ name: 'ROOM' }],
    options: [],
    summary: summaryOf('room.show'),
    details: [roomRef],
  },
  'room join': {
    words: ['room', 'join'],
    arguments: [{ name: 'ROOM' }],
    options: [outPacket('a packet announcing it')],
    summary: 'Accepts an invitation and writes a packet for the other members.',
    details: [roomRef, passphraseSource],
  },
  'room leave': {
    words: ['room', 'leave'],
    arguments: [{ name: 'ROOM' }],
    options: [outPacket('a packet announcing it')],
    summary: 'Leaves a room and writes a packet telling the other members.',
    details: [roomRef, passphraseSource],
  },
  'room amend': {
    words: ['room', 'amend'],
    arguments: [{ name: 'ROOM' }],
    options: [
      { name: 'add', value: 'CARD', list: true, required: true, summary: 'Identity card file of a member to add.' },
      outPacket('the proposal'),
    ],
    summary: 'Proposes adding members (every current member must sign) and writes a packet with the proposal.',
    details: [roomRef, passphraseSource],
  },
  'room sign-amendment': {
    words: ['room', 'sign-amendment'],
    arguments: [{ name: 'ROOM' }, { name: 'AMENDMENT' }],
    options: [outPacket('a packet with your signature')],
    summary: 'Signs a pending amendment and writes a packet with your signature.',
    details: [roomRef, 'AMENDMENT is the amendment\'s id, or the first 6 or more digits of it (see `cleanroom room show`).', passphraseSource],
  },
  'packet import': {
    words: ['packet', 'import'],
    arguments: [{ name: 'F', variadic: true }],
    options: [followSymlinks],
    summary: 'Verifies packets and applies what is new in them; a bad packet changes nothing.',
    details: ['Prints one line per file. Exit code 1 if any file was refused; the others are still applied.', passphraseSource],
  },
  'packet export': {
    words: ['packet', 'export'],
    arguments: [{ name: 'ROOM' }],
    options: [
      outPacket('the packet'),
      { name: 'to', value: 'ALIAS', list: true, summary: 'Address only these members (default: every other member).' },
      { name: 'with-payloads', summary: 'Carry every encrypted payload of your assets, not only those a recipient will run on.' },
    ],
    summary: summaryOf('packet.export'),
    details: [roomRef, passphraseSource],
  },
  engine: {
    words: ['engine'],
    options: [],
    summary: summaryOf('engine.info'),
  },
  'table inspect': {
    words: ['table', 'inspect'],
    arguments: [{ name: 'F' }],
    options: [{ name: 'format', value: 'FORMAT', summary: 'csv, parquet or json (default: from the file name).' }, followSymlinks],
    summary: summaryOf('table.inspect'),
  },
  'table add': {
    words: ['table', 'add'],
    arguments: [{ name: 'ROOM' }],
    options: [
      { name: 'name', value: 'NAME', required: true, summary: 'The table\'s name in SQL: lower-case letters, digits and _.' },
      { name: 'file', value: 'F', required: true, summary: 'The CSV, Parquet or JSON/NDJSON file to import (it is not copied unencrypted).' },
      { name: 'format', value: 'FORMAT', summary: 'csv, parquet or json (default: from the file name).' },
      { name: 'privacy-unit', value: 'C', summary: 'The column naming the person or entity (never output).' },
      { name: 'join-key', value: 'C', list: true, summary: 'Columns used only to join.' },
      { name: 'dimension', value: 'C', list: true, summary: 'Columns to group and filter by.' },
      { name: 'measure', value: 'C', list: true, summary: 'Columns to aggregate.' },
      { name: 'hidden', value: 'C', list: true, summary: 'Columns no notebook may use.' },
      { name: 'share-row-count', summary: 'Show the number of rows to the other members.' },
      { name: 'allow-min-max', summary: 'Let approved notebooks output min and max of this table\'s measures.' },
      followSymlinks,
    ],
    summary: 'Imports a table into a room, encrypted under a new data key; others see its columns and types only.',
    details: [roomRef, 'Columns without a role get the suggested one (see `cleanroom table inspect F`).', passphraseSource],
  },
  'volume add': {
    words: ['volume', 'add'],
    arguments: [{ name: 'ROOM' }],
    options: [
      { name: 'name', value: 'NAME', required: true, summary: 'The volume\'s name: lower-case letters, digits and _.' },
      { name: 'file', value: 'F', required: true, summary: 'A file or folder to add.' },
      { name: 'private', summary: 'Approved code may use it; other members never see its content or file names.' },
      followSymlinks,
    ],
    summary: summaryOf('volume.add'),
    details: [roomRef, passphraseSource],
  },
  'asset list': {
    words: ['asset', 'list'],
    arguments: [{ name: 'ROOM' }],
    options: [],
    summary: summaryOf('asset.list'),
    details: [roomRef],
  },
  'notebook check': {
    words: ['notebook', 'check'],
    arguments: [{ name: 'ROOM' }],
    options: [{ name: 'file', value: 'F', required: true, summary: 'The notebook (jupytext percent format for SQL).' }],
    summary: summaryOf('notebook.check'),
    details: [
      roomRef,
      'Exit code 1 if the notebook would be refused.',
      'A notebook that uses your private library needs the passphrase (CLEANROOM_PASSPHRASE or --passphrase-file F) to read it.',
    ],
  },
  'notebook add': {
    words: ['notebook', 'add'],
    arguments: [{ name: 'ROOM' }],
    options: [
      { name: 'name', value: 'NAME', required: true, summary: 'The notebook\'s name, shown to every member.' },
      { name: 'file', value: 'F', required: true, summary: 'The notebook (jupytext percent format for SQL).' },
      { name: 'runner', value: 'ALIAS', summary: 'The member who will run it (default: you).' },
      { name: 'recipient', value: 'ALIAS', list: true, summary: 'Members who receive the outputs (default: the runner).' },
    ],
    summary: summaryOf('notebook.add'),
    details: [roomRef, 'Adding it counts as your approval; write a packet (`cleanroom packet export`) to send it.', passphraseSource],
  },
  'notebook list': {
    words: ['notebook', 'list'],
    arguments: [{ name: 'ROOM' }],
    options: [],
    summary: summaryOf('notebook.list'),
    details: [roomRef],
  },
  'notebook show': {
    words: ['notebook', 'show'],
    arguments: [{ name: 'ROOM' }, { name: 'SNAPSHOT' }],
    options: [],
    summary: summaryOf('notebook.show'),
    details: [roomRef, 'SNAPSHOT is the snapshot\'s id or its first 6 or more digits.'],
  },
  approve: {
    words: ['approve'],
    arguments: [{ name: 'ROOM' }, { name: 'SNAPSHOT' }],
    options: [
      { name: 'expires-days', value: 'D', summary: 'The approval expires after D days (default 7).' },
      { name: 'runs', value: 'N', summary: 'It allows N runs (default 1).' },
    ],
    summary: summaryOf('approval.grant'),
    details: [roomRef, 'SNAPSHOT is the snapshot\'s id or its first 6 or more digits.', 'Read the cells first: `cleanroom notebook show ROOM SNAPSHOT`.', passphraseSource],
  },
  revoke: {
    words: ['revoke'],
    arguments: [{ name: 'ROOM' }, { name: 'SNAPSHOT' }],
    options: [],
    summary: summaryOf('approval.revoke'),
    details: [roomRef, 'SNAPSHOT is the snapshot\'s id or its first 6 or more digits.', passphraseSource],
  },
  // Before `run`: the table is searched in order and `run ROOM SNAPSHOT` would swallow `run list ROOM`.
  'run list': {
    words: ['run', 'list'],
    arguments: [{ name: 'ROOM' }],
    options: [],
    summary: summaryOf('run.list'),
    details: [roomRef],
  },
  run: {
    words: ['run'],
    arguments: [{ name: 'ROOM' }, { name: 'SNAPSHOT' }],
    options: [],
    summary: 'Runs an approved snapshot you are the runner of, with progress on stderr; Ctrl-C cancels it.',
    details: [
      roomRef,
      'SNAPSHOT is the snapshot\'s id or its first 6 or more digits.',
      'Prints the run id, its outputs with row counts and the values the output policy withheld.',
      'Exit code 1 if the run was refused, failed or cancelled; a cancelled run keeps nothing but still uses a run of each approval.',
      '`cleanroom run list ROOM` lists the room\'s runs (a room named "list" is given by its id here).',
      passphraseSource,
    ],
  },
  'output list': {
    words: ['output', 'list'],
    arguments: [{ name: 'ROOM' }],
    options: [],
    summary: summaryOf('output.list'),
    details: [roomRef, 'Outputs released to you are stored (and decrypted to check them) when you list them after importing the packet.', passphraseSource],
  },
  'output show': {
    words: ['output', 'show'],
    arguments: [{ name: 'ROOM' }, { name: 'OUTPUT' }],
    options: [{ name: 'format', value: 'FORMAT', summary: `${outputFormats.join(', ')} (default table: aligned text, long values cut).` }],
    summary: summaryOf('output.show'),
    details: [
      roomRef,
      'OUTPUT is an output\'s name (the newest with it), or RUN:NAME with a run id or its first 6 or more digits.',
      'csv writes exactly the bytes the app\'s CSV export does; json prints {"columns":[...],"rows":[...]}.',
      passphraseSource,
    ],
  },
  'output release': {
    words: ['output', 'release'],
    arguments: [{ name: 'ROOM' }, { name: 'RUN' }],
    options: [outPacket('the packet')],
    summary: summaryOf('output.release'),
    details: [roomRef, runRef, 'The recipients apply it with `cleanroom packet import F` and read it with `cleanroom output show`.', passphraseSource],
  },
  'receipt save': {
    words: ['receipt', 'save'],
    arguments: [{ name: 'ROOM' }, { name: 'RUN' }],
    options: [{ name: 'out', value: 'F', required: true, summary: 'Write the receipt to file F, or into folder F under its own name.' }],
    summary: summaryOf('run.receipt'),
    details: [roomRef, runRef, 'Anyone in the room can check it with `cleanroom receipt verify F`.'],
  },
  'receipt verify': {
    words: ['receipt', 'verify'],
    arguments: [{ name: 'F' }],
    options: [],
    summary: summaryOf('receipt.verify'),
    details: [
      'Prints each check and OK or FAILED. Exit code 1 if it does not verify.',
      'With the passphrase (CLEANROOM_PASSPHRASE or --passphrase-file F) the outputs this home holds are decrypted and hashed again; without it, their recorded hashes are compared.',
    ],
  },
  'model show': {
    words: ['model', 'show'],
    arguments: [{ name: 'ROOM' }, { name: 'MODEL' }],
    options: [],
    summary: 'A model made by a train cell: its metrics on the held-out rows and its coefficients.',
    details: [
      roomRef,
      'MODEL is the model\'s name (the newest with it), or RUN:NAME with a run id or its first 6 or more digits.',
      'With --json, the model document itself (the same as `cleanroom model save`).',
      passphraseSource,
    ],
  },
  'model save': {
    words: ['model', 'save'],
    arguments: [{ name: 'ROOM' }, { name: 'MODEL' }],
    options: [{ name: 'out', value: 'F', required: true, summary: 'Write the model document (JSON) to file F, or into folder F as MODEL.json.' }],
    summary: 'Saves a model as a JSON file, to keep, share or score files with (`cleanroom predict`).',
    details: [roomRef, passphraseSource],
  },
  predict: {
    words: ['predict'],
    arguments: [{ name: 'MODEL' }],
    options: [
      { name: 'file', value: 'F', required: true, summary: 'The file to score: CSV, Parquet or JSON with a column for each of the model\'s features.' },
      { name: 'format', value: 'FORMAT', summary: `${sourceFormats.join(', ')} (default: from F's extension).` },
      { name: 'room', value: 'ROOM', summary: 'Take MODEL from this room\'s outputs (NAME or RUN:NAME) instead of a model file.' },
      { name: 'out', value: 'F', summary: 'Write the scored CSV to file F (default: print it).' },
    ],
    summary: summaryOf('model.predict'),
    details: [
      'MODEL is a model file saved with `cleanroom model save`, or with --room, a model output\'s name.',
      'Scoring runs on this machine only; the file is read by a DuckDB that may open nothing else.',
      'The CSV has the file\'s columns, then prediction (the probability of the positive label for a logistic model, the predicted value for a linear one) and, for logistic, predicted_label.',
    ],
  },
  demo: {
    words: ['demo'],
    options: [
      { name: 'dir', value: 'D', summary: 'Make the demo\'s homes and files in folder D (default: a new folder under the system\'s temporary folder). D must be empty or not exist.' },
      { name: 'ui', summary: 'Then open one browser-shell window per party on the demo\'s homes, to click through the same rooms live.' },
    ],
    summary: 'Creates three parties (a hospital, an insurer, an ML expert) with synthetic data and walks both stories end to end.',
    details: [
      'Story 1: the hospital and the insurer join their tables and get readmission rates by age band and plan, small groups suppressed.',
      'Story 2: the ML expert trains a readmission model on the hospital\'s data with a private library the hospital runs but never reads.',
      'Every step uses the real code paths: identities, signed packets through a shared folder, approvals, the worker and the policy.',
      'The demo\'s passphrase is printed, so the homes can be opened afterwards (`cleanroom --home D/<party> …`).',
    ],
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof commandSpecs;

const commandNames = Object.keys(commandSpecs) as CommandName[];

export interface GlobalSettings {
  readonly home?: string;
  readonly json: boolean;
  readonly passphraseFile?: string;
}

export const policyModeNames = ['aggregate', 'reviewed'] as const;

export type Command =
  | { readonly name: 'identity create'; readonly alias: string }
  | { readonly name: 'identity show' }
  | { readonly name: 'identity passphrase'; readonly newPassphraseFile: string }
  | { readonly name: 'identity card'; readonly out?: string }
  | { readonly name: 'contact import'; readonly cards: readonly string[] }
  | { readonly name: 'contact list' }
  | {
      readonly name: 'room create';
      readonly roomName: string;
      readonly site?: string;
      readonly members: readonly string[];
      readonly mode?: (typeof policyModeNames)[number];
      readonly minGroupSize?: number;
      readonly outputRetentionDays?: number;
      readonly invitationDays?: number;
      readonly out: string;
    }
  | { readonly name: 'room list' }
  | { readonly name: 'room show'; readonly room: string }
  | { readonly name: 'room join'; readonly room: string; readonly out: string }
  | { readonly name: 'room leave'; readonly room: string; readonly out: string }
  | { readonly name: 'room amend'; readonly room: string; readonly add: readonly string[]; readonly out: string }
  | { readonly name: 'room sign-amendment'; readonly room: string; readonly amendment: string; readonly out: string }
  | { readonly name: 'packet import'; readonly files: readonly string[]; readonly followSymlinks: boolean }
  | { readonly name: 'packet export'; readonly room: string; readonly out: string; readonly to?: readonly string[]; readonly withPayloads: boolean }
  | { readonly name: 'serve'; readonly port: number; readonly open: boolean }
  | { readonly name: 'engine' }
  | { readonly name: 'table inspect'; readonly file: string; readonly format?: SourceFormat; readonly followSymlinks: boolean }
  | {
      readonly name: 'table add';
      readonly room: string;
      readonly assetName: string;
      readonly file: string;
      readonly format?: SourceFormat;
      readonly roles: readonly { readonly column: string; readonly role: ColumnRole }[];
      readonly shareRowCount: boolean;
      readonly allowMinMax: boolean;
      readonly followSymlinks: boolean;
    }
  | { readonly name: 'volume add'; readonly room: string; readonly assetName: string; readonly file: string; readonly private: boolean; readonly followSymlinks: boolean }
  | { readonly name: 'asset list'; readonly room: string }
  | { readonly name: 'notebook check'; readonly room: string; readonly file: string }
  | {
      readonly name: 'notebook add';
      readonly room: string;
      readonly notebookName: string;
      readonly file: string;
      readonly runner?: string;
      readonly recipients?: readonly string[];
    }
  | { readonly name: 'notebook list'; readonly room: string }
  | { readonly name: 'notebook show'; readonly room: string; readonly snapshot: string }
  | { readonly name: 'approve'; readonly room: string; readonly snapshot: string; readonly expiresDays?: number; readonly runs?: number }
  | { readonly name: 'revoke'; readonly room: string; readonly snapshot: string }
  | { readonly name: 'run'; readonly room: string; readonly snapshot: string }
  | { readonly name: 'run list'; readonly room: string }
  | { readonly name: 'output list'; readonly room: string }
  | { readonly name: 'output show'; readonly room: string; readonly output: string; readonly format: OutputFormat }
  | { readonly name: 'output release'; readonly room: string; readonly run: string; readonly out: string }
  | { readonly name: 'receipt save'; readonly room: string; readonly run: string; readonly out: string }
  | { readonly name: 'receipt verify'; readonly file: string }
  | { readonly name: 'model show'; readonly room: string; readonly model: string }
  | { readonly name: 'model save'; readonly room: string; readonly model: string; readonly out: string }
  | { readonly name: 'predict'; readonly model: string; readonly file: string; readonly format?: SourceFormat; readonly room?: string; readonly out?: string }
  | { readonly name: 'demo'; readonly dir?: string; readonly ui: boolean };

/** Words that start several commands: `cleanroom room --help` lists them. */
export const commandGroups = ['identity', 'contact', 'room', 'packet', 'table', 'volume', 'asset', 'notebook', 'output', 'receipt', 'model'] as const;
export type CommandGroup = (typeof commandGroups)[number];
export type HelpTopic = CommandName | CommandGroup | null;

export type Invocation =
  | { readonly kind: 'help'; readonly topic: HelpTopic }
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
  const given = new Map<string, string | string[] | true>();
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
    if (spec.list) {
      // Every value up to the next option: `--member a.card b.card` (a shell glob) or repeated.
      const values = (given.get(name) as string[] | undefined) ?? [];
      if (equals !== -1) values.push(token.slice(equals + 1));
      else while (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('-')) values.push(argv[++i] as string);
      if (values.length === 0) throw new UsageError(`--${name} needs a value: --${name} ${spec.value}`);
      given.set(name, values);
      continue;
    }
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

  const { name, args } = resolveCommand(words);
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
  const list = (option: string): string[] | undefined => {
    const value = given.get(option);
    if (!Array.isArray(value)) return undefined;
    for (const item of value) nonEmpty(option, item);
    return value;
  };
  const requiredList = (option: string): string[] => {
    const value = list(option);
    if (value === undefined) throw new UsageError(`\`cleanroom ${name}\` needs --${option}`, name);
    return value;
  };
  const whole = (option: string): number | undefined => {
    const value = text(option);
    if (value === undefined) return undefined;
    if (!/^\d{1,9}$/.test(value)) throw new UsageError(`--${option} must be a whole number, not "${value}"`, name);
    return Number(value);
  };
  const arg = (index: number): string => args[index] as string;

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
    case 'identity card': {
      const out = text('out');
      command = out === undefined ? { name } : { name, out: nonEmpty('out', out) };
      break;
    }
    case 'contact import':
      command = { name, cards: args };
      break;
    case 'room create': {
      const mode = text('mode');
      if (mode !== undefined && !(policyModeNames as readonly string[]).includes(mode)) {
        throw new UsageError(`--mode must be ${policyModeNames.join(' or ')}, not "${mode}"`, name);
      }
      const site = text('site');
      const minGroupSize = whole('min-group-size');
      const outputRetentionDays = whole('retention-days');
      const invitationDays = whole('invitation-days');
      command = {
        name,
        roomName: required('name'),
        members: requiredList('member'),
        out: nonEmpty('out', required('out')),
        ...(site === undefined ? {} : { site }),
        ...(mode === undefined ? {} : { mode: mode as (typeof policyModeNames)[number] }),
        ...(minGroupSize === undefined ? {} : { minGroupSize }),
        ...(outputRetentionDays === undefined ? {} : { outputRetentionDays }),
        ...(invitationDays === undefined ? {} : { invitationDays }),
      };
      break;
    }
    case 'room show':
      command = { name, room: arg(0) };
      break;
    case 'room join':
    case 'room leave':
      command = { name, room: arg(0), out: nonEmpty('out', required('out')) };
      break;
    case 'room amend':
      command = { name, room: arg(0), add: requiredList('add'), out: nonEmpty('out', required('out')) };
      break;
    case 'room sign-amendment':
      command = { name, room: arg(0), amendment: arg(1), out: nonEmpty('out', required('out')) };
      break;
    case 'packet import':
      command = { name, files: args, followSymlinks: given.has('follow-symlinks') };
      break;
    case 'packet export': {
      const to = list('to');
      command = {
        name,
        room: arg(0),
        out: nonEmpty('out', required('out')),
        withPayloads: given.has('with-payloads'),
        ...(to === undefined ? {} : { to }),
      };
      break;
    }
    case 'identity show':
    case 'contact list':
    case 'room list':
    case 'engine':
      command = { name };
      break;
    case 'table inspect': {
      const format = sourceFormat(text('format'), name);
      command = { name, file: arg(0), followSymlinks: given.has('follow-symlinks'), ...(format === undefined ? {} : { format }) };
      break;
    }
    case 'table add': {
      const format = sourceFormat(text('format'), name);
      const privacyUnit = text('privacy-unit');
      const roles: { column: string; role: ColumnRole }[] = [];
      if (privacyUnit !== undefined) roles.push({ column: nonEmpty('privacy-unit', privacyUnit), role: 'privacy_unit' });
      const listed: [string, ColumnRole][] = [['join-key', 'join_key'], ['dimension', 'dimension'], ['measure', 'measure'], ['hidden', 'hidden']];
      for (const [option, role] of listed) for (const column of list(option) ?? []) roles.push({ column, role });
      const seen = new Map<string, ColumnRole>();
      for (const { column, role } of roles) {
        const earlier = seen.get(column);
        if (earlier !== undefined) throw new UsageError(`column "${column}" is given two roles (${earlier} and ${role})`, name);
        seen.set(column, role);
      }
      command = {
        name,
        room: arg(0),
        assetName: required('name'),
        file: nonEmpty('file', required('file')),
        roles,
        shareRowCount: given.has('share-row-count'),
        allowMinMax: given.has('allow-min-max'),
        followSymlinks: given.has('follow-symlinks'),
        ...(format === undefined ? {} : { format }),
      };
      break;
    }
    case 'volume add':
      command = {
        name,
        room: arg(0),
        assetName: required('name'),
        file: nonEmpty('file', required('file')),
        private: given.has('private'),
        followSymlinks: given.has('follow-symlinks'),
      };
      break;
    case 'asset list':
    case 'notebook list':
    case 'run list':
    case 'output list':
      command = { name, room: arg(0) };
      break;
    case 'notebook check':
      command = { name, room: arg(0), file: nonEmpty('file', required('file')) };
      break;
    case 'notebook add': {
      const runner = text('runner');
      const recipients = list('recipient');
      command = {
        name,
        room: arg(0),
        notebookName: required('name'),
        file: nonEmpty('file', required('file')),
        ...(runner === undefined ? {} : { runner: nonEmpty('runner', runner) }),
        ...(recipients === undefined ? {} : { recipients }),
      };
      break;
    }
    case 'notebook show':
    case 'revoke':
    case 'run':
      command = { name, room: arg(0), snapshot: arg(1) };
      break;
    case 'output show': {
      const format = text('format') ?? 'table';
      if (!(outputFormats as readonly string[]).includes(format)) {
        throw new UsageError(`--format must be ${outputFormats.join(', ')}, not "${format}"`, name);
      }
      command = { name, room: arg(0), output: arg(1), format: format as OutputFormat };
      break;
    }
    case 'output release':
    case 'receipt save':
      command = { name, room: arg(0), run: arg(1), out: nonEmpty('out', required('out')) };
      break;
    case 'receipt verify':
      command = { name, file: arg(0) };
      break;
    case 'model show':
      command = { name, room: arg(0), model: arg(1) };
      break;
    case 'model save':
      command = { name, room: arg(0), model: arg(1), out: nonEmpty('out', required('out')) };
      break;
    case 'predict': {
      const format = sourceFormat(text('format'), name);
      const room = text('room');
      const out = text('out');
      command = {
        name,
        model: arg(0),
        file: nonEmpty('file', required('file')),
        ...(format === undefined ? {} : { format }),
        ...(room === undefined ? {} : { room: nonEmpty('room', room) }),
        ...(out === undefined ? {} : { out: nonEmpty('out', out) }),
      };
      break;
    }
    case 'demo': {
      const dir = text('dir');
      command = { name, ui: given.has('ui'), ...(dir === undefined ? {} : { dir: nonEmpty('dir', dir) }) };
      break;
    }
    case 'approve': {
      const expiresDays = whole('expires-days');
      const runs = whole('runs');
      command = {
        name,
        room: arg(0),
        snapshot: arg(1),
        ...(expiresDays === undefined ? {} : { expiresDays }),
        ...(runs === undefined ? {} : { runs }),
      };
      break;
    }
  }
  return { kind: 'run', settings, command };
}

const isGroup = (word: string | undefined): word is CommandGroup => (commandGroups as readonly string[]).includes(word ?? '');

/** The first command (in table order) whose words start the line; null when none does. */
function commandNamedBy(words: readonly string[]): CommandName | null {
  for (const name of commandNames) {
    const spec: CommandSpec = commandSpecs[name];
    if (spec.words.length <= words.length && spec.words.every((word, index) => words[index] === word)) return name;
  }
  return null;
}

/** The command named by the leading words, and the words after them as its arguments. */
function resolveCommand(words: readonly string[]): { name: CommandName; args: string[] } {
  const name = commandNamedBy(words);
  if (name !== null) {
    const spec: CommandSpec = commandSpecs[name];
    const args = words.slice(spec.words.length);
    const expected = spec.arguments ?? [];
    const variadic = expected[expected.length - 1]?.variadic === true;
    if (args.length < expected.length) {
      throw new UsageError(`\`cleanroom ${name}\` needs ${expected.slice(args.length).map((arg) => arg.name).join(' ')}`, name);
    }
    if (args.length > expected.length && !variadic) {
      throw new UsageError(`unexpected argument "${args[expected.length]}" after \`cleanroom ${name}\``, name);
    }
    return { name, args };
  }
  const group = words[0];
  if (isGroup(group)) {
    const subcommands = commandNames.filter((name) => name.startsWith(`${group} `)).map((name) => name.slice(group.length + 1));
    if (words.length === 1) throw new UsageError(`\`cleanroom ${group}\` needs a subcommand: ${subcommands.join(', ')}`);
    throw new UsageError(`unknown command "${group} ${words[1]}"; ${group} subcommands are: ${subcommands.join(', ')}`);
  }
  throw new UsageError(`unknown command "${words[0]}"`);
}

function helpTopic(words: readonly string[]): HelpTopic {
  if (words.length === 0) return null;
  if (words.length === 1 && isGroup(words[0])) return words[0];
  // `cleanroom room show --help` needs no ROOM: help is asked before the arguments are.
  return commandNamedBy(words) ?? resolveCommand(words).name;
}

function sourceFormat(value: string | undefined, command: CommandName): SourceFormat | undefined {
  if (value === undefined) return undefined;
  if (!(sourceFormats as readonly string[]).includes(value)) {
    throw new UsageError(`--format must be ${sourceFormats.join(', ')}, not "${value}"`, command);
  }
  return value as SourceFormat;
}

function parsePort(value: string | undefined, command: CommandName): number {
  if (value === undefined) return 0;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`--port must be a whole number from 0 to 65535, not "${value}"`, command);
  }
  return Number(value);
}

// ---- help text -------------------------------------------------------------------------------

const optionText = (option: OptionSpec): string =>
  option.value === undefined ? `--${option.name}` : `--${option.name} ${option.value}${option.list ? '...' : ''}`;

const optionLine = (option: OptionSpec): string => `  ${optionText(option).padEnd(26)}${option.summary}`;

/** Options every use of the command needs (shown without brackets). */
const alwaysRequired = new Set<CommandName>(['identity create', 'identity passphrase']);

/** The one-line usage of a command, e.g. "cleanroom identity create --alias NAME". */
export function usageLine(name: CommandName): string {
  const spec: CommandSpec = commandSpecs[name];
  const args = (spec.arguments ?? []).map((arg) => (arg.variadic ? `${arg.name}...` : arg.name));
  const options = spec.options.map((option) => {
    const text = optionText(option);
    return option.required || alwaysRequired.has(name) ? text : `[${text}]`;
  });
  return ['cleanroom', name, ...args, ...options].join(' ');
}

export function helpText(topic: HelpTopic): string {
  if (topic === null || isGroup(topic)) {
    const names = topic === null ? commandNames : commandNames.filter((name) => name.startsWith(`${topic} `));
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
