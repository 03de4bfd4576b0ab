// How notebooks, snapshots and approvals read on screen: approval states, the approval matrix's
// key cells, markdown as plain blocks, the starter text of a new notebook and the approve form's
// checks. Pure (no DOM) so node:test checks it.
import { type ApprovalStatus, type approvalStates, type SnapshotSummary } from '../../shared/approval-status.js';
import { defaultApprovalDays, defaultApprovalRuns } from '../../shared/approval.js';
import { type AssetView } from '../../shared/asset.js';
import { wholeNumber } from './formChecks.js';
import { type Tone } from './rooms.js';

export type ApprovalState = (typeof approvalStates)[number];
export type ApprovalRow = ApprovalStatus['members'][number];

export const approvalStateInfo: Record<ApprovalState, { readonly label: string; readonly tone: Tone; readonly explanation: string }> = {
  author: { label: 'Author', tone: 'accent', explanation: 'Wrote this snapshot: adding it counts as their approval.' },
  approved: { label: 'Approved', tone: 'good', explanation: 'Approved this exact code for this runner.' },
  missing: { label: 'Not yet', tone: 'warning', explanation: 'Has not approved this snapshot.' },
  expired: { label: 'Expired', tone: 'danger', explanation: 'Approved, but the approval has expired: it releases nothing now.' },
  revoked: { label: 'Revoked', tone: 'danger', explanation: 'Withdrew their approval: it releases nothing now.' },
  'used-up': { label: 'Runs used up', tone: 'neutral', explanation: 'Approved, and every run it allowed has happened.' },
};

/** "1 of 2 approved" (the author counts: adding the snapshot is their approval). */
export function approvalsLabel(summary: Pick<SnapshotSummary, 'approvedCount' | 'memberCount'>): string {
  return `${summary.approvedCount} of ${summary.memberCount} approved`;
}

/**
 * One cell of the matrix's key columns: whether this member's key for this asset is released,
 * or that the asset is not theirs (only its owner can release its key).
 */
export type KeyCell = 'released' | 'withheld' | 'not-theirs';

export function keyCell(row: Pick<ApprovalRow, 'keys'>, assetName: string): KeyCell {
  const key = row.keys.find((candidate) => candidate.asset === assetName);
  if (key === undefined) return 'not-theirs';
  return key.released ? 'released' : 'withheld';
}

/** Whether this member may approve now (again, after a revocation, expiry or used-up runs). */
export function canApprove(row: Pick<ApprovalRow, 'state' | 'keys'>): boolean {
  if (row.state === 'approved') return false;
  // The author's adding is their approval; they approve only to release keys still withheld.
  if (row.state === 'author') return row.keys.some((key) => !key.released);
  return true;
}

export type MarkdownBlock =
  | { readonly kind: 'heading'; readonly level: 1 | 2 | 3; readonly text: string }
  | { readonly kind: 'paragraph'; readonly text: string }
  | { readonly kind: 'list'; readonly items: readonly string[] };

/**
 * A markdown cell as plain blocks: headings, paragraphs and bullet lists, as text (never HTML).
 * In the SQL percent format each markdown line is a comment ("-- text"): the prefix is dropped.
 */
export function markdownBlocks(source: string): MarkdownBlock[] {
  const lines = source.split(/\r?\n/u);
  const commented = lines.filter((line) => line.trim() !== '').every((line) => /^\s*--/u.test(line));
  const text = commented ? lines.map((line) => line.replace(/^\s*--\s?/u, '')) : lines;

  const blocks: MarkdownBlock[] = [];
  let paragraph: string[] = [];
  let list: string[] = [];
  const flush = () => {
    if (paragraph.length > 0) blocks.push({ kind: 'paragraph', text: paragraph.join(' ') });
    if (list.length > 0) blocks.push({ kind: 'list', items: list });
    paragraph = [];
    list = [];
  };
  for (const raw of text) {
    const line = raw.trim();
    const heading = /^(#{1,6})\s+(.*)$/u.exec(line);
    const bullet = /^[-*+]\s+(.*)$/u.exec(line);
    if (line === '') {
      flush();
    } else if (heading !== null) {
      flush();
      const level = Math.min(3, (heading[1] as string).length) as 1 | 2 | 3;
      blocks.push({ kind: 'heading', level, text: heading[2] as string });
    } else if (bullet !== null) {
      if (paragraph.length > 0) flush();
      list.push(bullet[1] as string);
    } else {
      if (list.length > 0) flush();
      paragraph.push(line);
    }
  }
  flush();
  return blocks;
}

/** What a new notebook's editor starts with: the format's markers, over the room's own tables. */
export function starterNotebook(tables: readonly Pick<AssetView, 'name' | 'kind'>[]): string {
  const first = tables.find((asset) => asset.kind === 'table')?.name ?? 'my_table';
  return [
    '-- %% [markdown]',
    '-- # What this notebook answers',
    '-- Explain it in a sentence or two for the members who will approve it.',
    '',
    '-- %% output=summary',
    'SELECT count(*) AS row_count',
    `FROM ${first}`,
    '',
  ].join('\n');
}

/** Why a snapshot name would be refused; null when it is fine. */
export function notebookNameProblem(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed === '') return 'Enter a name for the notebook.';
  if (trimmed.length > 100) return 'Use at most 100 characters.';
  return null;
}

/** The approve form as typed: numbers stay text, so a half-typed value is not lost. */
export interface ApproveInput {
  readonly expiresDays: string;
  readonly runs: string;
}

export const defaultApproveInput: ApproveInput = { expiresDays: String(defaultApprovalDays), runs: String(defaultApprovalRuns) };

export type ApproveCheck =
  | { readonly ok: true; readonly expiresDays: number; readonly runs: number }
  | { readonly ok: false; readonly problems: Partial<Record<keyof ApproveInput, string>> };

/** Checks the approve form with the limits of approval.grant. */
export function checkApprove(input: ApproveInput): ApproveCheck {
  const expiresDays = wholeNumber(input.expiresDays, 1, 365);
  const runs = wholeNumber(input.runs, 1, 1000);
  if (typeof expiresDays === 'string' || typeof runs === 'string') {
    return {
      ok: false,
      problems: {
        ...(typeof expiresDays === 'string' ? { expiresDays } : {}),
        ...(typeof runs === 'string' ? { runs } : {}),
      },
    };
  }
  return { ok: true, expiresDays, runs };
}

/** "1 run", "3 runs" */
export function runsLabel(runs: number): string {
  return runs === 1 ? '1 run' : `${runs} runs`;
}
