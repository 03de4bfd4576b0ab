// How tables, volumes, notebooks, snapshots and approvals read on a terminal. Pure: values in, lines out.
import { type SnapshotSummary, type SnapshotView } from '../../shared/approval-status.js';
import { type AssetView, type JobView, readableBytes, type TableInspection } from '../../shared/asset.js';
import { type ApiResponse } from '../../shared/contract.js';
import { readableTime, shortId } from './format.js';

const label = (text: string, width = 12): string => text.padEnd(width);

function columnTable(columns: readonly { name: string; type: string; role: string }[]): string[] {
  const nameWidth = Math.max(6, ...columns.map((column) => column.name.length)) + 2;
  const typeWidth = Math.max(4, ...columns.map((column) => column.type.length)) + 2;
  return [
    `    ${'COLUMN'.padEnd(nameWidth)}${'TYPE'.padEnd(typeWidth)}ROLE`,
    ...columns.map((column) => `    ${column.name.padEnd(nameWidth)}${column.type.padEnd(typeWidth)}${column.role}`),
  ];
}

export function inspectionLines(file: string, inspection: TableInspection): string[] {
  return [
    `${file}: ${inspection.format}, ${readableBytes(inspection.size)}, ${inspection.columns.length} columns (suggested roles; nothing was stored):`,
    ...columnTable(inspection.columns.map((column) => ({ name: column.name, type: column.type, role: column.suggestedRole }))),
  ];
}

export function assetLines(asset: AssetView): string[] {
  const owner = asset.mine ? `${asset.owner} (you)` : asset.owner;
  const lines = [
    `${asset.kind === 'table' ? 'Table' : 'Volume'} ${asset.name}  owner ${owner}  id ${shortId(asset.id)}`,
    `    ${label('Payload')}${readableBytes(asset.payloadSize)} encrypted, ${asset.payloadPresent ? 'in this home' : 'not in this home'}; hash ${shortId(asset.payloadHash)}`,
  ];
  if (asset.kind === 'table') {
    if (asset.rowCount !== null) lines.push(`    ${label('Rows')}${asset.rowCount}`);
    lines.push(...columnTable(asset.columns));
  } else if (asset.private) {
    lines.push(`    ${label('Private')}${asset.mine ? 'others can use it in approved code but never see its files' : 'usable by approved code; its files are not shown'}`);
  } else {
    lines.push(`    ${label('Files')}${asset.files.length}`, ...asset.files.slice(0, 50).map((file) => `      ${file.path} (${readableBytes(file.size)})`));
  }
  return lines;
}

export function assetListLines(assets: readonly AssetView[]): string[] {
  if (assets.length === 0) return ['No tables or volumes in this room yet. Add one with `cleanroom table add ROOM --name N --file F`.'];
  return assets.flatMap((asset, index) => [...(index > 0 ? [''] : []), ...assetLines(asset)]);
}

export function progressLine(job: JobView): string {
  const amount = job.total === null ? (job.done > 0 ? ` ${readableBytes(job.done)}` : '') : ` ${readableBytes(job.done)} of ${readableBytes(job.total)}`;
  return job.message === '' ? `Working…${amount}` : `${job.message}${job.message.includes(' of ') ? '' : amount}`;
}

export function checkLines(check: ApiResponse<'notebook.check'>): string[] {
  const lines: string[] = [check.ok ? 'The notebook can be added: every cell reads only tables in this room.' : 'The notebook would be refused:'];
  for (const problem of check.problems) lines.push(`  ${problem}`);
  for (const cell of check.cells) {
    const reads = cell.reads.length === 0 ? '' : ` reads ${cell.reads.join(', ')}`;
    const output = cell.output === '' ? '' : ` → ${cell.output}`;
    lines.push(`  cell ${cell.index + 1} (${cell.kind})${output}${reads}`);
    for (const problem of cell.problems) lines.push(`    ! ${problem}`);
  }
  return lines;
}

export function snapshotListLines(snapshots: readonly SnapshotSummary[]): string[] {
  if (snapshots.length === 0) return ['No notebooks in this room yet. Add one with `cleanroom notebook add ROOM --name N --file F`.'];
  const nameWidth = Math.max(4, ...snapshots.map((snapshot) => snapshot.name.length)) + 2;
  return [
    `${'ID'.padEnd(14)}${'NAME'.padEnd(nameWidth)}${'APPROVED'.padEnd(10)}${'CAN RUN'.padEnd(9)}AUTHOR → RUNNER`,
    ...snapshots.map(
      (snapshot) =>
        `${shortId(snapshot.id).padEnd(14)}${snapshot.name.padEnd(nameWidth)}${`${snapshot.approvedCount}/${snapshot.memberCount}`.padEnd(10)}${(snapshot.canRun ? 'yes' : 'no').padEnd(9)}${snapshot.author} → ${snapshot.runner}`,
    ),
  ];
}

/** The approval matrix: one row per member, then whether it can run and why not. */
export function approvalLines(view: SnapshotView): string[] {
  const { status } = view;
  const width = Math.max(6, ...status.members.map((member) => member.alias.length)) + 2;
  const lines = [`    ${'MEMBER'.padEnd(width)}${'APPROVAL'.padEnd(10)}${'EXPIRES'.padEnd(22)}${'RUNS'.padEnd(6)}KEYS`];
  for (const member of status.members) {
    const keys = member.keys.length === 0 ? '-' : member.keys.map((key) => `${key.asset} ${key.released ? 'released' : 'held'}`).join(', ');
    lines.push(
      `    ${member.alias.padEnd(width)}${member.state.padEnd(10)}${(member.expiresAt === null ? '-' : readableTime(member.expiresAt)).padEnd(22)}${String(member.runsLeft ?? '-').padEnd(6)}${keys}`,
    );
  }
  lines.push(`    ${status.canRun ? `Can run: ${view.runner} may run it now.` : 'Cannot run yet:'}`);
  for (const reason of status.reasons) lines.push(`      - ${reason}`);
  return lines;
}

export function snapshotLines(view: SnapshotView): string[] {
  const lines = [
    `${label('Notebook')}${view.name}`,
    `${label('Snapshot')}${view.id}`,
    `${label('Author')}${view.author}, ${readableTime(view.createdAt)}`,
    `${label('Runner')}${view.runner}`,
    `${label('Recipients')}${view.recipients.join(', ')}`,
  ];
  if (view.assets.length > 0) {
    lines.push(`${label('Reads')}${view.assets.map((asset) => `${asset.name} (${asset.kind}, payload ${shortId(asset.payloadHash)})`).join(', ')}`);
  }
  for (const parameter of view.notebook.parameters) lines.push(`${label('Parameter')}${parameter.name} = ${parameter.value}`);
  lines.push('', 'Approvals:', ...approvalLines(view), '', 'Cells:');
  view.notebook.cells.forEach((cell, index) => {
    const options = cell.options.map((option) => ` ${option.key}=${option.value}`).join('');
    lines.push(`  -- cell ${index + 1}: ${cell.kind}${cell.output === null ? '' : ` output=${cell.output}`}${options}`);
    for (const line of cell.source.replace(/\n+$/, '').split('\n')) lines.push(`  ${line}`);
  });
  return lines;
}
