// How tables and volumes read on screen: column roles, names, paths and import progress. Pure (no
// DOM) so node:test checks it; the rules come from shared/asset.ts, which core enforces too.
import { type AssetView, assetNameSchema, type ColumnRole, columnRoles, type JobView } from '../../shared/asset.js';
import { sentence } from './formChecks.js';

export interface RoleInfo {
  readonly label: string;
  /** One line: what the policy lets notebooks do with such a column. */
  readonly explanation: string;
}

export const columnRoleInfo: Record<ColumnRole, RoleInfo> = {
  privacy_unit: {
    label: 'Privacy unit',
    explanation: 'The person or entity a row is about. Counted so small groups are suppressed; never output.',
  },
  join_key: { label: 'Join key', explanation: 'Links rows to other tables. Used in joins only; never output or grouped on.' },
  dimension: { label: 'Dimension', explanation: 'A category to group and filter by, such as age band or plan. May appear in outputs.' },
  measure: { label: 'Measure', explanation: 'A number to aggregate: counts, sums, averages. Never output row by row.' },
  hidden: { label: 'Hidden', explanation: 'Not usable by any notebook. Stored encrypted with the rest.' },
};

/** The roles in the order the pickers list them. */
export const roleOrder: readonly ColumnRole[] = columnRoles;

/** Why a table or volume name would be refused, as a sentence; null when it is fine. */
export function assetNameProblem(name: string): string | null {
  if (name === '') return 'Enter a name: notebooks refer to it in SQL.';
  const checked = assetNameSchema.check(name, 'name');
  if (checked.ok) return null;
  if (name.length > 63) return 'Use at most 63 characters.';
  return sentence(checked.issue.message);
}

/** The rule a name must follow, shown under the field while the person types. */
export const assetNameRule = 'Lower-case letters, digits and _, starting with a letter or _. Notebooks use it in SQL, unquoted.';

/** The last part of a path, whichever separator this machine uses. */
export function baseName(path: string): string {
  const parts = path.trim().split(/[\\/]/u);
  return parts[parts.length - 1] ?? '';
}

/** A name to start from, made from the file's name: "Admissions 2025.csv" → "admissions_2025". */
export function assetNameFromPath(path: string): string {
  const file = baseName(path).replace(/(\.(csv|tsv|txt|parquet|json|ndjson|jsonl|gz|zst))+$/giu, '');
  let name = file
    .toLowerCase()
    .replace(/[^a-z0-9_]+/gu, '_')
    .replace(/_+/gu, '_')
    .replace(/^_|_$/gu, '');
  if (name === '') return '';
  if (/^[0-9]/u.test(name)) name = `t_${name}`;
  return name.slice(0, 63).replace(/_$/u, '');
}

/** Why a source path cannot be tried; null when core should look at it. */
export function sourcePathProblem(path: string, what: 'table' | 'volume'): string | null {
  const trimmed = path.trim();
  if (trimmed === '') {
    return what === 'table'
      ? 'Enter the path of a CSV, Parquet or JSON file on this machine.'
      : 'Enter the path of a file or folder on this machine.';
  }
  if (trimmed.length > 4096) return 'That path is too long.';
  return null;
}

export interface Progress {
  /** 0–100, or null while the total is unknown (an indeterminate bar). */
  readonly percent: number | null;
  /** "Encrypting… 412 MB of 1.0 GB · 40%" */
  readonly label: string;
}

/** What a progress bar shows for an import job. */
export function jobProgress(job: Pick<JobView, 'state' | 'message' | 'done' | 'total'>): Progress {
  if (job.state === 'done') return { percent: 100, label: job.message !== '' ? job.message : 'Done' };
  const message = job.message !== '' ? job.message : job.state === 'failed' ? 'Stopped' : 'Working…';
  if (job.total === null || job.total <= 0) return { percent: null, label: message };
  const percent = Math.max(0, Math.min(100, Math.floor((job.done / job.total) * 100)));
  // A running job never claims 100%: the last step (signing, renaming) is still to come.
  const shown = job.state === 'running' ? Math.min(percent, 99) : percent;
  return { percent: shown, label: `${message} · ${shown}%` };
}

/** "1 row", "12,480 rows" */
export function formatRowCount(rows: number): string {
  return rows === 1 ? '1 row' : `${new Intl.NumberFormat('en-US').format(rows)} rows`;
}

/** The first twelve hex digits, enough to tell hashes apart at a glance; the full one is copyable. */
export function shortHash(hash: string): string {
  return hash.length > 12 ? `${hash.slice(0, 12)}…` : hash;
}

/** Tables first, then volumes; each by name, then owner. */
export function sortAssets(assets: readonly AssetView[]): AssetView[] {
  return [...assets].sort((a, b) => {
    if (a.kind !== b.kind) return a.kind === 'table' ? -1 : 1;
    if (a.name !== b.name) return a.name < b.name ? -1 : 1;
    return a.owner.localeCompare(b.owner);
  });
}

/** "1 column", "5 columns" */
export function columnsSummary(asset: Pick<AssetView, 'columns'>): string {
  const count = asset.columns.length;
  return count === 1 ? '1 column' : `${count} columns`;
}
