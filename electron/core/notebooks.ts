// Notebooks and their snapshots: checking which room tables each SQL cell reads (DuckDB's own
// parser, walked in shared/sql-tables.ts), freezing a notebook as a signed snapshot, and the
// views of snapshots with their approval status.
//
// Libraries (`-- library NAME`, issue 6) must be volumes the notebook's author owns. For the
// author's own check, core asks the worker to read them (readLibrary, with the author's own key)
// and expands their macros into each cell before judging it, so the author sees full reasons. The
// snapshot references each library volume, so approvals carry its key to the runner.
import { type SnapshotSummary, type SnapshotView } from '../../shared/approval-status.js';
import { type ApiResponse } from '../../shared/contract.js';
import { fromBase64Url, toBase64Url, wipe } from '../../shared/crypto.js';
import { CleanroomError, type ErrorCode } from '../../shared/errors.js';
import { type IdentityPublic } from '../../shared/identity.js';
import { checkLibrary, expandMacros, type MacroDefinition, macroFromTree } from '../../shared/library.js';
import { parseTrainOptions } from '../../shared/model.js';
import { type Notebook, parseNotebook, type Snapshot, snapshotIdOf } from '../../shared/notebook.js';
import { analyseCell, type PolicyProblem, type PolicyTable } from '../../shared/policy.js';
import { type MemberState, type RoomState, type SnapshotState, snapshotStatus } from '../../shared/room-state.js';
import { assetNameOf, tablesReadBy } from '../../shared/sql-tables.js';
import { analyseTrainCell } from '../../shared/train-policy.js';
import { type Approvals } from './approvals.js';
import { type RoomAsset, roomAssets } from './assets.js';
import { type UnlockedKeys } from './keystore.js';
import { type Rooms, type StoredRoom } from './rooms.js';
import { openOwnDataKey, vaultPathFor } from './vault.js';
import { type WorkerHost } from './worker-host.js';

type NotebookCheck = ApiResponse<'notebook.check'>;
type CellCheck = NotebookCheck['cells'][number];

const parseTimeoutMs = 30_000;
const libraryTimeoutMs = 120_000;
const minIdPrefix = 6;

/** How core reads its own library volumes for the author's check: the sealed key and the payload file. */
export interface OwnVolumeAccess {
  /** My sealed data key for one of my assets, or null (Assets.sealedKeyOf). */
  sealedKeyOf(assetId: string): string | null;
  /** Where this home keeps a payload it recorded (Packets.payloadFileOf); else it is at its vault path. */
  payloadFileOf(payloadHash: string): string | null;
  readonly vaultDir: string;
}

/** Who is checking: their own libraries can be read only with their unlocked keys. */
interface Checker {
  readonly me: IdentityPublic;
  readonly keys: UnlockedKeys | null;
}

/** Why the notebook's libraries cannot be used, with the code notebook.add refuses it with. */
interface LibraryProblem {
  readonly code: ErrorCode;
  readonly message: string;
}

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
    /** Reading my own library volumes; without it, notebooks that name libraries cannot be checked or added. */
    private readonly ownVolumes: OwnVolumeAccess | null = null,
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

  /**
   * The volumes a notebook's `-- library` lines name, and why any cannot be used: each must be a
   * volume of the room that the checker owns.
   */
  private librariesOf(notebook: Notebook, state: RoomState, room: StoredRoom, checker: Checker | null): { volumes: RoomAsset[]; problems: LibraryProblem[] } {
    const volumes: RoomAsset[] = [];
    const problems: LibraryProblem[] = [];
    for (const name of notebook.libraries ?? []) {
      const asset = roomAssets(state).find((candidate) => candidate.name === name);
      if (asset === undefined) {
        problems.push({ code: 'NOT_FOUND', message: `library ${name} is not a volume in ${room.name}` });
      } else if (asset.descriptor.kind !== 'volume') {
        problems.push({ code: 'BAD_REQUEST', message: `library ${name} is a table; a library is a volume of SQL macros` });
      } else if (checker !== null && asset.descriptor.owner !== checker.me.signPublicKey) {
        const owner = this.rooms.aliasBook(state, checker.me).of(asset.descriptor.owner);
        problems.push({ code: 'NOT_ALLOWED', message: `a notebook may use only your own volumes as libraries; ${name} is ${owner}'s` });
      } else volumes.push(asset);
    }
    return { volumes, problems };
  }

  /**
   * The macros of my own library volumes, read by the worker with my key (their bodies are mine
   * to see), and the problems the owner must fix before the notebook can run.
   */
  private async macrosOf(volumes: readonly RoomAsset[], checker: Checker): Promise<{ macros: Map<string, MacroDefinition>; problems: LibraryProblem[] }> {
    const access = this.ownVolumes;
    if (volumes.length === 0) return { macros: new Map(), problems: [] };
    if (checker.keys === null) return { macros: new Map(), problems: [{ code: 'LOCKED', message: 'unlock your identity to check a notebook that uses your libraries' }] };
    if (access === null) return { macros: new Map(), problems: [{ code: 'INTERNAL', message: 'this Cleanroom cannot read libraries' }] };
    const problems: LibraryProblem[] = [];
    const entries: { macro: MacroDefinition; position: string }[] = [];
    const boxKeys = { boxPublicKey: fromBase64Url(checker.me.boxPublicKey), boxSecretKey: checker.keys.boxSecretKey };
    for (const volume of volumes) {
      const { name, payload } = volume.descriptor;
      const sealed = access.sealedKeyOf(volume.id);
      if (sealed === null) {
        problems.push({ code: 'NOT_FOUND', message: `this home has no data key for your volume ${name}, so library ${name} cannot be read` });
        continue;
      }
      const dataKey = openOwnDataKey(sealed, boxKeys);
      let read;
      try {
        read = await this.worker.request(
          { kind: 'readLibrary', name, payloadFile: access.payloadFileOf(payload.hash) ?? vaultPathFor(access.vaultDir, payload.hash), chunkSize: payload.chunkSize, dataKey: toBase64Url(dataKey) },
          { timeoutMs: libraryTimeoutMs },
        );
      } finally {
        wipe(dataKey);
      }
      for (const problem of read.problems) problems.push({ code: 'BAD_REQUEST', message: `library ${name}: ${problem}` });
      for (const macro of read.macros) {
        const made = macroFromTree(macro, JSON.parse(macro.body) as unknown);
        if (made.ok) entries.push({ macro: made.macro, position: `library ${name}` });
        else problems.push({ code: 'BAD_REQUEST', message: `library ${name}: ${made.reason}` });
      }
    }
    // Each library was checked alone by the worker; together, two may define the same macro.
    const checked = checkLibrary(entries, new Set());
    for (const problem of checked.problems) problems.push({ code: 'BAD_REQUEST', message: problem });
    return { macros: checked.macros, problems };
  }

  /** Checks every cell against the room: what it reads and what would be refused. */
  private async checkCells(
    notebook: Notebook,
    state: RoomState,
    room: StoredRoom,
    checker: Checker | null,
  ): Promise<{ cells: CellCheck[]; missing: MissingTable[]; refusals: PolicyRefusal[]; libraries: RoomAsset[]; libraryProblems: LibraryProblem[] }> {
    // The owners' column roles and min/max choice, as the worker will enforce them.
    const policyTables: PolicyTable[] = roomAssets(state).flatMap((asset) =>
      asset.descriptor.kind === 'table'
        ? [{ name: asset.name, allowMinMax: asset.descriptor.allowMinMax, columns: asset.descriptor.columns.map((column) => ({ name: column.name, role: column.role, type: column.type })) }]
        : [],
    );
    const libraries = this.librariesOf(notebook, state, room, checker);
    const libraryProblems = [...libraries.problems];
    let macros = new Map<string, MacroDefinition>();
    if (libraryProblems.length === 0 && checker !== null) {
      const read = await this.macrosOf(libraries.volumes, checker);
      macros = read.macros;
      libraryProblems.push(...read.problems);
    }
    const tables = new Set(policyTables.map((table) => table.name));
    // Outputs later cells may read, and every name made so far (a model is made but not readable).
    const outputs = new Set<string>();
    const made = new Set<string>();
    const cells: CellCheck[] = [];
    const missing: MissingTable[] = [];
    const refusals: PolicyRefusal[] = [];
    const context = () => ({ tables: policyTables, earlierOutputs: [...outputs], mode: state.policy.mode });
    const refuse = (index: number, problems: string[], found: readonly PolicyProblem[]): void => {
      for (const problem of found) {
        const reason = problem.position === undefined ? problem.reason : `${problem.position}: ${problem.reason}`;
        problems.push(reason);
        refusals.push({ cell: index, reason });
      }
    };
    for (const [index, cell] of notebook.cells.entries()) {
      const problems: string[] = [];
      const reads: string[] = [];
      let output = cell.output ?? '';
      const spec = cell.kind === 'train' ? parseTrainOptions(cell) : null;
      if (spec !== null && !spec.ok) problems.push(...spec.reasons);
      if (spec?.ok === true) output = spec.spec.model;
      if ((cell.kind === 'sql' || cell.kind === 'train') && cell.source.trim() !== '') {
        const parsed = await this.syntaxTree(cell.source);
        const expanded = expandMacros(parsed, macros);
        const tree = expanded.ok ? expanded.tree : parsed;
        const found = tablesReadBy(tree);
        const notSelect = typeof tree === 'object' && tree !== null && (tree as { error?: unknown; error_type?: unknown }).error === true && (tree as { error_type?: unknown }).error_type !== 'parser';
        if (!expanded.ok) {
          problems.push(expanded.reason);
        } else if ('error' in found && notSelect) {
          // COPY, ATTACH, SET…: DuckDB serializes only SELECTs; the policy says what is allowed instead.
          const verdict = spec !== null && spec.ok ? analyseTrainCell(tree, context(), spec.spec) : analyseCell(tree, context());
          refuse(index, problems, verdict.problems.length > 0 ? verdict.problems.slice(0, 1) : [{ reason: 'only a single SELECT is allowed' }]);
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
          if (problems.length === 0 && spec !== null && spec.ok) {
            refuse(index, problems, analyseTrainCell(tree, context(), spec.spec).problems);
          } else if (problems.length === 0 && cell.kind === 'sql') {
            const verdict = analyseCell(tree, context());
            refuse(index, problems, verdict.problems);
          }
        }
      } else if (cell.kind === 'train') {
        problems.push('the train cell has no SELECT of its training rows');
      }
      if (cell.kind === 'train') {
        if (spec?.ok === true) {
          const model = spec.spec.model;
          if (tables.has(model)) problems.push(`its model ${model} has the name of a table in this room`);
          else if (made.has(model)) problems.push(`its model ${model} has the name of an earlier cell's output`);
          made.add(model);
        }
      } else if (cell.output !== null) {
        if (tables.has(cell.output)) problems.push(`its output ${cell.output} has the name of a table in this room`);
        else if (made.has(cell.output)) problems.push(`its output ${cell.output} has the name of an earlier cell's model`);
        outputs.add(cell.output);
        made.add(cell.output);
      } else if (cell.kind === 'sql') {
        // The worker names an unnamed SQL cell's output cell_<n>; later cells may read it.
        outputs.add(`cell_${index + 1}`);
        made.add(`cell_${index + 1}`);
      }
      cells.push({ index, kind: cell.kind, output, reads, problems });
    }
    return { cells, missing, refusals, libraries: libraries.volumes, libraryProblems };
  }

  /**
   * Checks a notebook against the room. With my identity unlocked, my own libraries are read and
   * their macros expanded, so I see every reason; another member's library is refused. Without an
   * identity, libraries are not judged (nobody could add the notebook anyway).
   */
  async check(roomRef: string, source: string, me: IdentityPublic | null = null, keys: UnlockedKeys | null = null): Promise<NotebookCheck> {
    const room = this.rooms.resolve(roomRef);
    const state = this.rooms.state(room);
    let notebook: Notebook;
    try {
      notebook = parseNotebook(source);
    } catch (error) {
      if (error instanceof CleanroomError && error.code === 'BAD_REQUEST') return { ok: false, problems: [error.message], cells: [] };
      throw error;
    }
    const { cells, libraryProblems } = await this.checkCells(notebook, state, room, me === null ? null : { me, keys });
    const problems = libraryProblems.map((problem) => problem.message.slice(0, 500));
    return { ok: problems.length === 0 && cells.every((cell) => cell.problems.length === 0), problems, cells };
  }

  // ---- adding ----------------------------------------------------------------------------------

  async add(request: AddNotebookRequest, me: IdentityPublic, keys: UnlockedKeys): Promise<SnapshotView> {
    const room = this.rooms.resolve(request.room);
    const state = this.rooms.requireActiveMember(room, me);
    const notebook = parseNotebook(request.source);
    const { cells, missing, refusals, libraries, libraryProblems } = await this.checkCells(notebook, state, room, { me, keys });
    const library = libraryProblems[0];
    if (library !== undefined) throw new CleanroomError(library.code, `${capitalised(library.message)}; nothing was added.`);
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
    const byName = new Map(roomAssets(state).map((asset) => [asset.name, asset]));
    const read = [...new Set(cells.flatMap((cell) => cell.reads))];
    const assets: Snapshot['assets'][number][] = read.flatMap((name) => {
      const asset = byName.get(name);
      if (asset === undefined || asset.descriptor.kind !== 'table') return [];
      return [{ name, kind: asset.descriptor.kind, owner: asset.descriptor.owner, asset: asset.id, payloadHash: asset.descriptor.payload.hash }];
    });
    // Then the libraries, in `-- library` order: my approval below carries their keys to the runner.
    for (const volume of libraries) {
      const { kind, owner, payload } = volume.descriptor;
      assets.push({ name: volume.name, kind, owner, asset: volume.id, payloadHash: payload.hash });
    }

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

const capitalised = (text: string): string => `${text.charAt(0).toUpperCase()}${text.slice(1)}`;

/** The room's snapshots, oldest first. */
export function snapshotsOf(state: RoomState): SnapshotState[] {
  return [...state.snapshots];
}

