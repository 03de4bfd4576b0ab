// The header line of a CSV file, read by us rather than by DuckDB: DuckDB renames duplicate
// column names (`a`, `a_1`) and names empty ones (`column1`) silently, and guesses the delimiter
// from a sample. Reading the first record ourselves lets us refuse duplicate or empty names and
// fix the dialect (delimiter, quote, escape) that DuckDB then parses strictly.

import { open } from 'node:fs/promises';
import { CleanroomError } from '../../shared/errors.js';

/** The longest line (in bytes) a CSV may have: DuckDB's max_line_size, pinned in import.ts's csvRelation. */
export const maxCsvLineBytes = 2_000_000;
const maxHeaderBytes = maxCsvLineBytes;
const candidateDelimiters = [',', ';', '\t', '|'] as const;

export interface CsvHeader {
  readonly delimiter: string;
  /** Column names as DuckDB will report them (surrounding spaces trimmed, as DuckDB does). */
  readonly names: readonly string[];
}

const refuse = (fileName: string, why: string): never => {
  throw new CleanroomError('FILE_ERROR', `Cannot import ${fileName}: ${why}.`);
};

/** The text of the first record (quoted line breaks included), without its line ending. */
function firstRecord(bytes: Uint8Array, fileName: string, wholeFile: boolean): Uint8Array {
  let inQuotes = false;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index];
    if (byte === 0x22) inQuotes = !inQuotes;
    else if (byte === 0x0a && !inQuotes) return bytes.subarray(0, index > 0 && bytes[index - 1] === 0x0d ? index - 1 : index);
  }
  if (!wholeFile) refuse(fileName, `line 1 (the header) is longer than ${maxHeaderBytes.toLocaleString('en-US')} bytes, the most one line may hold`);
  if (inQuotes) refuse(fileName, 'line 1 (the header) has a quoted name that is not closed');
  const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
  return bytes.subarray(0, end);
}

/** Count of each candidate delimiter outside quotes; the most frequent wins, ',' on a tie or none. */
function guessDelimiter(line: string): string {
  const counts = new Map<string, number>(candidateDelimiters.map((d) => [d, 0]));
  let inQuotes = false;
  for (const character of line) {
    if (character === '"') inQuotes = !inQuotes;
    else if (!inQuotes && counts.has(character)) counts.set(character, (counts.get(character) ?? 0) + 1);
  }
  let best = ',';
  for (const delimiter of candidateDelimiters) if ((counts.get(delimiter) ?? 0) > (counts.get(best) ?? 0)) best = delimiter;
  return best;
}

/** Splits one record with RFC 4180 quoting ("" inside quotes is a quote). */
function splitRecord(line: string, delimiter: string, fileName: string): string[] {
  const fields: string[] = [];
  let index = 0;
  for (;;) {
    let field = '';
    // Spaces before an opening quote are allowed, as DuckDB allows them.
    let start = index;
    while (line[start] === ' ') start++;
    if (line[start] === '"') {
      index = start + 1;
      for (;;) {
        const quote = line.indexOf('"', index);
        if (quote === -1) refuse(fileName, 'line 1 (the header) has a quoted name that is not closed');
        field += line.slice(index, quote);
        if (line[quote + 1] === '"') {
          field += '"';
          index = quote + 2;
          continue;
        }
        index = quote + 1;
        break;
      }
      while (line[index] === ' ') index++;
      if (index < line.length && line[index] !== delimiter) refuse(fileName, 'line 1 (the header) has text after a closing quote');
    } else {
      const next = line.indexOf(delimiter, index);
      const end = next === -1 ? line.length : next;
      field = line.slice(index, end);
      if (field.includes('"')) refuse(fileName, 'line 1 (the header) has a quote inside an unquoted name');
      index = end;
    }
    fields.push(field.trim());
    if (index >= line.length) return fields;
    index += delimiter.length; // past the delimiter
    if (index === line.length) {
      fields.push('');
      return fields;
    }
  }
}

/** Reads and checks the header of a CSV file; `extension` picks tab for .tsv. */
export async function readCsvHeader(file: string, fileName: string, extension: string): Promise<CsvHeader> {
  const handle = await open(file, 'r');
  let bytes: Uint8Array;
  let wholeFile: boolean;
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(Math.min(size, maxHeaderBytes));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    bytes = buffer.subarray(0, bytesRead);
    wholeFile = bytesRead >= size;
  } finally {
    await handle.close();
  }
  // A UTF-8 byte order mark is not part of the first name.
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  const record = firstRecord(bytes, fileName, wholeFile);
  let line: string;
  try {
    line = new TextDecoder('utf-8', { fatal: true }).decode(record);
  } catch {
    return refuse(fileName, 'line 1 (the header) is not valid UTF-8 text (save the file as UTF-8)');
  }
  if (line.trim() === '') refuse(fileName, 'line 1 (the header) is empty');
  const delimiter = extension === '.tsv' ? '\t' : guessDelimiter(line);
  return { delimiter, names: splitRecord(line, delimiter, fileName) };
}
