import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { canonicalString } from '../../shared/canonical.js';
import { cardFileName, cardFileSizeProblem, cardFileText, encodeCard, type IdentityCard, makeCard, maxCardBytes, parseCard } from '../../shared/card.js';
import { cryptoReady, fromBase64Url, toBase64Url } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { makeIdentity } from '../support/room-fixtures.js';

function refusedAs(pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof CleanroomError, `expected a CleanroomError, got ${String(error)}`);
    assert.equal(error.code, 'BAD_CARD');
    assert.match(error.message, pattern);
    return true;
  };
}

/** A card file with one field replaced, written canonically as a real file would be. */
const withField = (card: IdentityCard, field: string, value: unknown): string => `${canonicalString({ ...card, [field]: value })}\n`;

/** Changes one character of a string to the next character of its alphabet. */
function changeOneCharacter(text: string, index: number, alphabet: string): string {
  const current = text[index] as string;
  const replacement = alphabet[(alphabet.indexOf(current) + 1) % alphabet.length] as string;
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

const hexDigits = '0123456789abcdef';
const crockfordDigits = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

describe('identity cards', () => {
  before(() => cryptoReady());

  it('round-trip through the file text, with or without trailing line endings', () => {
    const person = makeIdentity('St Mary Hospital');
    const card = makeCard(person.identity, person.sign.secretKey);
    const text = encodeCard(card);
    assert.ok(text.endsWith('}\n'));
    assert.equal(text.trimEnd(), canonicalString(card));
    assert.deepEqual(parseCard(text), card);
    assert.deepEqual(parseCard(text.trimEnd()), card);
    assert.deepEqual(parseCard(`${text.trimEnd()}\r\n\r\n  \t`), card);
    assert.equal(card.format, 'cleanroom-card/1');
    assert.equal(card.fingerprint, person.identity.fingerprint);
    assert.equal(card.sharingId, person.identity.sharingId);
  });

  it('refuses a card with any field changed, naming the check that failed', () => {
    const person = makeIdentity('Acme Insurance');
    const card = makeCard(person.identity, person.sign.secretKey);
    const other = makeIdentity('Mallory');
    const cases: [string, string, RegExp][] = [
      ['alias', withField(card, 'alias', 'Acme lnsurance'), /^signature does not match$/],
      ['createdAt', withField(card, 'createdAt', '2031-01-01T00:00:00.000Z'), /^signature does not match$/],
      ['signPublicKey', withField(card, 'signPublicKey', other.identity.signPublicKey), /^fingerprint does not match the card's keys$/],
      ['boxPublicKey', withField(card, 'boxPublicKey', other.identity.boxPublicKey), /^fingerprint does not match the card's keys$/],
      ['fingerprint', withField(card, 'fingerprint', changeOneCharacter(card.fingerprint, 10, hexDigits)), /^fingerprint does not match the card's keys$/],
      ['sharingId', withField(card, 'sharingId', changeOneCharacter(card.sharingId, 3, crockfordDigits)), /^fingerprint does not match the card's keys$/],
      ['format', withField(card, 'format', 'cleanroom-card/2'), /format must be "cleanroom-card\/1"/],
      ['alias with a control character', withField(card, 'alias', 'Acme\u0000'), /alias must start with a letter or digit/],
      ['extra field', withField(card, 'admin', true), /unknown field "admin"/],
    ];
    for (const [label, text, reason] of cases) assert.throws(() => parseCard(text), refusedAs(reason), label);
    const { signature: _signature, ...unsigned } = card;
    assert.throws(() => parseCard(`${canonicalString(unsigned)}\n`), refusedAs(/signature is required/));
  });

  it('refuses a card when any bit of its signature is flipped', () => {
    const person = makeIdentity('Lab X');
    const card = makeCard(person.identity, person.sign.secretKey);
    const signature = fromBase64Url(card.signature);
    for (let bit = 0; bit < signature.length * 8; bit++) {
      const flipped = signature.slice();
      flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      assert.throws(() => parseCard(withField(card, 'signature', toBase64Url(flipped))), refusedAs(/^signature does not match$/), `bit ${bit}`);
    }
  });

  it('refuses keys swapped in with a fingerprint recomputed for them, because the signature no longer verifies', () => {
    const victim = makeIdentity('St Mary Hospital');
    const attacker = makeIdentity('St Mary Hospital');
    const victimCard = makeCard(victim.identity, victim.sign.secretKey);
    const swapped = {
      ...victimCard,
      signPublicKey: attacker.identity.signPublicKey,
      boxPublicKey: attacker.identity.boxPublicKey,
      fingerprint: attacker.identity.fingerprint,
      sharingId: attacker.identity.sharingId,
    };
    assert.throws(() => parseCard(encodeCard(swapped)), refusedAs(/^signature does not match$/));
    // The attacker can make a valid card of their own under the same alias; only its fingerprint
    // tells it apart, which is why people compare sharing identifiers by phone.
    const impostor = parseCard(encodeCard(makeCard(attacker.identity, attacker.sign.secretKey)));
    assert.equal(impostor.alias, victimCard.alias);
    assert.notEqual(impostor.sharingId, victimCard.sharingId);
  });

  it('refuses a card signed by a key other than its own', () => {
    const person = makeIdentity('Acme Insurance');
    const other = makeIdentity('Other');
    const card = makeCard(person.identity, other.sign.secretKey);
    assert.throws(() => parseCard(encodeCard(card)), refusedAs(/^signature does not match$/));
  });

  it('refuses a key written in a non-canonical base64url spelling', () => {
    const person = makeIdentity('Acme Insurance');
    const card = makeCard(person.identity, person.sign.secretKey);
    // The last character of 32 bytes in base64url carries 2 unused bits; setting one names the same key.
    const last = card.boxPublicKey[42] as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = card.boxPublicKey.slice(0, 42) + (alphabet[alphabet.indexOf(last) + 1] as string);
    assert.throws(() => parseCard(withField(card, 'boxPublicKey', respelled)), refusedAs(/^boxPublicKey is not a 32-byte base64url key$/));
  });

  it('refuses anything but the canonical text plus trailing whitespace', () => {
    const person = makeIdentity('Acme Insurance');
    const card = makeCard(person.identity, person.sign.secretKey);
    const text = encodeCard(card);
    assert.throws(() => parseCard(` ${text}`), refusedAs(/^card is not valid JSON$|^card is not in canonical form$/));
    assert.throws(() => parseCard(`${JSON.stringify(card, null, 2)}\n`), refusedAs(/^card is not in canonical form$/));
    assert.throws(() => parseCard(`\ufeff${text}`), refusedAs(/^card is not valid JSON$/));
    assert.throws(() => parseCard(`${text}x`), refusedAs(/^card is not valid JSON$/));
    assert.throws(() => parseCard('not a card'), refusedAs(/^card is not valid JSON$/));
    assert.throws(() => parseCard('[]'), refusedAs(/^card must be an object$/));
    assert.throws(() => parseCard(''), refusedAs(/^card is not valid JSON$/));
  });

  it('refuses an oversized file before parsing it', () => {
    assert.throws(() => parseCard(`{"alias":"${'x'.repeat(maxCardBytes)}"}`), refusedAs(/^card is too large \(\d+ bytes; at most 4096\)$/));
    // Counted in UTF-8 bytes, not characters.
    assert.throws(() => parseCard('é'.repeat(maxCardBytes / 2 + 1)), refusedAs(/^card is too large \(4098 bytes/));
  });

  it('reports a card file as too large with the file\'s own size, and refuses one that is not UTF-8', () => {
    assert.equal(cardFileSizeProblem('acme.cleanroom-card', maxCardBytes), null);
    assert.equal(cardFileSizeProblem('acme.cleanroom-card', 5013), 'acme.cleanroom-card is too large to be an identity card (5013 bytes; at most 4096).');
    assert.equal(cardFileSizeProblem('acme.cleanroom-card', 0), 'acme.cleanroom-card is empty.');
    // 2,000 bytes that are not UTF-8 would be 6,000 bytes of U+FFFD once read leniently.
    const binary = new Uint8Array(2000).fill(0xff);
    assert.deepEqual(cardFileText('acme.cleanroom-card', binary), { ok: false, reason: 'acme.cleanroom-card is not an identity card: it is not UTF-8 text.' });
    assert.deepEqual(cardFileText('acme.cleanroom-card', new Uint8Array(5013).fill(0x61)), {
      ok: false,
      reason: 'acme.cleanroom-card is too large to be an identity card (5013 bytes; at most 4096).',
    });
    assert.deepEqual(cardFileText('acme.cleanroom-card', new TextEncoder().encode('{"alias":"é"}\n')), { ok: true, text: '{"alias":"é"}\n' });
  });

  it('names files after the alias', () => {
    assert.equal(cardFileName('St Mary Hospital'), 'st-mary-hospital.cleanroom-card');
    assert.equal(cardFileName("O'Neil & Sons, Ltd."), 'o-neil-sons-ltd.cleanroom-card');
    assert.equal(cardFileName('Hôpital Saint-Éloi'), 'hôpital-saint-éloi.cleanroom-card');
    assert.equal(cardFileName('...'), 'identity.cleanroom-card');
    assert.equal(cardFileName('CON'), 'con-card.cleanroom-card');
  });
});
