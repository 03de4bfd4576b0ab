// The arithmetic of the output table's windowed rendering: which rows are in (or near) the
// viewport of a scroll container with fixed-height rows, which pages of rows must be fetched for
// them, and how wide each column is. Only those rows are in the DOM, so 100,000 rows scroll as
// smoothly as 100. Pure, so node:test checks it.
import { alignsRight } from './duckdbValues.js';

export interface WindowInput {
  readonly scrollTop: number;
  readonly viewportHeight: number;
  readonly rowHeight: number;
  readonly rowCount: number;
  /** Rows rendered beyond each edge, so a fast scroll does not show blank space. */
  readonly overscan: number;
}

export interface RowWindow {
  /** First row index to render. */
  readonly first: number;
  /** One past the last row index to render. */
  readonly end: number;
  /** The height of all rows: the scroll container's content height. */
  readonly totalHeight: number;
  /** Where the first rendered row starts. */
  readonly offsetTop: number;
}

export function rowWindow({ scrollTop, viewportHeight, rowHeight, rowCount, overscan }: WindowInput): RowWindow {
  const count = Math.max(0, Math.floor(rowCount));
  const height = Math.max(1, rowHeight);
  const totalHeight = count * height;
  // A scroll position past the end (the table shrank) shows the last rows, not nothing.
  const top = Math.min(Math.max(0, scrollTop), Math.max(0, totalHeight - viewportHeight));
  const firstVisible = Math.floor(top / height);
  const endVisible = Math.ceil((top + Math.max(0, viewportHeight)) / height);
  const first = Math.max(0, Math.min(count, firstVisible - overscan));
  const end = Math.max(first, Math.min(count, endVisible + overscan));
  return { first, end, totalHeight, offsetTop: first * height };
}

/** The pages (of `pageSize` rows, numbered from 0) that hold rows [first, end). */
export function pagesFor(first: number, end: number, pageSize: number): number[] {
  if (end <= first || pageSize <= 0) return [];
  const pages: number[] = [];
  for (let page = Math.floor(first / pageSize); page <= Math.floor((end - 1) / pageSize); page++) pages.push(page);
  return pages;
}

/** The scroll position that brings row `index` into view with as little movement as possible. */
export function scrollToShow(index: number, scrollTop: number, viewportHeight: number, rowHeight: number): number {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewportHeight) return bottom - viewportHeight;
  return scrollTop;
}

export const minColumnWidth = 72;
export const maxColumnWidth = 320;

/** The header's name is bold and its type monospaced and smaller: pixels per character of each. */
const headerNameCharWidth = 8.4;
const headerTypeCharWidth = 7;

/**
 * Column widths in pixels from the header and the longest value among sample rows (fixed widths:
 * rows come and go as one scrolls, and their columns must not jump). About 7.5 px per character
 * of the table's font, plus padding; the header is measured with its own fonts so it is not cut
 * (only beyond the maximum width, where its title shows it whole).
 */
export function columnWidths(
  columns: readonly { readonly name: string; readonly type: string }[],
  sampleRows: readonly (readonly (string | null)[])[],
  charWidth = 7.5,
  padding = 28,
): number[] {
  return columns.map((column, index) => {
    let longest = 0;
    for (const row of sampleRows) {
      const value = row[index];
      longest = Math.max(longest, value === null || value === undefined ? 4 : value.length);
    }
    // Numbers are right-aligned and compared by eye: give them a little more room.
    const extra = alignsRight(column.type) ? 1 : 0;
    const values = longest === 0 ? 0 : (longest + extra) * charWidth;
    const header = Math.max(column.name.length * headerNameCharWidth, column.type.length * headerTypeCharWidth);
    return Math.round(Math.min(maxColumnWidth, Math.max(minColumnWidth, values + padding, header + padding)));
  });
}
