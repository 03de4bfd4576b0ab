// An output drawn as SVG by our own code: bars for categories, a line over dates, times or an
// ordered number (chart.ts chooses). Accessible: the SVG is an image named by its title and
// described in words, every bar and point carries a <title> with its label and value, and the
// table beside it has every number.
import { useId } from 'react';
import { type BarData, extent, type LineData } from '../chart.js';
import { formatTick, formatValue, linearScale, niceTicks, timeTicks } from '../scales.js';

const seriesClasses = 8;

/** The drawing's size: its container's width in CSS pixels, so text is drawn at its true size. */
export interface ChartSize {
  readonly width: number;
  readonly height: number;
}

/** A height that suits a width: about 3:2, within limits that keep labels readable. */
export function chartSizeFor(containerWidth: number): ChartSize {
  const width = Math.max(300, Math.round(containerWidth));
  return { width, height: Math.round(Math.min(400, Math.max(260, width * 0.66))) };
}

export interface AxisNames {
  readonly x: string;
  readonly y: string;
}

export function BarChart({ title, data, axes, size, testId }: { title: string; data: BarData; axes: AxisNames; size: ChartSize; testId?: string }) {
  const { width, height } = size;
  const titleId = useId();
  const descId = useId();
  const groupCount = data.groups.length;
  const seriesCount = Math.max(1, data.series.length);
  const longest = Math.max(...data.groups.map((group) => group.length), 1);
  // Long or many labels are turned so they do not overlap.
  const rotate = groupCount > 8 || longest * 7 > (width - 80) / Math.max(1, groupCount);
  const margin = { top: 16, right: 16, bottom: rotate ? 104 : 56, left: 64 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;

  const range = extent(data.values.flat()) ?? [0, 1];
  const ticks = niceTicks(Math.min(0, range[0]), Math.max(0, range[1]), 5);
  const y = linearScale([ticks.min, ticks.max], [margin.top + plotHeight, margin.top]);
  const band = plotWidth / Math.max(1, groupCount);
  const inner = band * 0.76;
  const barWidth = inner / seriesCount;
  const zero = y.at(0);

  const named = data.series.length > 1 || (data.series[0] ?? '') !== '';
  const description = `Bar chart of ${axes.y} for ${groupCount} ${groupCount === 1 ? 'group' : 'groups'} of ${axes.x}${
    named ? `, one bar per ${data.series.join(', ')}` : ''
  }.`;

  return (
    <figure className="chart" data-testid={testId} data-kind="bar" data-groups={groupCount} data-series={data.series.length}>
      {named && <Legend series={data.series} />}
      <svg className="chart-svg" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${titleId} ${descId}`} preserveAspectRatio="xMidYMid meet">
        <title id={titleId}>{title}</title>
        <desc id={descId}>{description}</desc>
        <YAxis ticks={ticks.ticks} step={ticks.step} at={y.at} left={margin.left} right={width - margin.right} />
        <text className="chart-axis-label" x={14} y={margin.top + plotHeight / 2} transform={`rotate(-90 14 ${margin.top + plotHeight / 2})`} textAnchor="middle">
          {axes.y}
        </text>
        <text className="chart-axis-label" x={margin.left + plotWidth / 2} y={height - 6} textAnchor="middle">
          {axes.x}
        </text>
        {data.groups.map((group, groupIndex) => {
          const left = margin.left + groupIndex * band + (band - inner) / 2;
          const labelX = margin.left + groupIndex * band + band / 2;
          const labelY = margin.top + plotHeight + 16;
          return (
            <g key={group} data-testid="chart-group" data-group={group}>
              {data.series.map((series, seriesIndex) => {
                const value = data.values[groupIndex]?.[seriesIndex] ?? null;
                if (value === null) return null;
                const top = Math.min(y.at(value), zero);
                const barHeight = Math.max(1, Math.abs(y.at(value) - zero));
                const label = `${group}${series !== '' ? ` · ${series}` : ''}: ${formatValue(value)}`;
                return (
                  <rect
                    key={series}
                    className={`chart-bar chart-series-${seriesIndex % seriesClasses}`}
                    x={left + seriesIndex * barWidth}
                    y={top}
                    width={Math.max(1, barWidth - 1)}
                    height={barHeight}
                    data-testid="chart-bar"
                    data-group={group}
                    data-series={series}
                    data-value={value}
                  >
                    <title>{label}</title>
                  </rect>
                );
              })}
              <text
                className="chart-tick-label"
                x={labelX}
                y={labelY}
                textAnchor={rotate ? 'end' : 'middle'}
                transform={rotate ? `rotate(-40 ${labelX} ${labelY})` : undefined}
              >
                <title>{group}</title>
                {group.length > 18 ? `${group.slice(0, 17)}…` : group}
              </text>
            </g>
          );
        })}
        <line className="chart-baseline" x1={margin.left} x2={width - margin.right} y1={zero} y2={zero} />
      </svg>
    </figure>
  );
}

export function LineChart({
  title,
  data,
  axes,
  time,
  size,
  testId,
}: {
  title: string;
  data: LineData;
  axes: AxisNames;
  size: ChartSize;
  /** 'instant' for dates and timestamps, 'day' for times of day, null for numbers. */
  time: 'instant' | 'day' | null;
  testId?: string;
}) {
  const { width, height } = size;
  const titleId = useId();
  const descId = useId();
  const margin = { top: 16, right: 20, bottom: 56, left: 64 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const points = data.series.flatMap((series) => series.points);
  const xRange = extent(points.map((point) => point.x)) ?? [0, 1];
  const yRange = extent(points.map((point) => point.y)) ?? [0, 1];
  const yTicks = niceTicks(Math.min(0, yRange[0]), yRange[1], 5);
  const y = linearScale([yTicks.min, yTicks.max], [margin.top + plotHeight, margin.top]);
  let xTicks: readonly number[];
  let xLabel: (value: number) => string;
  let xDomain: readonly [number, number];
  if (time !== null) {
    const ticks = timeTicks(xRange[0], xRange[1], 5, time === 'day');
    xTicks = ticks.ticks;
    xLabel = ticks.format;
    xDomain = xRange[0] === xRange[1] ? [xRange[0] - 1, xRange[1] + 1] : xRange;
  } else {
    const ticks = niceTicks(xRange[0], xRange[1], 6);
    xTicks = ticks.ticks;
    xLabel = (value) => formatTick(value, ticks.step);
    xDomain = [ticks.min, ticks.max];
  }
  const x = linearScale(xDomain, [margin.left, margin.left + plotWidth]);
  const named = data.series.length > 1 || (data.series[0]?.name ?? '') !== '';
  const showDots = points.length <= 300;
  const description = `Line chart of ${axes.y} over ${axes.x}: ${points.length} points${named ? ` in ${data.series.length} lines` : ''}.`;

  return (
    <figure className="chart" data-testid={testId} data-kind="line" data-points={points.length} data-series={data.series.length}>
      {named && <Legend series={data.series.map((series) => series.name)} />}
      <svg className="chart-svg" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${titleId} ${descId}`} preserveAspectRatio="xMidYMid meet">
        <title id={titleId}>{title}</title>
        <desc id={descId}>{description}</desc>
        <YAxis ticks={yTicks.ticks} step={yTicks.step} at={y.at} left={margin.left} right={width - margin.right} />
        {xTicks.map((tick) => (
          <g key={tick}>
            <line className="chart-tick" x1={x.at(tick)} x2={x.at(tick)} y1={margin.top + plotHeight} y2={margin.top + plotHeight + 5} />
            <text className="chart-tick-label" x={x.at(tick)} y={margin.top + plotHeight + 18} textAnchor="middle">
              {xLabel(tick)}
            </text>
          </g>
        ))}
        <line className="chart-baseline" x1={margin.left} x2={width - margin.right} y1={margin.top + plotHeight} y2={margin.top + plotHeight} />
        <text className="chart-axis-label" x={14} y={margin.top + plotHeight / 2} transform={`rotate(-90 14 ${margin.top + plotHeight / 2})`} textAnchor="middle">
          {axes.y}
        </text>
        <text className="chart-axis-label" x={margin.left + plotWidth / 2} y={height - 8} textAnchor="middle">
          {axes.x}
        </text>
        {data.series.map((series, seriesIndex) => (
          <g key={series.name} className={`chart-series-${seriesIndex % seriesClasses}`} data-testid="chart-line" data-series={series.name}>
            <path
              className="chart-line"
              d={series.points.map((point, index) => `${index === 0 ? 'M' : 'L'}${x.at(point.x).toFixed(1)},${y.at(point.y).toFixed(1)}`).join('')}
            />
            {showDots &&
              series.points.map((point, index) => (
                <circle key={index} className="chart-dot" cx={x.at(point.x)} cy={y.at(point.y)} r={3} data-testid="chart-point">
                  <title>{`${point.label}${series.name !== '' ? ` · ${series.name}` : ''}: ${formatValue(point.y)}`}</title>
                </circle>
              ))}
          </g>
        ))}
      </svg>
    </figure>
  );
}

function YAxis({ ticks, step, at, left, right }: { ticks: readonly number[]; step: number; at: (value: number) => number; left: number; right: number }) {
  return (
    <g className="chart-y-axis">
      {ticks.map((tick) => (
        <g key={tick}>
          <line className="chart-grid" x1={left} x2={right} y1={at(tick)} y2={at(tick)} />
          <text className="chart-tick-label" x={left - 8} y={at(tick) + 4} textAnchor="end">
            {formatTick(tick, step)}
          </text>
        </g>
      ))}
    </g>
  );
}

function Legend({ series }: { series: readonly string[] }) {
  return (
    <ul className="chart-legend" data-testid="chart-legend">
      {series.map((name, index) => (
        <li key={name} data-testid="chart-legend-item">
          <span className={`chart-swatch chart-series-${index % seriesClasses}`} aria-hidden="true" />
          {name}
        </li>
      ))}
    </ul>
  );
}
