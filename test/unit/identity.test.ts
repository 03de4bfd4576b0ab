import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { cryptoReady, fingerprintOf, generateBoxKeyPair, generateSigningKeyPair, openWithKey, sealWithKey, utf8, randomBytes } from '../../shared/crypto.js';
import { groupForReading, passphraseWeakness } from '../../shared/identity.js';

describe('passphrase rules', () => {
  it('refuses empty, short and repetitive passphrases with a reason', () => {
    assert.match(passphraseWeakness('') ?? '', /Enter a passphrase/);
    assert.match(passphraseWeakness('short pass') ?? '', /at least 12 characters/);
    assert.match(passphraseWeakness('aaaaaaaaaaaaaaaa') ?? '', /different characters/);
    assert.match(passphraseWeakness(' leading space pass') ?? '', /start or end with a space/);
  });

  it('accepts a few unrelated words', () => {
    assert.equal(passphraseWeakness('correct horse battery staple'), null);
  });
});

describe('fingerprints and sharing identifiers', () => {
  before(() => cryptoReady());

  it('are stable for the same keys and differ for different keys', () => {
    const sign = generateSigningKeyPair();
    const box = generateBoxKeyPair();
    const first = fingerprintOf(sign.publicKey, box.publicKey);
    assert.deepEqual(fingerprintOf(sign.publicKey, box.publicKey), first);
    assert.match(first.fingerprint, /^[0-9a-f]{64}$/);
    assert.match(first.sharingId, /^[0-9A-HJKMNP-TV-Z]{20}$/);
    const other = fingerprintOf(generateSigningKeyPair().publicKey, box.publicKey);
    assert.notEqual(other.fingerprint, first.fingerprint);
    assert.notEqual(other.sharingId, first.sharingId);
  });

  it('group into fours for reading aloud', () => {
    assert.deepEqual(groupForReading('ABCDEFGHJK'), ['ABCD', 'EFGH', 'JK']);
  });
});

describe('sealing', () => {
  before(() => cryptoReady());

  it('opens only with the same key and associated data, and detects any changed byte', () => {
    const key = randomBytes(32);
    const sealed = sealWithKey(key, utf8('secret'), utf8('context'));
    assert.deepEqual(openWithKey(key, sealed, utf8('context')), utf8('secret'));
    assert.equal(openWithKey(randomBytes(32), sealed, utf8('context')), null);
    assert.equal(openWithKey(key, sealed, utf8('other')), null);
    for (let i = 0; i < sealed.length; i++) {
      const changed = sealed.slice();
      changed[i] = (changed[i] ?? 0) ^ 1;
      assert.equal(openWithKey(key, changed, utf8('context')), null, `byte ${i}`);
    }
    assert.equal(openWithKey(key, sealed.subarray(0, 10), utf8('context')), null);
  });
});
