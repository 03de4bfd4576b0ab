// Models as a channel (issue 17, classes 6 and 7), attacked through the real worker. Each case
// plants a secret in one person's rows (the target behind an indicator, a feature zero for all
// but them, a category level only they hold, a target non-zero only for them, a target value that
// decides whether the target is "binary", a NULL that decides whether their row is used), runs the
// same train cell over two versions of the table that differ only in that secret, and takes
// everything the runner gets back: the failure (class, cell, reasons), every output with its rows,
// and the model document. The attack succeeds if the two answers can be told apart by anything
// but aggregates over k people or more. Where the secret lives only in what the policy withholds,
// the answers must be identical to the byte; where it legitimately moves a k-people aggregate, the
// documents must agree in everything else and the model must hold nothing about the person of its
// own (their prediction is a twin's). Reviewed mode, where every member approved the exact code,
// still lets the attack through: the control that the case is a real attack.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isWithheldModel, type ModelDocument, type ModelOutputDocument, parseModelOutput, scoreRow } from '../../shared/model.js';
import { type RunResult } from '../../shared/worker-protocol.js';
import { type RunOptions, RunFixture, type TableSpec } from '../support/run-fixtures.js';
import { admissionRows } from '../support/train-fixtures.js';

const k = 10;
/** The person whose value is the secret: 12 admissions, more rows than k, one person. */
const secretPatient = 990_001;

interface ChannelRow {
  readonly patient_id: number;
  readonly age: number;
  readonly sex: string;
  readonly diagnosis: string;
  readonly length_of_stay: number | null;
  readonly readmitted: number | null;
  /** 1 for the secret person only: an indicator of one person that a table can hold. */
  readonly vip: number;
  /** 0 for everyone but (in some variants) the secret person. */
  readonly bonus: number;
  readonly bill: number;
  readonly flag: number;
}

const columns: TableSpec['columns'] = [
  { name: 'patient_id', role: 'privacy_unit' },
  { name: 'age', role: 'measure' },
  { name: 'sex', role: 'dimension' },
  { name: 'diagnosis', role: 'dimension' },
  { name: 'length_of_stay', role: 'measure' },
  { name: 'readmitted', role: 'dimension' },
  { name: 'vip', role: 'measure' },
  { name: 'bonus', role: 'measure' },
  { name: 'bill', role: 'measure' },
  { name: 'flag', role: 'dimension' },
];

/** 400 patients, one admission each, with a planted readmission signal. */
const everyone: ChannelRow[] = admissionRows({ patients: 400, seed: 5, firstPatient: 300_001 }).map((row) => ({
  patient_id: row.patient_id,
  age: row.age,
  sex: row.sex,
  diagnosis: row.diagnosis,
  length_of_stay: row.length_of_stay,
  readmitted: row.readmitted,
  vip: 0,
  bonus: 0,
  bill: 0,
  flag: 0,
}));

/** The secret person's 12 admissions, as they are in every variant unless a case changes them. */
const secretRows = (change: Partial<ChannelRow>): ChannelRow[] =>
  Array.from({ length: 12 }, (_unused, visit) => ({
    patient_id: secretPatient,
    age: 87,
    sex: 'F',
    diagnosis: 'copd',
    length_of_stay: 4 + (visit % 3),
    readmitted: 0,
    vip: 1,
    bonus: 0,
    bill: 0,
    flag: 0,
    ...change,
  }));

/** The variants of the table, each imported under its own name and run as `admissions`. */
const variants: Record<string, ChannelRow[]> = {
  // Indicator of one person (vip): the secret is their readmission.
  target_0: [...everyone, ...secretRows({ readmitted: 0 })],
  target_1: [...everyone, ...secretRows({ readmitted: 1 })],
  // A feature zero for everyone but one: the secret is their value.
  bonus_7: [...everyone, ...secretRows({ bonus: 7 })],
  bonus_7000: [...everyone, ...secretRows({ bonus: 7000 })],
  // A category level held by one person: the secret is their diagnosis, a rare one or the most common one.
  dx_rare: [...everyone, ...secretRows({ diagnosis: 'MARKER-dx-only-this-person' })],
  dx_common: [...everyone, ...secretRows({ diagnosis: mostCommonDiagnosis() })],
  // A target non-zero for one person: the secret is their bill (or flag).
  bill_40: [...everyone, ...secretRows({ bill: 40, flag: 1 })],
  bill_4000: [...everyone, ...secretRows({ bill: 4000, flag: 0 })],
  // A target whose "binary-ness" depends on one person: 1 or 2.
  binary_1: [...everyone, ...secretRows({ readmitted: 1 })],
  binary_2: [...everyone, ...secretRows({ readmitted: 2 })],
  // The dropped-row oracle: the secret person's stay is missing, or not.
  stay_null: [...everyone, ...secretRows({ length_of_stay: null })],
  stay_known: [...everyone, ...secretRows({})],
  // Only the secret person has a stay at all: every other row is dropped.
  stay_only_5: [...everyone.map((row) => ({ ...row, length_of_stay: null })), ...secretRows({ length_of_stay: 5 })],
  stay_only_50: [...everyone.map((row) => ({ ...row, length_of_stay: null })), ...secretRows({ length_of_stay: 50 })],
};

function mostCommonDiagnosis(): string {
  const counts = new Map<string, number>();
  for (const row of everyone) counts.set(row.diagnosis, (counts.get(row.diagnosis) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? '';
}

let fixture: RunFixture;
before(async () => {
  fixture = await RunFixture.open(
    Object.entries(variants).map(([name, rows]) => ({ name, allowMinMax: false, columns, rows: rows.map((row) => columns.map((column) => row[column.name as keyof ChannelRow])) })),
  );
});
after(() => fixture.close());

/** Runs a notebook over one variant, as the room's table `admissions`: everything the runner gets back. */
async function runOn(variant: string, notebook: string, options: RunOptions = {}): Promise<RunResult> {
  const request = fixture.request(notebook, { minGroupSize: k, ...options });
  const imported = fixture.tables.find((table) => table.spec.name === variant);
  assert.ok(imported !== undefined, variant);
  return fixture.host.request({ ...request, tables: [{ ...imported.table, name: 'admissions' }] });
}

/** The two answers of a case, for the same notebook over its two variants. */
async function both(first: string, second: string, notebook: string, options: RunOptions = {}): Promise<[RunResult, RunResult]> {
  return [await runOn(first, notebook, options), await runOn(second, notebook, options)];
}

const trainCell = (options: string, body: string): string => `-- %% [train] ${options}\n${body}`;

function documentOf(result: RunResult, name = 'm'): ModelOutputDocument {
  assert.equal(result.failure, null, `the run failed: ${JSON.stringify(result.failure)}`);
  const text = result.outputs.find((output) => output.name === name)?.rows[0]?.[0];
  assert.ok(typeof text === 'string', `an output ${name}`);
  const read = parseModelOutput(text);
  assert.ok(read.ok, read.ok ? '' : read.reason);
  return read.model ?? read.withheld;
}

function modelOf(result: RunResult, name = 'm'): ModelDocument {
  const document = documentOf(result, name);
  assert.ok(!isWithheldModel(document), `a fitted model: ${JSON.stringify(document)}`);
  return document;
}

/**
 * Everything in an answer but the values of numbers: the failure, the outputs' names, columns and
 * suppression counts, the document's keys, features, levels, withheld parts and reasons, and
 * which metrics are given. Row counts are kept too; only the ROC curve's points are left out, as
 * which thresholds a curve keeps moves with its scores.
 */
function shape(result: RunResult): unknown {
  const numbers = (value: unknown): unknown => {
    if (typeof value === 'number') return 'number';
    if (Array.isArray(value)) return value.map(numbers);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, ['trainRows', 'testRows', 'rows', 'testFraction', 'seed'].includes(key) ? child : numbers(child)]));
  };
  return {
    failure: result.failure,
    outputs: result.outputs.map((output) => {
      const read = parseModelOutput(output.rows[0]?.[0] ?? '');
      const document = read.ok ? (read.model ?? read.withheld) : null;
      const { roc: _roc, ...rest } = (document ?? {}) as Record<string, unknown>;
      return { name: output.name, cell: output.cell, columns: output.columns, suppressedRows: output.suppressedRows, document: numbers(rest) };
    }),
  };
}

const readmissionFeatures = 'model=m algorithm=logistic target=readmitted features=age,length_of_stay,diagnosis,vip seed=3';
const readmissionBody = 'SELECT age, length_of_stay, diagnosis, vip, readmitted FROM admissions';

describe('class 7: an indicator of one person', () => {
  it('computed in the SELECT, it is refused from the SQL alone: the same refusal whatever the person\'s target', async () => {
    for (const indicator of [`patient_id = ${secretPatient}`, "CASE WHEN age = 87 AND sex = 'F' THEN 1 ELSE 0 END", 'age * (age > 86)']) {
      const notebook = trainCell('model=m algorithm=logistic target=readmitted features=age,ind', `SELECT age, ${indicator} AS ind, readmitted FROM admissions`);
      const [zero, one] = await both('target_0', 'target_1', notebook);
      assert.equal(zero.failure?.class, 'PolicyRefused', indicator);
      assert.match(zero.failure?.reasons.join('\n') ?? '', /column ind is computed/);
      assert.deepEqual(one, zero, 'identical answers');
    }
  });

  it('held by a column, it is withheld: no term of its own to read the person\'s target off, and the person scores as their twin', async () => {
    const notebook = trainCell(readmissionFeatures, readmissionBody);
    const [zero, one] = await both('target_0', 'target_1', notebook);
    assert.deepEqual(shape(one), shape(zero), 'the same answer but for numbers');
    for (const result of [zero, one]) {
      const model = modelOf(result);
      assert.deepEqual(model.features.map((feature) => feature.name), ['age', 'length_of_stay', 'diagnosis']);
      assert.deepEqual(model.withheld?.features, [{ name: 'vip', reason: `fewer than k = ${k} people have a value other than its most common one` }]);
      // The attacker knows the person's features: their prediction is anyone's with the same age, stay and diagnosis.
      const person = scoreRow(model, (feature) => ({ age: 87, length_of_stay: 4, diagnosis: 'copd', vip: 1 })[feature]);
      const twin = scoreRow(model, (feature) => ({ age: 87, length_of_stay: 4, diagnosis: 'copd', vip: 0 })[feature]);
      assert.equal(person, twin);
    }
    // What differs between the two answers is numbers fitted over the 300 or so people of the
    // training part: the person's rows weigh in among theirs (how far one person can move such an
    // aggregate is not bounded: see docs/training.md, "Limits"), never through a term of their own.
    // Scoring the person gives what scoring anyone like them gives, in both.
  });

  it('control: in reviewed mode (the exact code approved by every member) the indicator is a term, and its sign is the person\'s target', async () => {
    const notebook = trainCell(readmissionFeatures, readmissionBody);
    const [zero, one] = await both('target_0', 'target_1', notebook, { mode: 'reviewed' });
    const vip = (result: RunResult): number => {
      const feature = modelOf(result).features.find((candidate) => candidate.name === 'vip');
      assert.ok(feature?.kind === 'numeric');
      return feature.coefficient;
    };
    assert.ok(vip(zero) < 0 && vip(one) > 0, `the attack works where nothing is withheld: ${vip(zero)}, ${vip(one)}`);
  });
});

describe('class 7: a feature zero for everyone but one', () => {
  it('is withheld, and the answer is identical whatever the person\'s value', async () => {
    const notebook = trainCell('model=m algorithm=logistic target=readmitted features=age,bonus', 'SELECT age, bonus, readmitted FROM admissions');
    const [small, large] = await both('bonus_7', 'bonus_7000', notebook);
    assert.deepEqual(large, small, 'identical answers, to the byte');
    const model = modelOf(small);
    assert.deepEqual(model.features.map((feature) => feature.name), ['age']);
    assert.deepEqual(model.withheld?.features, [{ name: 'bonus', reason: `fewer than k = ${k} people have a value other than its most common one` }]);
  });

  it('control: in reviewed mode its mean gives the value away', async () => {
    const notebook = trainCell('model=m algorithm=logistic target=readmitted features=age,bonus', 'SELECT age, bonus, readmitted FROM admissions');
    const [small, large] = await both('bonus_7', 'bonus_7000', notebook, { mode: 'reviewed' });
    const recovered = (result: RunResult): number => {
      const model = modelOf(result);
      const bonus = model.features.find((feature) => feature.name === 'bonus');
      assert.ok(bonus?.kind === 'numeric');
      // The mean is Σ bonus / training rows; the person's rows in the training part all hold the secret.
      return bonus.mean;
    };
    assert.ok(recovered(large) / recovered(small) > 900, 'the mean scales with the secret');
  });
});

describe('class 7: a category level held by one person', () => {
  it('counts as the reference level: not named, no coefficient, no "(other)"; the answer is identical to the person having the most common level', async () => {
    const notebook = trainCell('model=m algorithm=logistic target=readmitted features=age,diagnosis', 'SELECT age, diagnosis, readmitted FROM admissions');
    const [rare, common] = await both('dx_rare', 'dx_common', notebook);
    assert.deepEqual(common, rare, 'identical answers, to the byte');
    assert.doesNotMatch(JSON.stringify(rare), /MARKER/);
    const model = modelOf(rare);
    const diagnosis = model.features.find((feature) => feature.name === 'diagnosis');
    assert.ok(diagnosis?.kind === 'categorical');
    assert.equal(diagnosis.reference, mostCommonDiagnosis());
    assert.equal(diagnosis.other, null);
  });
});

describe('class 7: a target non-zero for one person', () => {
  it('linear: no model, the same reason whatever the value', async () => {
    const notebook = trainCell('model=m algorithm=linear target=bill features=age,length_of_stay', 'SELECT age, length_of_stay, bill FROM admissions');
    const [small, large] = await both('bill_40', 'bill_4000', notebook);
    assert.deepEqual(large, small, 'identical answers, to the byte');
    const document = documentOf(small);
    assert.ok(isWithheldModel(document));
    assert.equal(document.withheld.reason, `target bill: fewer than k = ${k} people have a value other than its most common one`);
    assert.ok(!('intercept' in document) && !('metrics' in document), 'no coefficient, no metric');
  });

  it('logistic: no model whether the one person is positive or nobody is', async () => {
    const notebook = trainCell('model=m algorithm=logistic target=flag features=age,length_of_stay', 'SELECT age, length_of_stay, flag FROM admissions');
    const [positive, nobody] = await both('bill_40', 'bill_4000', notebook);
    assert.deepEqual(nobody, positive, 'identical answers, to the byte');
    const document = documentOf(positive);
    assert.ok(isWithheldModel(document));
    assert.match(document.withheld.reason, /^target flag: each of its two classes \(non-zero and zero\) needs at least k = 10 people in the training part$/);
  });
});

describe('class 6: the binary-target oracle', () => {
  it('a target of 0/1 for everyone and 1 or 2 for one person: the same outcome and the same document, decided by the type', async () => {
    const notebook = trainCell('model=m algorithm=logistic target=readmitted features=age,length_of_stay,diagnosis', 'SELECT age, length_of_stay, diagnosis, readmitted FROM admissions');
    const [one, two] = await both('binary_1', 'binary_2', notebook);
    assert.equal(one.failure, null);
    assert.deepEqual(two, one, 'identical answers, to the byte: 2 is read as non-zero, like 1');
  });

  it('control: reviewed mode still finds out from the rows, so the failure tells the two apart', async () => {
    const notebook = trainCell('model=m algorithm=logistic target=readmitted features=age,length_of_stay,diagnosis', 'SELECT age, length_of_stay, diagnosis, readmitted FROM admissions');
    const [one, two] = await both('binary_1', 'binary_2', notebook, { mode: 'reviewed' });
    assert.equal(one.failure, null);
    assert.equal(two.failure?.class, 'TargetNotBinary');
  });
});

describe('class 6: the dropped-row oracle', () => {
  const notebook = trainCell('model=m algorithm=logistic target=readmitted features=age,length_of_stay', 'SELECT age, length_of_stay, readmitted FROM admissions');

  it('no count of dropped rows: a NULL stay leaves only counts of k people or more to differ', async () => {
    const [missing, known] = await both('stay_null', 'stay_known', notebook);
    const [a, b] = [modelOf(missing), modelOf(known)];
    for (const model of [a, b]) assert.ok(!('droppedRows' in model.split), 'no dropped-row count');
    // What differs is the rows used, a count over the 330 or so people of the training part (and
    // the aggregates over them); the shape of the answer, what is withheld and why, is the same.
    const withoutCounts = (result: RunResult): unknown => JSON.parse(JSON.stringify(shape(result)).replace(/"(trainRows|testRows|rows)":\d+/g, '"$1":"count"'));
    assert.deepEqual(withoutCounts(known), withoutCounts(missing));
    for (const model of [a, b]) assert.ok(model.split.trainRows >= k && model.split.testRows >= k);
  });

  it('when the person\'s rows are the only rows with a stay, nothing is fitted, the same way whatever the stay', async () => {
    const [five, fifty] = await both('stay_only_5', 'stay_only_50', notebook);
    assert.deepEqual(fifty, five, 'identical answers, to the byte');
    const document = documentOf(five);
    assert.ok(isWithheldModel(document));
    assert.equal(document.withheld.reason, `the training rows (those with no NULL in the target or a feature) come from fewer than k = ${k} people of admissions`);
  });
});
