// One output table: what it is (rows, values withheld, hash, when it expires), the table itself
// (windowed: any number of rows) beside a chart chosen from its column types, or under it on a
// narrow card (the layout is styles.css's, by container width), with a selector for
// the measure drawn, and CSV export of the whole table. A model output (a train cell's) opens the
// model viewer instead.
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { toCsv } from '../../../shared/csv.js';
import { type OutputView } from '../../../shared/run.js';
import { useApi } from '../ApiContext.js';
import { formatRowCount } from '../assets.js';
import { barData, chooseChart, defaultMeasure, lineData } from '../chart.js';
import { Badge } from '../components/Badge.js';
import { Button } from '../components/Button.js';
import { DataTable } from '../components/DataTable.js';
import { Icon } from '../components/Icon.js';
import { ErrorNotice, Notice } from '../components/Notice.js';
import { BarChart, chartSizeFor, LineChart } from '../components/OutputChart.js';
import { OutputProvenance } from '../components/OutputProvenance.js';
import { saveFile } from '../download.js';
import { csvFileName, suppressedLabel } from '../runs.js';
import { useAction } from '../useAction.js';
import { outputPageSize, useOutputRows } from '../useOutputRows.js';
import { useWidth } from '../useWidth.js';
import { ModelViewer } from './ModelViewer.js';

/** Rows the chart is drawn from: the first pages of the table. */
export const chartRowLimit = 2 * outputPageSize;

export function OutputViewer({ roomId, output }: { roomId: string; output: OutputView }) {
  return output.kind === 'model' ? <ModelViewer roomId={roomId} output={output} /> : <TableViewer roomId={roomId} output={output} />;
}

function TableViewer({ roomId, output }: { roomId: string; output: OutputView }) {
  const rows = useOutputRows(roomId, output);
  const api = useApi();
  const exportAll = useAction(api['output.show']);
  const [exported, setExported] = useState<string | null>(null);
  const titleId = useId();
  const chartBox = useRef<HTMLDivElement>(null);
  const chartWidth = useWidth(chartBox);

  const { want, firstRows } = rows;
  // The chart draws from the first pages whatever the table shows.
  useEffect(() => want(0, chartRowLimit), [want]);
  const chartRows = useMemo(() => firstRows(chartRowLimit), [firstRows]);
  const sampleRows = useMemo(() => (chartRows ?? []).slice(0, 200), [chartRows]);

  const onExport = async () => {
    if (exportAll.busy) return;
    setExported(null);
    const result = await exportAll.run({ room: roomId, output: output.id });
    if (!result.ok) return;
    const fileName = csvFileName(output.name);
    saveFile(fileName, toCsv(result.value.output.columns, result.value.rows));
    setExported(fileName);
  };

  return (
    <section className="card output-viewer" aria-labelledby={titleId} data-testid="output-viewer" data-output={output.name} data-source={output.source}>
      <div className="card-header">
        <h3 className="card-title" id={titleId}>
          <Icon name="table" size={16} /> <code data-testid="output-name">{output.name}</code>
        </h3>
        <div className="card-header-actions">
          <Badge tone={output.source === 'mine' ? 'accent' : 'neutral'} testId="output-source">
            {output.source === 'mine' ? 'Your run' : `Released by ${output.runner}`}
          </Badge>
          <Button size="small" icon={<Icon name="download" size={14} />} onClick={() => void onExport()} busy={exportAll.busy} busyLabel="Exporting…" data-testid="output-export-csv">
            Export CSV
          </Button>
        </div>
      </div>
      <dl className="output-facts">
        <div>
          <dt>Rows</dt>
          <dd data-testid="output-rows">{formatRowCount(output.rows)}</dd>
        </div>
        <div>
          <dt>Suppressed</dt>
          <dd data-testid="output-suppressed" data-count={output.suppressedRows}>
            {suppressedLabel(output.suppressedRows)}
          </dd>
        </div>
        <OutputProvenance output={output} what="output" />
      </dl>
      {output.suppressedRows > 0 && (
        <p className="card-note" data-testid="output-suppressed-note">
          {suppressedLabel(output.suppressedRows).replace(/^./u, (letter) => letter.toUpperCase())} (shown empty): fewer than the room&rsquo;s
          minimum number of people stood behind them, one or two people dominated them, or they differed by too few people from a value
          already released. Groups with too few people are left out, and how many is not said: that number could single someone out.
        </p>
      )}
      <ErrorNotice error={exportAll.error} title="The CSV was not exported" testId="output-export-error" />
      {exported !== null && (
        <Notice tone="success" title="CSV exported" testId="output-exported">
          Saved as <code>{exported}</code>, every row of the table.
        </Notice>
      )}
      <ErrorNotice error={rows.error} title="The rows could not be read" testId="output-rows-error" />
      <div className="output-body">
        <div className="output-table">
          {output.rows === 0 ? (
            <p className="muted card-body" data-testid="output-empty">
              No rows: every group was below the minimum size, or the query matched nothing.
            </p>
          ) : (
            <DataTable
              label={`Output ${output.name}`}
              columns={output.columns}
              rowCount={output.rows}
              rowAt={rows.rowAt}
              onWantRows={rows.want}
              sampleRows={sampleRows}
              testId="output-table"
            />
          )}
        </div>
        <div className="output-chart" ref={chartBox}>
          {chartRows === null ? (
            <p className="muted loading-line" aria-busy="true">
              <span className="spinner" aria-hidden="true" /> Loading the rows…
            </p>
          ) : (
            <OutputChartPanel output={output} rows={chartRows} width={chartWidth} />
          )}
        </div>
      </div>
    </section>
  );
}

function OutputChartPanel({ output, rows, width }: { output: OutputView; rows: (string | null)[][]; width: number }) {
  const choice = useMemo(() => chooseChart(output.columns, rows), [output.columns, rows]);
  const measures = choice.kind === 'none' ? [] : choice.measures;
  const [picked, setPicked] = useState<number | null>(null);
  const measure = picked !== null && measures.includes(picked) ? picked : defaultMeasure(output.columns, measures);
  const selectId = useId();
  const size = chartSizeFor(width);

  if (choice.kind === 'none' || measure === null) {
    return (
      <p className="muted chart-none" data-testid="output-chart-none">
        {choice.kind === 'none' ? choice.reason : 'No chart: nothing numeric to draw.'}
      </p>
    );
  }
  const measureName = output.columns[measure]?.name ?? '';
  const truncatedRows = output.rows > rows.length;

  let chart;
  let note: string | null = null;
  if (choice.kind === 'bar') {
    const data = barData(choice, measure, rows);
    const xName = choice.categories.filter((index) => index !== choice.series).map((index) => output.columns[index]?.name ?? '').join(' · ') || 'all rows';
    const title = `${measureName} by ${choice.categories.map((index) => output.columns[index]?.name ?? '').join(' and ') || 'all rows'}`;
    chart = <BarChart title={title} data={data} axes={{ x: xName, y: measureName }} size={size} testId="output-chart" />;
    if (data.totalGroups > data.groups.length || truncatedRows) {
      note = `Showing the first ${data.groups.length} groups${truncatedRows ? ` of the first ${formatRowCount(rows.length)}` : ` of ${data.totalGroups}`}; the table has them all.`;
    }
  } else {
    const data = lineData(choice, measure, rows);
    const xName = output.columns[choice.x]?.name ?? '';
    const time = choice.xKind === 'time' ? 'day' : choice.xKind === 'date' || choice.xKind === 'timestamp' ? 'instant' : null;
    chart = <LineChart title={`${measureName} over ${xName}`} data={data} axes={{ x: xName, y: measureName }} time={time} size={size} testId="output-chart" />;
    const notes = [];
    if (truncatedRows) notes.push(`Drawn from the first ${formatRowCount(rows.length)}.`);
    if (data.skipped > 0) notes.push(`${formatRowCount(data.skipped)} without a value left out.`);
    note = notes.length > 0 ? notes.join(' ') : null;
  }

  return (
    <div className="chart-panel" data-testid="output-chart-panel" data-kind={choice.kind}>
      <div className="chart-controls">
        <label className="field-label" htmlFor={selectId}>
          Measure
        </label>
        <select
          id={selectId}
          className="input select chart-measure"
          value={measure}
          onChange={(event) => setPicked(Number(event.target.value))}
          data-testid="chart-measure"
          disabled={measures.length < 2}
        >
          {measures.map((index) => (
            <option key={index} value={index}>
              {output.columns[index]?.name}
            </option>
          ))}
        </select>
      </div>
      {chart}
      {note !== null && (
        <p className="muted small" data-testid="output-chart-note">
          {note}
        </p>
      )}
    </div>
  );
}
