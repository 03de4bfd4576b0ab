// A read-only table for output tables of any size: fixed-height rows in a scroll container, and
// only the rows in view (plus a few) in the DOM, so 100,000 rows scroll as smoothly as 100. The
// header stays put while the rows scroll. Rows not fetched yet show as placeholders; the owner is
// told which rows are wanted and fetches them (in pages). Numbers show formatted for reading
// (numberFormat.ts) and right-aligned, with DuckDB's exact text in the cell's title.
import { type UIEvent, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { alignsRight } from '../duckdbValues.js';
import { formatNumberText } from '../numberFormat.js';
import { columnWidths, rowWindow } from '../windowing.js';

export const dataRowHeight = 30;
const headerHeight = 46;
/** Room for a horizontal scrollbar, so a short table never needs a vertical one too. */
const scrollbarAllowance = 16;
const overscan = 8;

export interface DataTableProps {
  readonly label: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rowCount: number;
  /** The row at an index, or undefined while it is not fetched. */
  readonly rowAt: (index: number) => readonly (string | null)[] | undefined;
  /** Rows [first, end) are about to be shown: fetch them if they are not. */
  readonly onWantRows: (first: number, end: number) => void;
  /** Rows that exist when sizing columns (the first page). */
  readonly sampleRows: readonly (readonly (string | null)[])[];
  /** Most pixels tall; fewer rows make it shorter. */
  readonly maxHeight?: number;
  readonly testId?: string;
}

/** What a cell shows: a number formatted for reading, any other value as it is. */
const shownText = (value: string | null, numeric: boolean): string | null => (value !== null && numeric ? formatNumberText(value) : value);

/** Column widths sized to the sample rows as they will show: formatted numbers are shorter than DuckDB's text. */
function shownWidths(columns: DataTableProps['columns'], sampleRows: DataTableProps['sampleRows']): number[] {
  const numeric = columns.map((column) => alignsRight(column.type));
  return columnWidths(
    columns,
    sampleRows.map((row) => row.map((value, at) => shownText(value, numeric[at] === true))),
  );
}

export function DataTable({ label, columns, rowCount, rowAt, onWantRows, sampleRows, maxHeight = 480, testId }: DataTableProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const height = Math.min(maxHeight, headerHeight + Math.max(1, rowCount) * dataRowHeight + 2 + scrollbarAllowance);
  const [viewportHeight, setViewportHeight] = useState(height - headerHeight);

  // The real viewport: the container may be shorter than asked on a small window.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (element === null) return undefined;
    const measure = () => setViewportHeight(Math.max(dataRowHeight, element.clientHeight - headerHeight));
    measure();
    const observer = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(measure);
    observer?.observe(element);
    return () => observer?.disconnect();
  }, []);

  const shown = rowWindow({ scrollTop, viewportHeight, rowHeight: dataRowHeight, rowCount, overscan });
  useEffect(() => {
    if (shown.end > shown.first) onWantRows(shown.first, shown.end);
  }, [shown.first, shown.end, onWantRows]);

  const numeric = columns.map((column) => alignsRight(column.type));

  // Widths from the first rows as shown, fixed after: columns must not jump as rows come and go.
  const [widths, setWidths] = useState(() => shownWidths(columns, sampleRows));
  const sized = useRef(sampleRows.length > 0);
  useEffect(() => {
    if (sized.current || sampleRows.length === 0) return;
    sized.current = true;
    setWidths(shownWidths(columns, sampleRows));
  }, [columns, sampleRows]);
  // Each column at least its measured width, sharing any room left over in proportion, so a table
  // narrower than its box fills it instead of leaving a blank band on the right.
  const template = widths.map((width) => `minmax(${width}px, ${width}fr)`).join(' ');
  const totalWidth = widths.reduce((sum, width) => sum + width, 0);

  const rows = [];
  for (let index = shown.first; index < shown.end; index++) {
    const row = rowAt(index);
    rows.push(
      <div
        key={index}
        role="row"
        aria-rowindex={index + 2}
        className={`data-table-row${index % 2 === 1 ? ' data-table-row-alt' : ''}`}
        style={{ gridTemplateColumns: template, top: index * dataRowHeight }}
        data-testid="data-row"
        data-row={index}
      >
        {columns.map((column, at) => {
          const value = row?.[at];
          const right = numeric[at] === true;
          // The title holds the exact value: the formatted one is rounded, and long text is cut.
          return (
            <div
              key={column.name}
              role="cell"
              aria-colindex={at + 1}
              className={`data-table-cell${right ? ' data-table-cell-number' : ''}`}
              title={value ?? undefined}
              data-testid="data-cell"
            >
              {row === undefined ? (
                <span className="data-table-placeholder" aria-label="Loading" />
              ) : value === null ? (
                <span className="data-table-null">NULL</span>
              ) : value === undefined ? null : (
                shownText(value, right)
              )}
            </div>
          );
        })}
      </div>,
    );
  }

  return (
    <div
      ref={scroller}
      className="data-table"
      style={{ height }}
      role="table"
      aria-label={label}
      aria-rowcount={rowCount + 1}
      aria-colcount={columns.length}
      tabIndex={0}
      onScroll={(event: UIEvent<HTMLDivElement>) => setScrollTop(event.currentTarget.scrollTop)}
      data-testid={testId}
      data-row-count={rowCount}
      data-rendered-rows={shown.end - shown.first}
    >
      <div role="rowgroup" className="data-table-head" style={{ width: totalWidth, minWidth: '100%' }}>
        <div role="row" aria-rowindex={1} className="data-table-header-row" style={{ gridTemplateColumns: template }}>
          {columns.map((column, at) => (
            <div
              key={column.name}
              role="columnheader"
              aria-colindex={at + 1}
              className={`data-table-header${numeric[at] === true ? ' data-table-cell-number' : ''}`}
              title={`${column.name} (${column.type})`}
              data-testid="data-column"
              data-column={column.name}
              data-type={column.type}
            >
              <span className="data-table-header-name">{column.name}</span>
              <span className="data-table-header-type">{column.type}</span>
            </div>
          ))}
        </div>
      </div>
      <div role="rowgroup" className="data-table-body" style={{ height: shown.totalHeight, width: totalWidth, minWidth: '100%' }}>
        {rows}
      </div>
    </div>
  );
}
