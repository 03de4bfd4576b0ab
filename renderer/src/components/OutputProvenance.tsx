// The facts every output shows under its name, table or model alike: where it came from, its hash
// (what the receipt signs) and how long this home keeps it. Rendered inside the caller's <dl>.
import { type OutputView } from '../../../shared/run.js';
import { shortHash } from '../assets.js';
import { formatDate, formatDateTime } from '../format.js';
import { CopyButton } from './CopyButton.js';

export function OutputProvenance({ output, what }: { readonly output: OutputView; readonly what: 'output' | 'model' }) {
  return (
    <>
      <div>
        <dt>From</dt>
        <dd>
          {output.snapshotName} · run by {output.runner}
        </dd>
      </div>
      <div>
        <dt>Hash</dt>
        <dd className="stat-with-action">
          <code className="identifier identifier-small" title={output.hash} data-testid="output-hash">
            {shortHash(output.hash)}
          </code>
          <CopyButton text={output.hash} label={`${what} hash`} testId="copy-output-hash" />
        </dd>
      </div>
      <div>
        <dt>Kept until</dt>
        <dd>
          <time dateTime={output.expiresAt} title={formatDateTime(output.expiresAt)}>
            {formatDate(output.expiresAt)}
          </time>
        </dd>
      </div>
    </>
  );
}
