// Snapshots and approvals through core on real homes: adding a notebook freezes a snapshot whose
// id changes with any byte; an approval applies to one snapshot only, releases keys only to its
// runner, and releases nothing once expired or revoked; a snapshot of another room, a notebook
// reading a table that is not in the room, and a runner who is not a member are all refused.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDataKey } from '../../shared/approval.js';
import { type SnapshotView } from '../../shared/approval-status.js';
import { type AssetView } from '../../shared/asset.js';
import { type ApiRequest } from '../../shared/contract.js';
import { fromBase64Url } from '../../shared/crypto.js';
import { openOwnDataKey } from '../../electron/core/vault.js';
import { Keystore } from '../../electron/core/keystore.js';
import { addAsset, exchange, formRoom, homeTables, makeParty, type Party, whileClosed } from '../support/core-parties.js';
import { passphrase, temporaryFolder } from '../support/homes.js';

const dayMs = 24 * 60 * 60 * 1000;

/** A clock every home shares, moved forward to reach expiry dates. */
function movableClock() {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms: number) => (offset += ms) };
}

async function addTable(party: Party, request: ApiRequest<'table.add'>): Promise<AssetView> {
  const added = await addAsset(party, 'table.add', request);
  assert.ok(added.ok, added.ok ? undefined : added.error.message);
  return added.value;
}

/** The party's unsealed keys, read from its home while it is closed. */
async function keysOf(party: Party) {
  return whileClosed(party, () => {
    const db = new Database(path.join(party.home, 'cleanroom.db'), { fileMustExist: true });
    try {
      const keystore = new Keystore(db);
      const identity = keystore.unlock(passphrase);
      const { boxSecretKey } = keystore.keys();
      return { boxPublicKey: fromBase64Url(identity.boxPublicKey), boxSecretKey: new Uint8Array(boxSecretKey) };
    } finally {
      db.close();
    }
  });
}

interface StoredEntry {
  author: string;
  body: { type: string; approval?: { snapshot: string; runner: string; keys: { asset: string; sealedKey: string }[] } };
}

/** The approval.granted entries a home holds. */
async function grantsIn(party: Party): Promise<StoredEntry[]> {
  const rows = await whileClosed(party, () => JSON.parse(homeTables(party.home, ['entries'])['entries'] as string) as { entry: string }[]);
  return rows.map((row) => JSON.parse(row.entry) as StoredEntry).filter((entry) => entry.body.type === 'approval.granted');
}

const stateOf = (view: SnapshotView, alias: string) => view.status.members.find((member) => member.alias === alias)?.state;

const notebookText = (comment: string) => `-- %% [markdown]
-- Readmission rate by ward (${comment})
-- %% output=rates
SELECT a.ward, avg(a.readmitted) AS rate, count(*) AS n
FROM admissions a JOIN claims c ON a.patient_id = c.member_id
GROUP BY a.ward
`;

describe('snapshots and approvals', () => {
  const folder = temporaryFolder();
  const clock = movableClock();
  let mary: Party;
  let acme: Party;
  let carol: Party;
  let room = '';
  let other = '';
  let admissions: AssetView;
  let snapshot: SnapshotView;

  before(async () => {
    mary = await makeParty(folder.dir, 'St Mary', clock.now);
    acme = await makeParty(folder.dir, 'Acme', clock.now);
    carol = await makeParty(folder.dir, 'Carol', clock.now);
    room = await formRoom(mary, [acme, carol], 'Readmissions');
    other = await formRoom(mary, [acme], 'Elsewhere');
    mkdirSync(path.join(folder.dir, 'files'), { recursive: true });
    const admissionsCsv = path.join(folder.dir, 'files', 'admissions.csv');
    writeFileSync(admissionsCsv, 'patient_id,age,ward,readmitted\n1,34,north,1\n2,51,south,0\n');
    const claimsCsv = path.join(folder.dir, 'files', 'claims.csv');
    writeFileSync(claimsCsv, 'member_id,plan,amount\n1,gold,10\n2,silver,3\n');
    admissions = await addTable(mary, { room, name: 'admissions', path: admissionsCsv, roles: [{ column: 'patient_id', role: 'privacy_unit' }] });
    // Issue 17: a table without a privacy unit is a public lookup (joins on dimensions only), so the
    // notebook's join on member_id needs member_id to be claims' privacy unit.
    await addTable(acme, { room, name: 'claims', path: claimsCsv, roles: [{ column: 'member_id', role: 'privacy_unit' }] });
    await exchange([mary, acme, carol], room);
  });

  after(async () => {
    for (const party of [mary, acme, carol]) await party?.core.close();
    folder.remove();
  });

  it('checks a notebook: which tables each cell reads, and what is not in the room', async () => {
    const check = await acme.core.call('notebook.check', { room, source: notebookText('v1') });
    assert.equal(check.ok, true, JSON.stringify(check));
    assert.deepEqual(check.cells.map((cell) => cell.reads), [[], ['admissions', 'claims']]);
    const missing = await acme.core.call('notebook.check', { room, source: '-- %%\nWITH x AS (SELECT * FROM claims) SELECT count(*) FROM x JOIN pharmacy USING (member_id)\n' });
    assert.equal(missing.ok, false);
    assert.deepEqual(missing.cells[0]?.problems, ['reads pharmacy, which is not a table in this room']);
  });

  it('adding a notebook makes a snapshot that counts as its author\'s approval', async () => {
    snapshot = await acme.core.call('notebook.add', { room, name: 'Readmission by ward', source: notebookText('v1') });
    assert.match(snapshot.id, /^[0-9a-f]{64}$/);
    assert.equal(snapshot.author, 'Acme');
    assert.equal(snapshot.runner, 'Acme');
    assert.deepEqual(snapshot.recipients, ['Acme']);
    assert.deepEqual(snapshot.assets.map((asset) => [asset.name, asset.payloadHash]), [
      ['admissions', admissions.payloadHash],
      ['claims', snapshot.assets[1]?.payloadHash],
    ]);
    assert.equal(stateOf(snapshot, 'Acme'), 'author');
    assert.equal(stateOf(snapshot, 'St Mary'), 'missing');
    assert.equal(snapshot.status.canRun, false);
    assert.ok(snapshot.status.reasons.some((reason) => reason.includes('St Mary')), snapshot.status.reasons.join('; '));
    await exchange([mary, acme, carol], room);
    const shown = await mary.core.call('notebook.show', { room, snapshot: snapshot.id.slice(0, 8) });
    assert.equal(shown.id, snapshot.id);
    const { snapshots } = await carol.core.call('notebook.list', { room });
    assert.deepEqual(snapshots.map((summary) => summary.id), [snapshot.id]);
  });

  it('an approval releases the key to the named runner only', async () => {
    const approved = await mary.core.call('approval.grant', { room, snapshot: snapshot.id });
    assert.equal(stateOf(approved, 'St Mary'), 'approved');
    const grant = (await grantsIn(mary)).find((entry) => entry.body.approval?.snapshot === snapshot.id && entry.author === mary.identity.signPublicKey);
    const released = grant?.body.approval?.keys ?? [];
    assert.deepEqual(released.map((key) => key.asset), [admissions.id], "only St Mary's own asset");
    const sealed = (released[0] as { sealedKey: string }).sealedKey;

    const runnerKey = openDataKey(sealed, snapshot.id, admissions.id, await keysOf(acme));
    assert.ok(runnerKey !== null, 'the runner opens it');
    assert.equal(openDataKey(sealed, snapshot.id, admissions.id, await keysOf(carol)), null, 'a third member cannot');
    assert.equal(openDataKey(sealed, snapshot.id, admissions.id, await keysOf(mary)), null, 'not even its owner, once sealed to the runner');
    const own = await whileClosed(mary, () => JSON.parse(homeTables(mary.home, ['data_keys'])['data_keys'] as string) as { asset: string; sealed_key: string }[]);
    assert.deepEqual(own.map((row) => row.asset), [admissions.id]);
    const ownKey = openOwnDataKey((own[0] as { sealed_key: string }).sealed_key, await keysOf(mary));
    assert.deepEqual(runnerKey, ownKey, 'it is the data key of the table');

    await carol.core.call('approval.grant', { room, snapshot: snapshot.id });
    await exchange([mary, acme, carol], room);
    const ready = await acme.core.call('notebook.show', { room, snapshot: snapshot.id });
    assert.equal(ready.status.canRun, true, ready.status.reasons.join('; '));
  });

  it('a snapshot changed by one byte has a new id, and the old approvals do not apply to it', async () => {
    const edited = await acme.core.call('notebook.add', { room, name: 'Readmission by ward', source: notebookText('v2') });
    assert.notEqual(edited.id, snapshot.id);
    assert.equal(stateOf(edited, 'St Mary'), 'missing');
    assert.equal(edited.status.canRun, false);
    const old = await acme.core.call('notebook.show', { room, snapshot: snapshot.id });
    assert.equal(old.status.canRun, true, 'the old snapshot stays readable and approved');
  });

  it('a revoked approval releases nothing', async () => {
    const revoked = await carol.core.call('approval.revoke', { room, snapshot: snapshot.id });
    assert.equal(stateOf(revoked, 'Carol'), 'revoked');
    await exchange([mary, acme, carol], room);
    const view = await acme.core.call('notebook.show', { room, snapshot: snapshot.id });
    assert.equal(view.status.canRun, false);
    assert.ok(view.status.reasons.some((reason) => reason.includes('Carol')), view.status.reasons.join('; '));
    const again = await carol.core.dispatch('approval.revoke', { room, snapshot: snapshot.id });
    assert.equal(again.ok, false);
    await carol.core.call('approval.grant', { room, snapshot: snapshot.id });
    await exchange([mary, acme, carol], room);
    assert.equal((await acme.core.call('notebook.show', { room, snapshot: snapshot.id })).status.canRun, true);
  });

  it('an expired approval releases nothing', async () => {
    clock.advance(8 * dayMs);
    const view = await acme.core.call('notebook.show', { room, snapshot: snapshot.id });
    assert.equal(stateOf(view, 'St Mary'), 'expired');
    assert.equal(view.status.canRun, false);
    const released = view.status.members.find((member) => member.alias === 'St Mary')?.keys ?? [];
    assert.ok(released.every((key) => !key.released), 'an expired approval releases no key');
    // Fresh approvals apply again (the author's own, made when adding it, has expired too).
    await mary.core.call('approval.grant', { room, snapshot: snapshot.id, expiresDays: 1, runs: 2 });
    await carol.core.call('approval.grant', { room, snapshot: snapshot.id });
    await acme.core.call('approval.grant', { room, snapshot: snapshot.id });
    await exchange([mary, acme, carol], room);
    const renewed = await acme.core.call('notebook.show', { room, snapshot: snapshot.id });
    assert.equal(renewed.status.members.find((member) => member.alias === 'St Mary')?.runsLeft, 2);
    assert.equal(renewed.status.canRun, true, renewed.status.reasons.join('; '));
  });

  it('refuses approving a snapshot of another room, a notebook reading a table not in the room, and a runner who is not a member', async () => {
    const before = await whileClosed(mary, () => homeTables(mary.home, ['entries', 'data_keys']));
    const elsewhere = await mary.core.dispatch('approval.grant', { room: other, snapshot: snapshot.id });
    assert.equal(elsewhere.ok, false);
    if (!elsewhere.ok) {
      assert.equal(elsewhere.error.code, 'NOT_FOUND');
      assert.match(elsewhere.error.message, /No snapshot .* in Elsewhere/);
    }
    const missing = await mary.core.dispatch('notebook.add', { room, name: 'Pharmacy', source: '-- %%\nSELECT count(*) FROM pharmacy\n' });
    assert.equal(missing.ok, false);
    if (!missing.ok) {
      assert.equal(missing.error.code, 'NOT_FOUND');
      assert.match(missing.error.message, /reads pharmacy, which is not a table in Readmissions/);
    }
    const stranger = await mary.core.dispatch('notebook.add', { room, name: 'Elsewhere run', source: notebookText('v3'), runner: 'Dana' });
    assert.equal(stranger.ok, false);
    if (!stranger.ok) {
      assert.equal(stranger.error.code, 'NOT_A_MEMBER');
      assert.match(stranger.error.message, /Dana is not a member of Readmissions/);
    }
    assert.deepEqual(await whileClosed(mary, () => homeTables(mary.home, ['entries', 'data_keys'])), before, 'nothing was stored');
  });
});
