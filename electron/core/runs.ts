// Runs: an approved snapshot, run by its runner. Core checks everything it can before a key is
// unsealed (runner, approvals: signatures, expiry, revocation, runs left; every input payload's
// hash), records the run (it counts against every approval it used from then on), unseals the keys,
// and hands the worker the job with a private RAM-backed folder. Every end (succeeded, failed,
// cancelled) is signed as a receipt and appended to my feed as run.finished, in the one commit that
// also stores the outputs and the ledger sets; outputs are stored encrypted at rest (outputs.ts).
// A run cut short before that commit (the process died) is interrupted: nothing came out of it, so
// it stops counting, and the next receipt of its snapshot lists it (docs/receipts.md §1). Releasing
// a run's outputs is an output.released entry plus a packet carrying the encrypted tables to the
// snapshot's recipients.
import { existsSync, rmSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { openDataKey } from '../../shared/approval.js';
import { readableBytes } from '../../shared/asset.js';
import { fromBase64Url, randomBytes, toBase64Url, toHex, wipe } from '../../shared/crypto.js';
import { CleanroomError, toApiError } from '../../shared/errors.js';
import { type IdentityPublic } from '../../shared/identity.js';
import {
  maxInterruptedAttempts,
  type Receipt,
  receiptFormat,
  receiptFormatRetried,
  type SignedReceipt,
  encodeReceiptFile,
  receiptFileExtension,
  signReceipt,
  signedReceiptSchema,
  verifyReceipt,
} from '../../shared/receipt.js';
import { decodeCanonical } from '../../shared/canonical.js';
import { feedRunsByApproval, type RoomState, type SnapshotState, snapshotStatus } from '../../shared/room-state.js';
import { type ExportResult } from '../../shared/room.js';
import { defaultMaxOutputRows, type ReceiptCheck, type RunView } from '../../shared/run.js';
import { parse } from '../../shared/validate.js';
import { maxLedgerSets, type RunDifferencing, type RunFailure, type RunResult, type RunTable, type RunVolume } from '../../shared/worker-protocol.js';
import { type Jobs } from './jobs.js';
import { type UnlockedKeys } from './keystore.js';
import { appendLedger, checkReleased, type LedgerSet, ledgerRequest, loadLedger } from './ledger.js';
import { type Notebooks } from './notebooks.js';
import { type Outputs, writeReleasePayload } from './outputs.js';
import { type Packets, slug } from './packets.js';
import { createRamFolder } from './ram-folder.js';
import { type Rooms, type StoredRoom } from './rooms.js';
import { appVersion } from './version.js';
import { recordPayload, verifyPayloadFile, vaultPathFor } from './vault.js';
import { type WorkerHost } from './worker-host.js';

/** A run's time limit unless openCore is given another. */
export const defaultRunTimeoutMs = 30 * 60 * 1000;

export interface RunsOptions {
  readonly timeoutMs?: number;
  /** DuckDB memory_limit for runs, e.g. `2GB`; the worker's own limit when absent. */
  readonly memoryLimit?: string;
  readonly maxOutputRows?: number;
}

interface RunRow {
  id: string;
  room: string;
  snapshot: string;
  status: RunView['status'];
  started_at: string;
  finished_at: string | null;
  failure: string | null;
  receipt: string | null;
  listed_in: string | null;
}

type Failure = NonNullable<RunView['failure']>;

/** How a run ended, before it is signed. */
interface RunEnd {
  readonly status: 'succeeded' | 'failed' | 'cancelled';
  readonly outputs: RunResult['outputs'];
  readonly failure: Failure | null;
  /** What the job reports when the run did not succeed. */
  readonly error: CleanroomError | null;
  /** Differencing ledger: the sets the worker released, stored with the outputs. */
  readonly released?: readonly LedgerSet[];
}

const shortId = (id: string): string => id.slice(0, 8);
const byKey = <T>(keyOf: (item: T) => string) => (a: T, b: T): number => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);

/**
 * SQL condition on `runs AS r`: an interrupted attempt nothing came out of. Outputs, ledger sets and
 * the receipt are committed together with the run's end, so an interrupted run has none of them;
 * they are checked all the same, since a value that left the worker must always count.
 */
const freeAttempt = `r.status = 'interrupted' AND r.receipt IS NULL
  AND NOT EXISTS (SELECT 1 FROM outputs o WHERE o.run = r.id)
  AND NOT EXISTS (SELECT 1 FROM ledger_runs l WHERE l.run = r.id)`;

/**
 * Runs used per approval: for each approval.granted id, the larger of this home's own runs that
 * used it (counted from the moment they started, except interrupted attempts nothing came out of)
 * and the run.finished entries listing it. Other homes count only run.finished entries, and an
 * interrupted attempt has none, so every home counts the same.
 */
export function runsUsedCounter(db: Database.Database): (state: RoomState) => (approvalId: string) => number {
  const local = db.prepare(`SELECT count(*) AS n FROM run_approvals ra JOIN runs r ON r.id = ra.run WHERE ra.approval = ? AND NOT (${freeAttempt})`);
  return (state) => {
    const feed = feedRunsByApproval(state);
    return (approvalId) => Math.max((local.get(approvalId) as { n: number }).n, feed.get(approvalId) ?? 0);
  };
}

/** How a snapshot's asset is named in messages: its libraries are volumes, but people know them as libraries. */
const what = (ref: { readonly kind: 'table' | 'volume'; readonly name: string }): string => `${ref.kind === 'table' ? 'table' : 'library'} ${ref.name}`;

/** The job's line for a worker progress message. */
function progressLine(phase: string, done: number, total: number, cells: number): string {
  if (phase === 'decrypting') return `Decrypting… ${readableBytes(done)} of ${readableBytes(total)}`;
  if (phase === 'training') return 'Training a model…';
  const count = total > 0 ? total : cells;
  return `Running cell ${Math.min(count, done + 1)} of ${count}`;
}

/** What the job says about a failure of the notebook's code. */
function failureError(failure: Failure): CleanroomError {
  if (failure.class === 'PolicyRefused') {
    const reason = failure.reasons[0] ?? 'it is not allowed';
    const where = failure.cell === null ? 'The notebook' : `Cell ${failure.cell}`;
    return new CleanroomError('POLICY_REFUSED', `${where} was refused by the room's policy: ${reason}`);
  }
  if (failure.class === 'Timeout') return new CleanroomError('RUN_FAILED', 'The run took longer than its time limit and was stopped; nothing was kept.');
  if (failure.class === 'LibraryUnreadable') {
    // Nothing more may be said: the library is private to its owner, who can check it themselves.
    return new CleanroomError('RUN_FAILED', "The notebook's private library could not be used (LibraryUnreadable); its owner can see why with notebook check. Nothing was kept.");
  }
  if (failure.class === 'WorkerCrashed') {
    return new CleanroomError('RUN_FAILED', 'The DuckDB worker stopped during the run (out of memory, or it was killed); nothing was kept.');
  }
  return new CleanroomError('RUN_FAILED', failure.cell === null ? `The run failed: ${failure.class}` : `Cell ${failure.cell}: ${failure.class}`);
}

export class Runs {
  private readonly timeoutMs: number;
  private duckdbVersion: string | null = null;
  /** Differencing ledger: the end of the latest run of each room (see inTurn). */
  private readonly roomTurns = new Map<string, Promise<void>>();
  readonly runsUsed: (state: RoomState) => (approvalId: string) => number;

  constructor(
    private readonly db: Database.Database,
    private readonly vaultDir: string,
    private readonly rooms: Rooms,
    private readonly notebooks: Notebooks,
    private readonly outputs: Outputs,
    private readonly packets: Packets,
    private readonly worker: WorkerHost,
    private readonly jobs: Jobs,
    private readonly clock: () => Date,
    private readonly options: RunsOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? defaultRunTimeoutMs;
    this.runsUsed = runsUsedCounter(db);
  }

  /**
   * Differencing ledger: runs `work` once every earlier run of the room in this process has ended,
   * so no two runs load the ledger before either has stored what it released.
   */
  private async inTurn<T>(roomId: string, work: () => Promise<T>): Promise<T> {
    const before = this.roomTurns.get(roomId) ?? Promise.resolve();
    let done = (): void => undefined;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const turn = before.then(() => mine);
    this.roomTurns.set(roomId, turn);
    try {
      await before;
      return await work();
    } finally {
      done();
      if (this.roomTurns.get(roomId) === turn) this.roomTurns.delete(roomId);
    }
  }

  /**
   * At start-up: runs cut short by a crash become interrupted. One process owns the home, so a row
   * still running now has no process behind it; it never reached the commit of its end, so it used
   * no run, and the next receipt of its snapshot lists it.
   */
  markInterrupted(): number {
    return this.db.prepare("UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'").run(this.clock().toISOString()).changes;
  }

  // ---- starting --------------------------------------------------------------------------------

  /** Why this snapshot cannot run for me now, as one line; null when it can. */
  private refusal(room: StoredRoom, state: RoomState, found: SnapshotState, me: IdentityPublic): string | null {
    const name = `“${found.snapshot.name}”`;
    if (found.snapshot.runner !== me.signPublicKey) {
      const runner = this.rooms.aliasBook(state, me).of(found.snapshot.runner);
      return `${runner} is the runner of ${name}; only they can run it.`;
    }
    const status = snapshotStatus(state, found.id, this.clock(), this.runsUsed(state));
    if (!status.canRun) return `${name} cannot run in ${room.name}: ${status.reasons.join('; ')}.`;
    if (this.unlistedAttempts(room.id, found.id, null).length >= maxInterruptedAttempts) {
      // One receipt lists them all, so the free attempts stop there; the way on is what used-up approvals need.
      return `${name} was interrupted ${maxInterruptedAttempts} times without ending, as many as one receipt can list; it cannot be tried again in this home. Add the notebook again and ask for new approvals.`;
    }
    return null;
  }

  /** Interrupted attempts of a snapshot no receipt lists yet, oldest first; only those started by `before` when given. */
  private unlistedAttempts(roomId: string, snapshot: string, before: string | null): { run: string; startedAt: string }[] {
    const rows = this.db
      .prepare(
        `SELECT r.id, r.started_at FROM runs r WHERE r.room = ? AND r.snapshot = ? AND r.listed_in IS NULL AND ${freeAttempt}
         AND (? IS NULL OR r.started_at <= ?) ORDER BY r.started_at, r.id LIMIT ?`,
      )
      .all(roomId, snapshot, before, before, maxInterruptedAttempts) as { id: string; started_at: string }[];
    return rows.map((row) => ({ run: row.id, startedAt: row.started_at }));
  }

  /** Checks the payload of every table and library the snapshot reads: there, and the bytes that were approved. */
  private async checkPayloads(room: StoredRoom, state: RoomState, found: SnapshotState, me: IdentityPublic): Promise<Map<string, string>> {
    const book = this.rooms.aliasBook(state, me);
    const files = new Map<string, string>();
    for (const ref of found.snapshot.assets) {
      const asset = state.assets.find((candidate) => candidate.id === ref.asset);
      if (asset === undefined) throw new CleanroomError('NOT_FOUND', `${ref.kind === 'table' ? 'Table' : 'Library'} ${ref.name} is not in ${room.name}.`);
      const file = this.packets.payloadFileOf(ref.payloadHash) ?? vaultPathFor(this.vaultDir, ref.payloadHash);
      if (!existsSync(file) || !statSync(file).isFile()) {
        throw new CleanroomError(
          'NOT_FOUND',
          `The payload of ${what(ref)} has not arrived; import a packet from its owner, ${book.of(ref.owner)}.`,
        );
      }
      try {
        await verifyPayloadFile(file, ref.payloadHash, asset.descriptor.payload.size);
      } catch (error) {
        if (!(error instanceof CleanroomError) || error.code !== 'FILE_ERROR') throw error;
        throw new CleanroomError(
          'NOT_ALLOWED',
          `The payload of ${what(ref)} in this home is not the one the snapshot was approved with (it was changed or swapped); nothing was decrypted. Import a packet from ${book.of(ref.owner)} again.`,
        );
      }
      files.set(ref.asset, file);
    }
    return files;
  }

  async start(roomRef: string, snapshotRef: string, me: IdentityPublic, keys: UnlockedKeys): Promise<{ job: string; run: string }> {
    const room = this.rooms.resolve(roomRef);
    this.rooms.requireJoined(room, me);
    let state = this.rooms.state(room);
    const found = this.notebooks.resolve(room, state, snapshotRef);
    const early = this.refusal(room, state, found, me);
    if (early !== null) throw new CleanroomError('NOT_ALLOWED', early);
    const files = await this.checkPayloads(room, state, found, me);

    // Recorded before any key is unsealed, checked again inside the transaction so two starts at
    // once cannot both take an approval's last run.
    const run = toHex(randomBytes(32));
    const startedAt = this.clock();
    const approvals = this.rooms.transaction(() => {
      state = this.rooms.state(room);
      const current = state.snapshots.find((candidate) => candidate.id === found.id) ?? found;
      const refused = this.refusal(room, state, current, me);
      if (refused !== null) throw new CleanroomError('NOT_ALLOWED', refused);
      const used = this.approvalsUsed(state, current);
      this.db
        .prepare("INSERT INTO runs (id, room, snapshot, status, started_at) VALUES (?, ?, ?, 'running', ?)")
        .run(run, room.id, found.id, startedAt.toISOString());
      const insert = this.db.prepare('INSERT INTO run_approvals (run, approval) VALUES (?, ?)');
      for (const approval of used) insert.run(run, approval);
      return used;
    });
    const cells = found.snapshot.notebook.cells.length;
    const job = this.jobs.startWork(
      'run',
      `Starting “${found.snapshot.name}”…`,
      async ({ progress, signal }) => {
        // Differencing ledger: runs of one room take turns, so each is checked against the sets the one before released.
        const end = await this.inTurn(room.id, async () => {
          const ending = await this.execute(room, state, found, me, keys, files, signal, (phase, done, total) => {
            progress(done, total, progressLine(phase, done, total, cells));
          });
          this.finish(room, state, found, me, keys, run, approvals, startedAt, ending);
          return ending;
        });
        if (end.error !== null) throw end.error;
        const suppressed = end.outputs.reduce((sum, output) => sum + output.suppressedRows, 0);
        const outputs = end.outputs.length;
        return {
          message: `Finished “${found.snapshot.name}”: ${outputs} output${outputs === 1 ? '' : 's'}, ${suppressed} value${suppressed === 1 ? '' : 's'} withheld.`,
        };
      },
      { run, failedMessage: `“${found.snapshot.name}” failed; see the run's receipt.`, cancelledMessage: `Cancelled “${found.snapshot.name}”; nothing was kept.` },
    );
    return { job, run };
  }

  /** The latest valid approval of every current member: what this run counts against. */
  private approvalsUsed(state: RoomState, found: SnapshotState): string[] {
    const now = this.clock().getTime();
    const current = new Set(state.members.filter((member) => member.status !== 'left').map((member) => member.signPublicKey));
    const used: string[] = [];
    for (const [member, approval] of found.approvals) {
      if (!current.has(member) || approval.revokedAt !== null || Date.parse(approval.approval.expiresAt) <= now) continue;
      used.push(approval.id);
    }
    return used.sort();
  }

  /** Unseals the keys, runs the worker, and says how the run ended. Never throws. */
  private async execute(
    room: StoredRoom,
    state: RoomState,
    found: SnapshotState,
    me: IdentityPublic,
    keys: UnlockedKeys,
    files: ReadonlyMap<string, string>,
    signal: AbortSignal,
    onProgress: (phase: string, done: number, total: number) => void,
  ): Promise<RunEnd> {
    const folder = createRamFolder();
    const opened: Uint8Array[] = [];
    const ended = (failure: Failure, error?: CleanroomError): RunEnd => ({ status: 'failed', outputs: [], failure, error: error ?? failureError(failure) });
    try {
      if (this.duckdbVersion === null) this.duckdbVersion = (await this.worker.handshake()).duckdbVersion;
      const boxKeys = { boxPublicKey: fromBase64Url(me.boxPublicKey), boxSecretKey: keys.boxSecretKey };
      const tables: RunTable[] = [];
      const volumes: RunVolume[] = [];
      for (const ref of found.snapshot.assets) {
        const asset = state.assets.find((candidate) => candidate.id === ref.asset);
        const sealed = found.approvals.get(ref.owner)?.approval.keys.find((key) => key.asset === ref.asset);
        const dataKey = sealed === undefined ? null : openDataKey(sealed.sealedKey, found.id, ref.asset, boxKeys);
        if (asset === undefined || asset.descriptor.kind !== ref.kind || dataKey === null) {
          if (dataKey !== null) wipe(dataKey);
          const owner = this.rooms.aliasBook(state, me).of(ref.owner);
          return ended(
            { class: 'KeyUnavailable', cell: null, reasons: [] },
            new CleanroomError('RUN_FAILED', `The key ${owner} released for ${what(ref)} does not open with your identity; nothing was decrypted.`),
          );
        }
        opened.push(dataKey);
        if (asset.descriptor.kind === 'volume') {
          // A library: the worker decrypts it in memory and nothing of it comes back.
          volumes.push({ name: ref.name, payloadFile: files.get(ref.asset) as string, chunkSize: asset.descriptor.payload.chunkSize, dataKey: toBase64Url(dataKey) });
          continue;
        }
        tables.push({
          name: ref.name,
          payloadFile: files.get(ref.asset) as string,
          chunkSize: asset.descriptor.payload.chunkSize,
          dataKey: toBase64Url(dataKey),
          columns: asset.descriptor.columns.map((column) => ({ name: column.name, role: column.role })),
          allowMinMax: asset.descriptor.allowMinMax,
        });
      }
      // Differencing ledger (aggregate mode): every set earlier runs of the room released goes to the worker.
      let differencing: RunDifferencing | undefined;
      if (state.policy.mode === 'aggregate') {
        const ledger = loadLedger(this.db, room.id, boxKeys, this.clock());
        if (ledger.sets.length > maxLedgerSets) {
          return ended(
            { class: 'LedgerFull', cell: null, reasons: [] },
            new CleanroomError('RUN_FAILED', `This room's differencing ledger in this home holds ${ledger.sets.length} released sets, more than a run can check against (${maxLedgerSets}); nothing was run.`),
          );
        }
        differencing = ledgerRequest(ledger);
        wipe(ledger.salt);
      }
      const { notebook } = found.snapshot;
      const result = await this.worker.request(
        {
          kind: 'run',
          runDir: folder.dir,
          tables,
          ...(volumes.length === 0 ? {} : { volumes }),
          parameters: notebook.parameters.map((parameter) => ({ name: parameter.name, value: parameter.value })),
          cells: notebook.cells.map((cell, index) => ({ index, kind: cell.kind, source: cell.source, output: cell.output, options: cell.options })),
          policy: { mode: state.policy.mode, minGroupSize: state.policy.minGroupSize },
          maxOutputRows: this.options.maxOutputRows ?? defaultMaxOutputRows,
          ...(this.options.memoryLimit === undefined ? {} : { memoryLimit: this.options.memoryLimit }),
          ...(differencing === undefined ? {} : { differencing }),
        },
        { timeoutMs: this.timeoutMs, signal, onProgress: (update) => onProgress(update.phase, update.done, update.total) },
      );
      if (result.failure !== null) return ended(this.failureOf(result.failure));
      const names = new Set<string>();
      for (const output of result.outputs) {
        if (names.has(output.name)) return ended({ class: 'DuplicateOutput', cell: output.cell + 1, reasons: [] });
        names.add(output.name);
      }
      // Differencing ledger: the released sets are checked here and stored by finish().
      return { status: 'succeeded', outputs: result.outputs, released: checkReleased(result.released, state.policy.minGroupSize), failure: null, error: null };
    } catch (error) {
      const { code } = toApiError(error);
      if (code === 'CANCELLED' || signal.aborted) {
        return { status: 'cancelled', outputs: [], failure: null, error: new CleanroomError('CANCELLED', `Cancelled “${found.snapshot.name}”; nothing was kept.`) };
      }
      if (code === 'WORKER_TIMEOUT') return ended({ class: 'Timeout', cell: null, reasons: [] });
      if (code === 'WORKER_CRASHED') return ended({ class: 'WorkerCrashed', cell: null, reasons: [] });
      if (code === 'WORKER_UNAVAILABLE') {
        return ended({ class: 'WorkerUnavailable', cell: null, reasons: [] }, new CleanroomError('WORKER_UNAVAILABLE', 'The DuckDB worker could not start; the run did not happen.'));
      }
      if (!(error instanceof CleanroomError)) console.error(`cleanroom: run of a snapshot in ${room.name} failed unexpectedly (${error instanceof Error ? error.name : typeof error})`);
      return ended({ class: 'Internal', cell: null, reasons: [] }, new CleanroomError('RUN_FAILED', 'The run failed inside Cleanroom; nothing was kept.'));
    } finally {
      for (const key of opened) wipe(key);
      folder.remove();
    }
  }

  private failureOf(failure: RunFailure): Failure {
    return { class: failure.class, cell: failure.cell === null ? null : failure.cell + 1, reasons: failure.reasons.slice(0, 50) };
  }

  /** Signs the receipt and stores the run's end, its outputs and my run.finished in one transaction. */
  private finish(room: StoredRoom, state: RoomState, found: SnapshotState, me: IdentityPublic, keys: UnlockedKeys, run: string, approvals: readonly string[], startedAt: Date, end: RunEnd): void {
    const now = this.clock();
    const finishedAt = now < startedAt ? startedAt : now;
    // Libraries too: the receipt pins the exact library (by payload hash) the run used.
    const inputs = found.snapshot.assets
      .map((ref) => ({ asset: ref.asset, payloadHash: ref.payloadHash }))
      .sort(byKey((input) => input.asset));
    const store = (withEntry: boolean): void => {
      this.rooms.transaction(() => {
        // Interrupted attempts of this snapshot, listed once: by the first receipt signed after them.
        const attempts = this.unlistedAttempts(room.id, found.id, startedAt.toISOString());
        // Differencing ledger: recorded in the very commit that makes the outputs visible.
        if (end.status === 'succeeded') appendLedger(this.db, room.id, run, end.released ?? [], { boxPublicKey: fromBase64Url(me.boxPublicKey) }, finishedAt);
        const hashes = end.status === 'succeeded' ? this.outputs.storeMine(room, run, found.id, end.outputs, me, state.policy.outputRetentionDays, finishedAt) : new Map<string, string>();
        const receipt: Receipt = {
          format: attempts.length === 0 ? receiptFormat : receiptFormatRetried,
          room: room.id,
          snapshot: found.id,
          runner: me.signPublicKey,
          approvals: [...approvals].sort(),
          inputs,
          policy: { mode: state.policy.mode, minGroupSize: state.policy.minGroupSize },
          engine: { cleanroom: appVersion, duckdb: this.duckdbVersion ?? 'unknown' },
          outputs: end.outputs
            .map((output) => ({ name: output.name, hash: hashes.get(output.name) as string, rows: output.rows.length, suppressedRows: output.suppressedRows }))
            .sort(byKey((output) => output.name)),
          privacyBudgetSpent: null,
          startedAt: startedAt.toISOString(),
          finishedAt: finishedAt.toISOString(),
          status: end.status,
          failure: end.failure === null ? null : { class: end.failure.class, cell: end.failure.cell },
          ...(attempts.length === 0 ? {} : { interrupted: [...attempts].sort(byKey((attempt) => attempt.run)) }),
        };
        const signed = signReceipt(receipt, keys.signSecretKey);
        const listed = this.db.prepare('UPDATE runs SET listed_in = ? WHERE id = ?');
        for (const attempt of attempts) listed.run(run, attempt.run);
        this.db
          .prepare('UPDATE runs SET status = ?, finished_at = ?, failure = ?, receipt = ? WHERE id = ?')
          .run(end.status, finishedAt.toISOString(), end.failure === null ? null : JSON.stringify(end.failure), encodeReceiptFile(signed), run);
        if (withEntry) this.rooms.appendMine(room, me, keys, { type: 'run.finished', run, receipt: signed });
      });
    };
    try {
      store(true);
    } catch (error) {
      // The room refused the entry (e.g. I left meanwhile): keep the run's end and receipt here.
      console.error(`cleanroom: the end of run ${shortId(run)} in ${room.name} was not recorded in the room (${toApiError(error).message})`);
      store(false);
    }
  }

  // ---- views -----------------------------------------------------------------------------------

  private localRuns(roomId: string): RunRow[] {
    return this.db.prepare('SELECT * FROM runs WHERE room = ?').all(roomId) as RunRow[];
  }

  list(roomRef: string, me: IdentityPublic): RunView[] {
    const room = this.rooms.resolve(roomRef);
    const state = this.rooms.state(room);
    const book = this.rooms.aliasBook(state, me);
    const released = new Set(state.releases.map((release) => release.run));
    const nameOf = (snapshot: string): string => state.snapshots.find((candidate) => candidate.id === snapshot)?.snapshot.name ?? `snapshot ${snapshot.slice(0, 6)}`;
    const views = new Map<string, RunView>();
    for (const row of this.localRuns(room.id)) {
      const signed = row.receipt === null ? null : readReceiptFile(row.receipt);
      const outputs = signed?.receipt.outputs ?? [];
      views.set(row.id, {
        id: row.id,
        room: room.id,
        snapshot: row.snapshot,
        snapshotName: nameOf(row.snapshot),
        runner: book.of(me.signPublicKey),
        runnerKey: me.signPublicKey,
        status: row.status,
        startedAt: row.started_at,
        finishedAt: row.finished_at,
        suppressedRows: outputs.reduce((sum, output) => sum + output.suppressedRows, 0),
        outputs: outputs.map((output) => ({ name: output.name, rows: output.rows, suppressedRows: output.suppressedRows, hash: output.hash })),
        failure: row.failure === null ? null : (JSON.parse(row.failure) as Failure),
        released: released.has(row.id),
        isMine: true,
        hasReceipt: signed !== null,
        interruptedAttempts: signed?.receipt.interrupted ?? [],
        listedIn: row.listed_in,
      });
    }
    for (const finished of state.runs) {
      if (views.has(finished.id)) continue;
      const { receipt } = finished.receipt;
      views.set(finished.id, {
        id: finished.id,
        room: room.id,
        snapshot: receipt.snapshot,
        snapshotName: nameOf(receipt.snapshot),
        runner: book.of(finished.runner),
        runnerKey: finished.runner,
        status: receipt.status,
        startedAt: receipt.startedAt,
        finishedAt: receipt.finishedAt,
        suppressedRows: receipt.outputs.reduce((sum, output) => sum + output.suppressedRows, 0),
        outputs: receipt.outputs.map((output) => ({ name: output.name, rows: output.rows, suppressedRows: output.suppressedRows, hash: output.hash })),
        failure: receipt.failure === null ? null : { class: receipt.failure.class, cell: receipt.failure.cell, reasons: [] },
        released: released.has(finished.id),
        isMine: finished.runner === me.signPublicKey,
        hasReceipt: true,
        interruptedAttempts: receipt.interrupted ?? [],
        listedIn: null,
      });
    }
    return [...views.values()].sort((a, b) => (a.startedAt === b.startedAt ? (a.id < b.id ? -1 : 1) : a.startedAt < b.startedAt ? 1 : -1));
  }

  /** A run of this room by id or unique prefix (6+ hex digits). */
  private resolveRun(room: StoredRoom, state: RoomState, ref: string): { id: string; local: RunRow | null } {
    const wanted = ref.trim().toLowerCase();
    if (!/^[0-9a-f]{6,64}$/.test(wanted)) {
      throw new CleanroomError('BAD_REQUEST', `"${ref}" is not a run id: give the id shown by \`cleanroom run list\`, or its first 6 or more digits.`);
    }
    const ids = new Set<string>([...this.localRuns(room.id).map((row) => row.id), ...state.runs.map((run) => run.id)]);
    const matches = [...ids].filter((id) => id.startsWith(wanted));
    if (matches.length === 0) throw new CleanroomError('NOT_FOUND', `No run ${ref} in ${room.name}.`);
    if (matches.length > 1) throw new CleanroomError('AMBIGUOUS', `"${ref}" matches ${matches.length} runs in ${room.name}; give more digits.`);
    const id = matches[0] as string;
    const local = (this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined) ?? null;
    return { id, local };
  }

  receipt(roomRef: string, runRef: string): { receipt: string; fileName: string } {
    const room = this.rooms.resolve(roomRef);
    const state = this.rooms.state(room);
    const { id, local } = this.resolveRun(room, state, runRef);
    const fromFeed = state.runs.find((run) => run.id === id);
    const text = local?.receipt ?? (fromFeed === undefined ? null : encodeReceiptFile(fromFeed.receipt));
    if (text === null) {
      const why = local?.status === 'running' ? 'it is still running' : 'it was interrupted before it ended, so nothing was signed';
      throw new CleanroomError('NOT_FOUND', `Run ${shortId(id)} has no receipt: ${why}.`);
    }
    return { receipt: text, fileName: `${slug(room.name, 'room')}-${shortId(id)}${receiptFileExtension}` };
  }

  // ---- release ---------------------------------------------------------------------------------

  async release(roomRef: string, runRef: string, outPath: string | undefined, me: IdentityPublic, keys: UnlockedKeys): Promise<ExportResult> {
    const room = this.rooms.resolve(roomRef);
    this.rooms.requireJoined(room, me);
    const state = this.rooms.state(room);
    const { id, local } = this.resolveRun(room, state, runRef);
    const finished = state.runs.find((run) => run.id === id);
    if (local === null || finished === undefined || finished.runner !== me.signPublicKey) {
      const runner = finished === undefined ? 'its runner' : this.rooms.aliasBook(state, me).of(finished.runner);
      throw new CleanroomError('NOT_ALLOWED', `Only ${runner} can release the outputs of run ${shortId(id)}.`);
    }
    if (local.status !== 'succeeded') throw new CleanroomError('NOT_ALLOWED', `Run ${shortId(id)} ${local.status === 'running' ? 'is still running' : `did not succeed (${local.status})`}; it has no outputs to release.`);
    const { receipt } = finished.receipt;
    if (receipt.outputs.length === 0) throw new CleanroomError('NOT_ALLOWED', `Run ${shortId(id)} made no outputs; there is nothing to release.`);
    const snapshot = state.snapshots.find((candidate) => candidate.id === receipt.snapshot);
    if (snapshot === undefined) throw new CleanroomError('INTERNAL', 'Internal error: the run\'s snapshot is not in the room.');
    const recipients = snapshot.snapshot.recipients
      .filter((key) => key !== me.signPublicKey)
      .map((key) => state.members.find((member) => member.signPublicKey === key))
      .filter((member) => member !== undefined);
    if (recipients.length === 0) {
      throw new CleanroomError('NOT_ALLOWED', `“${snapshot.snapshot.name}” names no recipients other than you; its outputs are already yours alone.`);
    }

    if (!state.releases.some((release) => release.run === id)) {
      const boxKeys = { boxPublicKey: fromBase64Url(me.boxPublicKey), boxSecretKey: keys.boxSecretKey };
      const held = this.outputs.ofRun(id);
      if (held.length !== receipt.outputs.length) {
        throw new CleanroomError('NOT_FOUND', `The outputs of run ${shortId(id)} are no longer in this home (kept ${state.policy.outputRetentionDays} days); they cannot be released.`);
      }
      const tables = held.map((output) => ({ name: output.name, cell: output.cell, table: this.outputs.tableOf(id, output.name, boxKeys), suppressedRows: output.suppressedRows }));
      const payload = writeReleasePayload(this.vaultDir, id, snapshot.id, tables, recipients);
      try {
        this.rooms.transaction(() => {
          recordPayload(this.db, this.vaultDir, payload, this.clock());
          this.rooms.appendMine(room, me, keys, {
            type: 'output.released',
            release: {
              run: id,
              snapshot: snapshot.id,
              outputs: receipt.outputs.map((output) => ({ name: output.name, hash: output.hash, rows: output.rows })),
              recipients: recipients.map((member) => member.signPublicKey),
              payload: { hash: payload.hash, size: payload.size, chunkSize: payload.chunkSize },
              keys: payload.keys,
            },
          });
        });
      } catch (error) {
        rmIfUnrecorded(this.db, payload.file, payload.hash);
        throw error;
      }
    }
    const current = recipients.filter((member) => member.status !== 'left');
    if (current.length === 0) throw new CleanroomError('NOT_ALLOWED', `Every recipient of “${snapshot.snapshot.name}” has left ${room.name}.`);
    return this.packets.export({ room: room.id, to: current.map((member) => member.alias), ...(outPath === undefined ? {} : { outPath }) }, me, keys);
  }

  // ---- receipts ----------------------------------------------------------------------------------

  /** Checks a receipt against the rooms this home knows. Never throws for a bad receipt. */
  verify(text: string, me: IdentityPublic | null, keys: UnlockedKeys | null): ReceiptCheck {
    const result: ReceiptCheck = { ok: false, reason: null, checks: [], roomName: null, runner: null, snapshot: null, status: null, outputs: [] };
    const fail = (reason: string): ReceiptCheck => ({ ...result, ok: false, reason: reason.slice(0, 1000) });
    // First the file alone: well-formed, and signed by the key it names.
    const claimed = readReceiptFile(text);
    const selfCheck = verifyReceipt(text, { runnerKey: claimed?.receipt.runner ?? 'A'.repeat(43) });
    if (!selfCheck.ok) return fail(selfCheck.reason);
    const receipt = selfCheck.receipt;
    result.checks.push(`the file is a well-formed ${receipt.format}`);
    result.snapshot = receipt.snapshot;
    result.status = receipt.status;
    result.outputs = receipt.outputs.map((output) => ({ name: output.name, rows: output.rows, suppressedRows: output.suppressedRows, matches: null }));

    const room = this.rooms.find(receipt.room);
    if (room === null) return fail(`this home does not know room ${receipt.room.slice(0, 12)}…, so it cannot tell who its runner is`);
    const state = this.rooms.state(room);
    result.roomName = state.definition.name;
    const snapshot = state.snapshots.find((candidate) => candidate.id === receipt.snapshot);
    if (snapshot === undefined) return fail(`the receipt is for snapshot ${receipt.snapshot.slice(0, 12)}…, which this home does not know in ${state.definition.name}`);
    const book = me === null ? null : this.rooms.aliasBook(state, me);
    const runnerAlias = book?.of(snapshot.snapshot.runner) ?? state.members.find((member) => member.signPublicKey === snapshot.snapshot.runner)?.alias ?? 'the runner';
    result.runner = runnerAlias;

    const boxKeys = me === null || keys === null ? null : { boxPublicKey: fromBase64Url(me.boxPublicKey), boxSecretKey: keys.boxSecretKey };
    const runIds = [...state.runs.filter((run) => run.receipt.signature === claimed?.signature).map((run) => run.id)];
    const localRun = this.db.prepare('SELECT id FROM runs WHERE receipt = ?').get(text) as { id: string } | undefined;
    if (localRun !== undefined && !runIds.includes(localRun.id)) runIds.push(localRun.id);
    const held = runIds.flatMap((run) => this.outputs.heldHashes(run, boxKeys));
    const verdict = verifyReceipt(text, { runnerKey: snapshot.snapshot.runner, expected: { snapshot: snapshot.id, outputs: held } });
    if (!verdict.ok) {
      result.outputs = result.outputs.map((output) => {
        const mine = held.find((candidate) => candidate.name === output.name);
        const listed = receipt.outputs.find((candidate) => candidate.name === output.name);
        return { ...output, matches: mine === undefined ? null : mine.hash === listed?.hash };
      });
      return fail(verdict.reason);
    }
    result.checks.push(`signed by ${runnerAlias}, the runner of “${snapshot.snapshot.name}”`);
    result.checks.push(`for snapshot ${snapshot.id.slice(0, 12)}… of room “${state.definition.name}”`);

    const grants = new Set(snapshot.grants.map((grant) => grant.id));
    const unknown = receipt.approvals.find((approval) => !grants.has(approval));
    if (unknown !== undefined) return fail(`the receipt lists approval ${unknown.slice(0, 12)}…, which is not an approval of this snapshot in the room`);
    result.checks.push(`${receipt.approvals.length} approval${receipt.approvals.length === 1 ? '' : 's'} listed, each an approval of this snapshot in the room`);
    for (const input of receipt.inputs) {
      const ref = snapshot.snapshot.assets.find((asset) => asset.asset === input.asset);
      if (ref === undefined || ref.payloadHash !== input.payloadHash) {
        return fail(`the receipt's input ${input.asset.slice(0, 12)}… is not a payload the snapshot names`);
      }
    }
    result.checks.push(`${receipt.inputs.length} input${receipt.inputs.length === 1 ? '' : 's'}, each the payload the snapshot names`);
    const attempts = receipt.interrupted ?? [];
    // An attempt that ended with a receipt counted; it cannot also be one that came to nothing.
    const ended = attempts.find((attempt) => state.runs.some((run) => run.id === attempt.run));
    if (ended !== undefined) return fail(`the receipt lists run ${ended.run.slice(0, 12)}… as interrupted, but that run ended with a receipt in the room`);
    if (attempts.length > 0) {
      result.checks.push(`after ${attempts.length} interrupted attempt${attempts.length === 1 ? '' : 's'} that used no run (nothing came out of them), none a run recorded in the room`);
    }
    result.outputs = receipt.outputs.map((output) => {
      const mine = held.find((candidate) => candidate.name === output.name);
      return { name: output.name, rows: output.rows, suppressedRows: output.suppressedRows, matches: mine === undefined ? null : mine.hash === output.hash };
    });
    for (const output of result.outputs) if (output.matches === true) result.checks.push(`output ${output.name} matches the copy this home holds`);
    return { ...result, ok: true, reason: null };
  }
}

/** The signed receipt a file holds, unchecked (no signature verified), or null when it is not one. */
function readReceiptFile(text: string): SignedReceipt | null {
  try {
    const value = decodeCanonical(new TextEncoder().encode(text.endsWith('\n') ? text.slice(0, -1) : text), 'receipt', { maxBytes: 600 * 1024, maxDepth: 6 });
    const checked = parse(signedReceiptSchema, value);
    return checked.ok ? checked.value : null;
  } catch {
    return null;
  }
}

function rmIfUnrecorded(db: Database.Database, file: string, payloadHash: string): void {
  const recorded = db.prepare('SELECT 1 FROM payloads WHERE hash = ?').get(payloadHash) !== undefined;
  if (!recorded) {
    try {
      rmSync(file, { force: true });
    } catch {
      // The start-up sweep removes unrecorded payload files.
    }
  }
}
