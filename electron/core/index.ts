// Core: the only owner of state. Opens a home, implements every method of the API contract once,
// and hands any host a `dispatch` that validates input and never throws.
import {
  api,
  type ApiHandlers,
  type ApiMethod,
  type ApiRequest,
  type ApiResponse,
  isApiMethod,
} from '../../shared/contract.js';
import { cryptoReady, fromBase64Url } from '../../shared/crypto.js';
import { CleanroomError, diskFullError, isDiskFull, type Result, toApiError } from '../../shared/errors.js';
import { cardFileName, encodeCard, makeCard } from '../../shared/card.js';
import { parse } from '../../shared/validate.js';
import { Approvals } from './approvals.js';
import { Assets, sweepVault } from './assets.js';
import { Contacts } from './contacts.js';
import { writeFileAtomic } from './files.js';
import { type HostKind, type OpenedHome, openHome } from './home.js';
import { Jobs } from './jobs.js';
import { Keystore } from './keystore.js';
import { Models } from './models.js';
import { Notebooks } from './notebooks.js';
import { Outputs, type StoredOutput } from './outputs.js';
import { Packets } from './packets.js';
import { PendingFiles } from './pending-files.js';
import { sweepRamFolders } from './ram-folder.js';
import { Rooms } from './rooms.js';
import { Runs, runsUsedCounter } from './runs.js';
import { Staging } from './staging.js';
import { appVersion } from './version.js';
import { type WorkerLauncher, WorkerHost } from './worker-host.js';

export { defaultHome, type HostKind } from './home.js';
export type { WorkerLauncher } from './worker-host.js';
export type { Staging, StagedFile } from './staging.js';

export interface CoreOptions {
  /** The home folder; created if missing. */
  readonly home: string;
  readonly host: HostKind;
  /** The worker script: build/out/worker.cjs when bundled, electron/worker/main.ts under tsx. */
  readonly workerEntry: string;
  readonly workerExecArgv?: string[];
  /** Electron passes a utilityProcess launcher; the default forks a Node child. */
  readonly launchWorker?: WorkerLauncher;
  /** better-sqlite3 binding built for Electron's ABI, when running inside Electron. */
  readonly sqliteNativeBinding?: string;
  /** The time core acts at; tests move it to reach expiry dates. */
  readonly clock?: () => Date;
  /** A run's time limit in milliseconds (default 30 minutes); past it the worker is killed and the run fails (Timeout). */
  readonly runTimeoutMs?: number;
  /** DuckDB memory_limit for runs, e.g. `2GB`; the worker's own limit when absent. */
  readonly runMemoryLimit?: string;
}

export interface Core {
  readonly home: string;
  /** Validates the method and request against the contract; resolves to a Result, never throws. */
  dispatch(method: string, request: unknown): Promise<Result<unknown>>;
  /** Typed call for in-process hosts; throws CleanroomError. */
  call<M extends ApiMethod>(method: M, request: ApiRequest<M>): Promise<ApiResponse<M>>;
  /**
   * Files the browser shell received from the page, in a private RAM-backed folder: their paths
   * are read like typed ones, and each is removed once an import that used it ends.
   */
  readonly staging: Staging;
  /**
   * Writes a file the person asked for (a card, receipt or model file) atomically, its temporary
   * name recorded in the home meanwhile so that a crash's leftover is removed at the next start.
   * Throws DISK_FULL naming the folder or FILE_ERROR naming the file.
   */
  writeUserFile(target: string, data: Uint8Array): void;
  close(): Promise<void>;
}

function logUnexpected(method: string, error: unknown): void {
  // Only the error's class and stack reach the log: messages from libraries can quote data.
  const name = error instanceof Error ? error.name : typeof error;
  const stack = error instanceof Error && error.stack ? error.stack.split('\n').slice(1, 6).join('\n') : '';
  console.error(`cleanroom: unexpected ${name} in ${method}\n${stack}`);
}

export async function openCore(options: CoreOptions): Promise<Core> {
  await cryptoReady();
  const home = openHome(options.home, options.host, { nativeBinding: options.sqliteNativeBinding });
  try {
    return openCoreOn(home, options);
  } catch (error) {
    home.close();
    throw asDiskFull(error, home.dir);
  }
}

/**
 * SQLite reports a full disk for the home's database as SQLITE_FULL from any statement that
 * writes; it rolled the statement's transaction back, so the one message holds.
 */
function asDiskFull(error: unknown, homeDir: string): unknown {
  return !(error instanceof CleanroomError) && isDiskFull(error) ? diskFullError(homeDir) : error;
}

function openCoreOn(home: OpenedHome, options: CoreOptions): Core {
  const keystore = new Keystore(home.db);
  const clock = options.clock ?? (() => new Date());
  const contacts = new Contacts(home.db, clock);
  const rooms = new Rooms(home.db, contacts, clock);
  // Temporary files outside the home that a crash left (an export's .partial) go first.
  const pendingFiles = new PendingFiles(home.db, clock);
  pendingFiles.sweep();
  const packets = new Packets(home.db, rooms, clock, undefined, pendingFiles);
  const me = () => keystore.publicIdentity();
  const identityOrNull = () => {
    const status = keystore.status();
    return status.state === 'none' ? null : status.identity;
  };
  const worker = new WorkerHost({
    entry: options.workerEntry,
    execArgv: options.workerExecArgv,
    launch: options.launchWorker,
  });
  // An import killed mid-way (kill -9, power cut) left at most an unrecorded file in the vault and
  // plaintext in a RAM folder; neither is ever referenced, so both go before anything else runs.
  sweepVault(home.db, home.vaultDir);
  sweepRamFolders();
  const jobs = new Jobs(clock, (error) => asDiskFull(error, home.dir));
  // Its folder is made at the first upload (a CLI run never needs one) and removed at close.
  const staging = new Staging();
  const assets = new Assets(home.db, home.vaultDir, rooms, worker, jobs, clock, staging);
  const approvals = new Approvals(rooms, assets, clock);
  const notebooks = new Notebooks(rooms, worker, approvals, clock, runsUsedCounter(home.db), { vaultDir: home.vaultDir, sealedKeyOf: (asset) => assets.sealedKeyOf(asset), payloadFileOf: (hash) => packets.payloadFileOf(hash) });
  const outputs = new Outputs(home.db, home.vaultDir, clock);
  const models = new Models(worker, staging, pendingFiles);
  const runs = new Runs(home.db, home.vaultDir, rooms, notebooks, outputs, packets, worker, jobs, clock, {
    ...(options.runTimeoutMs === undefined ? {} : { timeoutMs: options.runTimeoutMs }),
    ...(options.runMemoryLimit === undefined ? {} : { memoryLimit: options.runMemoryLimit }),
  });
  // A run cut short by a crash used its approvals but signed nothing: it shows as interrupted.
  // Outputs past the room's retention go now (and again whenever outputs are listed).
  runs.markInterrupted();
  outputs.deleteExpired();

  /** Releases addressed to me are opened and stored before outputs are listed or shown. */
  const outputsOf = (roomRef: string) => {
    const identity = me();
    const unlocked = keystore.keys();
    const room = rooms.resolve(roomRef);
    const state = rooms.state(room);
    outputs.deleteExpired();
    outputs.syncReleased(room, state, identity, unlocked, (payloadHash) => packets.payloadFileOf(payloadHash));
    const book = rooms.aliasBook(state, identity);
    const boxKeys = { boxPublicKey: fromBase64Url(identity.boxPublicKey), boxSecretKey: unlocked.boxSecretKey };
    return { room, state, view: (stored: StoredOutput) => outputs.viewOf(stored, state, (key) => book.of(key)), boxKeys };
  };

  const handlers: ApiHandlers = {
    'app.info': async () => ({ version: appVersion, host: options.host, home: home.dir }),
    'engine.info': async () => ({ duckdbVersion: (await worker.handshake()).duckdbVersion }),
    'identity.status': async () => keystore.status(),
    'identity.create': async ({ alias, passphrase }) => keystore.create(alias.trim(), passphrase),
    'identity.unlock': async ({ passphrase }) => keystore.unlock(passphrase),
    'identity.lock': async () => {
      keystore.lock();
      return {};
    },
    'identity.changePassphrase': async ({ current, next }) => {
      keystore.changePassphrase(current, next);
      return {};
    },
    'identity.card': async () => {
      const identity = me();
      const card = makeCard(identity, keystore.keys().signSecretKey);
      return { card: encodeCard(card), fileName: cardFileName(identity.alias) };
    },
    'contact.import': async ({ card }) => contacts.import(card, identityOrNull()),
    'contact.list': async () => ({ contacts: contacts.list() }),
    'room.create': async (request) => {
      const identity = me();
      const room = rooms.create(request, identity, keystore.keys());
      return rooms.detailOf(room, identity);
    },
    'room.list': async () => ({ rooms: rooms.list(me()) }),
    'room.show': async ({ room }) => rooms.detailOf(rooms.resolve(room), me()),
    'room.join': async ({ room }) => {
      const identity = me();
      const stored = rooms.resolve(room);
      rooms.join(stored, identity, keystore.keys());
      return rooms.detailOf(stored, identity);
    },
    'room.leave': async ({ room }) => {
      const identity = me();
      const stored = rooms.resolve(room);
      rooms.leave(stored, identity, keystore.keys());
      return rooms.detailOf(stored, identity);
    },
    'room.proposeAmendment': async ({ room, addMembers }) => {
      const identity = me();
      const stored = rooms.resolve(room);
      rooms.proposeAmendment(stored, identity, keystore.keys(), addMembers);
      return rooms.detailOf(stored, identity);
    },
    'room.signAmendment': async ({ room, amendment }) => {
      const identity = me();
      const stored = rooms.resolve(room);
      rooms.signAmendment(stored, identity, keystore.keys(), amendment);
      return rooms.detailOf(stored, identity);
    },
    'packet.export': async (request) => packets.export(request, me(), keystore.keys()),
    'packet.import': async (request) => packets.import(request, me(), keystore.keys()),
    'table.inspect': async ({ path, format, followSymlinks }) => assets.inspect(path, format, followSymlinks),
    'table.add': async (request) => {
      const identity = me();
      return { job: await assets.startTable(request, identity, keystore.keys()) };
    },
    'volume.add': async (request) => {
      const identity = me();
      return { job: await assets.startVolume(request, identity, keystore.keys()) };
    },
    'job.status': async ({ job }) => jobs.view(job),
    'job.cancel': async ({ job }) => jobs.cancel(job),
    'asset.list': async ({ room }) => ({ assets: assets.list(room, me()) }),
    'notebook.check': async ({ room, source }) => notebooks.check(room, source, identityOrNull(), keystore.status().state === 'unlocked' ? keystore.keys() : null),
    'notebook.add': async (request) => {
      const identity = me();
      return notebooks.add(request, identity, keystore.keys());
    },
    'notebook.list': async ({ room }) => ({ snapshots: notebooks.list(room, me()) }),
    'notebook.show': async ({ room, snapshot }) => notebooks.view(room, snapshot, me()),
    'approval.grant': async ({ room, snapshot, expiresDays, runs }) => {
      const identity = me();
      const unlocked = keystore.keys();
      const stored = rooms.resolve(room);
      const found = notebooks.resolve(stored, rooms.state(stored), snapshot);
      approvals.grant(stored, found.id, identity, unlocked, { ...(expiresDays === undefined ? {} : { expiresDays }), ...(runs === undefined ? {} : { runs }) });
      return notebooks.view(stored.id, found.id, identity);
    },
    'approval.revoke': async ({ room, snapshot }) => {
      const identity = me();
      const unlocked = keystore.keys();
      const stored = rooms.resolve(room);
      const found = notebooks.resolve(stored, rooms.state(stored), snapshot);
      approvals.revoke(stored, found.id, identity, unlocked);
      return notebooks.view(stored.id, found.id, identity);
    },
    'run.start': async ({ room, snapshot }) => runs.start(room, snapshot, me(), keystore.keys()),
    'run.list': async ({ room }) => ({ runs: runs.list(room, me()) }),
    'run.receipt': async ({ room, run }) => runs.receipt(room, run),
    'output.list': async ({ room }) => {
      const { room: stored, view } = outputsOf(room);
      return { outputs: outputs.stored(stored).map(view) };
    },
    'output.show': async ({ room, output, offset, limit }) => {
      const { room: stored, view, boxKeys } = outputsOf(room);
      const found = outputs.resolve(stored, output);
      return outputs.data(found, view(found), boxKeys, offset ?? 0, limit);
    },
    'output.release': async ({ room, run, outPath }) => runs.release(room, run, outPath, me(), keystore.keys()),
    'model.predict': async ({ room, model, ...request }) => {
      if (room === undefined) return models.predict(await models.readModelFile(model), request);
      const { room: stored, view, boxKeys } = outputsOf(room);
      const found = outputs.resolve(stored, model);
      const shown = view(found);
      if (shown.kind !== 'model') throw new CleanroomError('BAD_REQUEST', `${shown.name} is a table, not a model; give a model made by a train cell.`);
      const text = outputs.data(found, shown, boxKeys, 0, 1).rows[0]?.[0];
      if (typeof text !== 'string') throw new CleanroomError('HOME_DAMAGED', `The stored model ${shown.name} has no document; the home is damaged.`);
      return models.predict(text, request);
    },
    'receipt.verify': async ({ receipt }) => {
      const status = keystore.status();
      const identity = status.state === 'none' ? null : status.identity;
      const unlocked = status.state === 'unlocked' ? keystore.keys() : null;
      return runs.verify(receipt, identity, unlocked);
    },
  };

  let closed = false;

  async function call<M extends ApiMethod>(method: M, request: ApiRequest<M>): Promise<ApiResponse<M>> {
    if (closed) throw new CleanroomError('INTERNAL', 'Cleanroom is shutting down.');
    const handler = handlers[method] as (request: ApiRequest<M>) => Promise<ApiResponse<M>>;
    const response = await handler(request);
    const checked = parse(api[method].response, response);
    if (!checked.ok) {
      console.error(`cleanroom: ${method} produced a response outside the contract at ${checked.issue.path}`);
      throw new CleanroomError('INTERNAL', 'Internal error: response did not match the contract.');
    }
    return checked.value as ApiResponse<M>;
  }

  async function dispatch(method: string, request: unknown): Promise<Result<unknown>> {
    if (!isApiMethod(method)) return { ok: false, error: { code: 'UNKNOWN_METHOD', message: `Unknown method "${method}".` } };
    const checked = parse(api[method].request, request ?? {});
    if (!checked.ok) return { ok: false, error: { code: 'BAD_REQUEST', message: checked.issue.message } };
    try {
      return { ok: true, value: await call(method, checked.value as ApiRequest<typeof method>) };
    } catch (thrown) {
      const error = asDiskFull(thrown, home.dir);
      if (!(error instanceof CleanroomError)) logUnexpected(method, error);
      return { ok: false, error: toApiError(error) };
    }
  }

  return {
    home: home.dir,
    dispatch,
    call,
    staging,
    writeUserFile(target, data) {
      if (closed) throw new CleanroomError('INTERNAL', 'Cleanroom is shutting down.');
      writeFileAtomic(target, data, { journal: pendingFiles });
    },
    async close() {
      if (closed) return;
      closed = true;
      // Running imports fail cleanly (their partial files removed) before the database closes.
      const stopping = jobs.stopAll();
      await worker.stop();
      await stopping;
      keystore.lock();
      await worker.stop();
      staging.close();
      home.close();
    },
  };
}
