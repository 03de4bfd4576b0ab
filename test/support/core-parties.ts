// Parties that use core directly, each on a real home of its own: open a home unlocked, make an
// identity and its card, read the home's tables while it is closed, and assert that a refusal
// changed nothing; form rooms and pass packets between parties, and follow an import's job. Used by
// the integration tests of contacts, rooms, packets, assets and approvals.
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Contacts } from '../../electron/core/contacts.js';
import { openHome } from '../../electron/core/home.js';
import { type Core, openCore } from '../../electron/core/index.js';
import { Keystore } from '../../electron/core/keystore.js';
import { Rooms } from '../../electron/core/rooms.js';
import { type AssetView } from '../../shared/asset.js';
import { type ApiRequest } from '../../shared/contract.js';
import { isErrorCode, type Result } from '../../shared/errors.js';
import { type IdentityPublic } from '../../shared/identity.js';
import { parseNotebook, type Snapshot } from '../../shared/notebook.js';
import { passphrase } from './homes.js';
import { tsxExecArgv, workerSourceEntry } from './paths.js';

export interface Party {
  readonly alias: string;
  readonly home: string;
  core: Core;
  readonly identity: IdentityPublic;
  readonly card: string;
  /** The clock the home runs on when a test controls it; reopening the home keeps it. */
  readonly clock: (() => Date) | undefined;
}

/** Core from source on `home`, unlocked when the home has an identity. */
export async function openUnlocked(home: string, clock?: () => Date): Promise<Core> {
  const core = await openCore({ home, host: 'cli', workerEntry: workerSourceEntry, workerExecArgv: tsxExecArgv, ...(clock ? { clock } : {}) });
  if ((await core.call('identity.status', {})).state !== 'none') await core.call('identity.unlock', { passphrase });
  return core;
}

/** A new home under `root` (named after the alias) with an identity, open and unlocked. */
export async function makeParty(root: string, alias: string, clock?: () => Date): Promise<Party> {
  const home = path.join(root, alias.toLowerCase().replace(/\W+/g, '-'));
  const core = await openUnlocked(home, clock);
  const identity = await core.call('identity.create', { alias, passphrase });
  const { card } = await core.call('identity.card', {});
  return { alias, home, core, identity, card, clock };
}

/** Every row of the tables that hold contacts and rooms, as text; the home must be closed. */
export function homeTables(home: string, names = ['contacts', 'rooms', 'entries', 'alerts', 'imports']): Record<string, string> {
  const db = new Database(path.join(home, 'cleanroom.db'), { fileMustExist: true });
  try {
    return Object.fromEntries(names.map((name) => [name, JSON.stringify(db.prepare(`SELECT * FROM ${name} ORDER BY rowid`).all())]));
  } finally {
    db.close();
  }
}

/** Runs `use` with the party's home closed (to read its database), then opens it again. */
export async function whileClosed<T>(party: Party, use: () => T): Promise<T> {
  await party.core.close();
  try {
    return use();
  } finally {
    party.core = await openUnlocked(party.home, party.clock);
  }
}

/**
 * Adds a snapshot the way a home that skips notebook.add's checks would: signed and valid for the
 * room, reading the named assets, whatever its cells do. The runner's worker must judge it anyway.
 */
export async function addUncheckedSnapshot(
  author: Party,
  roomId: string,
  snapshot: { name: string; source: string; assets: readonly string[]; runner: string; recipients: readonly string[] },
): Promise<void> {
  await whileClosed(author, () => {
    const home = openHome(author.home, 'cli');
    try {
      const keystore = new Keystore(home.db);
      const identity = keystore.unlock(passphrase);
      const clock = () => new Date();
      const rooms = new Rooms(home.db, new Contacts(home.db, clock), clock);
      const room = rooms.resolve(roomId);
      const state = rooms.state(room);
      const assets = snapshot.assets.map((assetName): Snapshot['assets'][number] => {
        const asset = state.assets.find((candidate) => candidate.descriptor.name === assetName);
        assert.ok(asset !== undefined, `no asset ${assetName} in the room`);
        return { name: assetName, kind: asset.descriptor.kind, owner: asset.owner, asset: asset.id, payloadHash: asset.descriptor.payload.hash };
      });
      const added: Snapshot = {
        format: 'cleanroom-snapshot/1',
        room: room.id,
        name: snapshot.name,
        author: identity.signPublicKey,
        notebook: parseNotebook(snapshot.source),
        assets,
        runner: snapshot.runner,
        recipients: [...snapshot.recipients],
        createdAt: new Date().toISOString(),
      };
      rooms.appendMine(room, identity, keystore.keys(), { type: 'snapshot.added', snapshot: added });
    } finally {
      home.close();
    }
  });
}

/** Asserts a refusal with one clear line, and that no table of the home changed. */
export async function assertRefusedUnchanged(
  party: Party,
  attempt: (core: Core) => Promise<Result<unknown>>,
  code: string,
  pattern: RegExp,
): Promise<void> {
  const before = await whileClosed(party, () => homeTables(party.home));
  const result = await attempt(party.core);
  assert.equal(result.ok, false, 'refused');
  if (result.ok) return;
  assert.equal(result.error.code, code, result.error.message);
  assert.match(result.error.message, pattern);
  assert.ok(!result.error.message.includes('\n'), 'one line');
  const afterwards = await whileClosed(party, () => homeTables(party.home));
  assert.deepEqual(afterwards, before, 'the database is unchanged');
}

/** A packet from `from` for the room (to every other member, or only `to`), as base64. */
export async function exportFor(from: Party, room: string, to?: string[]): Promise<string> {
  const result = await from.core.call('packet.export', { room, ...(to === undefined ? {} : { to }) });
  assert.ok(result.contentBase64 !== null);
  return result.contentBase64;
}

/**
 * A new room of `creator`'s with `others` as members: the creator imports their cards and creates
 * the room, and each of the others imports the invitation and joins. Returns the room id; the
 * creator has not seen the joins yet.
 */
export async function inviteAndJoin(creator: Party, others: readonly Party[], name: string, mode?: 'aggregate' | 'reviewed'): Promise<string> {
  const members: string[] = [];
  for (const other of others) members.push((await creator.core.call('contact.import', { card: other.card })).signPublicKey);
  const created = await creator.core.call('room.create', { name, members, ...(mode === undefined ? {} : { mode }) });
  const invitation = await exportFor(creator, created.summary.id);
  for (const other of others) {
    await other.core.call('packet.import', { contentBase64: invitation });
    await other.core.call('room.join', { room: created.summary.id });
  }
  return created.summary.id;
}

/** Every party sends every other one a packet, twice, so everyone holds every entry. */
export async function exchange(parties: readonly Party[], room: string): Promise<void> {
  for (let round = 0; round < 2; round++) {
    for (const from of parties) {
      const packet = await exportFor(from, room);
      for (const to of parties) if (to !== from) await to.core.call('packet.import', { contentBase64: packet });
    }
  }
}

/** A room of `creator` and `others`, every member joined and holding every entry. Returns its id. */
export async function formRoom(creator: Party, others: readonly Party[], name: string, mode?: 'aggregate' | 'reviewed'): Promise<string> {
  const room = await inviteAndJoin(creator, others, name, mode);
  await exchange([creator, ...others], room);
  return room;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts an import and follows its job: the asset, or the refusal from either step. */
export async function addAsset(
  party: Party,
  method: 'table.add' | 'volume.add',
  request: ApiRequest<'table.add'> | ApiRequest<'volume.add'>,
): Promise<Result<AssetView>> {
  const started = await party.core.dispatch(method, request);
  if (!started.ok) return started;
  const { job } = started.value as { job: string };
  for (;;) {
    const view = await party.core.call('job.status', { job });
    if (view.state === 'done' && view.asset !== null) return { ok: true, value: view.asset };
    if (view.state === 'failed') {
      const code = isErrorCode(view.error?.code) ? view.error.code : 'INTERNAL';
      return { ok: false, error: { code, message: view.error?.message ?? '' } };
    }
    await sleep(25);
  }
}
