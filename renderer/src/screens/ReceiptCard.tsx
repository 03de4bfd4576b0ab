// A run's signed receipt: what it claims (the snapshot, how many approvals it used, the inputs by
// payload hash, the policy and engine, the outputs with their hashes, the times), a Verify button
// that has core check it against the room's keys and the outputs this home holds, line by line,
// and the receipt file to save and pass on.
import { useCallback, useState } from 'react';
import { type AssetView } from '../../../shared/asset.js';
import { type ReceiptCheck, type RunView } from '../../../shared/run.js';
import { useApi } from '../ApiContext.js';
import { shortHash } from '../assets.js';
import { Button } from '../components/Button.js';
import { CopyButton } from '../components/CopyButton.js';
import { Icon } from '../components/Icon.js';
import { LoadFailed, LoadingLine } from '../components/Loading.js';
import { ErrorNotice, Notice } from '../components/Notice.js';
import { saveFile } from '../download.js';
import { formatDateTime } from '../format.js';
import { readReceipt, receiptEngineLabel, receiptPolicyLabel, suppressedLabel } from '../runs.js';
import { useAction } from '../useAction.js';
import { useLoaded } from '../useLoaded.js';

export interface ReceiptCardProps {
  readonly roomId: string;
  readonly run: RunView;
  /** The room's assets, to name the inputs. */
  readonly assets: readonly AssetView[];
}

export function ReceiptCard({ roomId, run, assets }: ReceiptCardProps) {
  const api = useApi();
  const file = useLoaded(useCallback(() => api['run.receipt']({ room: roomId, run: run.id }), [api, roomId, run.id]));
  const verify = useAction(api['receipt.verify']);
  const [check, setCheck] = useState<ReceiptCheck | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const header = (
    <div className="card-header">
      <h3 className="card-title" id="receipt-title">
        <Icon name="receipt" size={16} /> Receipt
      </h3>
      <span className="muted card-header-note">Signed by {run.runner}; anyone in the room can check it offline</span>
    </div>
  );
  if (file.loaded.state !== 'ready') {
    return (
      <section className="card" aria-labelledby="receipt-title" data-testid="receipt-card" data-state={file.loaded.state}>
        {header}
        {file.loaded.state === 'loading' ? (
          <LoadingLine>Loading the receipt…</LoadingLine>
        ) : (
          <LoadFailed title="The receipt could not be loaded" message={file.loaded.error.message} testId="receipt-error" onRetry={file.reload} buttonSize="small" />
        )}
      </section>
    );
  }

  const { receipt: text, fileName } = file.loaded.value;
  const receipt = readReceipt(text);
  const assetName = (id: string) => assets.find((asset) => asset.id === id)?.name ?? null;

  const onVerify = async () => {
    if (verify.busy) return;
    setCheck(null);
    const result = await verify.run({ receipt: text });
    if (result.ok) setCheck(result.value);
  };
  const onSave = () => {
    saveFile(fileName, text);
    setSaved(fileName);
  };

  return (
    <section className="card" aria-labelledby="receipt-title" data-testid="receipt-card" data-state="ready">
      {header}
      {receipt === null ? (
        <Notice tone="warning" title="This receipt cannot be read here" testId="receipt-unreadable">
          Verify it to see why, or save it and check it with <code>cleanroom receipt verify</code>.
        </Notice>
      ) : (
        <dl className="receipt-facts">
          <div>
            <dt>Snapshot</dt>
            <dd className="stat-with-action">
              <code className="identifier identifier-small" title={receipt.snapshot} data-testid="receipt-snapshot">
                {shortHash(receipt.snapshot)}
              </code>
              <CopyButton text={receipt.snapshot} label="snapshot id" testId="copy-receipt-snapshot" />
            </dd>
          </div>
          <div>
            <dt>Approvals used</dt>
            <dd data-testid="receipt-approvals" data-count={receipt.approvals.length}>
              {receipt.approvals.length}
            </dd>
          </div>
          <div>
            <dt>Policy</dt>
            <dd data-testid="receipt-policy">{receiptPolicyLabel(receipt.policy)}</dd>
          </div>
          <div>
            <dt>Engine</dt>
            <dd data-testid="receipt-engine">{receiptEngineLabel(receipt.engine)}</dd>
          </div>
          <div>
            <dt>Status</dt>
            <dd data-testid="receipt-status">
              {receipt.status}
              {receipt.failure !== null && (
                <>
                  {' '}
                  ({receipt.failure.class}
                  {receipt.failure.cell !== null && <>, cell {receipt.failure.cell}</>})
                </>
              )}
            </dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>
              <time dateTime={receipt.startedAt} data-testid="receipt-started">
                {formatDateTime(receipt.startedAt)}
              </time>
            </dd>
          </div>
          <div>
            <dt>Finished</dt>
            <dd>
              <time dateTime={receipt.finishedAt} data-testid="receipt-finished">
                {formatDateTime(receipt.finishedAt)}
              </time>
            </dd>
          </div>
          <div className="receipt-facts-wide">
            <dt>Inputs</dt>
            <dd>
              <ul className="plain-list receipt-list">
                {receipt.inputs.map((input) => (
                  <li key={input.asset} data-testid="receipt-input" data-asset={assetName(input.asset) ?? input.asset}>
                    <code>{assetName(input.asset) ?? shortHash(input.asset)}</code>{' '}
                    <span className="muted small">
                      payload{' '}
                      <code className="identifier identifier-small" title={input.payloadHash}>
                        {shortHash(input.payloadHash)}
                      </code>
                    </span>
                  </li>
                ))}
              </ul>
            </dd>
          </div>
          <div className="receipt-facts-wide">
            <dt>Outputs</dt>
            <dd>
              {receipt.outputs.length === 0 ? (
                <span className="muted">None</span>
              ) : (
                <ul className="plain-list receipt-list">
                  {receipt.outputs.map((output) => (
                    <li key={output.name} data-testid="receipt-output" data-name={output.name} data-hash={output.hash}>
                      <code>{output.name}</code>{' '}
                      <span className="muted small">
                        {output.rows} rows, {suppressedLabel(output.suppressedRows)} · hash{' '}
                        <code className="identifier identifier-small" title={output.hash}>
                          {shortHash(output.hash)}
                        </code>
                      </span>
                    </li>
                  ))}
                </ul>
              )}
            </dd>
          </div>
        </dl>
      )}

      <ErrorNotice error={verify.error} title="The receipt could not be checked" testId="receipt-verify-error" />
      {check !== null && <ReceiptVerdict check={check} />}
      {saved !== null && (
        <p className="muted small" data-testid="receipt-saved">
          Saved as <code>{saved}</code>.
        </p>
      )}
      <div className="form-actions">
        <Button variant="primary" icon={<Icon name="shield" />} onClick={() => void onVerify()} busy={verify.busy} busyLabel="Verifying…" data-testid="receipt-verify">
          Verify
        </Button>
        <Button icon={<Icon name="download" />} onClick={onSave} data-testid="receipt-save">
          Save receipt
        </Button>
      </div>
    </section>
  );
}

function ReceiptVerdict({ check }: { check: ReceiptCheck }) {
  const lines = (
    <>
      <ul className="check-lines" data-testid="receipt-check-lines">
        {check.checks.map((line) => (
          <li key={line} data-testid="receipt-check-line">
            <Icon name="check" size={14} /> {line}
          </li>
        ))}
      </ul>
      {check.outputs.length > 0 && (
        <ul className="check-lines">
          {check.outputs.map((output) => (
            <li key={output.name} data-testid="receipt-check-output" data-name={output.name} data-matches={String(output.matches)}>
              <Icon name={output.matches === false ? 'cross' : output.matches === true ? 'check' : 'info'} size={14} /> <code>{output.name}</code>:{' '}
              {output.matches === true
                ? 'the table this home holds has exactly the hash the receipt names'
                : output.matches === false
                  ? 'the table this home holds differs from the receipt'
                  : 'this home does not hold it'}
            </li>
          ))}
        </ul>
      )}
    </>
  );
  if (check.ok) {
    return (
      <Notice tone="success" title="Receipt verified" testId="receipt-verdict">
        <div data-testid="receipt-verdict-state" data-ok="true">
          {lines}
        </div>
      </Notice>
    );
  }
  return (
    <Notice tone="error" title="This receipt does not verify" testId="receipt-verdict">
      <div data-testid="receipt-verdict-state" data-ok="false">
        <p data-testid="receipt-verdict-reason">{check.reason ?? 'One of its checks failed.'}</p>
        {lines}
      </div>
    </Notice>
  );
}
