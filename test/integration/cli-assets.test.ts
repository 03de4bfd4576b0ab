// Data and code in a room through the built `cleanroom` command alone (the acceptance test of
// issue 4): St Mary and Acme each add a table, each sees the other's schema and roles and can read
// neither the other's rows nor their data key; a marker value that exists only in St Mary's source
// file appears in no byte of any file of Acme's home (nor of St Mary's: the source is never copied
// in the clear), before and after approvals carried by packet files.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { assertRefused, assertUsage } from '../support/cli-process.js';
import { type CliParty, createCliParty, exchangeUntilQuiet, type PacketFile } from '../support/cli-rooms.js';
import { allFileBytes, temporaryFolder } from '../support/homes.js';

/** Only in St Mary's source file, as a ward name: it must never appear in Acme's home. */
const marker = 'ZQXWARD7731MARKER';

interface ColumnJson {
  name: string;
  type: string;
  role: string;
}

interface AssetJson {
  id: string;
  kind: string;
  name: string;
  owner: string;
  mine: boolean;
  columns: ColumnJson[];
  rowCount: number | null;
  payloadHash: string;
}

interface SnapshotJson {
  id: string;
  author: string;
  runner: string;
  status: { canRun: boolean; reasons: string[]; members: { alias: string; state: string }[] };
}

/** Files under `home` holding `needle` (as UTF-8 or UTF-16LE), checked in every byte of every file. */
function filesContaining(home: string, needle: string): string[] {
  const forms = [Buffer.from(needle, 'utf8'), Buffer.from(needle, 'utf16le')];
  return [...allFileBytes(home)].filter(([, bytes]) => forms.some((form) => bytes.includes(form))).map(([file]) => file);
}

function tableRows(home: string, sql: string): unknown[] {
  const db = new Database(path.join(home, 'cleanroom.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
}

describe('cli: two parties add tables, a notebook and approvals with packet files alone', () => {
  const folder = temporaryFolder();
  let mary: CliParty;
  let acme: CliParty;
  let carol: CliParty;
  const packets: PacketFile[] = [];
  let seed = 40;
  const files = path.join(folder.dir, 'source-files');
  let maryTable: AssetJson;
  let snapshot: SnapshotJson;

  const exchange = async () => exchangeUntilQuiet([mary, acme, carol], [mary, acme, carol], 'Readmissions', packets, seed++);

  before(async () => {
    [mary, acme, carol] = await Promise.all([
      createCliParty(folder.dir, 'St Mary'),
      createCliParty(folder.dir, 'Acme Insurance'),
      createCliParty(folder.dir, 'Carol Lab'),
    ]);
    const created = await mary.json<{ packet: { path: string; recipients: string[] } }>([
      'room', 'create', '--name', 'Readmissions', '--member', acme.card, carol.card, '--out', mary.outbox,
    ]);
    packets.push({ from: mary.alias, ...created.packet });
    for (const party of [acme, carol]) {
      await party.json(['packet', 'import', created.packet.path]);
      const joined = await party.json<{ packet: { path: string; recipients: string[] } }>(['room', 'join', 'Readmissions', '--out', party.outbox]);
      packets.push({ from: party.alias, ...joined.packet });
    }
    await exchange();
    mkdirSync(files, { recursive: true });
    const rows = ['patient_id,age,ward,readmitted'];
    for (let i = 1; i <= 200; i++) rows.push(`${i},${20 + (i % 60)},${i === 137 ? marker : i % 2 === 0 ? 'north' : 'south'},${i % 3 === 0 ? 1 : 0}`);
    writeFileSync(path.join(files, 'admissions.csv'), `${rows.join('\n')}\n`);
    writeFileSync(path.join(files, 'claims.csv'), 'member_id,plan,amount\n1,gold,10.5\n2,silver,3.25\n3,gold,7\n');
    writeFileSync(
      path.join(files, 'by-ward.sql'),
      [
        '-- %% [markdown]',
        '-- Readmission rate by ward and plan',
        '-- %% output=rates',
        'SELECT a.ward, c.plan, avg(a.readmitted) AS rate, count(*) AS n',
        'FROM admissions a JOIN claims c ON a.patient_id = c.member_id',
        'GROUP BY a.ward, c.plan',
        '',
      ].join('\n'),
    );
  });

  after(() => folder.remove());

  it('inspects a file and suggests roles without storing anything', async () => {
    const inspection = await mary.json<{ columns: { name: string; suggestedRole: string }[] }>(['table', 'inspect', path.join(files, 'admissions.csv')]);
    assert.deepEqual(
      inspection.columns.map((column) => [column.name, column.suggestedRole]),
      [['patient_id', 'join_key'], ['age', 'measure'], ['ward', 'dimension'], ['readmitted', 'measure']],
    );
    const text = await mary.run(['table', 'inspect', path.join(files, 'claims.csv')]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /member_id\s+BIGINT\s+join_key/);
  });

  it('each adds a table; each sees the other\'s columns and roles, and holds no key for it', async () => {
    maryTable = await mary.json<AssetJson>([
      'table', 'add', 'Readmissions', '--name', 'admissions', '--file', path.join(files, 'admissions.csv'),
      '--privacy-unit', 'patient_id', '--measure', 'readmitted', '--dimension', 'age',
    ]);
    assert.equal(maryTable.rowCount, null);
    // Issue 17: a table without a privacy unit is a public lookup (joins on dimensions only), so the
    // notebook's join on member_id needs member_id to be claims' privacy unit.
    const added = await acme.run(['table', 'add', 'Readmissions', '--name', 'claims', '--file', path.join(files, 'claims.csv'), '--share-row-count', '--privacy-unit', 'member_id']);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^Added table claims to the room\.$/m);
    await exchange();

    const seenByAcme = (await acme.json<{ assets: AssetJson[] }>(['asset', 'list', 'Readmissions'])).assets;
    const seenByMary = (await mary.json<{ assets: AssetJson[] }>(['asset', 'list', 'Readmissions'])).assets;
    const admissions = seenByAcme.find((asset) => asset.name === 'admissions');
    assert.ok(admissions !== undefined);
    assert.equal(admissions.mine, false);
    assert.equal(admissions.owner, 'St Mary');
    assert.deepEqual(
      admissions.columns.map((column) => [column.name, column.type, column.role]),
      [['patient_id', 'BIGINT', 'privacy_unit'], ['age', 'BIGINT', 'dimension'], ['ward', 'VARCHAR', 'dimension'], ['readmitted', 'BIGINT', 'measure']],
    );
    const claims = seenByMary.find((asset) => asset.name === 'claims');
    assert.equal(claims?.rowCount, 3);
    assert.deepEqual(claims?.columns.map((column) => column.role), ['privacy_unit', 'dimension', 'measure']); // issue 17: see the table add above

    const listed = await acme.run(['asset', 'list', 'Readmissions']);
    assert.match(listed.stdout, /^Table admissions {2}owner St Mary/m);
    assert.match(listed.stdout, /patient_id\s+BIGINT\s+privacy_unit/);

    assert.deepEqual(tableRows(acme.home, 'SELECT asset FROM data_keys'), [{ asset: claims?.id }], "only Acme's own key");
    assert.deepEqual(tableRows(mary.home, 'SELECT asset FROM data_keys'), [{ asset: maryTable.id }]);
    const sealed = tableRows(mary.home, 'SELECT sealed_key FROM data_keys') as { sealed_key: string }[];
    assert.ok(sealed[0] !== undefined && sealed[0].sealed_key.length > 32 + 48, 'the key is stored sealed, never as 32 plain bytes');
  });

  it('the marker is in no file of Acme\'s home, and St Mary\'s home holds only ciphertext of it', () => {
    assert.deepEqual(filesContaining(acme.home, marker), []);
    assert.deepEqual(filesContaining(carol.home, marker), []);
    assert.deepEqual(filesContaining(mary.home, marker), [], 'the source is never copied into the home in the clear');
    const payloads = tableRows(mary.home, 'SELECT hash, path FROM payloads') as { hash: string; path: string }[];
    assert.deepEqual(payloads.map((row) => row.hash), [maryTable.payloadHash]);
  });

  it('a notebook becomes a snapshot; St Mary reads it and approves; keys are released by packet; no marker reaches Acme', async () => {
    const check = await acme.run(['notebook', 'check', 'Readmissions', '--file', path.join(files, 'by-ward.sql')]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /cell 2 \(sql\) → rates reads admissions, claims/);

    snapshot = await acme.json<SnapshotJson>(['notebook', 'add', 'Readmissions', '--name', 'Readmission by ward', '--file', path.join(files, 'by-ward.sql')]);
    assert.equal(snapshot.runner, 'Acme Insurance');
    assert.equal(snapshot.status.canRun, false);
    await exchange();

    const shown = await mary.run(['notebook', 'show', 'Readmissions', snapshot.id.slice(0, 10)]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^Snapshot\\s+${snapshot.id}$`, 'm'));
    assert.match(shown.stdout, /^Author\s+Acme Insurance/m);
    assert.match(shown.stdout, /^ {4}St Mary\s+missing/m);
    assert.match(shown.stdout, /FROM admissions a JOIN claims c/);

    const approved = await mary.json<SnapshotJson>(['approve', 'Readmissions', snapshot.id.slice(0, 10), '--expires-days', '3', '--runs', '2']);
    assert.equal(approved.status.members.find((member) => member.alias === 'St Mary')?.state, 'approved');
    await carol.json(['approve', 'Readmissions', snapshot.id]);
    await exchange();
    const ready = await acme.json<SnapshotJson>(['notebook', 'show', 'Readmissions', snapshot.id]);
    assert.equal(ready.status.canRun, true, ready.status.reasons.join('; '));
    const listed = await acme.run(['notebook', 'list', 'Readmissions']);
    assert.match(listed.stdout, new RegExp(`^${snapshot.id.slice(0, 12)}\\s+Readmission by ward\\s+3/3\\s+yes`, 'm'));

    assert.deepEqual(filesContaining(acme.home, marker), [], 'after approvals too');
    assert.deepEqual(filesContaining(carol.home, marker), []);
  });

  it('revoking takes the approval back', async () => {
    const revoked = await carol.json<SnapshotJson>(['revoke', 'Readmissions', snapshot.id]);
    assert.equal(revoked.status.members.find((member) => member.alias === 'Carol Lab')?.state, 'revoked');
    await exchange();
    const view = await acme.json<SnapshotJson>(['notebook', 'show', 'Readmissions', snapshot.id]);
    assert.equal(view.status.canRun, false);
  });

  it('refuses bad input with one clear line, and usage errors with the usage', async () => {
    assertRefused(
      await mary.run(['table', 'add', 'Readmissions', '--name', 'more', '--file', path.join(files, 'claims.csv'), '--hidden', 'postcode']),
      /column postcode does not exist/,
    );
    writeFileSync(path.join(files, 'empty.csv'), '');
    assertRefused(await mary.run(['--json', 'table', 'add', 'Readmissions', '--name', 'empty', '--file', path.join(files, 'empty.csv')]), /empty/);
    writeFileSync(path.join(files, 'pharmacy.sql'), '-- %%\nSELECT count(*) FROM pharmacy\n');
    assertRefused(
      await mary.run(['notebook', 'add', 'Readmissions', '--name', 'Pharmacy', '--file', path.join(files, 'pharmacy.sql')]),
      /reads pharmacy, which is not a table in Readmissions/,
    );
    const check = await mary.run(['notebook', 'check', 'Readmissions', '--file', path.join(files, 'pharmacy.sql')]);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /reads pharmacy, which is not a table in this room/);
    assertRefused(
      await mary.run(['notebook', 'add', 'Readmissions', '--name', 'Elsewhere', '--file', path.join(files, 'by-ward.sql'), '--runner', 'Dana']),
      /Dana is not a member of Readmissions/,
    );
    assertRefused(await mary.run(['approve', 'Readmissions', 'abcdef0123']), /No snapshot abcdef0123 in Readmissions/);
    assertUsage(await mary.run(['table', 'add', 'Readmissions', '--name', 'x']), /needs --file/);
    assertUsage(await mary.run(['table', 'add', 'Readmissions', '--name', 'x', '--file', 'f.csv', '--format', 'xls']), /--format must be csv, parquet, json/);
    assertUsage(await mary.run(['table', 'add', 'Readmissions', '--name', 'x', '--file', 'f.csv', '--measure', 'a', '--hidden', 'a']), /two roles/);
    assert.deepEqual(tableRows(mary.home, 'SELECT asset FROM data_keys'), [{ asset: maryTable.id }], 'no key was added by a refusal');
  });

  it('says plainly that a table without a privacy unit is a public lookup', async () => {
    writeFileSync(path.join(files, 'regions.csv'), 'region,population\nnorth,1200\nsouth,900\n');
    const added = await mary.run(['table', 'add', 'Readmissions', '--name', 'regions', '--file', path.join(files, 'regions.csv'), '--dimension', 'region']);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^No column is the privacy unit: in an aggregate room this table is a public lookup \(it joins on dimensions only; its join keys cannot be used\)\.$/m);
  });
});
