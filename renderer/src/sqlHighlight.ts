// Splits notebook text (SQL in the jupytext "percent" format) into tokens for highlighting: cell
// markers, `-- library NAME` header lines, comments, strings, quoted names, numbers, keywords and
// function names. It only colours text: joining the tokens gives back the input exactly, so the
// highlighted copy under the editor lines up with what was typed, character for character. Pure,
// so node:test checks it.

export type SqlTokenKind = 'marker' | 'library' | 'comment' | 'string' | 'quoted' | 'number' | 'keyword' | 'function' | 'text';

export interface SqlToken {
  readonly kind: SqlTokenKind;
  readonly text: string;
}

/** Words shown as keywords (matched case-insensitively). Function names are found by their "(". */
export const sqlKeywords: ReadonlySet<string> = new Set(
  (
    'all and any as asc between by case cast create cross desc distinct else end except exists false filter from full group ' +
    'having ilike in inner intersect interval into is join lateral left like limit natural not null nulls offset on or order ' +
    'outer over partition qualify recursive right select semi anti table then true union using values view when where window with'
  ).split(' '),
);

/** `-- %%` at the start of a line begins a cell; the whole line is its marker. */
const markerLine = /--[ \t]*%%[^\n]*/y;
/** `-- library NAME` at a line's start before the first cell names a library; in a cell it is a comment. */
const libraryLine = /--[ \t]*library\b[^\n]*/iy;
const cellMarkerBefore = /^--[ \t]*%%/mu;
const lineComment = /--[^\n]*/y;
const blockComment = /\/\*[\s\S]*?(\*\/|$)/y;
// An unterminated string or quoted name runs to the end, as the SQL parser would read it.
const singleQuoted = /'(?:[^']|'')*(?:'|$)/y;
const doubleQuoted = /"(?:[^"]|"")*(?:"|$)/y;
const numberLiteral = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const word = /[A-Za-z_][A-Za-z0-9_$]*/y;
const spacesThenParen = /[ \t]*\(/y;

function matchAt(pattern: RegExp, source: string, index: number): string | null {
  pattern.lastIndex = index;
  const found = pattern.exec(source);
  return found === null ? null : found[0];
}

/** The token starting at `index`, or null when the character there is plain text. */
function readToken(source: string, index: number): SqlToken | null {
  const char = source[index];
  const next = source[index + 1];
  const atLineStart = index === 0 || source[index - 1] === '\n';
  const take = (kind: SqlTokenKind, pattern: RegExp): SqlToken | null => {
    const text = matchAt(pattern, source, index);
    return text === null || text === '' ? null : { kind, text };
  };

  if (char === '-' && next === '-') {
    if (!atLineStart) return take('comment', lineComment);
    const library = take('library', libraryLine);
    // Looked for only on a library line: a scan per comment line would slow long notebooks.
    if (library !== null && !cellMarkerBefore.test(source.slice(0, index))) return library;
    return take('marker', markerLine) ?? take('comment', lineComment);
  }
  if (char === '/' && next === '*') return take('comment', blockComment);
  if (char === "'") return take('string', singleQuoted);
  if (char === '"') return take('quoted', doubleQuoted);
  if (char !== undefined && /[0-9.]/u.test(char)) return take('number', numberLiteral);
  if (char !== undefined && /[A-Za-z_]/u.test(char)) {
    const text = matchAt(word, source, index);
    if (text === null) return null;
    if (sqlKeywords.has(text.toLowerCase())) return { kind: 'keyword', text };
    if (matchAt(spacesThenParen, source, index + text.length) !== null) return { kind: 'function', text };
    return { kind: 'text', text };
  }
  return null;
}

export function tokenizeSql(source: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let index = 0;
  while (index < source.length) {
    const token = readToken(source, index) ?? { kind: 'text', text: source.charAt(index) };
    const last = tokens[tokens.length - 1];
    // Runs of plain text become one token: fewer spans to draw.
    if (token.kind === 'text' && last !== undefined && last.kind === 'text') tokens[tokens.length - 1] = { kind: 'text', text: last.text + token.text };
    else tokens.push(token);
    index += token.text.length;
  }
  return tokens;
}
