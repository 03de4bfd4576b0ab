// Assets, snapshots and approvals in the room state: what is accepted, what is refused and why,
// the approval matrix, and that none of it depends on the order entries arrive in.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type Approval } from '../../shared/approval.js';
import { type AssetDescriptor } from '../../shared/asset.js';
import { cryptoReady } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { entryId } from '../../shared/feed.js';
import { type Snapshot, snapshotIdOf } from '../../shared/notebook.js';
import { deriveRoomState, type MergeResult, mergeEntries, type RoomState, snapshotStatus } from '../../shared/room-state.js';
import { type EntryBody, type SignedEntry } from '../../shared/room.js';
import {
  assetIdOf,
  makeApproval,
  makeIdentity,
  makeRoom,
  makeSnapshot,
  makeTable,
  makeVolume,
  minutesAfter,
  permutations,
  randomDataKey,
  randomHex,
  type RoomFixture,
  seededShuffle,
  sqlNotebook,
  type TestIdentity,
  setAsideReason,
} from '../support/room-fixtures.js';

const acme = 'Acme Insurance';
const stMary = 'St Mary Hospital';
const clinic = 'Northside Clinic';
const now = minutesAfter(24 * 60);
const days = (count: number, from: Date): Date => minutesAfter(count * 24 * 60, from);

function stateFrom(room: RoomFixture, entries: readonly SignedEntry[], at: Date = now): { merge: MergeResult; state: RoomState } {
  const merge = mergeEntries(room.roomId, [], entries, at);
  return { merge, state: deriveRoomState(room.roomId, merge.accepted, at) };
}

/** Merges `entry` into a home that already holds everything else the room has. */
function refusalOf(room: RoomFixture, entry: SignedEntry): string | null {
  const known = room.allEntries().filter((other) => other !== entry);
  const merge = mergeEntries(room.roomId, known, [entry], now);
  assert.equal(merge.refused.length + merge.accepted.length, 1);
  return merge.refused[0]?.reason ?? setAsideReason(merge);
}

/** Appends `body` to `alias`'s feed and returns why the room refuses it (null when accepted). */
function tryAppend(room: RoomFixture, alias: string, body: EntryBody, at: Date): string | null {
  const feed = room.feed(alias);
  const entry = feed.append(body, at);
  const reason = refusalOf(room, entry);
  if (reason !== null) feed.entries.pop();
  return reason;
}

interface DataRoom {
  readonly room: RoomFixture;
  readonly a: TestIdentity;
  readonly s: TestIdentity;
  readonly c: TestIdentity;
  readonly admissions: AssetDescriptor;
  readonly claims: AssetDescriptor;
  readonly snapshot: Snapshot;
  readonly snapshotId: string;
  readonly dataKeys: ReadonlyMap<string, Uint8Array>;
  /** Appends an approval.granted by `alias` for the snapshot (Acme runs it), with the keys it owns unless told. */
  approve(alias: string, at: Date, changes?: Partial<Approval> & { keysFor?: readonly AssetDescriptor[] }): SignedEntry;
}

/**
 * Acme creates a room with St Mary and the clinic (who join at minutes 10 and 20); St Mary adds
 * table admissions (minute 30), Acme adds claims (31) and then the notebook “Readmission rates”
 * over both, run by Acme, for Acme and St Mary (40).
 */
function dataRoom(): DataRoom {
  const room = makeRoom([acme, stMary, clinic]);
  room.join(stMary, minutesAfter(10));
  room.join(clinic, minutesAfter(20));
  const [a, s, c] = [room.member(acme), room.member(stMary), room.member(clinic)];
  const admissions = makeTable(room.roomId, s, 'admissions');
  const claims = makeTable(room.roomId, a, 'claims', {
    columns: [
      { name: 'patient_id', type: 'VARCHAR', role: 'join_key' },
      { name: 'plan', type: 'VARCHAR', role: 'dimension' },
    ],
  });
  room.feed(stMary).append({ type: 'asset.added', descriptor: admissions }, minutesAfter(30));
  room.feed(acme).append({ type: 'asset.added', descriptor: claims }, minutesAfter(31));
  const snapshot = makeSnapshot(room.roomId, a, { assets: [admissions, claims], runner: a, recipients: [a, s], createdAt: minutesAfter(40) });
  room.feed(acme).append({ type: 'snapshot.added', snapshot }, minutesAfter(40));
  const dataKeys = new Map([admissions, claims].map((descriptor) => [assetIdOf(descriptor), randomDataKey()]));
  return {
    room,
    a,
    s,
    c,
    admissions,
    claims,
    snapshot,
    snapshotId: snapshotIdOf(snapshot),
    dataKeys,
    approve(alias, at, changes = {}) {
      const approver = room.member(alias);
      const { keysFor, ...rest } = changes;
      const owned = keysFor ?? [admissions, claims].filter((descriptor) => descriptor.owner === approver.ref.signPublicKey);
      const approval = makeApproval(snapshot, {
        runner: a,
        expiresAt: days(7, at),
        keys: owned.map((descriptor) => ({ descriptor, dataKey: dataKeys.get(assetIdOf(descriptor)) ?? randomDataKey() })),
      });
      return room.feed(alias).append({ type: 'approval.granted', approval: { ...approval, ...rest } }, at);
    },
  };
}

const summaries = (state: RoomState): string[] => state.log.map((item) => item.summary);

describe('room state: assets', () => {
  before(() => cryptoReady());

  it('lists the tables members add, with a readable log line', () => {
    const { room, admissions, claims, s, a } = dataRoom();
    const { merge, state } = stateFrom(room, room.allEntries());
    assert.deepEqual(merge.refused, []);
    assert.deepEqual(
      state.assets.map((asset) => ({ id: asset.id, name: asset.descriptor.name, owner: asset.owner, addedAt: asset.addedAt })),
      [
        { id: assetIdOf(admissions), name: 'admissions', owner: s.ref.signPublicKey, addedAt: minutesAfter(30).toISOString() },
        { id: assetIdOf(claims), name: 'claims', owner: a.ref.signPublicKey, addedAt: minutesAfter(31).toISOString() },
      ],
    );
    assert.ok(summaries(state).includes('St Mary Hospital added table admissions (3 columns)'));
    assert.ok(summaries(state).includes('Acme Insurance added table claims (2 columns)'));
  });

  it('describes volumes, private ones without their files', () => {
    const { room, c } = dataRoom();
    room.feed(clinic).append({ type: 'asset.added', descriptor: makeVolume(room.roomId, c, 'macros', { private: false }) }, minutesAfter(50));
    room.feed(clinic).append({ type: 'asset.added', descriptor: makeVolume(room.roomId, c, 'model_lib') }, minutesAfter(51));
    const { merge, state } = stateFrom(room, room.allEntries());
    assert.deepEqual(merge.refused, []);
    assert.ok(summaries(state).includes('Northside Clinic added volume macros (1 file)'));
    assert.ok(summaries(state).includes('Northside Clinic added private volume model_lib'));
  });

  it('refuses assets that break the rules, saying why', () => {
    const { room, a, s, c, admissions } = dataRoom();
    const at = minutesAfter(60);
    const cases: [string, EntryBody, string][] = [
      [acme, { type: 'asset.added', descriptor: makeTable(room.roomId, s, 'lab_results') }, "the asset's owner is not the entry's author"],
      [acme, { type: 'asset.added', descriptor: makeTable(randomHex(), a, 'lab_results') }, 'the asset belongs to another room'],
      [stMary, { type: 'asset.added', descriptor: admissions }, 'this asset was already added'],
      [
        clinic,
        {
          type: 'asset.added',
          descriptor: makeTable(room.roomId, c, 'visits', {
            columns: [
              { name: 'Patient', type: 'VARCHAR', role: 'privacy_unit' },
              { name: 'patient', type: 'VARCHAR', role: 'hidden' },
            ],
          }),
        },
        'table visits has two columns named patient',
      ],
      [clinic, { type: 'asset.added', descriptor: makeVolume(room.roomId, c, 'lib', { private: true, files: [{ path: 'a.sql', size: 1 }] }) }, 'private volume lib must not list its files'],
    ];
    for (const [alias, body, reason] of cases) assert.equal(tryAppend(room, alias, body, at), reason, reason);
  });

  it('refuses assets before every member has joined, and from non-members', () => {
    const room = makeRoom([acme, stMary]);
    const a = room.member(acme);
    assert.equal(
      tryAppend(room, acme, { type: 'asset.added', descriptor: makeTable(room.roomId, a, 'claims') }, minutesAfter(5)),
      'the room is not active yet: not every member has joined',
    );
    room.join(stMary, minutesAfter(10));
    assert.equal(tryAppend(room, acme, { type: 'asset.added', descriptor: makeTable(room.roomId, a, 'claims') }, minutesAfter(11)), null);
    const outsider = makeIdentity('Mallory');
    const feed = room.addFeed(outsider);
    feed.append({ type: 'room.joined' }, minutesAfter(12));
    const merge = mergeEntries(room.roomId, [], room.allEntries(), now);
    assert.deepEqual(
      merge.refused.map((refusal) => refusal.reason),
      ['author is not a member of this room'],
    );
  });

  it('lets the first of two same-named assets keep the name and renames the second, in every home, whatever the order', () => {
    const room = makeRoom([acme, stMary]);
    room.join(stMary, minutesAfter(10));
    const [a, s] = [room.member(acme), room.member(stMary)];
    const first = makeTable(room.roomId, s, 'admissions');
    const second = makeTable(room.roomId, a, 'admissions');
    room.feed(stMary).append({ type: 'asset.added', descriptor: first }, minutesAfter(20));
    room.feed(acme).append({ type: 'asset.added', descriptor: second }, minutesAfter(21));
    // Acme's feed goes on after the clash.
    room.feed(acme).append({ type: 'asset.added', descriptor: makeTable(room.roomId, a, 'claims') }, minutesAfter(22));
    const renamed = `admissions_${assetIdOf(second).slice(0, 8)}`;
    const entries = room.allEntries();
    for (const order of permutations(entries)) {
      const { merge, state } = stateFrom(room, order);
      assert.deepEqual(merge.refused, []);
      assert.equal(merge.accepted.length, entries.length);
      assert.deepEqual(
        state.assets.map((asset) => [asset.name, asset.id]),
        [
          ['admissions', assetIdOf(first)],
          [renamed, assetIdOf(second)],
          ['claims', state.assets[2]?.id],
        ],
      );
      const clash = state.log.find((item) => item.settlement !== null);
      assert.equal(clash?.summary, 'Acme Insurance added table admissions (3 columns)');
      assert.deepEqual(clash?.settlement, { kind: 'renamed', text: `renamed ${renamed}: St Mary Hospital added an asset named admissions first` });
    }
  });
});

describe('room state: snapshots', () => {
  before(() => cryptoReady());

  it('keeps the snapshot with its id, author and a log line', () => {
    const { room, snapshot, snapshotId, a } = dataRoom();
    const { merge, state } = stateFrom(room, room.allEntries());
    assert.deepEqual(merge.refused, []);
    const [found] = state.snapshots;
    assert.equal(state.snapshots.length, 1);
    assert.equal(found?.id, snapshotId);
    assert.equal(found?.author, a.ref.signPublicKey);
    assert.deepEqual(found?.snapshot, snapshot);
    assert.equal(found?.approvals.size, 0);
    assert.ok(summaries(state).includes(`Acme Insurance added notebook “Readmission rates” (snapshot ${snapshotId.slice(0, 6)}…)`));
  });

  it('refuses snapshots that break the rules, saying why', () => {
    const { room, a, s, c, admissions, claims, snapshot } = dataRoom();
    const at = minutesAfter(60);
    const outsider = makeIdentity('Mallory');
    const make = (options: Parameters<typeof makeSnapshot>[2], author: TestIdentity = a, roomId = room.roomId): EntryBody => ({
      type: 'snapshot.added',
      snapshot: makeSnapshot(roomId, author, { createdAt: at, ...options }),
    });
    const otherPayload = { name: 'admissions', kind: 'table' as const, owner: admissions.owner, asset: assetIdOf(admissions), payloadHash: randomHex() };
    const renamed = { name: 'claims_v2', kind: 'table' as const, owner: claims.owner, asset: assetIdOf(claims), payloadHash: claims.payload.hash };
    const cases: [string, EntryBody, string][] = [
      [acme, make({}, a, randomHex()), 'the snapshot belongs to another room'],
      [acme, make({}, s), "the snapshot's author is not the entry's author"],
      [acme, make({ runner: outsider }), 'the runner is not a member of this room'],
      [acme, make({ recipients: [a, outsider] }), 'recipient member ' + outsider.ref.signPublicKey.slice(0, 8) + ' is not a member of this room'],
      [acme, make({ recipients: [s, s] }), 'recipient St Mary Hospital is listed twice'],
      [acme, make({ assets: [makeTable(room.roomId, c, 'visits')] }), 'references asset visits which is not in this room'],
      [acme, { type: 'snapshot.added', snapshot: { ...makeSnapshot(room.roomId, a, { createdAt: at }), assets: [otherPayload] } }, 'references asset admissions whose payload hash differs'],
      [acme, { type: 'snapshot.added', snapshot: { ...makeSnapshot(room.roomId, a, { createdAt: at }), assets: [renamed] } }, "references asset claims_v2 with a name, kind or owner that differs from the room's"],
      [acme, make({ assets: [claims, claims] }), 'references asset claims twice'],
      [
        acme,
        make({ notebook: { libraries: ['feature_macros'], parameters: [], cells: [{ kind: 'sql', source: 'SELECT 1', output: 'n', options: [] }] } }),
        'names library feature_macros but does not reference a volume of that name',
      ],
      [acme, { type: 'snapshot.added', snapshot }, 'this snapshot was already added'],
      [
        acme,
        make({
          notebook: {
            parameters: [],
            cells: [
              { kind: 'sql', source: 'SELECT 1', output: 'n', options: [] },
              { kind: 'sql', source: 'SELECT 2', output: 'n', options: [] },
            ],
          },
        }),
        "the snapshot's notebook is malformed: line 4: output table n is already made by an earlier cell",
      ],
    ];
    for (const [alias, body, reason] of cases) assert.equal(tryAppend(room, alias, body, at), reason, reason);
  });

  it('refuses a runner who has left the room before the snapshot', () => {
    const { room, a, c } = dataRoom();
    room.feed(clinic).append({ type: 'room.left' }, minutesAfter(50));
    assert.equal(
      tryAppend(room, acme, { type: 'snapshot.added', snapshot: makeSnapshot(room.roomId, a, { runner: c, name: 'Clinic run' }) }, minutesAfter(60)),
      'the runner is not a member of this room',
    );
  });

  it('accepts a snapshot whose assets arrive in a later packet, once they do', () => {
    const { room, snapshotId } = dataRoom();
    const acmeFeed = room.feed(acme).entries;
    const stMaryFeed = room.feed(stMary).entries;
    const stored: SignedEntry[] = [];
    stored.push(...mergeEntries(room.roomId, stored, acmeFeed, now).accepted);
    const first = mergeEntries(room.roomId, stored, room.feed(clinic).entries, now);
    stored.push(...first.accepted);
    // St Mary's table is missing: the snapshot is refused for now, nothing half-applied.
    assert.equal(deriveRoomState(room.roomId, stored, now).snapshots.length, 0);
    stored.push(...mergeEntries(room.roomId, stored, [...stMaryFeed, ...acmeFeed], now).accepted);
    assert.deepEqual(
      deriveRoomState(room.roomId, stored, now).snapshots.map((snapshot) => snapshot.id),
      [snapshotId],
    );
  });
});

describe('room state: approvals', () => {
  before(() => cryptoReady());

  it('records approvals and revocations with readable log lines', () => {
    const data = dataRoom();
    const grant = data.approve(stMary, minutesAfter(60));
    data.room.feed(stMary).append({ type: 'approval.revoked', approval: entryId(grant.entry) }, minutesAfter(70));
    const { merge, state } = stateFrom(data.room, data.room.allEntries());
    assert.deepEqual(merge.refused, []);
    const approval = state.snapshots[0]?.approvals.get(data.s.ref.signPublicKey);
    assert.equal(approval?.id, entryId(grant.entry));
    assert.equal(approval?.revokedAt, minutesAfter(70).toISOString());
    assert.ok(summaries(state).includes('St Mary Hospital approved “Readmission rates” for Acme Insurance, 1 run, until 2030-03-11 10:00 UTC'));
    assert.ok(summaries(state).includes('St Mary Hospital revoked their approval of “Readmission rates”'));
  });

  it('refuses approvals that break the rules, saying why', () => {
    const data = dataRoom();
    const { room, admissions, claims, c } = data;
    const at = minutesAfter(60);
    const attempt = (alias: string, changes: Partial<Approval> & { keysFor?: readonly AssetDescriptor[] }): string | null => {
      const entry = data.approve(alias, at, changes);
      const reason = refusalOf(room, entry);
      room.feed(alias).entries.pop();
      return reason;
    };
    assert.equal(attempt(stMary, { snapshot: randomHex() }), 'the approval names a snapshot that is not in this room');
    assert.equal(attempt(stMary, { runner: c.ref.signPublicKey }), "runner is not the snapshot's runner");
    assert.equal(attempt(stMary, { expiresAt: minutesAfter(59).toISOString() }), 'the approval expires before it was granted');
    assert.equal(attempt(stMary, { keysFor: [claims] }), 'carries a key for table claims, which the approver does not own');
    assert.equal(attempt(stMary, { keysFor: [admissions, admissions] }), 'carries two keys for table admissions');
    const visits = makeTable(room.roomId, c, 'visits');
    room.feed(clinic).append({ type: 'asset.added', descriptor: visits }, minutesAfter(50));
    assert.match(attempt(clinic, { keysFor: [visits] }) ?? '', /^carries a key for asset [0-9a-f]{12}… which the snapshot does not read$/);
    assert.equal(attempt(clinic, {}), null);
  });

  it('refuses revocations of unknown, foreign or already revoked approvals', () => {
    const data = dataRoom();
    const grant = entryId(data.approve(stMary, minutesAfter(60)).entry);
    const at = minutesAfter(70);
    assert.equal(tryAppend(data.room, clinic, { type: 'approval.revoked', approval: grant }, at), 'the revocation names no approval.granted entry of its author');
    assert.equal(tryAppend(data.room, stMary, { type: 'approval.revoked', approval: randomHex() }, at), 'the revocation names no approval.granted entry of its author');
    assert.equal(tryAppend(data.room, stMary, { type: 'approval.revoked', approval: grant }, at), null);
    assert.equal(tryAppend(data.room, stMary, { type: 'approval.revoked', approval: grant }, minutesAfter(71)), 'the approval was already revoked');
  });
});

describe('room state: approval status', () => {
  before(() => cryptoReady());

  const noRuns = (): number => 0;
  const rows = (status: ReturnType<typeof snapshotStatus>) =>
    Object.fromEntries(status.members.map((member) => [member.alias, { state: member.state, keys: member.keys.map((key) => `${key.asset}:${key.released}`) }]));

  /** Everyone approves: St Mary and the clinic, and Acme (the author) releases its own key. */
  function approvedRoom(): DataRoom & { grants: Record<string, string> } {
    const data = dataRoom();
    const grants = {
      [stMary]: entryId(data.approve(stMary, minutesAfter(60)).entry),
      [clinic]: entryId(data.approve(clinic, minutesAfter(61)).entry),
      [acme]: entryId(data.approve(acme, minutesAfter(62)).entry),
    };
    return { ...data, grants };
  }

  const statusOf = (data: DataRoom, at: Date = now, runsUsed: (approvalId: string) => number = noRuns) => {
    const { merge, state } = stateFrom(data.room, data.room.allEntries(), at);
    assert.deepEqual(merge.refused, []);
    return snapshotStatus(state, data.snapshotId, at, runsUsed);
  };

  it('waits for every other member and every owner’s key', () => {
    const data = dataRoom();
    const status = statusOf(data);
    assert.deepEqual(rows(status), {
      [acme]: { state: 'author', keys: ['claims:false'] },
      [stMary]: { state: 'missing', keys: ['admissions:false'] },
      [clinic]: { state: 'missing', keys: [] },
    });
    assert.equal(status.canRun, false);
    assert.deepEqual(status.reasons, [
      "waiting for St Mary Hospital's approval",
      "waiting for Northside Clinic's approval",
      'key for table claims not released by Acme Insurance',
    ]);
  });

  it('can run once the others approve and every key is released', () => {
    const data = approvedRoom();
    const status = statusOf(data);
    assert.deepEqual(rows(status), {
      [acme]: { state: 'author', keys: ['claims:true'] },
      [stMary]: { state: 'approved', keys: ['admissions:true'] },
      [clinic]: { state: 'approved', keys: [] },
    });
    assert.deepEqual(status.reasons, []);
    assert.equal(status.canRun, true);
    const row = status.members.find((member) => member.alias === stMary);
    assert.equal(row?.expiresAt, days(7, minutesAfter(60)).toISOString());
    assert.equal(row?.runsLeft, 1);
  });

  it('needs the author’s own grant for the author’s keys, not for their consent', () => {
    const data = dataRoom();
    data.approve(stMary, minutesAfter(60));
    data.approve(clinic, minutesAfter(61));
    const status = statusOf(data);
    assert.equal(status.canRun, false);
    assert.deepEqual(status.reasons, ['key for table claims not released by Acme Insurance']);

    // A notebook reading none of the author's data runs on the others' approvals alone.
    const { room, a, admissions } = data;
    const other = makeSnapshot(room.roomId, a, { name: 'Admissions only', assets: [admissions], notebook: sqlNotebook('SELECT count(*) AS n FROM admissions') });
    room.feed(acme).append({ type: 'snapshot.added', snapshot: other }, minutesAfter(70));
    const key = { descriptor: admissions, dataKey: randomDataKey() };
    room.feed(stMary).append({ type: 'approval.granted', approval: makeApproval(other, { runner: a, expiresAt: days(7, now), keys: [key] }) }, minutesAfter(71));
    room.feed(clinic).append({ type: 'approval.granted', approval: makeApproval(other, { runner: a, expiresAt: days(7, now) }) }, minutesAfter(72));
    const { state } = stateFrom(room, room.allEntries());
    const otherStatus = snapshotStatus(state, snapshotIdOf(other), now, noRuns);
    assert.deepEqual(otherStatus.reasons, []);
    assert.equal(otherStatus.canRun, true);
  });

  it('releases nothing once an approval has expired', () => {
    const data = approvedRoom();
    const later = days(8, minutesAfter(60));
    const status = statusOf(data, later);
    assert.equal(status.canRun, false);
    assert.deepEqual(rows(status)[stMary], { state: 'expired', keys: ['admissions:false'] });
    assert.ok(status.reasons.includes("St Mary Hospital's approval expired on 2030-03-11 10:00 UTC"), status.reasons.join('; '));
  });

  it('releases nothing once an approval is revoked, until granted again', () => {
    const data = approvedRoom();
    data.room.feed(stMary).append({ type: 'approval.revoked', approval: data.grants[stMary] as string }, minutesAfter(80));
    let status = statusOf(data);
    assert.equal(status.canRun, false);
    assert.deepEqual(rows(status)[stMary], { state: 'revoked', keys: ['admissions:false'] });
    assert.deepEqual(status.reasons, ['St Mary Hospital revoked their approval']);

    data.approve(stMary, minutesAfter(90));
    status = statusOf(data);
    assert.equal(status.canRun, true);
    assert.equal(rows(status)[stMary]?.state, 'approved');
  });

  it('a later grant replaces an earlier one: revoking it leaves no approval', () => {
    const data = approvedRoom();
    const second = entryId(data.approve(stMary, minutesAfter(90)).entry);
    data.room.feed(stMary).append({ type: 'approval.revoked', approval: second }, minutesAfter(95));
    assert.equal(rows(statusOf(data))[stMary]?.state, 'revoked');
  });

  it('counts runs against each approval', () => {
    const data = approvedRoom();
    const usedByStMary = (approvalId: string): number => (approvalId === data.grants[stMary] ? 1 : 0);
    const status = statusOf(data, now, usedByStMary);
    assert.equal(status.canRun, false);
    const row = status.members.find((member) => member.alias === stMary);
    assert.equal(row?.state, 'used-up');
    assert.equal(row?.runsLeft, 0);
    assert.deepEqual(status.reasons, ["St Mary Hospital's approval has no runs left"]);
  });

  it('reports a key its owner approved without releasing', () => {
    const data = dataRoom();
    data.approve(stMary, minutesAfter(60), { keysFor: [] });
    data.approve(clinic, minutesAfter(61));
    data.approve(acme, minutesAfter(62));
    const status = statusOf(data);
    assert.equal(status.canRun, false);
    assert.deepEqual(rows(status)[stMary], { state: 'approved', keys: ['admissions:false'] });
    assert.deepEqual(status.reasons, ['key for table admissions not released by St Mary Hospital']);
  });

  it('does not count an approval for another runner (it is refused)', () => {
    const data = dataRoom();
    const entry = data.approve(stMary, minutesAfter(60), { runner: data.s.ref.signPublicKey });
    assert.equal(refusalOf(data.room, entry), "runner is not the snapshot's runner");
    data.room.feed(stMary).entries.pop();
    assert.equal(rows(statusOf(data))[stMary]?.state, 'missing');
  });

  it('does not apply an approval of the old snapshot to one changed by a byte', () => {
    const data = approvedRoom();
    const edited = { ...data.snapshot, notebook: sqlNotebook('SELECT age_band, count(*) AS n FROM admissions GROUP BY age_band ') };
    data.room.feed(acme).append({ type: 'snapshot.added', snapshot: edited }, minutesAfter(100));
    const { state } = stateFrom(data.room, data.room.allEntries());
    const status = snapshotStatus(state, snapshotIdOf(edited), now, noRuns);
    assert.notEqual(snapshotIdOf(edited), data.snapshotId);
    assert.equal(status.canRun, false);
    assert.equal(rows(status)[stMary]?.state, 'missing');
  });

  it('leaves members who left out of the matrix', () => {
    const data = dataRoom();
    data.approve(stMary, minutesAfter(60));
    data.approve(acme, minutesAfter(62));
    data.room.feed(clinic).append({ type: 'room.left' }, minutesAfter(70));
    const status = statusOf(data);
    assert.deepEqual(Object.keys(rows(status)), [acme, stMary]);
    assert.equal(status.canRun, true);
  });

  it('says NOT_FOUND for a snapshot not in the room', () => {
    const data = dataRoom();
    const { state } = stateFrom(data.room, data.room.allEntries());
    assert.throws(
      () => snapshotStatus(state, randomHex(), now, noRuns),
      (error: unknown) => error instanceof CleanroomError && error.code === 'NOT_FOUND',
    );
  });
});

describe('room state: order-free with assets, snapshots and approvals', () => {
  before(() => cryptoReady());

  function busyRoom(): RoomFixture {
    const data = dataRoom();
    const grant = entryId(data.approve(stMary, minutesAfter(60)).entry);
    data.approve(clinic, minutesAfter(61));
    data.approve(acme, minutesAfter(62));
    data.room.feed(stMary).append({ type: 'approval.revoked', approval: grant }, minutesAfter(70));
    data.approve(stMary, minutesAfter(80), { maxRuns: 3 });
    // A clash: the clinic's same-named table comes second in the log and is renamed everywhere.
    data.room.feed(clinic).append({ type: 'asset.added', descriptor: makeTable(data.room.roomId, data.c, 'admissions') }, minutesAfter(90));
    return data.room;
  }

  it('derives the same state from every order of whole feeds', () => {
    const room = busyRoom();
    const expected = stateFrom(room, room.allEntries()).state;
    assert.equal(expected.snapshots[0]?.grants.length, 4);
    const feeds = [acme, stMary, clinic].map((alias) => room.feed(alias).entries);
    for (const order of permutations(feeds)) {
      // Packets carry whole feeds and are sent again until everything has been placed: an
      // approval needs the snapshot, which needs the table, each possibly in a later packet.
      const stored: SignedEntry[] = [];
      for (const batch of [...order, ...order, ...order, ...order]) stored.push(...mergeEntries(room.roomId, stored, batch, now).accepted);
      assert.deepEqual(deriveRoomState(room.roomId, stored, now), expected);
    }
  });

  it('derives the same state from shuffled entries in two packets', () => {
    const room = busyRoom();
    const entries = room.allEntries();
    const expected = stateFrom(room, entries).state;
    for (let seed = 1; seed <= 40; seed++) {
      const shuffled = seededShuffle(entries, seed);
      const cut = seed % shuffled.length;
      const stored: SignedEntry[] = [];
      for (const batch of [shuffled.slice(0, cut), shuffled]) stored.push(...mergeEntries(room.roomId, stored, batch, now).accepted);
      assert.equal(stored.length, entries.length, `seed ${seed}`);
      assert.deepEqual(deriveRoomState(room.roomId, seededShuffle(stored, seed + 7), now), expected, `seed ${seed}`);
    }
  });
});

describe('room state: ordinary conflicts are settled, never refused', () => {
  before(() => cryptoReady());

  /** Every order of whole feeds gives the same state, with nothing refused. */
  function settledState(room: RoomFixture): RoomState {
    const feeds = room.allEntries().map((entry) => entry.entry.author);
    const authors = [...new Set(feeds)];
    let reference: RoomState | null = null;
    for (const order of permutations(authors)) {
      const stored: SignedEntry[] = [];
      // Whole feeds, sent again until everything is placed (a join needs the signatures first).
      for (const author of order.flatMap(() => order)) {
        const merge = mergeEntries(room.roomId, stored, room.allEntries().filter((entry) => entry.entry.author === author), now);
        stored.push(...merge.accepted);
      }
      assert.equal(stored.length, room.allEntries().length, 'every entry is stored');
      const state = deriveRoomState(room.roomId, stored, now);
      if (reference === null) reference = state;
      else assert.deepEqual(state, reference);
    }
    return reference as RoomState;
  }

  const settlementOf = (state: RoomState, entry: SignedEntry): string | undefined => state.log.find((item) => item.id === entryId(entry.entry))?.settlement?.text;

  it('renames the later of two same-named assets; a snapshot can use either name and later entries stand', () => {
    const data = dataRoom();
    const clash = makeTable(data.room.roomId, data.c, 'admissions');
    const added = data.room.feed(clinic).append({ type: 'asset.added', descriptor: clash }, minutesAfter(35));
    const renamed = `admissions_${assetIdOf(clash).slice(0, 8)}`;
    // The clinic's notebook, written after the clash was known, reads its table by the new name.
    const base = makeSnapshot(data.room.roomId, data.c, { assets: [clash], runner: data.c, createdAt: minutesAfter(45) });
    data.room.feed(clinic).append({ type: 'snapshot.added', snapshot: { ...base, assets: base.assets.map((ref) => ({ ...ref, name: renamed })) } }, minutesAfter(45));
    const state = settledState(data.room);
    assert.equal(settlementOf(state, added), `renamed ${renamed}: St Mary Hospital added an asset named admissions first`);
    assert.deepEqual(state.assets.map((asset) => asset.name), ['admissions', 'claims', renamed]);
    assert.equal(state.snapshots.length, 2);
  });

  it('sets aside a snapshot whose runner left meanwhile, and stops waiting for a member who left', () => {
    const data = dataRoom();
    // The clinic leaves at minute 50; Acme, offline, adds a snapshot for the clinic to run at 51.
    data.room.feed(clinic).append({ type: 'room.left' }, minutesAfter(50));
    const forClinic = makeSnapshot(data.room.roomId, data.a, { assets: [data.claims], runner: data.c, createdAt: minutesAfter(51) });
    const late = data.room.feed(acme).append({ type: 'snapshot.added', snapshot: forClinic }, minutesAfter(51));
    const after = data.room.feed(acme).append({ type: 'asset.added', descriptor: makeTable(data.room.roomId, data.a, 'plans') }, minutesAfter(52));
    data.approve(stMary, minutesAfter(53));
    const state = settledState(data.room);
    assert.equal(settlementOf(state, late), 'not applied: the runner is not a member of this room');
    assert.equal(settlementOf(state, after), undefined);
    assert.deepEqual(state.assets.map((asset) => asset.name), ['admissions', 'claims', 'plans']);
    const status = snapshotStatus(state, data.snapshotId, now, () => 0);
    assert.deepEqual(status.members.map((member) => member.alias), [acme, stMary]);
    assert.deepEqual(status.reasons, ['key for table claims not released by Acme Insurance']);
  });

  it('applies an approval dated before its snapshot by a clock that runs slow', () => {
    const data = dataRoom();
    // St Mary's clock is 30 minutes behind Acme's: the approval reads 39 for a snapshot added at 40.
    const early = data.approve(stMary, minutesAfter(39));
    const state = settledState(data.room);
    assert.equal(settlementOf(state, early), undefined);
    assert.equal(state.snapshots[0]?.approvals.get(data.s.ref.signPublicKey)?.id, entryId(early.entry));
  });

  it('settles amendments made at once: one person added twice is added once, two people with one alias are both added', () => {
    const room = makeRoom([acme, stMary]);
    room.join(stMary, minutesAfter(10));
    const xavier = makeIdentity('Xavier');
    const otherXavier = makeIdentity('xavier');
    // Offline, Acme proposes Xavier; St Mary proposes Xavier too, and someone else called xavier.
    const byAcme = room.feed(acme).append({ type: 'amendment.proposed', addMembers: [xavier.ref] }, minutesAfter(20));
    const sameXavier = room.feed(stMary).append({ type: 'amendment.proposed', addMembers: [xavier.ref] }, minutesAfter(21));
    const otherAlias = room.feed(stMary).append({ type: 'amendment.proposed', addMembers: [otherXavier.ref] }, minutesAfter(22));
    room.feed(stMary).append({ type: 'amendment.signed', amendment: entryId(byAcme.entry) }, minutesAfter(23));
    room.feed(acme).append({ type: 'amendment.signed', amendment: entryId(sameXavier.entry) }, minutesAfter(24));
    room.feed(acme).append({ type: 'amendment.signed', amendment: entryId(otherAlias.entry) }, minutesAfter(25));
    room.addFeed(xavier).append({ type: 'room.joined', amendment: entryId(sameXavier.entry) }, minutesAfter(30));
    room.addFeed(otherXavier).append({ type: 'room.joined', amendment: entryId(otherAlias.entry) }, minutesAfter(31));
    const state = settledState(room);
    assert.deepEqual(state.members.map((member) => [member.alias, member.status]), [[acme, 'joined'], [stMary, 'joined'], ['Xavier', 'joined'], ['xavier', 'joined']]);
    assert.deepEqual(state.amendments.map((amendment) => amendment.status), ['accepted', 'accepted', 'accepted']);
    assert.equal(settlementOf(state, byAcme), undefined);
    assert.equal(settlementOf(state, sameXavier), undefined);
    assert.equal(settlementOf(state, otherAlias), 'two members are now called “xavier”: compare their sharing identifiers');
  });

  it('still refuses, and reports, two different entries with one author and sequence number', () => {
    const data = dataRoom();
    const known = data.room.allEntries();
    const fork = data.room.feed(clinic).forge({ type: 'room.left' }, minutesAfter(21), { seq: 1, prev: null });
    const merge = mergeEntries(data.room.roomId, known, [fork], now);
    assert.deepEqual(merge.accepted, []);
    assert.deepEqual(merge.settled, []);
    assert.deepEqual(
      merge.equivocations.map((item) => [item.author, item.seq]),
      [[data.c.ref.signPublicKey, 1]],
    );
  });
});
