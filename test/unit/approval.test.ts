import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { approvalSchema, openDataKey, sealDataKey } from '../../shared/approval.js';
import { cryptoReady, fromBase64Url, toBase64Url } from '../../shared/crypto.js';
import { snapshotIdOf } from '../../shared/notebook.js';
import { parse } from '../../shared/validate.js';
import { assetIdOf, makeApproval, makeIdentity, makeSnapshot, makeTable, minutesAfter, randomDataKey, randomHex, type TestIdentity } from '../support/room-fixtures.js';

const boxOf = (identity: TestIdentity) => ({ boxPublicKey: identity.box.publicKey, boxSecretKey: identity.box.secretKey });

describe('approval: data keys sealed to the runner', () => {
  before(() => cryptoReady());

  it('opens for the runner, bound to the snapshot and asset it was sealed for', () => {
    const runner = makeIdentity('Acme Insurance');
    const dataKey = randomDataKey();
    const [snapshot, asset] = [randomHex(), randomHex()];
    const sealed = sealDataKey(dataKey, snapshot, asset, runner.box.publicKey);
    assert.match(sealed, /^[A-Za-z0-9_-]+$/);
    assert.ok(sealed.length <= 400, `sealed key is ${sealed.length} characters`);
    assert.deepEqual(openDataKey(sealed, snapshot, asset, boxOf(runner)), dataKey);
  });

  it('opens for nobody else, and not for another snapshot or asset', () => {
    const runner = makeIdentity('Acme Insurance');
    const other = makeIdentity('St Mary Hospital');
    const [snapshot, asset] = [randomHex(), randomHex()];
    const sealed = sealDataKey(randomDataKey(), snapshot, asset, runner.box.publicKey);
    assert.equal(openDataKey(sealed, snapshot, asset, boxOf(other)), null);
    // The right secret key paired with the wrong public key does not open it either.
    assert.equal(openDataKey(sealed, snapshot, asset, { boxPublicKey: other.box.publicKey, boxSecretKey: runner.box.secretKey }), null);
    assert.equal(openDataKey(sealed, randomHex(), asset, boxOf(runner)), null);
    assert.equal(openDataKey(sealed, snapshot, randomHex(), boxOf(runner)), null);
  });

  it('returns null for a changed, truncated or malformed sealed key', () => {
    const runner = makeIdentity('Acme Insurance');
    const [snapshot, asset] = [randomHex(), randomHex()];
    const sealed = sealDataKey(randomDataKey(), snapshot, asset, runner.box.publicKey);
    const bytes = fromBase64Url(sealed);
    for (const position of [0, 31, 40, bytes.length - 1]) {
      const flipped = Uint8Array.from(bytes);
      flipped[position] = (flipped[position] as number) ^ 1;
      assert.equal(openDataKey(toBase64Url(flipped), snapshot, asset, boxOf(runner)), null, `byte ${position}`);
    }
    assert.equal(openDataKey(toBase64Url(bytes.subarray(0, bytes.length - 1)), snapshot, asset, boxOf(runner)), null);
    assert.equal(openDataKey('', snapshot, asset, boxOf(runner)), null);
    assert.equal(openDataKey('not base64!', snapshot, asset, boxOf(runner)), null);
    assert.equal(openDataKey(`${sealed}=`, snapshot, asset, boxOf(runner)), null);
  });

  it('refuses to seal anything but a 32-byte data key', () => {
    const runner = makeIdentity('Acme Insurance');
    assert.throws(() => sealDataKey(new Uint8Array(16), randomHex(), randomHex(), runner.box.publicKey), /32 bytes/);
  });

  it('approvals built from a snapshot carry keys only the named runner can open', () => {
    const acme = makeIdentity('Acme Insurance');
    const stMary = makeIdentity('St Mary Hospital');
    const room = randomHex();
    const admissions = makeTable(room, stMary, 'admissions');
    const snapshot = makeSnapshot(room, acme, { assets: [admissions], runner: acme });
    const dataKey = randomDataKey();
    const approval = makeApproval(snapshot, { runner: acme, expiresAt: minutesAfter(60), keys: [{ descriptor: admissions, dataKey }] });
    assert.ok(parse(approvalSchema, approval).ok);
    const [key] = approval.keys;
    assert.ok(key !== undefined);
    assert.deepEqual(openDataKey(key.sealedKey, snapshotIdOf(snapshot), assetIdOf(admissions), boxOf(acme)), dataKey);
    assert.equal(openDataKey(key.sealedKey, snapshotIdOf(snapshot), assetIdOf(admissions), boxOf(stMary)), null);
    // An approval for the old snapshot does not open for one changed by a byte.
    const edited = { ...snapshot, name: `${snapshot.name}!` };
    assert.equal(openDataKey(key.sealedKey, snapshotIdOf(edited), assetIdOf(admissions), boxOf(acme)), null);
  });

  it('accepts only the cleanroom-approval/1 format', () => {
    const acme = makeIdentity('Acme Insurance');
    const approval = makeApproval(makeSnapshot(randomHex(), acme), { runner: acme, expiresAt: minutesAfter(60) });
    assert.ok(parse(approvalSchema, approval).ok);
    const other = parse(approvalSchema, { ...approval, format: 'cleanroom-approval/2' });
    assert.ok(!other.ok);
    assert.match(other.issue.message, /format must be one of: cleanroom-approval\/1/);
  });
});
