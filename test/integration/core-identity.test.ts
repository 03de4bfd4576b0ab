// Core on a real home: identity creation, lock and unlock, passphrase change, and what is (and
// is never) written to disk.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openHome } from '../../electron/core/home.js';
import { Keystore } from '../../electron/core/keystore.js';
import { cryptoReady } from '../../shared/crypto.js';
import { allFileBytes, openTestCore, passphrase, temporaryFolder } from '../support/homes.js';
import { repoRoot } from '../support/paths.js';

describe('identity in a home', () => {
  const folder = temporaryFolder();
  after(() => folder.remove());

  it('starts with no identity, creates one unlocked, and reports it', async () => {
    const core = await openTestCore(folder.dir);
    try {
      assert.deepEqual(await core.dispatch('identity.status', {}), { ok: true, value: { state: 'none' } });
      const created = await core.dispatch('identity.create', { alias: 'St. Mary Hospital', passphrase });
      assert.ok(created.ok);
      const status = await core.call('identity.status', {});
      assert.equal(status.state, 'unlocked');
      if (status.state === 'unlocked') {
        assert.equal(status.identity.alias, 'St. Mary Hospital');
        assert.match(status.identity.sharingId, /^[0-9A-Z]{20}$/);
      }
      const again = await core.dispatch('identity.create', { alias: 'Someone else', passphrase });
      assert.deepEqual(again.ok ? null : again.error.code, 'IDENTITY_EXISTS');
    } finally {
      await core.close();
    }
  });

  it('reopens locked; a wrong passphrase is refused and the right one unlocks', async () => {
    const core = await openTestCore(folder.dir);
    try {
      const status = await core.call('identity.status', {});
      assert.equal(status.state, 'locked');
      const wrong = await core.dispatch('identity.unlock', { passphrase: 'not the passphrase at all' });
      assert.deepEqual(wrong, { ok: false, error: { code: 'WRONG_PASSPHRASE', message: 'Wrong passphrase.' } });
      assert.equal((await core.call('identity.status', {})).state, 'locked');
      assert.ok((await core.dispatch('identity.unlock', { passphrase })).ok);
      assert.equal((await core.call('identity.status', {})).state, 'unlocked');
      await core.call('identity.lock', {});
      assert.equal((await core.call('identity.status', {})).state, 'locked');
    } finally {
      await core.close();
    }
  });

  it('changes the passphrase: the old one stops working, the new one works, and a weak new one is refused', async () => {
    const core = await openTestCore(folder.dir);
    const next = 'a different long passphrase';
    try {
      const weak = await core.dispatch('identity.changePassphrase', { current: passphrase, next: 'short' });
      assert.equal(weak.ok ? null : weak.error.code, 'WEAK_PASSPHRASE');
      const wrongCurrent = await core.dispatch('identity.changePassphrase', { current: 'wrong wrong wrong', next });
      assert.equal(wrongCurrent.ok ? null : wrongCurrent.error.code, 'WRONG_PASSPHRASE');
      assert.ok((await core.dispatch('identity.unlock', { passphrase })).ok, 'refused changes left the old passphrase working');
      assert.ok((await core.dispatch('identity.changePassphrase', { current: passphrase, next })).ok);
      await core.call('identity.lock', {});
      const old = await core.dispatch('identity.unlock', { passphrase });
      assert.equal(old.ok ? null : old.error.code, 'WRONG_PASSPHRASE');
      assert.ok((await core.dispatch('identity.unlock', { passphrase: next })).ok);
      await core.call('identity.changePassphrase', { current: next, next: passphrase });
    } finally {
      await core.close();
    }
  });

  it('refuses bad requests with BAD_REQUEST and unknown methods with UNKNOWN_METHOD', async () => {
    const core = await openTestCore(folder.dir);
    try {
      const missing = await core.dispatch('identity.unlock', {});
      assert.equal(missing.ok ? null : missing.error.code, 'BAD_REQUEST');
      const extra = await core.dispatch('identity.lock', { force: true });
      assert.equal(extra.ok ? null : extra.error.code, 'BAD_REQUEST');
      const unknown = await core.dispatch('identity.export', {});
      assert.equal(unknown.ok ? null : unknown.error.code, 'UNKNOWN_METHOD');
    } finally {
      await core.close();
    }
  });
});

describe('what a home holds on disk', () => {
  const folder = temporaryFolder();
  after(() => folder.remove());
  before(() => cryptoReady());

  it('contains neither the secret key bytes nor the passphrase', () => {
    const home = openHome(folder.dir, 'cli');
    const keystore = new Keystore(home.db);
    keystore.create('Acme Insurance', passphrase);
    const { signSecretKey, boxSecretKey } = keystore.keys();
    // Copies taken before close: lock() wipes the originals.
    const secrets = [Buffer.from(signSecretKey.subarray(0, 32)), Buffer.from(boxSecretKey)];
    keystore.changePassphrase(passphrase, 'second passphrase here');
    home.close();
    const needles = [
      ...secrets,
      Buffer.from(passphrase, 'utf8'),
      Buffer.from(passphrase, 'utf16le'),
      Buffer.from('second passphrase here', 'utf8'),
    ];
    const files = allFileBytes(folder.dir);
    assert.ok(files.size > 0);
    for (const [file, bytes] of files) {
      for (const needle of needles) assert.equal(bytes.indexOf(needle), -1, `${path.basename(file)} contains a secret`);
    }
  });
});

describe('homes that cannot be used', () => {
  it('refuses a second process on the same home, naming the holder, and the first keeps working', async () => {
    const folder = temporaryFolder();
    const core = await openTestCore(folder.dir);
    try {
      await core.call('identity.create', { alias: 'Holder', passphrase });
      const script = `import { openHome } from './electron/core/home.ts';
        try { openHome(${JSON.stringify(folder.dir)}, 'shell'); console.log('opened'); }
        catch (error) { console.log(error.code + ' ' + error.message); }`;
      const second = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8' });
      assert.match(second.stdout, /^HOME_IN_USE .*another Cleanroom \(cli, process \d+\)/);
      assert.equal((await core.call('identity.status', {})).state, 'unlocked');
    } finally {
      await core.close();
      folder.remove();
    }
  });

  it('refuses a home written by a newer version and leaves it unchanged', async () => {
    const folder = temporaryFolder();
    try {
      const db = new Database(path.join(folder.dir, 'cleanroom.db'));
      db.pragma('user_version = 999');
      db.close();
      const original = allFileBytes(folder.dir).get(path.join(folder.dir, 'cleanroom.db'));
      const result = await openTestCore(folder.dir).then(
        () => null,
        (error: { code?: string; message?: string }) => error,
      );
      assert.equal(result?.code, 'HOME_TOO_NEW');
      assert.match(result?.message ?? '', /newer Cleanroom/);
      const db2 = new Database(path.join(folder.dir, 'cleanroom.db'), { readonly: true });
      assert.equal(db2.pragma('user_version', { simple: true }), 999);
      assert.equal((db2.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'identity'").get() as { n: number }).n, 0);
      db2.close();
      assert.deepEqual(allFileBytes(folder.dir).get(path.join(folder.dir, 'cleanroom.db')), original, 'the database file is byte-for-byte unchanged');
    } finally {
      folder.remove();
    }
  });

  it('refuses a home folder it cannot write, with the folder named', async () => {
    const folder = temporaryFolder();
    try {
      const blocker = path.join(folder.dir, 'a-file');
      writeFileSync(blocker, 'not a folder');
      const home = path.join(blocker, 'home');
      const result = await openTestCore(home).then(() => null, (error: { code?: string; message?: string }) => error);
      assert.equal(result?.code, 'HOME_NOT_WRITABLE');
      assert.ok(result?.message?.includes(home));
    } finally {
      folder.remove();
    }
  });

  it('refuses a database file that is not a database, without overwriting it', async () => {
    const folder = temporaryFolder();
    try {
      const file = path.join(folder.dir, 'cleanroom.db');
      writeFileSync(file, 'this is not sqlite '.repeat(100));
      const result = await openTestCore(folder.dir).then(() => null, (error: { code?: string }) => error);
      assert.equal(result?.code, 'HOME_DAMAGED');
      assert.equal(allFileBytes(folder.dir).get(file)?.toString(), 'this is not sqlite '.repeat(100));
    } finally {
      folder.remove();
    }
  });
});
