// Runs and releases in the room state: a run.finished is accepted only from the snapshot's runner
// with a receipt that verifies and lists approvals of that snapshot; an output.released only once,
// for a succeeded run, with the receipt's outputs and the snapshot's recipients. Runs count against
// approvals, and the log says who ran what and how it ended.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { cryptoReady, randomBytes, toBase64Url } from '../../shared/crypto.js';
import { entryId } from '../../shared/feed.js';
import { type Snapshot, snapshotIdOf } from '../../shared/notebook.js';
import { type Receipt, signReceipt, type SignedReceipt } from '../../shared/receipt.js';
import { deriveRoomState, feedRunsByApproval, mergeEntries, snapshotStatus } from '../../shared/room-state.js';
import { defaultPolicy, type EntryBody, type SignedEntry } from '../../shared/room.js';
import { type OutputRelease } from '../../shared/run.js';
import {
  assetIdOf,
  makeApproval,
  makeRoom,
  makeSnapshot,
  makeTable,
  minutesAfter,
  randomDataKey,
  randomHex,
  type RoomFixture,
  seededShuffle,
  type TestIdentity,
  setAsideReason,
} from '../support/room-fixtures.js';

const acme = 'Acme Insurance';
const stMary = 'St Mary Hospital';
const clinic = 'Northside Clinic';
const now = minutesAfter(24 * 60);

interface RunRoom {
  readonly room: RoomFixture;
  readonly a: TestIdentity;
  readonly s: TestIdentity;
  readonly c: TestIdentity;
  readonly snapshot: Snapshot;
  readonly snapshotId: string;
  /** Entry ids of Acme's (the author's) and St Mary's approvals. */
  readonly approvals: readonly string[];
  readonly inputs: Receipt['inputs'];
}

/** Acme runs “Readmission rates” over St Mary's admissions; both approved (the clinic did too). */
function runRoom(maxRuns = 1): RunRoom {
  const room = makeRoom([acme, stMary, clinic]);
  room.join(stMary, minutesAfter(10));
  room.join(clinic, minutesAfter(20));
  const [a, s, c] = [room.member(acme), room.member(stMary), room.member(clinic)];
  const admissions = makeTable(room.roomId, s, 'admissions');
  room.feed(stMary).append({ type: 'asset.added', descriptor: admissions }, minutesAfter(30));
  const snapshot = makeSnapshot(room.roomId, a, { assets: [admissions], runner: a, recipients: [a, s], createdAt: minutesAfter(40) });
  room.feed(acme).append({ type: 'snapshot.added', snapshot }, minutesAfter(40));
  const expiresAt = minutesAfter(7 * 24 * 60);
  const own = room.feed(acme).append({ type: 'approval.granted', approval: makeApproval(snapshot, { runner: a, expiresAt, maxRuns }) }, minutesAfter(41));
  const granted = room
    .feed(stMary)
    .append({ type: 'approval.granted', approval: makeApproval(snapshot, { runner: a, expiresAt, maxRuns, keys: [{ descriptor: admissions, dataKey: randomDataKey() }] }) }, minutesAfter(42));
  room.feed(clinic).append({ type: 'approval.granted', approval: makeApproval(snapshot, { runner: a, expiresAt, maxRuns }) }, minutesAfter(43));
  return {
    room,
    a,
    s,
    c,
    snapshot,
    snapshotId: snapshotIdOf(snapshot),
    approvals: [entryId(own.entry), entryId(granted.entry)].sort(),
    inputs: [{ asset: assetIdOf(admissions), payloadHash: admissions.payload.hash }],
  };
}

function receiptFor(world: RunRoom, changes: Partial<Receipt> = {}): Receipt {
  return {
    format: 'cleanroom-receipt/1',
    room: world.room.roomId,
    snapshot: world.snapshotId,
    runner: world.a.ref.signPublicKey,
    approvals: [...world.approvals],
    inputs: [...world.inputs],
    policy: { mode: defaultPolicy.mode, minGroupSize: defaultPolicy.minGroupSize },
    engine: { cleanroom: '0.5.0', duckdb: 'v1.5.6' },
    outputs: [{ name: 'rates', hash: 'a'.repeat(64), rows: 4, suppressedRows: 3 }],
    privacyBudgetSpent: null,
    startedAt: minutesAfter(50).toISOString(),
    finishedAt: minutesAfter(51).toISOString(),
    status: 'succeeded',
    failure: null,
    ...changes,
  };
}

const signedBy = (world: RunRoom, receipt: Receipt, signer: TestIdentity = world.a): SignedReceipt => signReceipt(receipt, signer.sign.secretKey);

const runBody = (run: string, receipt: SignedReceipt): EntryBody => ({ type: 'run.finished', run, receipt });

function refusalOf(world: RunRoom, entry: SignedEntry): string | null {
  const known = world.room.allEntries().filter((other) => other !== entry);
  const merge = mergeEntries(world.room.roomId, known, [entry], now);
  return merge.refused[0]?.reason ?? setAsideReason(merge);
}

/** Appends `body` to `alias`'s feed and returns why the room refuses it (null: accepted, and kept). */
function tryAppend(world: RunRoom, alias: string, body: EntryBody, at = minutesAfter(52)): string | null {
  const feed = world.room.feed(alias);
  const entry = feed.append(body, at);
  const reason = refusalOf(world, entry);
  if (reason !== null) feed.entries.pop();
  return reason;
}

function releaseFor(world: RunRoom, run: string, changes: Partial<OutputRelease> = {}): OutputRelease {
  return {
    run,
    snapshot: world.snapshotId,
    outputs: [{ name: 'rates', hash: 'a'.repeat(64), rows: 4 }],
    recipients: [world.s.ref.signPublicKey],
    payload: { hash: randomHex(), size: 1000, chunkSize: 65536 },
    keys: [{ recipient: world.s.ref.signPublicKey, sealedKey: toBase64Url(randomBytes(80)) }],
    ...changes,
  };
}

const stateOf = (world: RunRoom) => deriveRoomState(world.room.roomId, world.room.allEntries(), now);

describe('room state: runs and releases', () => {
  before(() => cryptoReady());

  it('records a run by the runner, counts it against the approvals it lists, and says how it went', () => {
    const world = runRoom();
    const run = randomHex();
    assert.equal(tryAppend(world, acme, runBody(run, signedBy(world, receiptFor(world)))), null);
    const state = stateOf(world);
    assert.deepEqual(state.runs.map((item) => [item.id, item.runner, item.snapshot]), [[run, world.a.ref.signPublicKey, world.snapshotId]]);
    assert.ok(state.log.some((item) => item.summary === 'Acme Insurance ran “Readmission rates” (succeeded, 3 values withheld)'), state.log.map((item) => item.summary).join('\n'));
    const used = feedRunsByApproval(state);
    for (const approval of world.approvals) assert.equal(used.get(approval), 1);
    // maxRuns 1: the run used up St Mary's approval, so the snapshot cannot run again.
    const status = snapshotStatus(state, world.snapshotId, now, (id) => used.get(id) ?? 0);
    assert.equal(status.canRun, false);
    assert.ok(status.reasons.includes("St Mary Hospital's approval has no runs left"), status.reasons.join('; '));
  });

  it('describes failed and cancelled runs in the log', () => {
    const world = runRoom(5);
    assert.equal(tryAppend(world, acme, runBody(randomHex(), signedBy(world, receiptFor(world, { status: 'failed', outputs: [], failure: { class: 'ConversionError', cell: 3 } })))), null);
    assert.equal(tryAppend(world, acme, runBody(randomHex(), signedBy(world, receiptFor(world, { status: 'cancelled', outputs: [] })))), null);
    const summaries = stateOf(world).log.map((item) => item.summary);
    assert.ok(summaries.includes('Acme Insurance ran “Readmission rates” (failed: ConversionError in cell 3)'), summaries.join('\n'));
    assert.ok(summaries.includes('Acme Insurance ran “Readmission rates” (cancelled)'), summaries.join('\n'));
  });

  it('refuses runs that are not the runner’s, do not verify, or name what the room does not have', () => {
    const world = runRoom(5);
    const good = receiptFor(world);
    const cases: [string, string, EntryBody, RegExp][] = [
      ['another member', stMary, runBody(randomHex(), signedBy(world, good)), /the author is not the snapshot's runner/],
      ['a receipt naming another runner', acme, runBody(randomHex(), signedBy(world, { ...good, runner: world.s.ref.signPublicKey }, world.s)), /receipt's runner is not the entry's author/],
      ['another room', acme, runBody(randomHex(), signedBy(world, { ...good, room: randomHex() })), /another room/],
      ['an unknown snapshot', acme, runBody(randomHex(), signedBy(world, { ...good, snapshot: randomHex() })), /snapshot that is not in this room/],
      ['an approval of nothing', acme, runBody(randomHex(), signedBy(world, { ...good, approvals: [...world.approvals, 'f'.repeat(64)] })), /not an approval of this snapshot/],
      ['another input', acme, runBody(randomHex(), signedBy(world, { ...good, inputs: [{ asset: world.inputs[0]?.asset as string, payloadHash: randomHex() }] })), /payload hash for admissions differs/],
      ['another policy', acme, runBody(randomHex(), signedBy(world, { ...good, policy: { mode: 'reviewed', minGroupSize: 10 } })), /policy is not the room's/],
    ];
    for (const [what, alias, body, pattern] of cases) {
      const reason = tryAppend(world, alias, body);
      assert.ok(reason !== null && pattern.test(reason), `${what}: ${String(reason)}`);
    }
    // A receipt changed after signing.
    const signed = signedBy(world, good);
    const changed = { ...signed, receipt: { ...signed.receipt, outputs: [{ ...good.outputs[0], suppressedRows: 0 } as Receipt['outputs'][number]] } };
    const reason = tryAppend(world, acme, runBody(randomHex(), changed));
    assert.match(String(reason), /the receipt does not verify: the receipt signature does not verify/);
    // The same run id twice.
    const run = randomHex();
    assert.equal(tryAppend(world, acme, runBody(run, signed)), null);
    assert.match(String(tryAppend(world, acme, runBody(run, signedBy(world, { ...good, finishedAt: minutesAfter(52).toISOString() })))), /already recorded/);
  });

  it('accepts one release per succeeded run, matching its receipt and the snapshot’s recipients', () => {
    const world = runRoom(5);
    const run = randomHex();
    const failed = randomHex();
    assert.equal(tryAppend(world, acme, runBody(run, signedBy(world, receiptFor(world)))), null);
    assert.equal(tryAppend(world, acme, runBody(failed, signedBy(world, receiptFor(world, { status: 'failed', outputs: [], failure: { class: 'Timeout', cell: null } })))), null);
    const cases: [string, string, OutputRelease, RegExp][] = [
      ['by a recipient', stMary, releaseFor(world, run), /only the runner/],
      ['of an unknown run', acme, releaseFor(world, randomHex()), /run that is not in this room/],
      ['of a failed run', acme, releaseFor(world, failed), /failed; it has no outputs/],
      ['with another hash', acme, releaseFor(world, run, { outputs: [{ name: 'rates', hash: 'b'.repeat(64), rows: 4 }] }), /rates does not match the run's receipt/],
      ['with an extra output', acme, releaseFor(world, run, { outputs: [{ name: 'rates', hash: 'a'.repeat(64), rows: 4 }, { name: 'more', hash: 'a'.repeat(64), rows: 1 }] }), /not the run's outputs/],
      [
        'to someone else',
        acme,
        releaseFor(world, run, { recipients: [world.c.ref.signPublicKey], keys: [{ recipient: world.c.ref.signPublicKey, sealedKey: toBase64Url(randomBytes(80)) }] }),
        /recipients are not the snapshot's recipients/,
      ],
      ['without a key for St Mary', acme, releaseFor(world, run, { keys: [{ recipient: world.c.ref.signPublicKey, sealedKey: toBase64Url(randomBytes(80)) }] }), /one key for each recipient/],
    ];
    for (const [what, alias, release, pattern] of cases) {
      const reason = tryAppend(world, alias, { type: 'output.released', release });
      assert.ok(reason !== null && pattern.test(reason), `${what}: ${String(reason)}`);
    }
    assert.equal(tryAppend(world, acme, { type: 'output.released', release: releaseFor(world, run) }), null);
    assert.match(String(tryAppend(world, acme, { type: 'output.released', release: releaseFor(world, run) })), /already released/);
    const state = stateOf(world);
    assert.deepEqual(state.releases.map((release) => release.run), [run]);
    assert.ok(state.log.some((item) => item.summary === 'Acme Insurance released 1 output of “Readmission rates” to St Mary Hospital'));
  });

  it('settles a revocation crossing a run: the run stands and counts, and the log says what crossed', () => {
    const world = runRoom();
    // St Mary revokes offline at minute 50; Acme, who has not received that yet, runs at 52.
    const grant = world.room.feed(stMary).entries.find((entry) => entry.entry.body.type === 'approval.granted') as SignedEntry;
    world.room.feed(stMary).append({ type: 'approval.revoked', approval: entryId(grant.entry) }, minutesAfter(50));
    const run = randomHex();
    const finished = world.room.feed(acme).append(runBody(run, signedBy(world, receiptFor(world))), minutesAfter(52));
    world.room.feed(acme).append({ type: 'room.left' }, minutesAfter(53));
    for (let seed = 1; seed <= 3; seed++) {
      const merge = mergeEntries(world.room.roomId, [], seededShuffle(world.room.allEntries(), seed), now);
      assert.deepEqual(merge.refused, []);
      const state = deriveRoomState(world.room.roomId, merge.accepted, now);
      assert.deepEqual(state.runs.map((item) => item.id), [run]);
      assert.deepEqual(state.log.find((item) => item.id === entryId(finished.entry))?.settlement, {
        kind: 'noted',
        text: "ran on St Mary Hospital's approval, revoked before this run was recorded: the revocation had not reached the runner",
      });
      assert.equal(snapshotStatus(state, world.snapshotId, now, (id) => feedRunsByApproval(state).get(id) ?? 0).canRun, false);
    }
  });

  it('derives the same runs and releases whatever order the entries arrive in', () => {
    const world = runRoom(5);
    const run = randomHex();
    tryAppend(world, acme, runBody(run, signedBy(world, receiptFor(world))));
    tryAppend(world, acme, { type: 'output.released', release: releaseFor(world, run) }, minutesAfter(53));
    const reference = stateOf(world);
    for (let seed = 1; seed <= 5; seed++) {
      const shuffled = seededShuffle(world.room.allEntries(), seed);
      const merge = mergeEntries(world.room.roomId, [], shuffled, now);
      assert.deepEqual(merge.refused, [], `seed ${seed}`);
      const state = deriveRoomState(world.room.roomId, merge.accepted, now);
      assert.deepEqual(state.runs, reference.runs, `seed ${seed}`);
      assert.deepEqual(state.releases, reference.releases, `seed ${seed}`);
    }
    // A run.finished that arrives before an approval it lists is stored but set aside (its
    // author's feed goes on), and counts once the approval arrives.
    const others = world.room.allEntries().filter((entry) => entry.entry.author !== world.a.ref.signPublicKey);
    const withoutStMary = others.filter((entry) => entry.entry.author !== world.s.ref.signPublicKey || entry.entry.body.type !== 'approval.granted');
    const early = mergeEntries(world.room.roomId, [], [...withoutStMary, ...world.room.feed(acme).entries], now);
    const setAside = early.settled.find((item) => item.entry.entry.body.type === 'run.finished');
    assert.match(setAside?.settlement.text ?? '', /^not applied: the receipt lists approval [0-9a-f]{12}…, which is not an approval of this snapshot$/);
    assert.equal(deriveRoomState(world.room.roomId, early.accepted, now).runs.length, 0);
    const late = mergeEntries(world.room.roomId, early.accepted, world.room.allEntries(), now);
    assert.deepEqual(late.refused, []);
    assert.deepEqual(late.settled, []);
    assert.deepEqual(deriveRoomState(world.room.roomId, [...early.accepted, ...late.accepted], now).runs, reference.runs);
  });
});
