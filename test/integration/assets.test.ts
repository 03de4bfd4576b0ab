// Tables and volumes through core on real homes: suggested roles, importing under a new data key,
// what the other member sees, and that every bad input is refused with nothing half-imported
// (no asset entry, no vault file, no key, no payload row).
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ApiRequest } from '../../shared/contract.js';
import { addAsset, exchange, formRoom, homeTables, makeParty, type Party, whileClosed } from '../support/core-parties.js';
import { temporaryFolder } from '../support/homes.js';

/** Every file under the home's vault folder. */
function vaultFiles(home: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else files.push(path.relative(home, full));
    }
  };
  walk(path.join(home, 'vault'));
  return files.sort();
}

/** What an import writes: asset entries, keys, payload rows and vault files. */
async function importTrace(party: Party) {
  return whileClosed(party, () => ({ ...homeTables(party.home, ['entries', 'data_keys', 'payloads']), vault: vaultFiles(party.home) }));
}

describe('tables and volumes', () => {
  const folder = temporaryFolder();
  let mary: Party;
  let acme: Party;
  let room = '';
  const file = (name: string, text: string | Buffer) => {
    const full = path.join(folder.dir, 'files', name);
    writeFileSync(full, text);
    return full;
  };

  before(async () => {
    mary = await makeParty(folder.dir, 'St Mary');
    acme = await makeParty(folder.dir, 'Acme');
    room = await formRoom(mary, [acme], 'Readmissions');
    mkdirSync(path.join(folder.dir, 'files'), { recursive: true });
  });

  after(async () => {
    for (const party of [mary, acme]) await party?.core.close();
    folder.remove();
  });

  it('inspects a CSV and suggests roles: ids and e-mail join, free text hidden, numbers measure, the rest dimensions', async () => {
    const csv = file('patients.csv', 'patient_id,email,age,visit_date,ward,memberid,full_name,notes\n1,a@x.org,34,2024-01-02,north,77,Ann A,x\n2,b@x.org,51,2024-02-03,south,78,Bob B,y\n');
    const inspection = await mary.core.call('table.inspect', { path: csv });
    assert.equal(inspection.format, 'csv');
    assert.deepEqual(
      inspection.columns.map(({ name, suggestedRole }) => [name, suggestedRole]),
      [
        ['patient_id', 'join_key'],
        ['email', 'join_key'],
        ['age', 'measure'],
        ['visit_date', 'dimension'],
        ['ward', 'dimension'],
        ['memberid', 'join_key'],
        // Free text and names are never offered as a group key.
        ['full_name', 'hidden'],
        ['notes', 'hidden'],
      ],
    );
    assert.ok(!inspection.columns.some((column) => column.suggestedRole === 'privacy_unit'), 'no privacy unit by default');
  });

  it('adds a table with the roles given; the other member sees columns and roles, never rows', async () => {
    const csv = file('admissions.csv', 'patient_id,age,ward,readmitted\n1,34,north,1\n2,51,south,0\n3,29,north,1\n');
    const added = await addAsset(mary, 'table.add', {
      room,
      name: 'admissions',
      path: csv,
      roles: [
        { column: 'patient_id', role: 'privacy_unit' },
        { column: 'readmitted', role: 'measure' },
      ],
    });
    assert.ok(added.ok, added.ok ? '' : added.error.message);
    const asset = added.value;
    assert.equal(asset.kind, 'table');
    assert.equal(asset.mine, true);
    assert.equal(asset.rowCount, null, 'the row count is not shared unless asked');
    assert.equal(asset.payloadPresent, true);
    assert.deepEqual(
      asset.columns.map(({ name, role }) => [name, role]),
      [
        ['patient_id', 'privacy_unit'],
        ['age', 'measure'],
        ['ward', 'dimension'],
        ['readmitted', 'measure'],
      ],
    );

    await exchange([mary, acme], room);
    const { assets } = await acme.core.call('asset.list', { room });
    const seen = assets.find((candidate) => candidate.name === 'admissions');
    assert.ok(seen !== undefined);
    assert.equal(seen.mine, false);
    assert.equal(seen.owner, 'St Mary');
    assert.deepEqual(seen.columns, asset.columns);
    assert.equal(seen.id, asset.id);
    const acmeKeys = await whileClosed(acme, () => homeTables(acme.home, ['data_keys']));
    assert.equal(acmeKeys['data_keys'], '[]', "Acme holds no key for St Mary's table");
  });

  it('shares the row count only when asked, and refuses a second asset with the same name', async () => {
    const csv = file('claims.csv', 'member_id,plan,amount\n1,gold,10.5\n2,silver,3.25\n');
    const added = await addAsset(acme, 'table.add', { room, name: 'claims', path: csv, shareRowCount: true });
    assert.ok(added.ok, added.ok ? '' : added.error.message);
    assert.equal(added.value.rowCount, 2);
    const again = await acme.core.dispatch('table.add', { room, name: 'claims', path: csv });
    assert.equal(again.ok, false);
    if (!again.ok) assert.match(again.error.message, /already has an asset named claims/);
  });

  it('adds volumes; another member sees a private volume without its files', async () => {
    const library = file('macros.sql', 'CREATE MACRO band(age) AS floor(age / 10) * 10;\n');
    const shared = await addAsset(acme, 'volume.add', { room, name: 'macros', path: library });
    assert.ok(shared.ok, shared.ok ? '' : shared.error.message);
    assert.equal(shared.value.private, false);
    assert.deepEqual(shared.value.files.map((entry) => entry.size), [statSync(library).size]);
    const secret = await addAsset(acme, 'volume.add', { room, name: 'model_spec', path: library, private: true });
    assert.ok(secret.ok, secret.ok ? '' : secret.error.message);
    await exchange([mary, acme], room);
    const { assets } = await mary.core.call('asset.list', { room });
    const seenPrivate = assets.find((candidate) => candidate.name === 'model_spec');
    assert.ok(seenPrivate !== undefined);
    assert.equal(seenPrivate.private, true);
    assert.deepEqual(seenPrivate.files, []);
    assert.equal(assets.find((candidate) => candidate.name === 'macros')?.files.length, 1);
  });

  describe('bad input is refused with nothing half-imported', () => {
    const cases: { what: string; name: string; text: string | Buffer; roles?: ApiRequest<'table.add'>['roles']; pattern: RegExp }[] = [
      { what: 'an empty file', name: 'empty.csv', text: '', pattern: /empty/ },
      { what: 'a malformed CSV (ragged rows, an unterminated quote)', name: 'ragged.csv', text: 'a,b\n1,2\n3,4,5,6\n"7,8\n9\n', pattern: /.+/ },
      { what: 'duplicate column names', name: 'duplicate.csv', text: 'id,age,age\n1,2,3\n', pattern: /more than once|duplicate/i },
      { what: 'an empty column name', name: 'unnamed.csv', text: 'id,,age\n1,2,3\n', pattern: /no name|empty/i },
      {
        what: 'a role for a column that does not exist',
        name: 'fine.csv',
        text: 'id,age\n1,2\n',
        roles: [{ column: 'postcode', role: 'dimension' }],
        pattern: /column postcode does not exist/,
      },
    ];
    for (const { what, name, text, roles, pattern } of cases) {
      it(`refuses ${what}`, async () => {
        const before = await importTrace(mary);
        const result = await addAsset(mary, 'table.add', { room, name: `bad_${name.replace(/\W/g, '_')}`, path: file(name, text), ...(roles === undefined ? {} : { roles }) });
        assert.equal(result.ok, false, 'refused');
        if (!result.ok) {
          assert.match(result.error.message, pattern);
          assert.ok(!result.error.message.includes('\n'), 'one line');
        }
        assert.deepEqual(await importTrace(mary), before, 'no entry, key, payload row or vault file');
      });
    }

    it('refuses a file that does not exist and an asset name that is not an SQL identifier', async () => {
      const missing = await mary.core.dispatch('table.add', { room, name: 'nothing', path: path.join(folder.dir, 'no-such.csv') });
      assert.equal(missing.ok, false);
      if (!missing.ok) assert.equal(missing.error.code, 'FILE_ERROR');
      const badName = await mary.core.dispatch('table.add', { room, name: 'Bad Name', path: file('ok.csv', 'id\n1\n') });
      assert.equal(badName.ok, false);
      if (!badName.ok) assert.equal(badName.error.code, 'BAD_REQUEST');
    });
  });
});
