import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { hashCanonical } from '../../shared/canonical.js';
import { cryptoReady, fromBase64Url, toBase64Url } from '../../shared/crypto.js';
import { entryId, nextEntry, roomIdOf, signEntry, verifyEntrySignature } from '../../shared/feed.js';
import { type SignedEntry } from '../../shared/room.js';
import { makeDefinition, makeIdentity, minutesAfter } from '../support/room-fixtures.js';

describe('room ids', () => {
  before(() => cryptoReady());

  it('are the canonical hash of the definition, and change with any field', () => {
    const alice = makeIdentity('Acme Insurance');
    const bob = makeIdentity('St Mary Hospital');
    const definition = makeDefinition(alice, [alice, bob], { nonce: 'AAAAAAAAAAAAAAAAAAAAAA' });
    assert.equal(roomIdOf(definition), hashCanonical(definition));
    assert.equal(roomIdOf({ ...definition }), roomIdOf(definition));
    assert.notEqual(roomIdOf({ ...definition, nonce: 'AAAAAAAAAAAAAAAAAAAAAB' }), roomIdOf(definition));
    assert.notEqual(roomIdOf({ ...definition, policy: { ...definition.policy, minGroupSize: 11 } }), roomIdOf(definition));
  });
});

describe('feed entries', () => {
  before(() => cryptoReady());

  it('chain each entry to the author’s previous one', () => {
    const author = makeIdentity('Acme Insurance');
    const room = 'a'.repeat(64);
    const first = signEntry(nextEntry(room, author.ref.signPublicKey, null, { type: 'room.joined' }, minutesAfter(1)), author.sign.secretKey);
    assert.deepEqual(first.entry, {
      format: 'cleanroom-entry/1',
      room,
      author: author.ref.signPublicKey,
      seq: 1,
      prev: null,
      at: minutesAfter(1).toISOString(),
      body: { type: 'room.joined' },
    });
    const second = nextEntry(room, author.ref.signPublicKey, first, { type: 'room.left' }, minutesAfter(2));
    assert.equal(second.seq, 2);
    assert.equal(second.prev, entryId(first.entry));
  });

  it('have ids that depend on every field and are separated from plain canonical hashes', () => {
    const author = makeIdentity('Acme Insurance');
    const entry = nextEntry('b'.repeat(64), author.ref.signPublicKey, null, { type: 'room.joined' }, minutesAfter(0));
    const id = entryId(entry);
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.notEqual(id, hashCanonical(entry));
    assert.notEqual(entryId({ ...entry, seq: 2 }), id);
    assert.notEqual(entryId({ ...entry, at: minutesAfter(1).toISOString() }), id);
    assert.notEqual(entryId({ ...entry, body: { type: 'room.left' } }), id);
  });

  it('verify only the author’s signature over the exact entry', () => {
    const author = makeIdentity('Acme Insurance');
    const other = makeIdentity('Mallory');
    const entry = nextEntry('c'.repeat(64), author.ref.signPublicKey, null, { type: 'room.joined' }, minutesAfter(0));
    const signed = signEntry(entry, author.sign.secretKey);
    assert.equal(verifyEntrySignature(signed), true);

    const changed: SignedEntry[] = [
      { ...signed, entry: { ...entry, seq: 2 } },
      { ...signed, entry: { ...entry, room: 'd'.repeat(64) } },
      { ...signed, entry: { ...entry, at: minutesAfter(1).toISOString() } },
      { ...signed, entry: { ...entry, body: { type: 'room.left' } } },
      { ...signed, entry: { ...entry, author: other.ref.signPublicKey } },
      signEntry(entry, other.sign.secretKey),
    ];
    for (const [index, candidate] of changed.entries()) assert.equal(verifyEntrySignature(candidate), false, `case ${index}`);

    const signature = fromBase64Url(signed.signature);
    for (let byte = 0; byte < signature.length; byte++) {
      const flipped = signature.slice();
      flipped[byte] = (flipped[byte] ?? 0) ^ 0x01;
      assert.equal(verifyEntrySignature({ ...signed, signature: toBase64Url(flipped) }), false, `byte ${byte}`);
    }
  });

  it('never throw on garbage keys or signatures', () => {
    const author = makeIdentity('Acme Insurance');
    const signed = signEntry(nextEntry('e'.repeat(64), author.ref.signPublicKey, null, { type: 'room.joined' }, minutesAfter(0)), author.sign.secretKey);
    assert.equal(verifyEntrySignature({ ...signed, signature: '!'.repeat(86) }), false);
    assert.equal(verifyEntrySignature({ ...signed, signature: 'AAAA' }), false);
    assert.equal(verifyEntrySignature({ ...signed, entry: { ...signed.entry, author: '*'.repeat(43) } }), false);
    assert.equal(verifyEntrySignature({ ...signed, entry: { ...signed.entry, author: 'AAAA' } }), false);
  });
});
