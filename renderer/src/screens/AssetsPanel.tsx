// A room's tables and volumes. Yours show what you shared about them; the others' show exactly
// what their owners shared: name, columns with types and roles, and a row count only if the owner
// chose to. Rows are never shown here, and a private volume shows only its hash.
import { useState } from 'react';
import { type AssetView } from '../../../shared/asset.js';
import { type RoomDetail } from '../../../shared/room.js';
import { columnsSummary, formatRowCount, shortHash, sortAssets } from '../assets.js';
import { Badge } from '../components/Badge.js';
import { Button } from '../components/Button.js';
import { CopyButton } from '../components/CopyButton.js';
import { EmptyState } from '../components/EmptyState.js';
import { Icon } from '../components/Icon.js';
import { LoadFailed, LoadingLine } from '../components/Loading.js';
import { RoleBadge, RoleLegend } from '../components/RoleBadge.js';
import { formatByteSize, formatDate, listNames } from '../format.js';
import { packetRecipients } from '../rooms.js';
import { type Loader } from '../useLoaded.js';
import { AddTableForm } from './AddTableForm.js';
import { AddVolumeForm } from './AddVolumeForm.js';
import { PacketPrompt } from './PacketPrompt.js';

export interface AssetsPanelProps {
  readonly room: RoomDetail;
  readonly assets: Loader<{ assets: AssetView[] }>;
}

type Adding = 'table' | 'volume' | null;

export function AssetsPanel({ room, assets }: AssetsPanelProps) {
  const [adding, setAdding] = useState<Adding>(null);
  const [added, setAdded] = useState<AssetView | null>(null);
  const { summary } = room;
  const canAdd = summary.status === 'active' && summary.myStatus === 'joined';
  const others = listNames(packetRecipients(room).map((member) => member.alias)) || 'the other members';

  const onAdded = (asset: AssetView) => {
    setAdding(null);
    setAdded(asset);
    assets.reload();
  };
  const startAdding = (kind: Exclude<Adding, null>) => {
    setAdded(null);
    setAdding(kind);
  };

  return (
    <div className="stack-cards" data-testid="assets-panel">
      <div className="panel-header">
        <p className="muted panel-intro">
          Tables and volumes stay encrypted on their owner&rsquo;s machine. Everyone sees each table&rsquo;s columns, types and roles;
          no one sees another member&rsquo;s rows.
        </p>
        {canAdd && adding === null && (
          <div className="panel-actions">
            <Button icon={<Icon name="folder" />} onClick={() => startAdding('volume')} data-testid="add-volume-button">
              Add volume
            </Button>
            <Button variant="primary" icon={<Icon name="plus" />} onClick={() => startAdding('table')} data-testid="add-table-button">
              Add table
            </Button>
          </div>
        )}
      </div>
      {!canAdd && summary.myStatus === 'joined' && (
        <p className="muted small" data-testid="assets-not-yet">
          You can add tables and volumes once every member has joined.
        </p>
      )}

      {adding === 'table' && <AddTableForm roomId={summary.id} onAdded={onAdded} onCancel={() => setAdding(null)} />}
      {adding === 'volume' && <AddVolumeForm roomId={summary.id} onAdded={onAdded} onCancel={() => setAdding(null)} />}
      {added !== null && (
        <PacketPrompt room={room} title={`Next step: send ${added.name} to the room`} testId="asset-next-step" focusKey={added.id}>
          <strong>{added.name}</strong> is encrypted and in the room on this machine. Write a packet and carry it to {others}: they see
          its {added.kind === 'table' ? 'columns and types' : 'hash'} once they import it.
        </PacketPrompt>
      )}

      {/* While a form is open, "nothing yet" would only repeat what the form is for. */}
      <AssetList assets={assets} showEmpty={adding === null} />
    </div>
  );
}

function AssetList({ assets, showEmpty }: { assets: Loader<{ assets: AssetView[] }>; showEmpty: boolean }) {
  const { loaded, reload } = assets;
  if (loaded.state === 'loading') return <LoadingLine testId="assets-loading">Loading the room&rsquo;s tables and volumes…</LoadingLine>;
  if (loaded.state === 'failed') {
    return <LoadFailed title="The tables and volumes could not be listed" message={loaded.error.message} testId="assets-error" onRetry={reload} />;
  }
  const list = sortAssets(loaded.value.assets);
  if (list.length === 0) {
    if (!showEmpty) return null;
    return (
      <EmptyState icon="table" title="No tables or volumes yet" testId="assets-empty">
        <p>
          Add a table from a CSV, Parquet or JSON file on this machine. Its rows are encrypted here; the others see only its columns and
          types, once you send them a packet.
        </p>
      </EmptyState>
    );
  }
  return (
    <>
      <ul className="asset-list" data-testid="asset-list">
        {list.map((asset) => (
          <li key={asset.id}>
            <AssetCard asset={asset} />
          </li>
        ))}
      </ul>
      {list.some((asset) => asset.kind === 'table') && (
        <details className="disclosure">
          <summary>What the column roles mean</summary>
          <RoleLegend />
        </details>
      )}
    </>
  );
}

function AssetCard({ asset }: { asset: AssetView }) {
  const titleId = `asset-${asset.id}-title`;
  return (
    <article
      className="card card-flush asset"
      aria-labelledby={titleId}
      data-testid="asset"
      data-name={asset.name}
      data-kind={asset.kind}
      data-owner={asset.owner}
      data-mine={asset.mine}
    >
      <header className="asset-header">
        <span className={`asset-icon asset-icon-${asset.kind}`} aria-hidden="true">
          <Icon name={asset.kind === 'table' ? 'table' : 'folder'} size={18} />
        </span>
        <div className="asset-heading">
          <h3 className="asset-name" id={titleId}>
            <code data-testid="asset-name">{asset.name}</code>
            <Badge tone="neutral" testId="asset-kind">
              {asset.kind === 'table' ? 'Table' : asset.private ? 'Private volume' : 'Volume'}
            </Badge>
            {asset.mine && (
              <span className="tag" data-testid="asset-yours">
                yours
              </span>
            )}
          </h3>
          <p className="asset-meta">
            <span data-testid="asset-owner">{asset.mine ? 'Added by you' : `Owned by ${asset.owner}`}</span>
            <span aria-hidden="true"> · </span>
            <span>{formatDate(asset.createdAt)}</span>
            {asset.kind === 'table' && (
              <>
                <span aria-hidden="true"> · </span>
                <span>{columnsSummary(asset)}</span>
                <span aria-hidden="true"> · </span>
                <span data-testid="asset-row-count">{asset.rowCount !== null ? formatRowCount(asset.rowCount) : 'row count not shared'}</span>
              </>
            )}
          </p>
        </div>
        <div className="asset-hash">
          <span className="asset-hash-label">Payload</span>
          <code className="identifier identifier-small" title={asset.payloadHash} data-testid="asset-payload-hash">
            {shortHash(asset.payloadHash)}
          </code>
          <span className="asset-hash-size">{formatByteSize(asset.payloadSize)} encrypted</span>
          <CopyButton text={asset.payloadHash} label={`payload hash of ${asset.name}`} />
        </div>
      </header>
      {asset.kind === 'table' ? <ColumnTable asset={asset} /> : <VolumeBody asset={asset} />}
      {!asset.mine && asset.kind === 'table' && (
        <p className="asset-footnote">
          <Icon name="lock" size={13} /> The rows stay encrypted with {asset.owner}. Notebooks may use them only after {asset.owner}{' '}
          approves the exact code.
        </p>
      )}
    </article>
  );
}

function ColumnTable({ asset }: { asset: AssetView }) {
  return (
    <table className="table table-in-card column-table" data-testid="asset-columns">
      <caption className="visually-hidden">Columns of {asset.name}, with their types and roles</caption>
      <thead>
        <tr>
          <th scope="col">Column</th>
          <th scope="col">Type</th>
          <th scope="col">Role</th>
        </tr>
      </thead>
      <tbody>
        {asset.columns.map((column) => (
          <tr key={column.name} data-testid="asset-column" data-column={column.name} data-type={column.type} data-role={column.role}>
            <th scope="row">
              <code className="column-name">{column.name}</code>
            </th>
            <td>
              <code className="column-type">{column.type}</code>
            </td>
            <td>
              <RoleBadge role={column.role} testId="asset-column-role" />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function VolumeBody({ asset }: { asset: AssetView }) {
  if (asset.private) {
    return (
      <p className="card-body asset-private" data-testid="asset-private">
        <Icon name="eyeOff" size={15} />{' '}
        {asset.mine
          ? 'Private: notebooks the members approve can use it, but no one else sees its content or file names, only its hash.'
          : `Private to ${asset.owner}: approved code can use it, but its content and file names are never shown, only its hash.`}
      </p>
    );
  }
  if (asset.files.length === 0) return <p className="card-body muted">No files.</p>;
  return (
    <table className="table table-in-card" data-testid="asset-files">
      <caption className="visually-hidden">Files in {asset.name}</caption>
      <thead>
        <tr>
          <th scope="col">File</th>
          <th scope="col">Size</th>
        </tr>
      </thead>
      <tbody>
        {asset.files.map((file) => (
          <tr key={file.path}>
            <th scope="row">
              <code className="wrap-anywhere">{file.path}</code>
            </th>
            <td className="muted">{formatByteSize(file.size)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
