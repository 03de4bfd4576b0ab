// CSV export of output tables (RFC 4180): the CLI's `output show --format csv` and the UI's
// download write exactly the same bytes for the same table.

/** A field quoted when it holds a comma, quote, CR or LF, or starts with a formula character. */
function field(value: string | null): string {
  if (value === null) return '';
  // A leading = + - @ makes spreadsheets evaluate the cell; quote it and prefix a ' so it stays text.
  const guarded = /^[=+\-@\t\r]/.test(value) && !/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(guarded) || guarded !== value ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}

/** Header line of column names, then one line per row; null is an empty field. Lines end in CRLF. */
export function toCsv(columns: readonly { readonly name: string }[], rows: readonly (readonly (string | null)[])[]): string {
  const lines = [columns.map((column) => field(column.name)).join(',')];
  for (const row of rows) lines.push(row.map(field).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
