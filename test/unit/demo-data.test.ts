// The demo's synthetic data: the same bytes on every run without Math.random, the shape the two
// stories need (joinable ids, small groups for k to suppress, values the library's caps act on), a
// planted readmission signal, and notebooks that parse into what the stories run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  admissionsCsv,
  admissionsRoles,
  ageBandOf,
  cappedLos,
  claimsCsv,
  frailtyScore,
  jointNotebook,
  libraryName,
  makeDemoData,
  membersCsv,
  modelFeatures,
  newPatientsCsv,
  plantedLogit,
  trainNotebook,
} from '../../electron/cli/demo-data.js';
import { seededRandom } from '../../shared/seeded-random.js';
import { parseTrainOptions } from '../../shared/model.js';
import { parseNotebook } from '../../shared/notebook.js';

/** AUC by brute force over every (positive, negative) pair; ties count a half. */
function pairwiseAuc(scores: readonly number[], labels: readonly number[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((positive, i) => {
    if (labels[i] !== 1) return;
    scores.forEach((negative, j) => {
      if (labels[j] !== 0) return;
      pairs++;
      wins += positive > negative ? 1 : positive === negative ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('demo data', () => {
  const data = makeDemoData();

  it('is the same on every run, and never calls Math.random', () => {
    const original = Math.random;
    Math.random = () => {
      throw new Error('Math.random was called');
    };
    try {
      const again = makeDemoData();
      assert.equal(admissionsCsv(again.admissions), admissionsCsv(data.admissions));
      assert.equal(membersCsv(again.members), membersCsv(data.members));
      assert.equal(claimsCsv(again.claims), claimsCsv(data.claims));
      assert.equal(newPatientsCsv(again.newPatients), newPatientsCsv(data.newPatients));
    } finally {
      Math.random = original;
    }
    assert.notEqual(admissionsCsv(makeDemoData(7).admissions), admissionsCsv(data.admissions), 'another seed gives other data');
  });

  it('gives numbers in [0, 1) from its seeded generator, spread evenly', () => {
    const random = seededRandom(1);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const value = random();
      assert.ok(value >= 0 && value < 1);
      buckets[Math.floor(value * 10)]! += 1;
    }
    for (const bucket of buckets) assert.ok(bucket > 9_500 && bucket < 10_500, `bucket of ${bucket}`);
  });

  it('has a few thousand admissions, one per patient, with consistent columns', () => {
    assert.ok(data.admissions.length >= 2000 && data.admissions.length <= 10_000);
    assert.equal(new Set(data.admissions.map((row) => row.patientId)).size, data.admissions.length);
    for (const row of data.admissions) {
      assert.equal(row.ageBand, ageBandOf(row.age));
      assert.ok(row.age >= 18 && row.lengthOfStay >= 1);
    }
    const header = admissionsCsv(data.admissions).split('\r\n')[0]?.split(',');
    assert.deepEqual(header, admissionsRoles.map((role) => role.column), 'every column has a role');
    const rate = data.admissions.filter((row) => row.readmitted30d === 1).length / data.admissions.length;
    assert.ok(rate > 0.1 && rate < 0.3, `readmission rate ${rate}`);
  });

  it('plants a readmission signal a model can find (AUC of the true risk well above 0.70)', () => {
    const sample = data.admissions.slice(0, 1500);
    const auc = pairwiseAuc(
      sample.map((row) => plantedLogit(row)),
      sample.map((row) => row.readmitted30d),
    );
    assert.ok(auc >= 0.75, `AUC ${auc}`);
  });

  it('joins most patients to insurer members, and leaves some age band × plan groups below k = 10', () => {
    const plans = new Map(data.members.map((member) => [member.memberId, member.plan]));
    assert.equal(plans.size, data.members.length, 'member ids are unique');
    const joined = data.admissions.filter((row) => plans.has(row.patientId));
    assert.ok(joined.length > 0.7 * data.admissions.length);
    assert.ok(data.members.length > joined.length, 'the insurer also has members the hospital never saw');
    const groups = new Map<string, number>();
    for (const row of joined) groups.set(`${row.ageBand}|${plans.get(row.patientId)}`, (groups.get(`${row.ageBand}|${plans.get(row.patientId)}`) ?? 0) + 1);
    const small = [...groups.values()].filter((size) => size < 10).length;
    assert.ok(small >= 1 && small < groups.size / 2, `${small} small groups of ${groups.size}`);
    const memberIds = new Set(data.members.map((member) => member.memberId));
    assert.ok(data.claims.every((claim) => memberIds.has(claim.memberId)));
  });

  it('has stays and counts beyond the library caps, so its macros change the features', () => {
    assert.ok(data.admissions.some((row) => row.lengthOfStay > 21));
    assert.ok(data.admissions.some((row) => row.chronicConditions > 5));
    assert.ok(data.admissions.some((row) => row.priorAdmissions > 3));
    assert.equal(cappedLos(40), 21);
    assert.equal(cappedLos(0), 1);
    assert.equal(frailtyScore(90, 7, 5), 3 + 5 + 6);
    assert.equal(frailtyScore(50, 1, 0), 1);
  });

  it('writes new patients with every model feature', () => {
    const header = newPatientsCsv(data.newPatients).split('\r\n')[0]?.split(',') ?? [];
    for (const feature of modelFeatures) assert.ok(header.includes(feature), feature);
  });

  it('has notebooks that parse into the cells the stories run', () => {
    const joint = parseNotebook(jointNotebook);
    assert.deepEqual(
      joint.cells.filter((cell) => cell.kind === 'sql').map((cell) => cell.output),
      ['readmission_rates', 'claims_by_plan'],
    );
    const training = parseNotebook(trainNotebook);
    assert.deepEqual(training.libraries, [libraryName]);
    const train = training.cells.find((cell) => cell.kind === 'train');
    assert.ok(train !== undefined);
    const options = parseTrainOptions(train);
    assert.ok(options.ok, options.ok ? '' : options.reasons.join('; '));
    assert.equal(options.spec.algorithm, 'logistic');
    assert.equal(options.spec.target, 'readmitted_30d');
    assert.deepEqual(options.spec.features, [...modelFeatures]);
  });
});
