// Contacts and rooms through core on real homes: cards, creating, naming, joining, leaving,
// expiry and amendments, and that every refusal leaves the database as it was.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeCard, parseCard } from '../../shared/card.js';
import { type RoomDetail } from '../../shared/room.js';
import { assertRefusedUnchanged, exportFor, makeParty, type Party } from '../support/core-parties.js';
import { passphrase, temporaryFolder } from '../support/homes.js';

const dayMs = 24 * 60 * 60 * 1000;

/** A clock tests can move: the home sees `now()` plus however far it was advanced. */
function movableClock() {
  let offset = 0;
  return { now: () => new Date(Date.now() + offset), advance: (ms: number) => (offset += ms) };
}

describe('contacts', () => {
  const folder = temporaryFolder();
  let mary: Party;
  let acme: Party;
  let impostor: Party;

  before(async () => {
    mary = await makeParty(folder.dir, 'St Mary');
    acme = await makeParty(folder.dir, 'Acme');
    impostor = await makeParty(path.join(folder.dir, 'other'), 'Acme');
  });

  after(async () => {
    for (const party of [mary, acme, impostor]) await party?.core.close();
    folder.remove();
  });

  it('imports a card once; importing it again changes nothing and returns the same contact', async () => {
    const first = await mary.core.call('contact.import', { card: acme.card });
    assert.equal(first.alias, 'Acme');
    assert.equal(first.fingerprint, acme.identity.fingerprint);
    assert.equal(first.sharingId, acme.identity.sharingId);
    const again = await mary.core.call('contact.import', { card: acme.card });
    assert.deepEqual(again, first);
    assert.deepEqual((await mary.core.call('contact.list', {})).contacts, [first]);
  });

  it('refuses my own card, a second "Acme" with other keys, and a card whose fingerprint does not match', async () => {
    await assertRefusedUnchanged(mary, (core) => core.dispatch('contact.import', { card: mary.card }), 'NOT_ALLOWED', /your own identity card/);
    await assertRefusedUnchanged(
      mary,
      (core) => core.dispatch('contact.import', { card: impostor.card }),
      'NOT_ALLOWED',
      /^You already have a contact named "Acme" with sharing identifier ([0-9A-Z]{4} ){4}[0-9A-Z]{4}; this card's is ([0-9A-Z]{4} ){4}[0-9A-Z]{4}\. It was not imported/,
    );
    const card = parseCard(impostor.card);
    const wrongFingerprint = encodeCard({ ...card, alias: 'Someone', fingerprint: acme.identity.fingerprint });
    await assertRefusedUnchanged(mary, (core) => core.dispatch('contact.import', { card: wrongFingerprint }), 'BAD_CARD', /fingerprint does not match/);
    await assertRefusedUnchanged(mary, (core) => core.dispatch('contact.import', { card: 'not a card' }), 'BAD_CARD', /.+/);
  });

  it('needs the identity unlocked to make a card', async () => {
    await mary.core.call('identity.lock', {});
    const result = await mary.core.dispatch('identity.card', {});
    assert.equal(result.ok ? null : result.error.code, 'LOCKED');
    await mary.core.call('identity.unlock', { passphrase });
    const made = await mary.core.call('identity.card', {});
    assert.equal(made.fileName, 'st-mary.cleanroom-card');
    assert.equal(parseCard(made.card).sharingId, mary.identity.sharingId);
  });
});

describe('rooms', () => {
  const folder = temporaryFolder();
  const clock = movableClock();
  let mary: Party;
  let acme: Party;
  let carol: Party;
  let dana: Party;
  const keyOf = async (of: Party, contact: Party) => (await of.core.call('contact.import', { card: contact.card })).signPublicKey;

  before(async () => {
    mary = await makeParty(folder.dir, 'St Mary', clock.now);
    acme = await makeParty(folder.dir, 'Acme', clock.now);
    carol = await makeParty(folder.dir, 'Carol', clock.now);
    dana = await makeParty(folder.dir, 'Dana', clock.now);
  });

  after(async () => {
    for (const party of [mary, acme, carol, dana]) await party?.core.close();
    folder.remove();
  });

  it('creates a room with policy defaults and an invitation that expires in 14 days', async () => {
    const created = await mary.core.call('room.create', { name: 'Readmissions', site: 'North', members: [await keyOf(mary, acme)] });
    assert.deepEqual(created.policy, { mode: 'aggregate', minGroupSize: 10, outputRetentionDays: 30 });
    assert.equal(Date.parse(created.invitationExpiresAt) - Date.parse(created.createdAt), 14 * dayMs);
    assert.equal(created.summary.status, 'pending');
    assert.equal(created.summary.myStatus, 'joined');
    assert.equal(created.createdBy, 'St Mary');
    assert.deepEqual(
      created.members.map(({ alias, status, isMe }) => ({ alias, status, isMe })),
      [
        { alias: 'St Mary', status: 'joined', isMe: true },
        { alias: 'Acme', status: 'invited', isMe: false },
      ],
    );
    assert.deepEqual(created.log.map(({ type, seq, author }) => ({ type, seq, author })), [{ type: 'room.created', seq: 1, author: 'St Mary' }]);

    const reviewed = await mary.core.call('room.create', {
      name: 'Reviewed',
      members: [await keyOf(mary, acme)],
      mode: 'reviewed',
      minGroupSize: 5,
      outputRetentionDays: 7,
      invitationDays: 2,
    });
    assert.deepEqual(reviewed.policy, { mode: 'reviewed', minGroupSize: 5, outputRetentionDays: 7 });
    assert.equal(Date.parse(reviewed.invitationExpiresAt) - Date.parse(reviewed.createdAt), 2 * dayMs);
  });

  it('refuses a room without other members, or with a key that is not a contact', async () => {
    await assertRefusedUnchanged(mary, (core) => core.dispatch('room.create', { name: 'Alone', members: [] }), 'BAD_REQUEST', /at least one other member/);
    await assertRefusedUnchanged(
      mary,
      (core) => core.dispatch('room.create', { name: 'Alone', members: [mary.identity.signPublicKey] }),
      'BAD_REQUEST',
      /at least one other member/,
    );
    await assertRefusedUnchanged(
      mary,
      (core) => core.dispatch('room.create', { name: 'Strangers', members: [dana.identity.signPublicKey] }),
      'NOT_FOUND',
      /No contact with signing key .*import their identity card first/,
    );
    const twin = await makeParty(path.join(folder.dir, 'twin'), 'st mary', clock.now);
    try {
      const twinKey = await keyOf(mary, twin);
      await assertRefusedUnchanged(
        mary,
        (core) => core.dispatch('room.create', { name: 'Twins', members: [twinKey] }),
        'NOT_ALLOWED',
        /^Cannot create this room: two members share the alias “st mary”\.$/,
      );
    } finally {
      await twin.core.close();
    }
  });

  it('finds rooms by full id, id prefix, or name, and says when a name is unknown or ambiguous', async () => {
    const { rooms } = await mary.core.call('room.list', {});
    const readmissions = rooms.find((room) => room.name === 'Readmissions');
    assert.ok(readmissions);
    for (const ref of [readmissions.id, readmissions.id.slice(0, 6), 'Readmissions', 'readmissions']) {
      assert.equal((await mary.core.call('room.show', { room: ref })).summary.id, readmissions.id, ref);
    }
    const missing = await mary.core.dispatch('room.show', { room: 'Nope' });
    assert.deepEqual(missing.ok ? null : missing.error, { code: 'NOT_FOUND', message: 'No room "Nope": give its exact name or its id (or the first 6+ digits of it).' });
    const short = await mary.core.dispatch('room.show', { room: readmissions.id.slice(0, 4) });
    assert.match(short.ok ? '' : short.error.message, /An id prefix needs at least 6 hex digits/);
    await mary.core.call('room.create', { name: 'Readmissions', members: [await keyOf(mary, acme)] });
    const twice = await mary.core.dispatch('room.show', { room: 'Readmissions' });
    assert.equal(twice.ok ? null : twice.error.code, 'AMBIGUOUS');
    assert.match(twice.ok ? '' : twice.error.message, /^"Readmissions" matches 2 rooms: Readmissions \([0-9a-f]{12}\), Readmissions \([0-9a-f]{12}\)\. Use more digits of the id\.$/);
  });

  it('shows an invitation as "invited", refuses to export before joining, and joins once', async () => {
    const created = await mary.core.call('room.create', { name: 'Joining', members: [await keyOf(mary, acme)] });
    const imported = await acme.core.call('packet.import', { contentBase64: await exportFor(mary, created.summary.id) });
    assert.equal(imported.summary, 'Invitation to Joining from St Mary: 1 new entry');
    const invited = (await acme.core.call('room.list', {})).rooms.find((room) => room.id === created.summary.id);
    assert.equal(invited?.status, 'invited');
    assert.equal(invited?.myStatus, 'invited');
    await assertRefusedUnchanged(acme, (core) => core.dispatch('packet.export', { room: 'Joining' }), 'NOT_ALLOWED', /join first/);
    await assertRefusedUnchanged(acme, (core) => core.dispatch('room.leave', { room: 'Joining' }), 'NOT_ALLOWED', /have not joined/);

    const joined = await acme.core.call('room.join', { room: 'Joining' });
    assert.equal(joined.summary.status, 'active');
    assert.equal(joined.summary.myStatus, 'joined');
    await assertRefusedUnchanged(acme, (core) => core.dispatch('room.join', { room: 'Joining' }), 'NOT_ALLOWED', /already joined/);

    await mary.core.call('packet.import', { contentBase64: await exportFor(acme, 'Joining') });
    const left = await acme.core.call('room.leave', { room: 'Joining' });
    assert.equal(left.summary.myStatus, 'left');
    assert.equal(left.summary.status, 'closed');
    await assertRefusedUnchanged(acme, (core) => core.dispatch('room.leave', { room: 'Joining' }), 'NOT_ALLOWED', /already left/);
  });

  it('refuses to join after the invitation expired, changing nothing', async () => {
    const created = await mary.core.call('room.create', { name: 'Expiring', members: [await keyOf(mary, carol)], invitationDays: 1 });
    await carol.core.call('packet.import', { contentBase64: await exportFor(mary, created.summary.id) });
    clock.advance(2 * dayMs);
    const expires = created.invitationExpiresAt;
    await assertRefusedUnchanged(
      carol,
      (core) => core.dispatch('room.join', { room: 'Expiring' }),
      'NOT_ALLOWED',
      new RegExp(`^The invitation to Expiring expired on ${expires.slice(0, 10)} ${expires.slice(11, 16)} UTC; ask for a new room\\.$`),
    );
    const listed = (await carol.core.call('room.list', {})).rooms.find((room) => room.name === 'Expiring');
    assert.equal(listed?.status, 'expired');
  });

  it('adds a member by an amendment every member signs; the new member joins from any packet', async () => {
    const created = await mary.core.call('room.create', { name: 'Amended', members: [await keyOf(mary, acme), await keyOf(mary, carol)] });
    const room = created.summary.id;
    const invite = await exportFor(mary, room);
    for (const party of [acme, carol]) {
      await party.core.call('packet.import', { contentBase64: invite });
      await party.core.call('room.join', { room });
    }
    const exchange = async (from: Party, to: readonly Party[]) => {
      const packet = await exportFor(from, room);
      for (const party of to) await party.core.call('packet.import', { contentBase64: packet });
    };
    await exchange(acme, [mary, carol]);
    await exchange(carol, [mary, acme]);

    const proposed = await acme.core.call('room.proposeAmendment', { room, addMembers: [await keyOf(acme, dana)] });
    const amendment = proposed.amendments[0];
    assert.ok(amendment);
    assert.deepEqual(
      { proposedBy: amendment.proposedBy, signedBy: amendment.signedBy, waitingFor: [...amendment.waitingFor].sort(), status: amendment.status },
      { proposedBy: 'Acme', signedBy: ['Acme'], waitingFor: ['Carol', 'St Mary'], status: 'pending' },
    );
    await assertRefusedUnchanged(
      acme,
      (core) => core.dispatch('room.signAmendment', { room, amendment: amendment.id }),
      'NOT_ALLOWED',
      /already signed/,
    );
    await exchange(acme, [mary, carol]);
    await mary.core.call('room.signAmendment', { room, amendment: amendment.id });
    await exchange(mary, [acme, carol]);
    const accepted = await carol.core.call('room.signAmendment', { room, amendment: amendment.id });
    assert.equal(accepted.amendments[0]?.status, 'accepted');
    assert.equal(accepted.members.find((member) => member.alias === 'Dana')?.status, 'invited');

    // Carol's packet now goes to Dana too, and carries the whole room: Dana's invitation.
    const fromCarol = await carol.core.call('packet.export', { room });
    assert.deepEqual([...fromCarol.recipients].sort(), ['Acme', 'Dana', 'St Mary']);
    const invited = await dana.core.call('packet.import', { contentBase64: fromCarol.contentBase64 as string });
    assert.match(invited.summary, /^Invitation to Amended from Carol/);
    const joined = await dana.core.call('room.join', { room: 'Amended' });
    assert.equal(joined.summary.myStatus, 'joined');
    await exchange(dana, [mary, acme, carol]);
    await exchange(carol, [mary, acme]);
    const views = await Promise.all([mary, acme, carol, dana].map((party) => party.core.call('room.show', { room })));
    for (const view of views) {
      assert.deepEqual(
        view.members.map(({ alias, status }) => ({ alias, status })),
        [
          { alias: 'St Mary', status: 'joined' },
          { alias: 'Acme', status: 'joined' },
          { alias: 'Carol', status: 'joined' },
          { alias: 'Dana', status: 'joined' },
        ],
      );
      assert.deepEqual(view.log.map((item) => item.id), views[0]?.log.map((item) => item.id));
      assert.equal(view.summary.status, 'active');
    }
  });
});

describe('a clock that steps back', () => {
  const folder = temporaryFolder();
  const clock = movableClock();
  after(() => folder.remove());

  it('still lets me sign my next entry, dated no earlier than my last one', async () => {
    const mary = await makeParty(folder.dir, 'St Mary', clock.now);
    const acme = await makeParty(folder.dir, 'Acme', clock.now);
    try {
      const acmeKey = (await mary.core.call('contact.import', { card: acme.card })).signPublicKey;
      const created = await mary.core.call('room.create', { name: 'Clocks', members: [acmeKey] });
      clock.advance(-2 * 60 * 60 * 1000);
      const left = await mary.core.dispatch('room.leave', { room: created.summary.id });
      assert.ok(left.ok, left.ok ? '' : left.error.message);
      // dispatch answers Result<unknown>: what room.leave returns is the room.
      const [first, second] = (left.value as RoomDetail).log.filter((item) => item.authorKey === mary.identity.signPublicKey).sort((a, b) => a.seq - b.seq);
      assert.equal(second?.type, 'room.left');
      assert.ok(Date.parse(second?.at ?? '') >= Date.parse(first?.at ?? ''), 'the new entry is not dated before the previous one');
    } finally {
      await mary.core.close();
      await acme.core.close();
    }
  });
});
