// A model's held-out ROC curve as SVG, drawn by our own code like the output charts: the true
// positive rate against the false positive rate as the score threshold falls from 1 to 0, the
// diagonal of guessing for reference, and the AUC in the legend. Accessible: the SVG is an image
// named by its title and described in words; each threshold's point carries a <title>.
import { useId } from 'react';
import { type RocPoint } from '../model.js';
import { formatTick, linearScale, niceTicks } from '../scales.js';

export interface RocChartProps {
  readonly points: readonly RocPoint[];
  /** The held-out AUC the model reports (Mann–Whitney), shown in the legend. */
  readonly auc: number | null;
  /** The container's width in CSS pixels. */
  readonly width: number;
  readonly testId?: string;
}

const percent = (value: number): string => `${Math.round(value * 100)}%`;

export function RocChart({ points, auc, width, testId }: RocChartProps) {
  const titleId = useId();
  const descId = useId();
  const margin = { top: 14, right: 18, bottom: 48, left: 58 };
  // Square plot: equal units on both axes, so the diagonal is at 45°.
  const plot = Math.max(160, Math.min(360, Math.round(width) - margin.left - margin.right));
  const svgWidth = plot + margin.left + margin.right;
  const svgHeight = plot + margin.top + margin.bottom;
  const ticks = niceTicks(0, 1, 5);
  const x = linearScale([0, 1], [margin.left, margin.left + plot]);
  const y = linearScale([0, 1], [margin.top + plot, margin.top]);
  const line = points.map((point, index) => `${index === 0 ? 'M' : 'L'}${x.at(point.fpr).toFixed(1)},${y.at(point.tpr).toFixed(1)}`).join('');
  const area = points.length > 0 ? `${line}L${x.at(1).toFixed(1)},${y.at(0).toFixed(1)}L${x.at(0).toFixed(1)},${y.at(0).toFixed(1)}Z` : '';
  const aucText = auc === null ? 'not known' : auc.toFixed(3);
  // The default threshold (0.5), where the accuracy is measured: marked on the curve.
  const atHalf = points.find((point) => point.threshold !== null && Math.abs(point.threshold - 0.5) < 1e-9);

  return (
    <figure className="chart roc-chart" data-testid={testId} data-auc={auc ?? ''} data-points={points.length}>
      <ul className="chart-legend" data-testid="roc-legend">
        <li data-testid="roc-legend-curve">
          <span className="chart-swatch chart-series-0" aria-hidden="true" />
          Held-out ROC · AUC {aucText}
        </li>
        <li>
          <span className="chart-swatch roc-swatch-chance" aria-hidden="true" />
          Guessing · AUC 0.5
        </li>
      </ul>
      <svg className="chart-svg roc-svg" width={svgWidth} height={svgHeight} viewBox={`0 0 ${svgWidth} ${svgHeight}`} role="img" aria-labelledby={`${titleId} ${descId}`}>
        <title id={titleId}>ROC curve on the held-out rows</title>
        <desc id={descId}>
          {`True positive rate against false positive rate as the score threshold falls from 1 to 0, at ${points.length} points; area under the curve ${aucText}. The diagonal is guessing.`}
        </desc>
        {ticks.ticks.map((tick) => (
          <g key={tick}>
            <line className="chart-grid" x1={margin.left} x2={margin.left + plot} y1={y.at(tick)} y2={y.at(tick)} />
            <line className="chart-grid" x1={x.at(tick)} x2={x.at(tick)} y1={margin.top} y2={margin.top + plot} />
            <text className="chart-tick-label" x={margin.left - 8} y={y.at(tick) + 4} textAnchor="end">
              {formatTick(tick, ticks.step)}
            </text>
            <text className="chart-tick-label" x={x.at(tick)} y={margin.top + plot + 18} textAnchor="middle">
              {formatTick(tick, ticks.step)}
            </text>
          </g>
        ))}
        <rect className="roc-frame" x={margin.left} y={margin.top} width={plot} height={plot} />
        <line className="roc-diagonal" x1={x.at(0)} y1={y.at(0)} x2={x.at(1)} y2={y.at(1)} data-testid="roc-diagonal" />
        {points.length > 0 && <path className="roc-area chart-series-0" d={area} />}
        {points.length > 0 && <path className="chart-line chart-series-0 roc-line" d={line} data-testid="roc-curve" />}
        <g className="chart-series-0">
          {points.map((point, index) =>
            point.threshold === null ? null : (
              <circle key={index} className="roc-point" cx={x.at(point.fpr)} cy={y.at(point.tpr)} r={5} data-testid="roc-point" data-threshold={point.threshold}>
                <title>{`Threshold ${point.threshold.toFixed(2)}: finds ${percent(point.tpr)} of positives, flags ${percent(point.fpr)} of negatives`}</title>
              </circle>
            ),
          )}
          {atHalf !== undefined && <circle className="roc-marker" cx={x.at(atHalf.fpr)} cy={y.at(atHalf.tpr)} r={4.5} data-testid="roc-half" />}
        </g>
        <text className="chart-axis-label" x={margin.left + plot / 2} y={svgHeight - 8} textAnchor="middle">
          False positive rate
        </text>
        <text className="chart-axis-label" x={14} y={margin.top + plot / 2} transform={`rotate(-90 14 ${margin.top + plot / 2})`} textAnchor="middle">
          True positive rate
        </text>
      </svg>
      {atHalf !== undefined && (
        <figcaption className="muted small">
          The ringed point is the 0.5 threshold: it finds {percent(atHalf.tpr)} of the positive rows and flags {percent(atHalf.fpr)} of the negative ones.
        </figcaption>
      )}
    </figure>
  );
}
