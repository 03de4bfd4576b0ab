// What the assets screens compute before rendering: role wording, names made from file names and
// checked against the SQL identifier rule, path checks, import progress and row counts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AssetView, assetNameSchema, columnRoles } from '../../shared/asset.js';
import {
  assetNameFromPath,
  assetNameProblem,
  baseName,
  columnRoleInfo,
  formatRowCount,
  jobProgress,
  roleOrder,
  shortHash,
  sortAssets,
  sourcePathProblem,
} from '../../renderer/src/assets.js';

describe('column roles', () => {
  it('has a label and a one-line explanation for each of the five roles, in the contract order', () => {
    assert.deepEqual(roleOrder, columnRoles);
    assert.deepEqual(Object.keys(columnRoleInfo).sort(), [...columnRoles].sort());
    const labels = columnRoles.map((role) => columnRoleInfo[role].label);
    assert.deepEqual(labels, ['Privacy unit', 'Join key', 'Dimension', 'Measure', 'Hidden']);
    for (const role of columnRoles) {
      const { explanation } = columnRoleInfo[role];
      assert.ok(explanation.length > 20 && explanation.length < 120, `${role}: ${explanation}`);
      assert.ok(!explanation.includes('\n'));
    }
    assert.match(columnRoleInfo.privacy_unit.explanation, /never output/);
  });
});

describe('asset names', () => {
  it('makes a valid SQL name from a file name', () => {
    assert.equal(assetNameFromPath('/data/Admissions 2025.csv'), 'admissions_2025');
    assert.equal(assetNameFromPath('C:\\exports\\Policy-Holders.parquet'), 'policy_holders');
    assert.equal(assetNameFromPath('/tmp/2025 claims.ndjson'), 't_2025_claims');
    assert.equal(assetNameFromPath('/tmp/archive.csv.gz'), 'archive');
    assert.equal(assetNameFromPath('/tmp/ü.csv'), '');
    assert.equal(assetNameFromPath(''), '');
    const long = assetNameFromPath(`/x/${'a'.repeat(80)}.csv`);
    assert.equal(long.length, 63);
    for (const path of ['/data/Admissions 2025.csv', '/tmp/2025 claims.ndjson', `/x/${'ab_'.repeat(40)}.csv`]) {
      assert.ok(assetNameSchema.check(assetNameFromPath(path), 'name').ok, path);
    }
  });

  it('says why a name would be refused, as core would refuse it', () => {
    assert.equal(assetNameProblem('admissions'), null);
    assert.equal(assetNameProblem('_tmp2'), null);
    assert.match(assetNameProblem('') ?? '', /Enter a name/);
    assert.match(assetNameProblem('Admissions') ?? '', /^Name must be lower-case letters, digits and _.*\.$/);
    assert.match(assetNameProblem('2025_claims') ?? '', /starting with a letter or _/);
    assert.match(assetNameProblem('a-b') ?? '', /lower-case letters, digits and _/);
    assert.equal(assetNameProblem('a'.repeat(64)), 'Use at most 63 characters.');
  });

  it('takes the last part of a path with either separator', () => {
    assert.equal(baseName('/a/b/c.csv'), 'c.csv');
    assert.equal(baseName('C:\\a\\b.csv'), 'b.csv');
    assert.equal(baseName(' plain.csv '), 'plain.csv');
  });
});

describe('source paths', () => {
  it('asks for a path in words that fit what is added', () => {
    assert.equal(sourcePathProblem('', 'table'), 'Enter the path of a CSV, Parquet or JSON file on this machine.');
    assert.equal(sourcePathProblem('   ', 'volume'), 'Enter the path of a file or folder on this machine.');
    assert.equal(sourcePathProblem('/data/a.csv', 'table'), null);
    assert.equal(sourcePathProblem(`/${'x'.repeat(5000)}`, 'table'), 'That path is too long.');
  });
});

describe('import progress', () => {
  it('shows the phase and a whole percent while the total is known', () => {
    assert.deepEqual(jobProgress({ state: 'running', message: 'Encrypting…', done: 412, total: 1000 }), {
      percent: 41,
      label: 'Encrypting… · 41%',
    });
  });

  it('is indeterminate while the total is unknown', () => {
    assert.deepEqual(jobProgress({ state: 'running', message: 'Reading the file…', done: 10, total: null }), {
      percent: null,
      label: 'Reading the file…',
    });
    assert.deepEqual(jobProgress({ state: 'running', message: '', done: 0, total: 0 }), { percent: null, label: 'Working…' });
  });

  it('never shows 100% before the job is done, and never more than 100%', () => {
    assert.equal(jobProgress({ state: 'running', message: 'Signing', done: 1000, total: 1000 }).percent, 99);
    assert.equal(jobProgress({ state: 'failed', message: 'Stopped', done: 2000, total: 1000 }).percent, 100);
    assert.equal(jobProgress({ state: 'running', message: 'x', done: 0, total: 1000 }).percent, 0);
    assert.deepEqual(jobProgress({ state: 'done', message: '', done: 5, total: 10 }), { percent: 100, label: 'Done' });
  });
});

describe('asset list', () => {
  const asset = (name: string, kind: AssetView['kind'], owner: string): AssetView => ({
    id: name.padEnd(64, '0').replace(/[^0-9a-f]/gu, 'a').slice(0, 64),
    kind,
    name,
    owner,
    ownerKey: 'k'.repeat(43),
    mine: false,
    columns: [],
    rowCount: null,
    private: false,
    files: [],
    payloadHash: 'f'.repeat(64),
    payloadSize: 100,
    payloadPresent: true,
    createdAt: '2025-11-23T10:00:00.000Z',
  });

  it('lists tables before volumes, each by name then owner', () => {
    const sorted = sortAssets([
      asset('models', 'volume', 'B'),
      asset('policies', 'table', 'B'),
      asset('admissions', 'table', 'Z'),
      asset('admissions', 'table', 'A'),
    ]);
    assert.deepEqual(
      sorted.map((item) => `${item.kind}:${item.name}:${item.owner}`),
      ['table:admissions:A', 'table:admissions:Z', 'table:policies:B', 'volume:models:B'],
    );
  });

  it('formats row counts and short hashes', () => {
    assert.equal(formatRowCount(1), '1 row');
    assert.equal(formatRowCount(0), '0 rows');
    assert.equal(formatRowCount(12480), '12,480 rows');
    assert.equal(shortHash('0123456789abcdef'.repeat(4)), '0123456789ab…');
    assert.equal(shortHash('abc'), 'abc');
  });
});
