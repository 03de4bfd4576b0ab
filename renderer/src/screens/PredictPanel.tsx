// Scoring a local file with a model output: a CSV, Parquet or JSON file on this machine (its path,
// or in the browser shell a picked or dropped file staged in RAM, the same way a table is added)
// gets a prediction column; the first rows show here and the whole scored CSV downloads. The file
// is read on this machine only: scoring sends nothing to anyone.
import { type FormEvent, useMemo, useRef, useState } from 'react';
import { type Prediction } from '../../../shared/contract.js';
import { type ModelDocument, scoredFileName } from '../../../shared/model.js';
import { type OutputView } from '../../../shared/run.js';
import { useApi } from '../ApiContext.js';
import { sourcePathProblem } from '../assets.js';
import { Button } from '../components/Button.js';
import { DataTable } from '../components/DataTable.js';
import { Icon } from '../components/Icon.js';
import { ErrorNotice, Notice } from '../components/Notice.js';
import { noSourceFile, SourcePathField, useSourceFile } from '../components/SourcePathField.js';
import { saveFile } from '../download.js';
import { listNames } from '../format.js';
import { csvPreview, predictionSummary } from '../model.js';
import { useAction } from '../useAction.js';

/** Rows of the scored file shown in the page; the download has them all. */
export const predictionPreviewRows = 200;

interface Scored {
  readonly prediction: Prediction;
  /** The name the download gets, from the scored file's own name. */
  readonly fileName: string;
}

export function PredictPanel({ roomId, output, model }: { roomId: string; output: OutputView; model: ModelDocument }) {
  const api = useApi();
  const predict = useAction(api['model.predict']);
  const { source, setSource, handOver } = useSourceFile();
  const [uploading, setUploading] = useState(false);
  const [pathError, setPathError] = useState<string | null>(null);
  const [scored, setScored] = useState<Scored | null>(null);
  const pathRef = useRef<HTMLInputElement>(null);
  const features = model.features.map((feature) => feature.name);

  const onScore = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (predict.busy || uploading) return;
    const problem = sourcePathProblem(source.path, 'table');
    setPathError(problem);
    if (problem !== null) {
      pathRef.current?.focus();
      return;
    }
    setScored(null);
    const fileName = scoredFileName(source.uploaded?.name ?? source.path.trim());
    // Core removes an uploaded copy once scoring ends, whatever the outcome: the field lets go of
    // it, so a second Score asks for the file again instead of pointing at one that is gone.
    if (source.uploaded !== null) handOver();
    const result = await predict.run({ room: roomId, model: output.id, source: source.path.trim() });
    if (source.uploaded !== null) setSource(noSourceFile);
    if (result.ok) setScored({ prediction: result.value, fileName });
  };

  return (
    <section className="model-predict" aria-labelledby="model-predict-title" data-testid="model-predict" data-state={scored !== null ? 'scored' : predict.busy ? 'scoring' : 'idle'}>
      <h4 className="model-section-title" id="model-predict-title">
        Score a file
      </h4>
      <p className="muted small">
        Adds a <code>prediction</code> column{model.algorithm === 'logistic' && <> (the probability) and a <code>predicted_label</code></>} to each row
        of a file on this machine. It needs a column for each feature: {listNames(features.map((feature) => `“${feature}”`))}. Nothing is sent to
        anyone.
      </p>
      <form className="form form-compact" onSubmit={(event) => void onScore(event)} noValidate data-testid="predict-form">
        <SourcePathField
          ref={pathRef}
          label="File to score"
          task="scoring"
          what="a CSV, Parquet or JSON file"
          accept=".csv,.tsv,.txt,.parquet,.json,.ndjson,.jsonl"
          placeholder="/home/me/data/new-patients.csv"
          source={source}
          readOnly={predict.busy}
          onChange={(next) => {
            setSource(next);
            setPathError(null);
            setScored(null);
            predict.clearError();
          }}
          onUploadingChange={setUploading}
          error={pathError}
          testId="predict-source"
        />
        <ErrorNotice error={predict.error} title="The file was not scored" testId="predict-error" />
        <div className="form-actions">
          <Button
            type="submit"
            variant="primary"
            icon={<Icon name="play" />}
            busy={predict.busy || uploading}
            busyLabel={uploading ? 'Uploading…' : 'Scoring…'}
            data-testid="predict-submit"
          >
            Score
          </Button>
        </div>
      </form>
      {scored !== null && <ScoredFile scored={scored} />}
    </section>
  );
}

function ScoredFile({ scored }: { scored: Scored }) {
  const { prediction, fileName } = scored;
  const csv = prediction.csv ?? '';
  const preview = useMemo(() => csvPreview(csv, predictionPreviewRows), [csv]);
  const rowAt = (index: number) => preview.rows[index];
  const [saved, setSaved] = useState(false);
  return (
    <div className="stack" data-testid="predict-result" data-rows={prediction.rows} data-scored={prediction.scored}>
      <Notice tone="success" title="Scored" testId="predict-summary">
        {predictionSummary(prediction)}
        {prediction.rows > preview.rows.length && ` The first ${preview.rows.length} are shown; the download has every row.`}
      </Notice>
      {preview.rows.length > 0 && (
        <DataTable
          label={`Scored rows of ${fileName}`}
          columns={preview.columns}
          rowCount={preview.rows.length}
          rowAt={rowAt}
          onWantRows={noFetch}
          sampleRows={preview.rows}
          maxHeight={320}
          testId="predict-table"
        />
      )}
      <div className="form-actions">
        <Button
          icon={<Icon name="download" size={14} />}
          onClick={() => {
            saveFile(fileName, csv);
            setSaved(true);
          }}
          disabled={prediction.csv === null}
          data-testid="predict-download"
        >
          Download CSV
        </Button>
        {saved && (
          <span className="muted small" data-testid="predict-downloaded">
            Saved as <code>{fileName}</code>
          </span>
        )}
      </div>
    </div>
  );
}

/** Every previewed row is already here. */
const noFetch = (): void => undefined;
