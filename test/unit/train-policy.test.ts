// analyseTrainCell on DuckDB's real trees: a train cell's body may select rows (they never leave
// the worker), but in aggregate mode no feature or target may come from a privacy unit, a join key
// or a hidden column, and the body is held to the same statement rules as a SQL cell.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type TrainSpec } from '../../shared/model.js';
import { type PolicyContext } from '../../shared/policy.js';
import { analyseTrainCell } from '../../shared/train-policy.js';
import { closeSqlTrees, sqlTree } from '../support/sql-tree.js';

const tables: PolicyContext['tables'] = [
  {
    name: 'admissions',
    allowMinMax: false,
    columns: [
      { name: 'patient_id', role: 'privacy_unit' },
      { name: 'hospital_id', role: 'join_key' },
      { name: 'age_band', role: 'dimension' },
      { name: 'readmitted', role: 'dimension' },
      { name: 'length_of_stay', role: 'measure' },
      { name: 'cost', role: 'measure' },
      { name: 'ssn', role: 'hidden' },
    ],
  },
  {
    name: 'labs',
    allowMinMax: true,
    columns: [
      { name: 'patient_id', role: 'privacy_unit' },
      { name: 'lab_code', role: 'dimension' },
      { name: 'value', role: 'measure' },
    ],
  },
];
const aggregate: PolicyContext = { tables, earlierOutputs: ['prior_rates'], mode: 'aggregate' };
const reviewed: PolicyContext = { ...aggregate, mode: 'reviewed' };

after(closeSqlTrees);

const trainSpec = (target: string, features: string[]): TrainSpec => ({ model: 'm', algorithm: 'logistic', target, features, testFraction: 0.2, seed: 1, l2: 1 });

async function reasons(sql: string, target: string, features: string[], context: PolicyContext = aggregate): Promise<string[]> {
  const verdict = analyseTrainCell(await sqlTree(sql), context, trainSpec(target, features));
  assert.equal(verdict.ok, verdict.problems.length === 0);
  return verdict.problems.map((problem) => problem.reason);
}

describe('analyseTrainCell: aggregate mode accepts a row-level SELECT of safe columns', () => {
  const accepted: [string, string, string[]][] = [
    ['SELECT age_band, length_of_stay, cost, readmitted FROM admissions', 'readmitted', ['age_band', 'length_of_stay', 'cost']],
    ['SELECT patient_id, age_band, readmitted FROM admissions WHERE age_band <> \'18-30\'', 'readmitted', ['age_band']],
    ['SELECT a.length_of_stay, l.value AS lab, a.readmitted FROM admissions a JOIN labs l ON a.patient_id = l.patient_id', 'readmitted', ['length_of_stay', 'lab']],
    ['SELECT cost / length_of_stay AS daily_cost, CASE WHEN age_band = \'71-89\' THEN 1 ELSE 0 END AS old, readmitted FROM admissions', 'readmitted', ['daily_cost', 'old']],
    ['SELECT x, y FROM prior_rates', 'y', ['x']],
    ['WITH stays AS (SELECT length_of_stay AS los, readmitted FROM admissions) SELECT los, readmitted FROM stays', 'READMITTED', ['LOS']],
  ];
  for (const [sql, target, features] of accepted) {
    it(sql, async () => {
      assert.deepEqual(await reasons(sql, target, features), []);
    });
  }
});

describe('analyseTrainCell: aggregate mode refuses', () => {
  const refused: [string, string, string[], RegExp][] = [
    ['SELECT patient_id, readmitted FROM admissions', 'readmitted', ['patient_id'], /^feature patient_id comes from privacy unit patient_id/],
    ['SELECT patient_id % 10 AS bucket, cost, readmitted FROM admissions', 'readmitted', ['bucket', 'cost'], /^feature bucket comes from privacy unit patient_id/],
    ['SELECT pid AS p, readmitted FROM (SELECT patient_id AS pid, readmitted FROM admissions) AS t', 'readmitted', ['p'], /^feature p comes from privacy unit patient_id/],
    ['SELECT cost, patient_id > 100 AS flag FROM admissions', 'flag', ['cost'], /^target flag comes from privacy unit patient_id/],
    ['SELECT hospital_id, cost, readmitted FROM admissions', 'readmitted', ['hospital_id', 'cost'], /^feature hospital_id comes from join key hospital_id/],
    ['SELECT ssn, readmitted FROM admissions', 'readmitted', ['ssn'], /column ssn is hidden/],
    ['SELECT * FROM admissions', 'readmitted', ['cost'], /\* is not allowed in aggregate mode: name the columns/],
    ['SELECT cost, readmitted FROM admissions', 'readmitted', ['cost', 'age'], /^feature age is not a column of the cell's SELECT$/],
    ['SELECT cost AS x, length_of_stay AS x, readmitted FROM admissions', 'readmitted', ['x'], /has 2 columns named x/],
    ["SELECT a, b FROM read_csv('/etc/passwd')", 'a', ['b'], /table function read_csv is not allowed/],
    ['SELECT cost, readmitted FROM admissions; SELECT 1', 'readmitted', ['cost'], /single SELECT/],
    ["COPY admissions TO '/tmp/x.csv'", 'readmitted', ['cost'], /single SELECT/],
    ['SELECT cost, row_number() OVER (ORDER BY cost) AS rank, readmitted FROM admissions', 'readmitted', ['cost'], /window function row_number/],
    ["SELECT cost, getenv('HOME') AS home, readmitted FROM admissions", 'readmitted', ['cost'], /function getenv reveals the environment/],
    ['SELECT cost, readmitted FROM other_party.admissions', 'readmitted', ['cost'], /is not a table in this room/],
  ];
  for (const [sql, target, features, reason] of refused) {
    it(`${sql} → ${reason.source}`, async () => {
      const found = await reasons(sql, target, features);
      assert.ok(found.some((text) => reason.test(text)), `reasons: ${JSON.stringify(found)}`);
    });
  }
});

describe('analyseTrainCell: reviewed mode', () => {
  it('lets every member-approved column be a feature, privacy units included, and allows *', async () => {
    assert.deepEqual(await reasons('SELECT patient_id, hospital_id, ssn, readmitted FROM admissions', 'readmitted', ['patient_id', 'hospital_id', 'ssn'], reviewed), []);
    assert.deepEqual(await reasons('SELECT * FROM admissions', 'readmitted', ['cost', 'anything'], reviewed), [], 'with * the worker checks the columns once the rows exist');
  });

  it('still refuses other statements, table functions and a feature the SELECT does not have', async () => {
    assert.match((await reasons("COPY admissions TO '/tmp/x.csv'", 'readmitted', ['cost'], reviewed))[0] ?? '', /single read-only SELECT/);
    assert.match((await reasons("SELECT * FROM read_parquet('/tmp/x.parquet')", 'a', ['b'], reviewed)).join('\n'), /table function read_parquet/);
    assert.deepEqual(await reasons('SELECT cost, readmitted FROM admissions', 'readmitted', ['age_band'], reviewed), ["feature age_band is not a column of the cell's SELECT"]);
  });
});
