// Notebooks in the jupytext "percent" format for SQL, and the frozen snapshots made from them.
import { assetNameSchema } from './asset.js';
import { canonicalString, hashCanonical } from './canonical.js';
import { CleanroomError } from './errors.js';
import { hashHexSchema, signPublicKeySchema, timestampSchema } from './primitives.js';
import { array, type Infer, nullable, object, oneOf, optional, parse, string } from './validate.js';

export const cellKinds = ['sql', 'markdown', 'train'] as const;

export const cellSchema = object({
  kind: oneOf(cellKinds),
  /** The cell's text without its `-- %%` marker line. */
  source: string({ min: 0, max: 200_000 }),
  /** `-- %% output=NAME`: the cell's result becomes output table NAME. */
  output: nullable(assetNameSchema),
  /** The marker line's other `key=value` options (train cells, issue 6), in order. */
  options: array(object({ key: string({ min: 1, max: 40 }), value: string({ min: 0, max: 1000 }) }), { max: 40 }),
});
export type Cell = Infer<typeof cellSchema>;

/** `-- parameter NAME = VALUE` lines before the first cell. Values are SQL literals, kept as text. */
export const parameterSchema = object({ name: assetNameSchema, value: string({ min: 1, max: 1000 }) });

export const notebookSchema = object({
  /**
   * `-- library NAME` lines before the first cell: volumes whose `*.sql` files hold macros the
   * cells may call (a private library stays unreadable to everyone but its owner). Absent when
   * there are none, so notebooks written before libraries keep their hash.
   */
  libraries: optional(array(assetNameSchema, { min: 1, max: 20 })),
  parameters: array(parameterSchema, { max: 100 }),
  cells: array(cellSchema, { min: 1, max: 500 }),
});
export type Notebook = Infer<typeof notebookSchema>;

/** A snapshot references each asset by its id (descriptor hash) and payload hash. */
export const snapshotAssetSchema = object({
  name: assetNameSchema,
  kind: oneOf(['table', 'volume']),
  owner: signPublicKeySchema,
  asset: hashHexSchema,
  payloadHash: hashHexSchema,
});

export const snapshotSchema = object({
  format: oneOf(['cleanroom-snapshot/1']),
  room: hashHexSchema,
  name: string({ min: 1, max: 100 }),
  author: signPublicKeySchema,
  notebook: notebookSchema,
  assets: array(snapshotAssetSchema, { max: 200 }),
  runner: signPublicKeySchema,
  recipients: array(signPublicKeySchema, { min: 1, max: 10 }),
  createdAt: timestampSchema,
});
export type Snapshot = Infer<typeof snapshotSchema>;

// ---- The percent format -----------------------------------------------------------------------
//
// A notebook file is SQL with its structure in comments, as jupytext writes it:
//
//   -- library feature_macros            (header: libraries the cells' macros come from)
//   -- parameter min_age = 18            (header: parameters, blank lines and plain comments)
//   -- %% [markdown]                     (a markdown cell; its lines are `-- text` comments)
//   -- # Readmission rates
//   -- %% output=rates                   (a SQL cell whose result becomes output table `rates`)
//   SELECT age_band, count(*) AS n FROM admissions GROUP BY age_band
//   -- %% [train] model=readmit algorithm=logistic target=readmitted   (issue 6)
//
// Decisions, so that parse and format agree:
// - Markdown sources are stored without their comment prefix (`-- `, or `--` alone for an empty
//   line); formatting adds `-- ` back (`--` for empty lines). Other cells keep their text exactly.
// - Each cell's trailing blank lines are dropped; its leading ones are kept.
// - Plain header comments are not part of the notebook: they do not survive parsing.
// - `[sql]` is the default and is not written back; `output=` is written first, then the other
//   options in their order. Line endings may be \n, \r\n or \r; formatting writes \n.

/** `-- %%` (spacing after `--` is forgiven, as jupytext does) opens a cell. */
const cellMarkerPattern = /^--\s*%%/;
const parameterLinePattern = /^--\s*parameter\b/i;
const libraryLinePattern = /^--\s*library\b/i;
const libraryPattern = /^--\s*library\s+(\S+)\s*$/i;
const maxLibraries = 20;
const parameterPattern = /^--\s*parameter\s+(\S+)\s*=\s*(.*?)\s*$/i;
const optionPattern = /^([a-z][a-z0-9-]*)=(\S+)$/;

/** Options a train cell understands (issue 6 fits the model); `output=` is separate. */
export const trainOptionKeys = ['model', 'algorithm', 'target', 'features', 'test-fraction', 'seed', 'l2'] as const;

const maxCells = 500;
const maxParameters = 100;
const maxOptions = 40;
const maxSourceChars = 200_000;

const splitLines = (text: string): string[] => text.split(/\r\n|\n|\r/);
const isBlank = (line: string): boolean => line.trim() === '';

function refuse(line: number, message: string): never {
  throw new CleanroomError('BAD_REQUEST', `line ${line}: ${message}`);
}

/** Whether `value` is a SQL literal a parameter may hold: number, 'text', boolean or DATE. */
export function isSqlLiteral(value: string): boolean {
  if (/^-?\d+(\.\d+)?$/.test(value)) return true;
  if (/^'(?:[^']|'')*'$/.test(value)) return true;
  if (/^(true|false)$/i.test(value)) return true;
  const date = /^DATE\s+'(\d{4})-(\d{2})-(\d{2})'$/i.exec(value);
  if (date === null) return false;
  const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])];
  const time = Date.UTC(year, month - 1, day);
  const check = new Date(time);
  return check.getUTCFullYear() === year && check.getUTCMonth() === month - 1 && check.getUTCDate() === day;
}

interface OpenCell {
  readonly line: number;
  readonly kind: Cell['kind'];
  readonly output: string | null;
  readonly options: { key: string; value: string }[];
  readonly lines: string[];
}

function parseMarker(text: string, line: number): Omit<OpenCell, 'lines'> {
  const rest = text.replace(cellMarkerPattern, '');
  if (rest !== '' && !/^\s/.test(rest)) refuse(line, `a cell marker is “-- %%” followed by a space, not “${text.trim()}”`);
  let kind: Cell['kind'] = 'sql';
  let output: string | null = null;
  const options: { key: string; value: string }[] = [];
  const seen = new Set<string>();
  const tokens = rest.trim() === '' ? [] : rest.trim().split(/\s+/);
  tokens.forEach((token, index) => {
    if (token.startsWith('[')) {
      const named = /^\[([^\]]*)\]$/.exec(token)?.[1];
      if (named === undefined || !(cellKinds as readonly string[]).includes(named)) {
        refuse(line, `unknown cell kind ${token}; use [markdown], [sql] or [train]`);
      }
      if (index !== 0) refuse(line, `the cell kind ${token} must come right after “-- %%”`);
      kind = named as Cell['kind'];
      return;
    }
    const option = optionPattern.exec(token);
    if (option === null) refuse(line, `“${token}” is not an option; write key=value with no spaces`);
    const [, key, value] = option as unknown as [string, string, string];
    if (seen.has(key)) refuse(line, `option ${key}= is given twice`);
    seen.add(key);
    if (key === 'output') {
      const name = parse(assetNameSchema, value);
      if (!name.ok) refuse(line, `output=${value}: ${name.issue.message}`);
      output = value;
      return;
    }
    if (value.length > 1000) refuse(line, `option ${key}= is longer than 1000 characters`);
    options.push({ key, value });
  });
  const finalKind = kind as Cell['kind'];
  if (finalKind === 'markdown') {
    if (output !== null) refuse(line, 'a markdown cell cannot have output=');
    if (options.length > 0) refuse(line, `a markdown cell takes no options (found ${(options[0] as { key: string }).key}=)`);
  } else if (finalKind === 'sql') {
    const unknown = options[0];
    if (unknown !== undefined) refuse(line, `unknown option ${unknown.key}= for a SQL cell (only output= is allowed)`);
  } else {
    const unknown = options.find((option) => !(trainOptionKeys as readonly string[]).includes(option.key));
    if (unknown !== undefined) refuse(line, `unknown option ${unknown.key}= for a train cell (use ${trainOptionKeys.map((key) => `${key}=`).join(', ')})`);
  }
  if (options.length > maxOptions) refuse(line, `a cell has at most ${maxOptions} options`);
  return { line, kind: finalKind, output, options };
}

/** A markdown line without its comment prefix. */
function stripMarkdownPrefix(line: string): string {
  if (line.startsWith('-- ')) return line.slice(3);
  if (line.startsWith('--')) return line.slice(2);
  return line;
}

function closeCell(open: OpenCell): Cell {
  const lines = open.kind === 'markdown' ? open.lines.map(stripMarkdownPrefix) : [...open.lines];
  while (lines.length > 0 && isBlank(lines[lines.length - 1] as string)) lines.pop();
  const source = lines.join('\n');
  if (open.kind === 'sql' && lines.every((line) => isBlank(line) || line.trimStart().startsWith('--'))) {
    refuse(open.line, 'the SQL cell is empty');
  }
  if (source.length > maxSourceChars) refuse(open.line, `the cell is longer than ${maxSourceChars} characters`);
  return { kind: open.kind, source, output: open.output, options: open.options };
}

/**
 * Parses notebook text; CleanroomError('BAD_REQUEST', 'line N: …') for anything malformed
 * (unknown cell marker, bad option, duplicate output or parameter name, no cells).
 */
export function parseNotebook(text: string): Notebook {
  const lines = splitLines(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const parameters: { name: string; value: string }[] = [];
  const libraries: string[] = [];
  const cells: Cell[] = [];
  const outputs = new Set<string>();
  let open: OpenCell | null = null;
  lines.forEach((line, index) => {
    const number = index + 1;
    if (cellMarkerPattern.test(line)) {
      if (open !== null) cells.push(closeCell(open));
      if (cells.length >= maxCells) refuse(number, `a notebook has at most ${maxCells} cells`);
      open = { ...parseMarker(line, number), lines: [] };
      if (open.output !== null) {
        if (outputs.has(open.output)) refuse(number, `output table ${open.output} is already made by an earlier cell`);
        outputs.add(open.output);
      }
      return;
    }
    if (open !== null) {
      open.lines.push(line);
      return;
    }
    // The header, before the first cell.
    if (isBlank(line)) return;
    if (libraryLinePattern.test(line)) {
      const name = libraryPattern.exec(line)?.[1];
      if (name === undefined) refuse(number, 'a library is written “-- library NAME”, NAME being a volume of the room');
      const checked = parse(assetNameSchema, name);
      if (!checked.ok) refuse(number, `library ${name}: ${checked.issue.message}`);
      if (libraries.includes(name)) refuse(number, `library ${name} is named twice`);
      if (libraries.length >= maxLibraries) refuse(number, `a notebook uses at most ${maxLibraries} libraries`);
      libraries.push(name);
      return;
    }
    if (parameterLinePattern.test(line)) {
      const match = parameterPattern.exec(line);
      if (match === null) refuse(number, 'a parameter is written “-- parameter NAME = VALUE”');
      const [, name, value] = match as unknown as [string, string, string];
      const checked = parse(assetNameSchema, name);
      if (!checked.ok) refuse(number, `parameter ${name}: ${checked.issue.message}`);
      if (parameters.some((parameter) => parameter.name === name)) refuse(number, `parameter ${name} is declared twice`);
      if (value === '' || value.length > 1000 || !isSqlLiteral(value)) {
        refuse(number, `parameter ${name}'s value must be a SQL literal: a number, 'text', true, false or DATE 'YYYY-MM-DD'`);
      }
      if (parameters.length >= maxParameters) refuse(number, `a notebook has at most ${maxParameters} parameters`);
      parameters.push({ name, value });
      return;
    }
    if (line.trimStart().startsWith('--')) return;
    refuse(number, 'only libraries, parameters and comments may come before the first cell; start a cell with “-- %%”');
  });
  if (open === null) refuse(1, 'the notebook has no cells; start one with a “-- %%” line');
  cells.push(closeCell(open));
  const checked = parse(notebookSchema, libraries.length > 0 ? { libraries, parameters, cells } : { parameters, cells });
  if (!checked.ok) refuse(1, checked.issue.message);
  return checked.value;
}

function markerLine(cell: Cell): string {
  const parts = ['-- %%'];
  if (cell.kind !== 'sql') parts.push(`[${cell.kind}]`);
  if (cell.output !== null) parts.push(`output=${cell.output}`);
  for (const option of cell.options) parts.push(`${option.key}=${option.value}`);
  return parts.join(' ');
}

/**
 * The notebook as text again; parseNotebook(formatNotebook(n)) deep-equals n for every notebook
 * parseNotebook returns. Refuses (BAD_REQUEST) a cell whose text would read back as a cell marker,
 * since writing it would silently split the cell.
 */
export function formatNotebook(notebook: Notebook): string {
  const out: string[] = [];
  for (const library of notebook.libraries ?? []) out.push(`-- library ${library}`);
  for (const parameter of notebook.parameters) out.push(`-- parameter ${parameter.name} = ${parameter.value}`);
  if (out.length > 0) out.push('');
  notebook.cells.forEach((cell, index) => {
    out.push(markerLine(cell));
    if (cell.source === '') {
      out.push('');
      return;
    }
    for (const line of splitLines(cell.source)) {
      const written = cell.kind === 'markdown' ? (line === '' ? '--' : `-- ${line}`) : line;
      if (cellMarkerPattern.test(written)) {
        throw new CleanroomError('BAD_REQUEST', `cell ${index + 1}: the line “${line.slice(0, 40)}” would read back as a cell marker`);
      }
      out.push(written);
    }
    out.push('');
  });
  return out.join('\n');
}

/**
 * Why a notebook (e.g. one inside a snapshot from another member) is not one parseNotebook could
 * have produced, or null. Notebooks are compared by their canonical encoding.
 */
export function notebookProblem(notebook: Notebook): string | null {
  let again: Notebook;
  try {
    again = parseNotebook(formatNotebook(notebook));
  } catch (error) {
    return error instanceof CleanroomError ? error.message : 'it cannot be written as text';
  }
  return canonicalString(again) === canonicalString(notebook) ? null : 'it is not in the form parsing gives (e.g. trailing blank lines)';
}

/** A snapshot's id: hashCanonical(snapshot). One changed byte anywhere gives a new id. */
export function snapshotIdOf(snapshot: Snapshot): string {
  return hashCanonical(snapshot);
}
