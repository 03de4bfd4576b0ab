import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { cryptoReady } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { entryId, roomIdOf, signEntry } from '../../shared/feed.js';
import { deriveRoomState, type MergeResult, mergeEntries, type RoomState } from '../../shared/room-state.js';
import { type SignedEntry } from '../../shared/room.js';
import { Feed, makeDefinition, makeIdentity, makeRoom, minutesAfter, permutations, type RoomFixture, seededShuffle } from '../support/room-fixtures.js';

const acme = 'Acme Insurance';
const stMary = 'St Mary Hospital';
const clinic = 'Northside Clinic';
const labX = 'Lab X';
const now = minutesAfter(24 * 60);

/** Acme creates the room for three; St Mary joins at minute 10 and the clinic at minute 20. */
function joinedRoom(): RoomFixture {
  const room = makeRoom([acme, stMary, clinic]);
  room.join(stMary, minutesAfter(10));
  room.join(clinic, minutesAfter(20));
  return room;
}

/** Merges into an empty home and derives the state, as a home receiving everything at once. */
function stateFrom(room: RoomFixture, entries: readonly SignedEntry[], at: Date = now): { merge: MergeResult; state: RoomState } {
  const merge = mergeEntries(room.roomId, [], entries, at);
  return { merge, state: deriveRoomState(room.roomId, merge.accepted, at) };
}

/** Imports batches one after another into a home, as packets arriving over time. */
function importBatches(roomId: string, batches: readonly (readonly SignedEntry[])[], at: Date = now): SignedEntry[] {
  const stored: SignedEntry[] = [];
  for (const batch of batches) stored.push(...mergeEntries(roomId, stored, batch, at).accepted);
  return stored;
}

const statuses = (state: RoomState): Record<string, string> => Object.fromEntries(state.members.map((member) => [member.alias, member.status]));
const reasons = (merge: MergeResult): string[] => merge.refused.map((refusal) => refusal.reason);

/** Every accepted entry's predecessor is known or accepted before it. */
function assertChainOrder(known: readonly SignedEntry[], accepted: readonly SignedEntry[]): void {
  const seen = new Set(known.map((signed) => entryId(signed.entry)));
  for (const signed of accepted) {
    if (signed.entry.prev !== null) assert.ok(seen.has(signed.entry.prev), `entry ${signed.entry.seq} accepted before its predecessor`);
    seen.add(entryId(signed.entry));
  }
}

/** A room where Acme proposed adding Lab X, both others signed, Lab X joined, then the clinic left. */
function amendedRoom(): { room: RoomFixture; amendment: string } {
  const room = joinedRoom();
  const lab = makeIdentity(labX);
  const proposal = room.feed(acme).append({ type: 'amendment.proposed', addMembers: [lab.ref] }, minutesAfter(30));
  const amendment = entryId(proposal.entry);
  room.feed(stMary).append({ type: 'amendment.signed', amendment }, minutesAfter(40));
  room.feed(clinic).append({ type: 'amendment.signed', amendment }, minutesAfter(50));
  room.addFeed(lab).append({ type: 'room.joined', amendment }, minutesAfter(60));
  room.feed(clinic).append({ type: 'room.left' }, minutesAfter(70));
  return { room, amendment };
}

describe('room state: forming a room', () => {
  before(() => cryptoReady());

  it('is pending until every member has joined, then active', () => {
    const room = makeRoom([acme, stMary, clinic]);
    let { merge, state } = stateFrom(room, room.allEntries());
    assert.equal(merge.accepted.length, 1);
    assert.equal(state.status, 'pending');
    assert.deepEqual(statuses(state), { [acme]: 'joined', [stMary]: 'invited', [clinic]: 'invited' });

    room.join(stMary, minutesAfter(10));
    ({ state } = stateFrom(room, room.allEntries()));
    assert.equal(state.status, 'pending');

    room.join(clinic, minutesAfter(20));
    ({ merge, state } = stateFrom(room, room.allEntries()));
    assert.equal(merge.refused.length, 0);
    assert.equal(state.status, 'active');
    assert.equal(state.id, room.roomId);
    assert.deepEqual(state.policy, room.definition.policy);
    assert.deepEqual(statuses(state), { [acme]: 'joined', [stMary]: 'joined', [clinic]: 'joined' });
    assert.ok(state.members.every((member) => member.addedBy === null));
    assert.deepEqual(
      state.log.map((item) => item.summary),
      [`${acme} created the room “Readmissions” with 3 members`, `${stMary} joined`, `${clinic} joined`],
    );
    assert.equal(state.updatedAt, minutesAfter(20).toISOString());
  });

  it('expires when the invitation runs out before everyone joined', () => {
    const room = makeRoom([acme, stMary, clinic], { invitationDays: 1 });
    room.join(stMary, minutesAfter(10));
    const entries = room.allEntries();
    assert.equal(stateFrom(room, entries, minutesAfter(23 * 60)).state.status, 'pending');
    assert.equal(stateFrom(room, entries, minutesAfter(25 * 60)).state.status, 'expired');
  });

  it('refuses a join dated after the invitation expired', () => {
    const room = makeRoom([acme, stMary], { invitationDays: 1 });
    room.join(stMary, minutesAfter(24 * 60 + 1));
    const { merge, state } = stateFrom(room, room.allEntries(), minutesAfter(2 * 24 * 60));
    assert.deepEqual(reasons(merge), [`invitation expired on ${room.definition.invitationExpiresAt}`]);
    assert.equal(state.status, 'expired');
  });

  it('accepts nothing without the room’s creation entry, and derives nothing', () => {
    const room = joinedRoom();
    const withoutCreation = room.allEntries().filter((signed) => signed.entry.body.type !== 'room.created');
    const merge = mergeEntries(room.roomId, [], withoutCreation, now);
    assert.equal(merge.accepted.length, 0);
    assert.deepEqual(reasons(merge), ["the room's creation entry is missing", "the room's creation entry is missing"]);
    assert.throws(() => deriveRoomState(room.roomId, withoutCreation, now), (error: unknown) => error instanceof CleanroomError && error.code === 'INTERNAL');
  });

  it('refuses a definition that breaks the membership rules', () => {
    const alice = makeIdentity(acme);
    const bob = makeIdentity(stMary);
    const aliceAgain = { ...makeIdentity('ACME insurance') };
    const cases: [string, ReturnType<typeof makeDefinition>, RegExp][] = [
      ['one member', makeDefinition(alice, [alice]), /needs 2 to 10 members/],
      ['creator not a member', makeDefinition(alice, [bob, makeIdentity('Other')]), /creator is not among the members/],
      ['duplicate alias', makeDefinition(alice, [alice, bob, aliceAgain]), /share the alias/],
      ['duplicate key', makeDefinition(alice, [alice, bob, { ...bob, alias: 'Bob', ref: { ...bob.ref, alias: 'Bob' } }]), /share the signing key/],
      ['duplicate box key', makeDefinition(alice, [alice, bob, { ...bob, ref: { ...makeIdentity('Carol').ref, boxPublicKey: bob.ref.boxPublicKey } }]), /share the box key/],
    ];
    for (const [label, definition, reason] of cases) {
      const roomId = roomIdOf(definition);
      const created = new Feed(alice, roomId).append({ type: 'room.created', definition }, minutesAfter(0));
      const merge = mergeEntries(roomId, [], [created], now);
      assert.equal(merge.accepted.length, 0, label);
      assert.match(merge.refused[0]?.reason ?? '', reason, label);
    }
  });

  it('refuses a creation entry for another definition or by someone other than the creator', () => {
    const room = makeRoom([acme, stMary]);
    const other = makeRoom([acme, stMary]);
    const foreign = other.feed(acme).entries[0] as SignedEntry;
    assert.deepEqual(reasons(mergeEntries(room.roomId, [], [foreign], now)), ['entry belongs to another room']);
    const copied = new Feed(room.member(stMary), room.roomId).append({ type: 'room.created', definition: room.definition }, minutesAfter(1));
    const merge = mergeEntries(room.roomId, room.feed(acme).entries, [copied], now);
    assert.deepEqual(reasons(merge), ["room.created must be the creator's first entry"]);
  });
});

describe('room state: refusing bad entries', () => {
  before(() => cryptoReady());

  it('refuses entries by someone who is not a member, even when validly signed', () => {
    const room = joinedRoom();
    const outsider = new Feed(makeIdentity('Mallory'), room.roomId);
    const join = outsider.append({ type: 'room.joined' }, minutesAfter(15));
    const { merge, state } = stateFrom(room, [...room.allEntries(), join]);
    assert.deepEqual(reasons(merge), ['author is not a member of this room']);
    assert.equal(state.members.length, 3);
  });

  it('refuses an entry whose author was swapped or whose body was changed after signing', () => {
    const room = joinedRoom();
    const join = room.feed(stMary).entries[0] as SignedEntry;
    const mallory = makeIdentity('Mallory');
    const forgedAuthor = signEntry({ ...join.entry, author: room.member(clinic).ref.signPublicKey }, mallory.sign.secretKey);
    const changedBody: SignedEntry = { ...join, entry: { ...join.entry, body: { type: 'room.left' } } };
    const merge = mergeEntries(room.roomId, room.feed(acme).entries, [forgedAuthor, changedBody], now);
    assert.deepEqual(reasons(merge), ['signature does not match', 'signature does not match']);
  });

  it('refuses malformed entries without trusting their type', () => {
    const room = joinedRoom();
    const join = room.feed(stMary).entries[0] as SignedEntry;
    const garbage: unknown[] = [
      null,
      'entry',
      { ...join, extra: 1 },
      { ...join, entry: { ...join.entry, seq: 0 } },
      { ...join, entry: { ...join.entry, body: { type: 'room.destroyed' } } },
      { ...join, entry: { ...join.entry, at: 'yesterday' } },
    ];
    const merge = mergeEntries(room.roomId, room.feed(acme).entries, garbage as SignedEntry[], now);
    assert.equal(merge.accepted.length, 0);
    assert.equal(merge.refused.length, garbage.length);
    for (const reason of reasons(merge)) assert.match(reason, /^entry is malformed: /);
  });

  it('refuses a gap in a feed until the missing entries arrive', () => {
    const room = joinedRoom();
    const lab = makeIdentity(labX);
    const proposal = room.feed(stMary).append({ type: 'amendment.proposed', addMembers: [lab.ref] }, minutesAfter(30));
    const leave = room.feed(stMary).append({ type: 'room.left' }, minutesAfter(40));
    const known = [...room.feed(acme).entries, ...room.feed(clinic).entries, room.feed(stMary).entries[0] as SignedEntry];
    const withGap = mergeEntries(room.roomId, known, [leave], now);
    assert.deepEqual(reasons(withGap), ['missing earlier entries from this author']);
    const complete = mergeEntries(room.roomId, known, [leave, proposal], now);
    assert.equal(complete.refused.length, 0);
    assert.deepEqual(complete.accepted, [proposal, leave]);
  });

  it('refuses an entry that does not chain to the author’s previous entry, or is dated before it', () => {
    const room = joinedRoom();
    const feed = room.feed(stMary);
    const relinked = feed.forge({ type: 'room.left' }, minutesAfter(30), { prev: entryId((room.feed(clinic).entries[0] as SignedEntry).entry) });
    const backdated = feed.forge({ type: 'room.left' }, minutesAfter(5));
    const second = feed.forge({ type: 'room.joined' }, minutesAfter(30), { seq: 1, prev: entryId((feed.entries[0] as SignedEntry).entry) });
    assert.deepEqual(reasons(mergeEntries(room.roomId, room.allEntries(), [relinked], now)), ["entry does not follow the author's previous entry"]);
    assert.deepEqual(reasons(mergeEntries(room.roomId, room.allEntries(), [backdated], now)), ["entry is dated before the author's previous entry"]);
    const merge = mergeEntries(room.roomId, room.allEntries(), [second], now);
    assert.equal(merge.equivocations.length, 1, 'a second seq 1 is an equivocation');
  });

  it('refuses a member’s first entry unless it is a join, and a second join', () => {
    const room = makeRoom([acme, stMary, clinic]);
    const lab = makeIdentity(labX);
    const proposalFirst = room.feed(stMary).forge({ type: 'amendment.proposed', addMembers: [lab.ref] }, minutesAfter(5));
    assert.deepEqual(reasons(mergeEntries(room.roomId, room.allEntries(), [proposalFirst], now)), ["a member's first entry must be room.joined"]);
    room.join(stMary, minutesAfter(10));
    const again = room.feed(stMary).forge({ type: 'room.joined' }, minutesAfter(11));
    assert.deepEqual(reasons(mergeEntries(room.roomId, room.allEntries(), [again], now)), ['the author has already joined']);
  });

  it('refuses impossible dates', () => {
    const room = makeRoom([acme, stMary]);
    const join = room.feed(stMary).forge({ type: 'room.joined' }, minutesAfter(10), { at: '2030-02-30T10:00:00.000Z' });
    assert.deepEqual(reasons(mergeEntries(room.roomId, room.allEntries(), [join], now)), ['entry has an invalid time']);
  });

  it('refuses entries dated more than a day in the future', () => {
    const room = makeRoom([acme, stMary]);
    const join = room.join(stMary, minutesAfter(3 * 24 * 60));
    const merge = mergeEntries(room.roomId, room.feed(acme).entries, [join], minutesAfter(60));
    assert.deepEqual(reasons(merge), [`entry is dated in the future (${join.entry.at})`]);
  });

  it('refuses anything after the author left', () => {
    const room = joinedRoom();
    room.feed(clinic).append({ type: 'room.left' }, minutesAfter(30));
    const after = room.feed(clinic).append({ type: 'room.joined' }, minutesAfter(40));
    const { merge } = stateFrom(room, room.allEntries());
    assert.deepEqual(merge.refused, [{ entry: after, reason: 'the author has left this room' }]);
  });
});

describe('room state: equivocation', () => {
  before(() => cryptoReady());

  it('keeps the known entry and reports a different one with the same author and seq', () => {
    const room = joinedRoom();
    const honest = room.feed(stMary).append({ type: 'room.left' }, minutesAfter(30));
    const known = room.allEntries();
    const lab = makeIdentity(labX);
    const twin = room.feed(stMary).forge({ type: 'amendment.proposed', addMembers: [lab.ref] }, minutesAfter(31), { seq: 2, prev: honest.entry.prev });
    const merge = mergeEntries(room.roomId, known, [twin, twin, honest], now);
    assert.equal(merge.accepted.length, 0);
    assert.equal(merge.refused.length, 0);
    assert.equal(merge.ignored, 2, 'the known entry and the repeated twin');
    assert.equal(merge.equivocations.length, 1);
    const [equivocation] = merge.equivocations;
    assert.equal(equivocation?.author, room.member(stMary).ref.signPublicKey);
    assert.equal(equivocation?.seq, 2);
    assert.deepEqual(equivocation?.known, honest);
    assert.deepEqual(equivocation?.incoming, twin);
    assert.deepEqual(statuses(deriveRoomState(room.roomId, known, now))[stMary], 'left');
  });

  it('stores neither of two new entries with the same author and seq', () => {
    const room = joinedRoom();
    const known = room.allEntries();
    const leave = room.feed(stMary).forge({ type: 'room.left' }, minutesAfter(30));
    const lab = makeIdentity(labX);
    const propose = room.feed(stMary).forge({ type: 'amendment.proposed', addMembers: [lab.ref] }, minutesAfter(30));
    const merge = mergeEntries(room.roomId, known, [leave, propose], now);
    assert.equal(merge.accepted.length, 0);
    assert.equal(merge.equivocations.length, 1);
    const reported = [merge.equivocations[0]?.known, merge.equivocations[0]?.incoming].map((signed) => signed?.entry.body.type).sort();
    assert.deepEqual(reported, ['amendment.proposed', 'room.left']);
  });

  it('does not count an unsigned or foreign copy as equivocation', () => {
    const room = joinedRoom();
    const known = room.allEntries();
    const mallory = makeIdentity('Mallory');
    const join = room.feed(stMary).entries[0] as SignedEntry;
    const forged = signEntry({ ...join.entry, at: minutesAfter(11).toISOString() }, mallory.sign.secretKey);
    const merge = mergeEntries(room.roomId, known, [forged], now);
    assert.equal(merge.equivocations.length, 0);
    assert.deepEqual(reasons(merge), ['signature does not match']);
  });
});

describe('room state: amendments', () => {
  before(() => cryptoReady());

  it('adds a fourth member only after every joined member has signed', () => {
    const room = joinedRoom();
    const lab = makeIdentity(labX);
    const labFeed = room.addFeed(lab);
    const proposal = room.feed(acme).append({ type: 'amendment.proposed', addMembers: [lab.ref] }, minutesAfter(30));
    const amendment = entryId(proposal.entry);
    const stored = importBatches(room.roomId, [room.allEntries()]);

    let state = deriveRoomState(room.roomId, stored, now);
    assert.deepEqual(state.amendments, [
      {
        id: amendment,
        proposedBy: room.member(acme).ref.signPublicKey,
        addMembers: [lab.ref],
        signedBy: [room.member(acme).ref.signPublicKey],
        waitingFor: [room.member(stMary).ref.signPublicKey, room.member(clinic).ref.signPublicKey],
        status: 'pending',
      },
    ]);
    assert.equal(state.members.length, 3);

    const earlyJoin = labFeed.forge({ type: 'room.joined', amendment }, minutesAfter(35));
    assert.deepEqual(reasons(mergeEntries(room.roomId, stored, [earlyJoin], now)), ['author is not a member of this room']);

    stored.push(...mergeEntries(room.roomId, stored, [room.feed(stMary).append({ type: 'amendment.signed', amendment }, minutesAfter(40))], now).accepted);
    state = deriveRoomState(room.roomId, stored, now);
    assert.equal(state.amendments[0]?.status, 'pending');
    assert.deepEqual(state.amendments[0]?.waitingFor, [room.member(clinic).ref.signPublicKey]);
    assert.deepEqual(reasons(mergeEntries(room.roomId, stored, [earlyJoin], now)), ['author is not a member of this room']);

    stored.push(...mergeEntries(room.roomId, stored, [room.feed(clinic).append({ type: 'amendment.signed', amendment }, minutesAfter(50))], now).accepted);
    state = deriveRoomState(room.roomId, stored, now);
    assert.equal(state.amendments[0]?.status, 'accepted');
    assert.deepEqual(state.amendments[0]?.waitingFor, []);
    assert.deepEqual(state.members[3], { ...lab.ref, status: 'invited', addedBy: amendment });
    assert.equal(state.status, 'active');

    const join = labFeed.append({ type: 'room.joined', amendment }, minutesAfter(60));
    const merge = mergeEntries(room.roomId, stored, [join], now);
    assert.deepEqual(merge.accepted, [join]);
    stored.push(join);
    state = deriveRoomState(room.roomId, stored, now);
    assert.equal(statuses(state)[labX], 'joined');
    assert.deepEqual(
      state.log.map((item) => item.summary).slice(3),
      [`${acme} proposed adding ${labX}`, `${stMary} signed the amendment adding ${labX}`, `${clinic} signed the amendment adding ${labX}`, `${labX} joined`],
    );
  });

  it('counts a signature stamped before its proposal by a clock that runs behind, so the signer is not asked again', () => {
    const room = joinedRoom();
    const lab = makeIdentity(labX);
    const proposal = room.feed(acme).append({ type: 'amendment.proposed', addMembers: [lab.ref] }, minutesAfter(30));
    const amendment = entryId(proposal.entry);
    // St Mary's clock is 20 minutes behind Acme's: her signature sorts before the proposal.
    room.feed(stMary).append({ type: 'amendment.signed', amendment }, minutesAfter(10));
    const stored = importBatches(room.roomId, [room.allEntries()]);
    const state = deriveRoomState(room.roomId, stored, now);
    assert.deepEqual(state.amendments[0]?.signedBy, [room.member(acme).ref.signPublicKey, room.member(stMary).ref.signPublicKey]);
    assert.deepEqual(state.amendments[0]?.waitingFor, [room.member(clinic).ref.signPublicKey]);
    const again = room.feed(stMary).append({ type: 'amendment.signed', amendment }, minutesAfter(40));
    assert.deepEqual(reasons(mergeEntries(room.roomId, stored, [again], now)), ['the author already signed this amendment']);
    stored.push(...mergeEntries(room.roomId, stored, [room.feed(clinic).append({ type: 'amendment.signed', amendment }, minutesAfter(50))], now).accepted);
    assert.equal(deriveRoomState(room.roomId, stored, now).amendments[0]?.status, 'accepted');
  });

  it('accepts a new member’s join in the same batch as the signatures that admit them, in any order', () => {
    const { room } = amendedRoom();
    const entries = room.allEntries();
    for (const seed of [1, 2, 3, 4, 5]) {
      const merge = mergeEntries(room.roomId, [], seededShuffle(entries, seed), now);
      assert.equal(merge.refused.length, 0, `seed ${seed}: ${reasons(merge).join('; ')}`);
      assert.equal(merge.accepted.length, entries.length);
      assertChainOrder([], merge.accepted);
    }
  });

  it('requires a join naming the amendment that added the member', () => {
    const { room, amendment } = amendedRoom();
    const lab = room.member(labX);
    const wrong = new Feed(lab, room.roomId).append({ type: 'room.joined', amendment: 'f'.repeat(64) }, minutesAfter(60));
    const none = new Feed(lab, room.roomId).append({ type: 'room.joined' }, minutesAfter(61));
    const known = room.allEntries().filter((signed) => signed.entry.author !== lab.ref.signPublicKey);
    const merge = mergeEntries(room.roomId, known, [wrong, none], now);
    assert.equal(merge.equivocations.length, 1, 'two different first entries');
    for (const join of [wrong, none]) {
      assert.deepEqual(reasons(mergeEntries(room.roomId, known, [join], now)), ['room.joined must name the accepted amendment that added this member']);
    }
    const right = new Feed(lab, room.roomId).append({ type: 'room.joined', amendment }, minutesAfter(62));
    assert.deepEqual(mergeEntries(room.roomId, known, [right], now).accepted, [right]);
  });

  it('refuses proposing someone who is already a member, or no one', () => {
    const room = joinedRoom();
    const already = room.feed(acme).forge({ type: 'amendment.proposed', addMembers: [room.member(clinic).ref] }, minutesAfter(30));
    const nobody = room.feed(acme).forge({ type: 'amendment.proposed', addMembers: [] }, minutesAfter(30));
    assert.deepEqual(reasons(mergeEntries(room.roomId, room.allEntries(), [already], now)), [`${clinic} is already a member of this room`]);
    assert.deepEqual(reasons(mergeEntries(room.roomId, room.allEntries(), [nobody], now)), ['the amendment adds no members']);
  });

  it('asks only members joined when it was proposed, and refuses signatures of unknown amendments', () => {
    const room = makeRoom([acme, stMary, clinic]);
    room.join(stMary, minutesAfter(10));
    const lab = makeIdentity(labX);
    const proposal = room.feed(acme).append({ type: 'amendment.proposed', addMembers: [lab.ref] }, minutesAfter(15));
    const amendment = entryId(proposal.entry);
    room.join(clinic, minutesAfter(20));
    room.feed(stMary).append({ type: 'amendment.signed', amendment }, minutesAfter(25));
    const { state } = stateFrom(room, room.allEntries());
    assert.equal(state.amendments[0]?.status, 'accepted', 'the clinic joined after the proposal, so it was not asked');
    assert.equal(statuses(state)[labX], 'invited');

    const unknown = room.feed(clinic).forge({ type: 'amendment.signed', amendment: 'a'.repeat(64) }, minutesAfter(30));
    assert.deepEqual(reasons(mergeEntries(room.roomId, room.allEntries(), [unknown], now)), ['the signature names an unknown amendment']);
    const own = room.feed(acme).forge({ type: 'amendment.signed', amendment }, minutesAfter(30));
    assert.deepEqual(reasons(mergeEntries(room.roomId, room.allEntries(), [own], now)), ["the proposer's proposal already counts as their signature"]);
  });
});

describe('room state: amendments and leaving', () => {
  before(() => cryptoReady());

  it('stops waiting for a member who left before signing', () => {
    const room = joinedRoom();
    const lab = makeIdentity(labX);
    const amendment = entryId(room.feed(acme).append({ type: 'amendment.proposed', addMembers: [lab.ref] }, minutesAfter(30)).entry);
    room.feed(stMary).append({ type: 'amendment.signed', amendment }, minutesAfter(40));
    let { state } = stateFrom(room, room.allEntries());
    assert.deepEqual(state.amendments[0]?.waitingFor, [room.member(clinic).ref.signPublicKey]);
    room.feed(clinic).append({ type: 'room.left' }, minutesAfter(50));
    ({ state } = stateFrom(room, room.allEntries()));
    assert.equal(state.amendments[0]?.status, 'accepted');
    assert.equal(statuses(state)[labX], 'invited');
  });
});

describe('room state: leaving', () => {
  before(() => cryptoReady());

  it('stays active while two remain joined and closes when fewer do', () => {
    const room = joinedRoom();
    room.feed(clinic).append({ type: 'room.left' }, minutesAfter(30));
    let { state } = stateFrom(room, room.allEntries());
    assert.equal(state.status, 'active');
    assert.equal(statuses(state)[clinic], 'left');
    room.feed(stMary).append({ type: 'room.left' }, minutesAfter(40));
    ({ state } = stateFrom(room, room.allEntries()));
    assert.equal(state.status, 'closed');
    assert.deepEqual(state.log.map((item) => item.summary).slice(-2), [`${clinic} left`, `${stMary} left`]);
  });
});

describe('room state: order-free and idempotent', () => {
  before(() => cryptoReady());

  it('derives the same state and log from every order of the entries', () => {
    const room = joinedRoom();
    room.feed(stMary).append({ type: 'room.left' }, minutesAfter(30));
    const entries = room.allEntries();
    assert.equal(entries.length, 4);
    const expected = stateFrom(room, entries).state;
    for (const order of permutations(entries)) {
      const { merge, state } = stateFrom(room, order);
      assert.equal(merge.refused.length, 0);
      assertChainOrder([], merge.accepted);
      assert.deepEqual(state, expected);
    }
  });

  it('derives the same state from shuffled, duplicated and split imports of a room with an amendment', () => {
    const { room } = amendedRoom();
    const entries = room.allEntries();
    const expected = stateFrom(room, entries).state;
    assert.equal(expected.status, 'active');
    assert.deepEqual(statuses(expected), { [acme]: 'joined', [stMary]: 'joined', [clinic]: 'left', [labX]: 'joined' });
    for (let seed = 1; seed <= 40; seed++) {
      const withCopies = seededShuffle([...entries, ...entries.slice(0, seed % entries.length)], seed);
      const cut = seed % withCopies.length;
      // Two packets; whatever the first could not place arrives again in the second.
      const stored = importBatches(room.roomId, [withCopies.slice(0, cut), withCopies]);
      assert.equal(stored.length, entries.length, `seed ${seed}`);
      assertChainOrder([], stored);
      assert.deepEqual(deriveRoomState(room.roomId, seededShuffle(stored, seed + 100), now), expected, `seed ${seed}`);
    }
  });

  it('counts entries it already has as ignored and never applies them twice', () => {
    const room = joinedRoom();
    const entries = room.allEntries();
    const first = mergeEntries(room.roomId, [], [...entries, ...entries], now);
    assert.equal(first.accepted.length, 3);
    assert.equal(first.ignored, 3);
    const again = mergeEntries(room.roomId, first.accepted, entries, now);
    assert.deepEqual(again, { accepted: [], settled: [], ignored: 3, refused: [], equivocations: [] });
  });

  it('orders the log by time, author and seq even when feeds arrive out of order', () => {
    const { room } = amendedRoom();
    const state = stateFrom(room, [...room.allEntries()].reverse()).state;
    const times = state.log.map((item) => Date.parse(item.at));
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    assert.equal(state.log[state.log.length - 1]?.summary, `${clinic} left`);
    assert.equal(state.updatedAt, minutesAfter(70).toISOString());
  });
});
