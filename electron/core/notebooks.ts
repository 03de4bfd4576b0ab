// Notebooks and their snapshots: checking which room tables each SQL cell reads (DuckDB's own
// parser, walked in shared/sql-tables.ts), freezing a notebook as a signed snapshot, and the
// views of snapshots with their approval status.
import { type SnapshotSummary, type SnapshotView } from '../../shared/approval-status.js';
import { type ApiResponse } from '../../shared/contract.js';
import { CleanroomError } from '../../shared/errors.js';
import { type IdentityPublic } from '../../shared/identity.js';
import { type Notebook, parseNotebook, type Snapshot, snapshotIdOf } from '../../shared/notebook.js';
import { guardTree } from '../../shared/k-guard.js';
import { analyseCell, type PolicyTable } from '../../shared/policy.js';
import { type MemberState, type RoomState, type SnapshotState, snapshotStatus } from '../../shared/room-state.js';
import { assetNameOf, tablesReadBy } from '../../shared/sql-tables.js';
import { type Approvals } from './approvals.js';
import { roomAssets } from './assets.js';
import { type UnlockedKeys } from './keystore.js';
import { type Rooms, type StoredRoom } from './rooms.js';
import { type WorkerHost } from './worker-host.js';

type NotebookCheck = ApiResponse<'notebook.check'>;
type CellCheck = NotebookCheck['cells'][number];

const parseTimeoutMs = 30_000;
const minIdPrefix = 6;

export interface AddNotebookRequest {
  readonly room: string;
  readonly name: string;
  readonly source: string;
  readonly runner?: string;
  readonly recipients?: readonly string[];
}

/** The problem that refuses a notebook, kept apart so notebook.add can give it its own code. */
interface MissingTable {
  readonly cell: number;
  readonly name: string;
}

/** A cell the room's output policy refuses, kept apart so notebook.add can give it POLICY_REFUSED. */
interface PolicyRefusal {
  readonly cell: number;
  readonly reason: string;
}

export class Notebooks {
  constructor(
    private readonly rooms: Rooms,
    private readonly worker: WorkerHost,
    private readonly approvals: Approvals,
    private readonly clock: () => Date,
    /** Runs used per approval in a room (runs.ts runsUsedCounter): this home's runs and run.finished entries. */
    private readonly runsUsed: (state: RoomState) => (approvalId: string) => number = () => () => 0,
  ) {}

  /**
   * DuckDB's syntax tree of one SQL text. It is only parsed, never run: the text travels as a
   * string literal to json_serialize_sql, in the same locked-down worker as everything else.
   */
  private async syntaxTree(sql: string): Promise<unknown> {
    const literal = `'${sql.replaceAll("'", "''")}'`;
    const result = await this.worker.request({ kind: 'query', sql: `SELECT json_serialize_sql(${literal})` }, { timeoutMs: parseTimeoutMs });
    const text = result.rows[0]?.[0];
    if (typeof text !== 'string') throw new CleanroomError('INTERNAL', 'Internal error: the SQL parser gave no answer.');
    return JSON.parse(text) as unknown;
  }

  /** Checks every cell against the room: what it reads and what would be refused. */
  private async checkCells(notebook: Notebook, state: RoomState): Promise<{ cells: CellCheck[]; missing: MissingTable[]; refusals: PolicyRefusal[] }> {
    // The owners' column roles and min/max choice, as the worker will enforce them.
    const policyTables: PolicyTable[] = roomAssets(state).flatMap((asset) =>
      asset.descriptor.kind === 'table'
        ? [{ name: asset.descriptor.name, allowMinMax: asset.descriptor.allowMinMax, columns: asset.descriptor.columns.map((column) => ({ name: column.name, role: column.role })) }]
        : [],
    );
    const tables = new Set(policyTables.map((table) => table.name));
    const outputs = new Set<string>();
    const cells: CellCheck[] = [];
    const missing: MissingTable[] = [];
    const refusals: PolicyRefusal[] = [];
    for (const [index, cell] of notebook.cells.entries()) {
      const problems: string[] = [];
      const reads: string[] = [];
      if (cell.kind === 'sql' && cell.source.trim() !== '') {
        const tree = await this.syntaxTree(cell.source);
        const found = tablesReadBy(tree);
        const notSelect = typeof tree === 'object' && tree !== null && (tree as { error?: unknown; error_type?: unknown }).error === true && (tree as { error_type?: unknown }).error_type !== 'parser';
        if ('error' in found && notSelect) {
          // COPY, ATTACH, SET…: DuckDB serializes only SELECTs; the policy says what is allowed instead.
          const reason = analyseCell(tree, { tables: policyTables, earlierOutputs: [...outputs], mode: state.policy.mode }).problems[0]?.reason ?? 'only a single SELECT is allowed';
          problems.push(reason);
          refusals.push({ cell: index, reason });
        } else if ('error' in found) {
          problems.push(`the SQL does not parse: ${found.message}`);
        } else {
          for (const read of found) {
            const name = assetNameOf(read);
            const shown = read.schema === '' ? read.name : `${read.schema}.${read.name}`;
            reads.push(name ?? shown);
            if (name !== null && (tables.has(name) || outputs.has(name))) continue;
            problems.push(`reads ${shown}, which is not a table in this room`);
            missing.push({ cell: index, name: shown });
          }
          if (problems.length === 0) {
            const verdict = analyseCell(tree, { tables: policyTables, earlierOutputs: [...outputs], mode: state.policy.mode });
            for (const problem of verdict.problems) {
              const reason = problem.position === undefined ? problem.reason : `${problem.position}: ${problem.reason}`;
              problems.push(reason);
              refusals.push({ cell: index, reason });
            }
            // What k-suppression cannot count the worker would refuse at run time: say so now.
            const guarded = verdict.ok && state.policy.mode === 'aggregate' ? guardTree(tree, policyTables) : null;
            if (guarded !== null && !guarded.ok) {
              for (const reason of guarded.reasons) {
                problems.push(reason);
                refusals.push({ cell: index, reason });
              }
            }
          }
        }
      }
      if (cell.output !== null) {
        if (tables.has(cell.output)) problems.push(`its output ${cell.output} has the name of a table in this room`);
        outputs.add(cell.output);
      } else if (cell.kind === 'sql') {
        // The worker names an unnamed SQL cell's output cell_<n>; later cells may read it.
        outputs.add(`cell_${index + 1}`);
      }
      cells.push({ index, kind: cell.kind, output: cell.output ?? '', reads, problems });
    }
    return { cells, missing, refusals };
  }

  async check(roomRef: string, source: string): Promise<NotebookCheck> {
    const room = this.rooms.resolve(roomRef);
    const state = this.rooms.state(room);
    let notebook: Notebook;
    try {
      notebook = parseNotebook(source);
    } catch (error) {
      if (error instanceof CleanroomError && error.code === 'BAD_REQUEST') return { ok: false, problems: [error.message], cells: [] };
      throw error;
    }
    const { cells } = await this.checkCells(notebook, state);
    return { ok: cells.every((cell) => cell.problems.length === 0), problems: [], cells };
  }

  // ---- adding ----------------------------------------------------------------------------------

  async add(request: AddNotebookRequest, me: IdentityPublic, keys: UnlockedKeys): Promise<SnapshotView> {
    const room = this.rooms.resolve(request.room);
    const state = this.rooms.requireActiveMember(room, me);
    const notebook = parseNotebook(request.source);
    const { cells, missing, refusals } = await this.checkCells(notebook, state);
    const first = missing[0];
    if (first !== undefined) {
      throw new CleanroomError('NOT_FOUND', `Cell ${first.cell + 1} reads ${first.name}, which is not a table in ${room.name}; nothing was added.`);
    }
    const refused = cells.find((cell) => cell.problems.length > 0);
    const refusal = refusals[0];
    if (refusal !== undefined && refused !== undefined && refusal.cell === refused.index) {
      throw new CleanroomError('POLICY_REFUSED', `Cell ${refusal.cell + 1}: ${refusal.reason}; nothing was added.`);
    }
    if (refused !== undefined) {
      throw new CleanroomError('BAD_REQUEST', `Cell ${refused.index + 1}: ${refused.problems[0] as string}; nothing was added.`);
    }
    const runner = request.runner === undefined ? this.memberByKey(state, me.signPublicKey, room) : this.memberByAlias(state, request.runner, room, 'run it');
    const recipients = (request.recipients === undefined || request.recipients.length === 0 ? [runner] : request.recipients.map((alias) => this.memberByAlias(state, alias, room, 'receive its outputs')));
    const recipientKeys = [...new Set(recipients.map((member) => member.signPublicKey))];

    // Every asset any cell reads, by its id and payload hash, in order of first reading.
    const byName = new Map(roomAssets(state).map((asset) => [asset.descriptor.name, asset]));
    const read = [...new Set(cells.flatMap((cell) => cell.reads))];
    const assets = read.flatMap((name) => {
      const asset = byName.get(name);
      if (asset === undefined) return [];
      return [{ name, kind: asset.descriptor.kind, owner: asset.descriptor.owner, asset: asset.id, payloadHash: asset.descriptor.payload.hash }];
    });

    const snapshot: Snapshot = {
      format: 'cleanroom-snapshot/1',
      room: room.id,
      name: request.name,
      author: me.signPublicKey,
      notebook,
      assets,
      runner: runner.signPublicKey,
      recipients: recipientKeys,
      createdAt: this.clock().toISOString(),
    };
    const id = snapshotIdOf(snapshot);
    // The snapshot and my approval of it (with my keys for the runner) are stored together or not at all.
    this.rooms.transaction(() => {
      this.rooms.appendMine(room, me, keys, { type: 'snapshot.added', snapshot });
      this.approvals.appendGrant(room, me, keys, snapshot, id, {});
    });
    return this.view(room.id, id, me);
  }

  private memberByKey(state: RoomState, key: string, room: StoredRoom): MemberState {
    const member = state.members.find((candidate) => candidate.signPublicKey === key);
    if (member === undefined) throw new CleanroomError('NOT_A_MEMBER', `You are not a member of ${room.name}.`);
    return member;
  }

  private memberByAlias(state: RoomState, alias: string, room: StoredRoom, role: string): MemberState {
    const wanted = alias.trim().toLowerCase();
    const member = state.members.find((candidate) => candidate.alias.toLowerCase() === wanted);
    if (member === undefined) {
      throw new CleanroomError('NOT_A_MEMBER', `${alias} is not a member of ${room.name}, so cannot ${role}; members are ${state.members.map((candidate) => candidate.alias).join(', ')}.`);
    }
    if (member.status === 'left') throw new CleanroomError('NOT_ALLOWED', `${member.alias} has left ${room.name}, so cannot ${role}.`);
    return member;
  }

  // ---- views -----------------------------------------------------------------------------------

  /** A snapshot of this room by id or unique prefix; NOT_FOUND for one of another room. */
  resolve(room: StoredRoom, state: RoomState, ref: string): SnapshotState {
    const wanted = ref.trim().toLowerCase();
    if (!/^[0-9a-f]+$/.test(wanted) || wanted.length < minIdPrefix) {
      throw new CleanroomError('BAD_REQUEST', `"${ref}" is not a snapshot id: give the id shown by \`cleanroom notebook list\`, or its first ${minIdPrefix} or more digits.`);
    }
    const matches = snapshotsOf(state).filter((snapshot) => snapshot.id.startsWith(wanted));
    if (matches.length === 1) return matches[0] as SnapshotState;
    if (matches.length === 0) throw new CleanroomError('NOT_FOUND', `No snapshot ${ref} in ${room.name}.`);
    throw new CleanroomError('AMBIGUOUS', `"${ref}" matches ${matches.length} snapshots in ${room.name}; give more digits.`);
  }

  view(roomRef: string, snapshotRef: string, me: IdentityPublic): SnapshotView {
    const room = this.rooms.resolve(roomRef);
    const state = this.rooms.state(room);
    const found = this.resolve(room, state, snapshotRef);
    const book = this.rooms.aliasBook(state, me);
    const { snapshot } = found;
    return {
      id: found.id,
      room: room.id,
      name: snapshot.name,
      author: book.of(snapshot.author),
      authorKey: snapshot.author,
      runner: book.of(snapshot.runner),
      runnerKey: snapshot.runner,
      recipients: snapshot.recipients.map((key) => book.of(key)),
      createdAt: snapshot.createdAt,
      notebook: snapshot.notebook,
      assets: snapshot.assets,
      status: this.statusOf(state, found.id),
    };
  }

  list(roomRef: string, me: IdentityPublic): SnapshotSummary[] {
    const room = this.rooms.resolve(roomRef);
    const state = this.rooms.state(room);
    const book = this.rooms.aliasBook(state, me);
    return snapshotsOf(state).map((found) => {
      const status = this.statusOf(state, found.id);
      return {
        id: found.id,
        name: found.snapshot.name,
        author: book.of(found.snapshot.author),
        runner: book.of(found.snapshot.runner),
        createdAt: found.snapshot.createdAt,
        canRun: status.canRun,
        approvedCount: status.members.filter((member) => member.state === 'approved' || member.state === 'author').length,
        memberCount: status.members.length,
      };
    });
  }

  private statusOf(state: RoomState, snapshotId: string): SnapshotView['status'] {
    return snapshotStatus(state, snapshotId, this.clock(), this.runsUsed(state));
  }
}

/** The room's snapshots, oldest first. */
export function snapshotsOf(state: RoomState): SnapshotState[] {
  return [...state.snapshots];
}

