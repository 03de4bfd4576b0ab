import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { cryptoReady } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { type Cell, formatNotebook, type Notebook, notebookProblem, parseNotebook, type Snapshot, snapshotIdOf } from '../../shared/notebook.js';
import { makeIdentity, makeSnapshot, makeTable, randomHex, seededShuffle } from '../support/room-fixtures.js';

const readmissions = `-- Readmission rates by age band and plan
-- parameter min_age = 18
-- parameter since = DATE '2024-01-01'
-- parameter plan = 'gold'

-- %% [markdown]
-- # Readmission rates
--
-- Joined on patient id.

-- %% output=rates
SELECT age_band, plan, count(*) AS patients
FROM admissions JOIN claims USING (patient_id)
WHERE age >= 18
GROUP BY age_band, plan


-- %% [train] model=readmit algorithm=logistic target=readmitted features=age,plan test-fraction=0.2 seed=7
SELECT age, plan, readmitted FROM admissions JOIN claims USING (patient_id)
`;

/** The BAD_REQUEST message parseNotebook refuses `text` with. */
function refusal(text: string): string {
  try {
    parseNotebook(text);
  } catch (error) {
    assert.ok(error instanceof CleanroomError);
    assert.equal(error.code, 'BAD_REQUEST');
    return error.message;
  }
  assert.fail('the notebook was accepted');
}

describe('notebook: parsing the percent format', () => {
  it('reads parameters, markdown, SQL and train cells', () => {
    const notebook = parseNotebook(readmissions);
    assert.deepEqual(notebook.parameters, [
      { name: 'min_age', value: '18' },
      { name: 'since', value: "DATE '2024-01-01'" },
      { name: 'plan', value: "'gold'" },
    ]);
    assert.equal(notebook.cells.length, 3);
    assert.deepEqual(notebook.cells[0], { kind: 'markdown', source: '# Readmission rates\n\nJoined on patient id.', output: null, options: [] });
    assert.deepEqual(notebook.cells[1], {
      kind: 'sql',
      source: 'SELECT age_band, plan, count(*) AS patients\nFROM admissions JOIN claims USING (patient_id)\nWHERE age >= 18\nGROUP BY age_band, plan',
      output: 'rates',
      options: [],
    });
    const train = notebook.cells[2] as Cell;
    assert.equal(train.kind, 'train');
    assert.equal(train.output, null);
    assert.deepEqual(train.options, [
      { key: 'model', value: 'readmit' },
      { key: 'algorithm', value: 'logistic' },
      { key: 'target', value: 'readmitted' },
      { key: 'features', value: 'age,plan' },
      { key: 'test-fraction', value: '0.2' },
      { key: 'seed', value: '7' },
    ]);
  });

  it('accepts every kind of SQL literal as a parameter value', () => {
    const values = ['42', '-7', '3.25', "'it''s'", "''", 'true', 'FALSE', "DATE '2024-02-29'", "date '1999-12-31'"];
    const text = `${values.map((value, index) => `-- parameter p${index} = ${value}`).join('\n')}\n-- %%\nSELECT 1\n`;
    assert.deepEqual(
      parseNotebook(text).parameters.map((parameter) => parameter.value),
      values,
    );
  });

  it('takes \\r\\n line endings, a byte-order mark and [sql] spelled out', () => {
    const notebook = parseNotebook('\uFEFF-- %% [sql] output=n\r\nSELECT 1\r\n\r\n-- %% [markdown]\r\n-- hi\r\n');
    assert.deepEqual(notebook, {
      parameters: [],
      cells: [
        { kind: 'sql', source: 'SELECT 1', output: 'n', options: [] },
        { kind: 'markdown', source: 'hi', output: null, options: [] },
      ],
    });
  });

  it('keeps a cell’s leading blank lines and comments but drops trailing blank lines', () => {
    const notebook = parseNotebook('-- %%\n\n-- the count\nSELECT 1\n   \n\n');
    assert.equal((notebook.cells[0] as Cell).source, '\n-- the count\nSELECT 1');
  });

  it('reads `-- library NAME` lines into libraries, and leaves the field out when there are none', () => {
    const notebook = parseNotebook('-- library feature_macros\n-- library  scores\n-- parameter k = 3\n-- %%\nSELECT 1\n');
    assert.deepEqual(notebook.libraries, ['feature_macros', 'scores']);
    assert.equal('libraries' in parseNotebook('-- %%\nSELECT 1\n'), false);
    const again = parseNotebook(formatNotebook(notebook));
    assert.deepEqual(again, notebook);
    assert.match(formatNotebook(notebook), /^-- library feature_macros\n-- library scores\n-- parameter k = 3\n/);
  });

  const bad: [string, string, RegExp][] = [
    ['an unknown cell kind', '-- %%\nSELECT 1\n-- %% [python]\nprint(1)\n', /^line 3: unknown cell kind \[python\]/],
    ['a marker glued to its text', '-- %%markdown\n', /^line 1: a cell marker is/],
    ['an option without =', '-- %% output rates\nSELECT 1\n', /^line 1: “output” is not an option/],
    ['an option with an empty value', '-- %% output=\nSELECT 1\n', /^line 1: “output=” is not an option/],
    ['a bad output name', '-- %% output=Rates\nSELECT 1\n', /^line 1: output=Rates: name must be lower-case/],
    ['an option given twice', '-- %% [train] seed=1 seed=2\nSELECT 1\n', /^line 1: option seed= is given twice/],
    ['an unknown option on a SQL cell', '\n-- %% model=m\nSELECT 1\n', /^line 2: unknown option model= for a SQL cell/],
    ['an unknown option on a train cell', '-- %% [train] colour=red\nSELECT 1\n', /^line 1: unknown option colour= for a train cell/],
    ['output= on a markdown cell', '-- %%\nSELECT 1\n-- %% [markdown] output=rates\n-- hi\n', /^line 3: a markdown cell cannot have output=/],
    ['a duplicate output name', '-- %% output=rates\nSELECT 1\n-- %% output=rates\nSELECT 2\n', /^line 3: output table rates is already made by an earlier cell/],
    ['a duplicate parameter', '-- parameter a = 1\n-- parameter a = 2\n-- %%\nSELECT 1\n', /^line 2: parameter a is declared twice/],
    ['a parameter without a value', '-- parameter a =\n-- %%\nSELECT 1\n', /^line 1: parameter a's value must be a SQL literal/],
    ['a parameter that is not a literal', '-- parameter a = now()\n-- %%\nSELECT 1\n', /^line 1: parameter a's value must be a SQL literal/],
    ['an impossible date', "-- parameter a = DATE '2023-02-29'\n-- %%\nSELECT 1\n", /^line 1: parameter a's value must be a SQL literal/],
    ['an unterminated string', "-- parameter a = 'open\n-- %%\nSELECT 1\n", /^line 1: parameter a's value/],
    ['a malformed parameter line', '-- parameter a\n-- %%\nSELECT 1\n', /^line 1: a parameter is written/],
    ['a bad parameter name', '-- parameter Min = 1\n-- %%\nSELECT 1\n', /^line 1: parameter Min: name must be lower-case/],
    ['code before the first cell', '\nSELECT 1\n-- %%\nSELECT 2\n', /^line 2: only libraries, parameters and comments may come before the first cell/],
    ['a library without a name', '-- library\n-- %%\nSELECT 1\n', /^line 1: a library is written “-- library NAME”/],
    ['a library named twice', '-- library lib\n-- library lib\n-- %%\nSELECT 1\n', /^line 2: library lib is named twice/],
    ['a library name that is not an asset name', '-- library Lib-1\n-- %%\nSELECT 1\n', /^line 1: library Lib-1: name must be lower-case/],
    ['two words after library', '-- library a b\n-- %%\nSELECT 1\n', /^line 1: a library is written/],
    ['no cells at all', '-- just a comment\n\n', /^line 1: the notebook has no cells/],
    ['an empty file', '', /^line 1: the notebook has no cells/],
    ['an empty SQL cell', '-- %% [markdown]\n-- hi\n-- %% output=n\n\n-- nothing here\n\n-- %%\nSELECT 1\n', /^line 3: the SQL cell is empty/],
  ];
  for (const [what, text, expected] of bad) {
    it(`refuses ${what}, naming the line`, () => {
      assert.match(refusal(text), expected);
    });
  }
});

describe('notebook: formatting', () => {
  it('writes a normal form that parses back to the same notebook', () => {
    const notebook = parseNotebook(readmissions);
    const text = formatNotebook(notebook);
    assert.equal(
      text,
      [
        '-- parameter min_age = 18',
        "-- parameter since = DATE '2024-01-01'",
        "-- parameter plan = 'gold'",
        '',
        '-- %% [markdown]',
        '-- # Readmission rates',
        '--',
        '-- Joined on patient id.',
        '',
        '-- %% output=rates',
        'SELECT age_band, plan, count(*) AS patients',
        'FROM admissions JOIN claims USING (patient_id)',
        'WHERE age >= 18',
        'GROUP BY age_band, plan',
        '',
        '-- %% [train] model=readmit algorithm=logistic target=readmitted features=age,plan test-fraction=0.2 seed=7',
        'SELECT age, plan, readmitted FROM admissions JOIN claims USING (patient_id)',
        '',
      ].join('\n'),
    );
    assert.deepEqual(parseNotebook(text), notebook);
    // The normal form is a fixed point.
    assert.equal(formatNotebook(parseNotebook(text)), text);
    assert.equal(notebookProblem(notebook), null);
  });

  it('round-trips hand-made edge cases', () => {
    const cases: Notebook[] = [
      { parameters: [], cells: [{ kind: 'markdown', source: '', output: null, options: [] }] },
      { parameters: [], cells: [{ kind: 'markdown', source: '  indented\n--dashes\n\n-x', output: null, options: [] }] },
      { parameters: [{ name: 'a', value: "'x -- %% y'" }], cells: [{ kind: 'sql', source: '\n\nSELECT 1 -- %% not a marker', output: null, options: [] }] },
      { parameters: [], cells: [{ kind: 'train', source: '', output: 'model_out', options: [{ key: 'seed', value: '1' }] }] },
    ];
    for (const notebook of cases) assert.deepEqual(parseNotebook(formatNotebook(notebook)), notebook);
  });

  it('round-trips generated notebooks (seeded, so a failure can be replayed)', () => {
    const words = ['SELECT', 'count(*)', 'FROM', 'admissions', '--', 'note', "'text'", '%%', '  ', '#', 'x', '-- %', ''];
    for (let seed = 1; seed <= 200; seed++) {
      const pick = (count: number): string[] => seededShuffle(words, seed * 31 + count).slice(0, count);
      const cellCount = 1 + (seed % 5);
      const cells: Cell[] = [];
      for (let index = 0; index < cellCount; index++) {
        const kind = (['sql', 'markdown', 'train'] as const)[(seed + index) % 3] as Cell['kind'];
        const lines = [`SELECT ${seed} AS c${index}`, ...pick(1 + ((seed + index) % 4)).map((word, n) => `${word} ${pick(n + 1).join(' ')}`.trimEnd())];
        // Lines a marker could hide in, and trailing blanks, are what a parse would never produce.
        const safe = lines.filter((line) => !/^\s*--\s*%%/.test(line) && !/^\s*%%/.test(line));
        while (safe.length > 0 && (safe[safe.length - 1] as string).trim() === '') safe.pop();
        cells.push({
          kind,
          source: safe.join('\n'),
          output: kind === 'markdown' || index % 2 === 1 ? null : `out_${seed}_${index}`,
          options: kind === 'train' ? [{ key: 'seed', value: String(seed) }, { key: 'model', value: `m${index}` }] : [],
        });
      }
      const notebook: Notebook = { parameters: seed % 3 === 0 ? [{ name: `p${seed}`, value: String(seed) }] : [], cells };
      const text = formatNotebook(notebook);
      assert.deepEqual(parseNotebook(text), notebook, `seed ${seed}`);
      assert.equal(formatNotebook(parseNotebook(text)), text, `seed ${seed}`);
    }
  });

  it('refuses to write a cell line that would read back as a cell marker', () => {
    const sneaky: Notebook = { parameters: [], cells: [{ kind: 'sql', source: 'SELECT 1\n-- %% output=leak\nSELECT 2', output: null, options: [] }] };
    assert.throws(() => formatNotebook(sneaky), (error: unknown) => error instanceof CleanroomError && /cell 1: .* would read back as a cell marker/.test(error.message));
    const markdown: Notebook = { parameters: [], cells: [{ kind: 'markdown', source: '%% [sql]', output: null, options: [] }] };
    assert.throws(() => formatNotebook(markdown), /would read back as a cell marker/);
    assert.match(notebookProblem(sneaky) ?? '', /would read back as a cell marker/);
  });

  it('reports notebooks that parsing could not have produced', () => {
    const trailing: Notebook = { parameters: [], cells: [{ kind: 'sql', source: 'SELECT 1\n\n', output: null, options: [] }] };
    assert.match(notebookProblem(trailing) ?? '', /not in the form parsing gives/);
    const twice: Notebook = {
      parameters: [],
      cells: [
        { kind: 'sql', source: 'SELECT 1', output: 'a', options: [] },
        { kind: 'sql', source: 'SELECT 2', output: 'a', options: [] },
      ],
    };
    assert.match(notebookProblem(twice) ?? '', /output table a is already made/);
  });
});

describe('notebook: snapshot ids', () => {
  before(() => cryptoReady());

  /** Every string leaf of a snapshot with one character changed, one variant per leaf. */
  function oneCharacterVariants(snapshot: Snapshot): Snapshot[] {
    const out: Snapshot[] = [];
    const walk = (value: unknown, rebuild: (next: unknown) => Snapshot): void => {
      if (typeof value === 'string') {
        if (value.length === 0) out.push(rebuild('x'));
        else {
          const last = value[value.length - 1] as string;
          out.push(rebuild(`${value.slice(0, -1)}${last === 'a' ? 'b' : 'a'}`));
        }
      } else if (typeof value === 'number') {
        out.push(rebuild(value + 1));
      } else if (Array.isArray(value)) {
        value.forEach((item, index) => walk(item, (next) => rebuild(value.map((other, at) => (at === index ? next : other)))));
      } else if (value !== null && typeof value === 'object') {
        for (const [key, item] of Object.entries(value)) walk(item, (next) => rebuild({ ...value, [key]: next }));
      }
    };
    walk(snapshot, (next) => next as Snapshot);
    return out;
  }

  it('is the same for the same snapshot and new for any one changed character', () => {
    const acme = makeIdentity('Acme Insurance');
    const stMary = makeIdentity('St Mary Hospital');
    const room = randomHex();
    const snapshot = makeSnapshot(room, acme, {
      notebook: parseNotebook(readmissions),
      assets: [makeTable(room, stMary, 'admissions'), makeTable(room, acme, 'claims')],
      runner: acme,
      recipients: [acme, stMary],
    });
    const id = snapshotIdOf(snapshot);
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.equal(snapshotIdOf(structuredClone(snapshot)), id);
    const variants = oneCharacterVariants(snapshot);
    assert.ok(variants.length > 40, `only ${variants.length} variants`);
    const ids = new Set(variants.map(snapshotIdOf));
    assert.equal(ids.size, variants.length);
    assert.ok(!ids.has(id));
  });
});
