// One model output (a train cell's model): what it predicts and how it was fitted, its metrics on
// the held-out rows beside the training rows, the held-out ROC curve (logistic), the coefficients
// ranked by weight (per standard deviation and per raw unit), export as a JSON file, and scoring
// a local file with it. Only the model document crosses the API: it was all the worker let out.
import { useCallback, useId, useRef } from 'react';
import { type ModelDocument, modelFileName, modelFileText, type WithheldModelDocument, withheldLabel } from '../../../shared/model.js';
import { type OutputView } from '../../../shared/run.js';
import { useApi } from '../ApiContext.js';
import { Badge } from '../components/Badge.js';
import { Button } from '../components/Button.js';
import { Icon } from '../components/Icon.js';
import { LoadFailed, LoadingLine } from '../components/Loading.js';
import { Notice } from '../components/Notice.js';
import { OutputProvenance } from '../components/OutputProvenance.js';
import { RocChart } from '../components/RocChart.js';
import { saveFile } from '../download.js';
import {
  algorithmLabels,
  fitLabel,
  formatCoefficient,
  metricCards,
  predictsLabel,
  rankedTerms,
  readModelRows,
  rocCurve,
  splitLabel,
  withheldFeatureNotes,
  withheldModelLines,
} from '../model.js';
import { useLoaded } from '../useLoaded.js';
import { useWidth } from '../useWidth.js';
import { PredictPanel } from './PredictPanel.js';

export function ModelViewer({ roomId, output }: { roomId: string; output: OutputView }) {
  const api = useApi();
  const stored = useLoaded(useCallback(() => api['output.show']({ room: roomId, output: output.id, offset: 0, limit: 1 }), [api, roomId, output.id]));
  const titleId = useId();

  let body;
  if (stored.loaded.state === 'loading') body = <LoadingLine testId="model-loading">Reading the model…</LoadingLine>;
  else if (stored.loaded.state === 'failed') {
    body = <LoadFailed title="The model could not be read" message={stored.loaded.error.message} testId="model-error" onRetry={stored.reload} />;
  } else {
    const read = readModelRows(stored.loaded.value.rows);
    body = read.ok ? (
      read.model !== null ? (
        <ModelBody roomId={roomId} output={output} model={read.model} />
      ) : (
        <WithheldModel model={read.withheld} />
      )
    ) : (
      <Notice tone="error" title="This output is not a readable model" testId="model-error">
        {read.reason}.
      </Notice>
    );
  }

  return (
    <section className="card output-viewer model-viewer" aria-labelledby={titleId} data-testid="model-viewer" data-output={output.name} data-source={output.source} data-state={stored.loaded.state}>
      <div className="card-header">
        <h3 className="card-title" id={titleId}>
          <Icon name="chart" size={16} /> <code data-testid="output-name">{output.name}</code>
          <Badge tone="accent" testId="model-badge">
            Model
          </Badge>
        </h3>
        <div className="card-header-actions">
          <Badge tone={output.source === 'mine' ? 'accent' : 'neutral'} testId="output-source">
            {output.source === 'mine' ? 'Your run' : `Released by ${output.runner}`}
          </Badge>
          {stored.loaded.state === 'ready' && <ExportButton output={output} rows={stored.loaded.value.rows} />}
        </div>
      </div>
      {body}
    </section>
  );
}

function ExportButton({ output, rows }: { output: OutputView; rows: (string | null)[][] }) {
  const read = readModelRows(rows);
  if (!read.ok || read.model === null) return null;
  return (
    <Button
      size="small"
      icon={<Icon name="download" size={14} />}
      onClick={() => saveFile(modelFileName(output.name), modelFileText(read.model))}
      data-testid="model-export-json"
    >
      Export JSON
    </Button>
  );
}

/** A model aggregate mode withheld: the rule the rows did not meet, and nothing else. */
function WithheldModel({ model }: { model: WithheldModelDocument }) {
  const [reason, ...features] = withheldModelLines(model);
  return (
    <div className="stack-cards model-body" data-testid="model-withheld" data-algorithm={model.algorithm}>
      <Notice tone="warning" title={`The model is ${withheldLabel}`} testId="model-withheld-reason">
        {reason}. No coefficient, row count or metric is given: the model would have told something about fewer than k people.
      </Notice>
      {features.length > 0 && (
        <ul className="muted small" data-testid="model-withheld-features">
          {features.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function ModelBody({ roomId, output, model }: { roomId: string; output: OutputView; model: ModelDocument }) {
  const chartBox = useRef<HTMLDivElement>(null);
  const chartWidth = useWidth(chartBox, 360);
  const cards = metricCards(model);
  const curve = rocCurve(model);
  const logistic = model.algorithm === 'logistic';
  const leftOut = withheldFeatureNotes(model);
  const testWithheld = model.withheld?.metrics.test ?? null;

  return (
    <div className="stack-cards model-body" data-testid="model-body" data-algorithm={model.algorithm}>
      <dl className="output-facts">
        <div>
          <dt>Model</dt>
          <dd data-testid="model-algorithm">{algorithmLabels[model.algorithm]}</dd>
        </div>
        <div className="output-facts-wide">
          <dt>Predicts</dt>
          <dd>
            <code data-testid="model-target">{predictsLabel(model)}</code>
          </dd>
        </div>
        <div className="output-facts-wide">
          <dt>Rows</dt>
          <dd data-testid="model-split">{splitLabel(model)}</dd>
        </div>
        <div className="output-facts-wide">
          <dt>Fit</dt>
          <dd data-testid="model-fit" data-converged={model.fit.converged ? 'yes' : 'no'}>
            {fitLabel(model)}
          </dd>
        </div>
        <OutputProvenance output={output} what="model" />
      </dl>
      {!model.fit.converged && (
        <Notice tone="warning" title="The fit did not converge" testId="model-not-converged">
          The optimiser stopped at its iteration limit: the coefficients may not be the best ones. A larger L2 penalty or fewer features usually helps.
        </Notice>
      )}

      <ul className="metric-cards" aria-label="Metrics" data-testid="model-metrics">
        {cards.map((card) => (
          <li key={card.key} className="metric-card" data-testid="model-metric" data-metric={card.key} data-value={card.testValue ?? ''} title={card.explanation}>
            <span className="metric-label">{card.label}</span>
            <span className="metric-value" data-testid={`model-metric-${card.key}`}>
              {card.test}
            </span>
            <span className="metric-note">
              held out · <span data-testid={`model-metric-${card.key}-train`}>{card.train}</span> on training rows
            </span>
          </li>
        ))}
      </ul>
      <p className="card-note">
        Held-out rows ({model.split.testRows}) were set aside before fitting: their metrics are the ones to judge the model by. Training metrics
        far better than them mean the model learnt its rows by heart.
      </p>
      {(testWithheld !== null || typeof model.withheld?.metrics.train === 'string') && (
        <p className="card-note" data-testid="model-metrics-withheld">
          Some metrics are {withheldLabel}: {[testWithheld, model.withheld?.metrics.train].filter((reason) => typeof reason === 'string').join('; ')}.
        </p>
      )}
      {leftOut.length > 0 && (
        <Notice tone="info" title={`Features ${withheldLabel}`} testId="model-withheld-features">
          <ul>
            {leftOut.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        </Notice>
      )}

      <div className={logistic ? 'model-columns' : 'model-columns model-columns-single'}>
        {logistic && (
          <div className="model-roc" ref={chartBox}>
            <h4 className="model-section-title">ROC curve</h4>
            {curve.length === 0 && testWithheld !== null ? (
              <p className="muted small" data-testid="roc-withheld">
                {withheldLabel}
              </p>
            ) : (
              <RocChart points={curve} auc={model.metrics.test.auc} width={chartWidth} testId="roc-chart" />
            )}
          </div>
        )}
        <Coefficients model={model} />
      </div>

      <PredictPanel roomId={roomId} output={output} model={model} />
    </div>
  );
}

function Coefficients({ model }: { model: ModelDocument }) {
  const terms = rankedTerms(model);
  const units = model.algorithm === 'logistic' ? 'log-odds' : model.target;
  return (
    <div className="model-coefficients">
      <h4 className="model-section-title">Coefficients</h4>
      <p className="muted small">
        Largest effect first, in {units} per standard deviation of a numeric feature (comparable across features), or for a level against the
        reference level. Per unit is per one of the column&rsquo;s own units.
      </p>
      <div className="table-scroll">
        <table className="table table-compact coefficient-table" data-testid="model-terms">
          <caption className="visually-hidden">The model&rsquo;s coefficients, largest absolute value first</caption>
          <thead>
            <tr>
              <th scope="col">Term</th>
              <th scope="col" className="coefficient-bar-head">
                <span className="visually-hidden">Size and sign</span>
              </th>
              <th scope="col" className="number">
                Per SD / level
              </th>
              <th scope="col" className="number">
                Per unit
              </th>
            </tr>
          </thead>
          <tbody>
            {terms.map((term) => (
              <tr key={term.term} data-testid="model-term" data-term={term.term} data-coefficient={term.coefficient}>
                <th scope="row">
                  <code className="coefficient-term" title={term.term}>
                    {term.term}
                  </code>
                </th>
                <td className="coefficient-bar-cell">
                  <CoefficientBar share={term.share} negative={term.coefficient < 0} />
                </td>
                <td className="number" data-testid="model-term-coefficient" title={String(term.coefficient)}>
                  {formatCoefficient(term.coefficient)}
                </td>
                <td className="number muted" title={term.perUnit === null ? undefined : String(term.perUnit)}>
                  {term.perUnit === null ? '—' : formatCoefficient(term.perUnit)}
                </td>
              </tr>
            ))}
            <tr className="coefficient-intercept" data-testid="model-intercept">
              <th scope="row">
                <span className="muted">Intercept</span>
              </th>
              <td />
              <td className="number" title={String(model.intercept)}>
                {formatCoefficient(model.intercept)}
              </td>
              <td className="number muted">—</td>
            </tr>
          </tbody>
        </table>
      </div>
      <ReferenceLevels model={model} />
    </div>
  );
}

/** A bar from the middle: right for a positive coefficient, left for a negative one. */
function CoefficientBar({ share, negative }: { share: number; negative: boolean }) {
  const half = 40;
  const length = Math.max(share > 0 ? 1 : 0, share * half);
  return (
    <svg className="coefficient-bar" width={2 * half} height={12} viewBox={`0 0 ${2 * half} 12`} aria-hidden="true">
      <line className="coefficient-axis" x1={half} x2={half} y1={0} y2={12} />
      <rect className={negative ? 'coefficient-negative' : 'coefficient-positive'} x={negative ? half - length : half} y={2} width={length} height={8} rx={2} />
    </svg>
  );
}

function ReferenceLevels({ model }: { model: ModelDocument }) {
  const categorical = model.features.filter((feature) => feature.kind === 'categorical');
  if (categorical.length === 0) return null;
  return (
    <p className="muted small" data-testid="model-references">
      Reference levels (coefficient 0):{' '}
      {categorical.map((feature, index) => (
        <span key={feature.name}>
          {index > 0 && ', '}
          <code>
            {feature.name}={feature.reference}
          </code>
        </span>
      ))}
      .
    </p>
  );
}
