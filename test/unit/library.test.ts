// Private libraries in shared/library.ts: reading library files, checking macro bodies and the
// library as a whole, and expanding macros into a cell's tree so that the expanded cell is judged,
// guarded and rendered exactly like the same SQL typed in.
import assert from 'node:assert/strict';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { after, before, describe, it } from 'node:test';
import {
  bodySelectSql,
  checkLibrary,
  expandMacros,
  type MacroDefinition,
  macroFromTree,
  maxMacroDepth,
  parseLibraryFile,
  splitSqlStatements,
} from '../../shared/library.js';
import { analyseCell, type PolicyContext, type PolicyProblem } from '../../shared/policy.js';
import { compileCell, setsToSketch } from '../../shared/policy/compile.js';
import { stringifySqlTree } from '../../shared/policy/tree.js';
import { closeSqlTrees, sqlTree } from '../support/sql-tree.js';

const tables: PolicyContext['tables'] = [
  {
    name: 'admissions',
    allowMinMax: false,
    columns: [
      { name: 'patient_id', role: 'privacy_unit' },
      { name: 'hospital_id', role: 'join_key' },
      { name: 'age_band', role: 'dimension' },
      { name: 'length_of_stay', role: 'measure' },
      { name: 'prior_admissions', role: 'measure' },
      { name: 'ssn', role: 'hidden' },
    ],
  },
];
const aggregate: PolicyContext = { tables, earlierOutputs: [], mode: 'aggregate' };
const reviewed: PolicyContext = { ...aggregate, mode: 'reviewed' };

after(closeSqlTrees);

/** A macro as the worker makes it: DuckDB's tree of `SELECT (body)`, checked. */
async function macro(name: string, parameters: string[], body: string): Promise<MacroDefinition> {
  const made = macroFromTree({ name, parameters }, await sqlTree(bodySelectSql({ bodyText: body })));
  assert.ok(made.ok, made.ok ? '' : made.reason);
  return made.macro;
}

async function library(...macros: Promise<MacroDefinition>[]): Promise<Map<string, MacroDefinition>> {
  return new Map((await Promise.all(macros)).map((made) => [made.name, made]));
}

async function bodyRefusal(parameters: string[], body: string): Promise<string> {
  const made = macroFromTree({ name: 'm', parameters }, await sqlTree(bodySelectSql({ bodyText: body })));
  assert.equal(made.ok, false, `${body} must be refused`);
  return made.ok ? '' : made.reason;
}

async function expanded(sql: string, macros: ReadonlyMap<string, MacroDefinition>): Promise<{ tree: unknown; used: readonly string[] }> {
  const result = expandMacros(await sqlTree(sql), macros);
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result;
}

async function expansionRefusal(sql: string, macros: ReadonlyMap<string, MacroDefinition>): Promise<string> {
  const result = expandMacros(await sqlTree(sql), macros);
  assert.equal(result.ok, false, `${sql} must not expand`);
  return result.ok ? '' : result.reason;
}

describe('library files', () => {
  it('splits statements at semicolons outside quotes and comments, dropping the comments', () => {
    const text = [
      '-- features; for the readmission model',
      "CREATE MACRO a(x) AS x || ';' ; /* a; block /* nested; */ comment */",
      'CREATE MACRO "b;c"(x) AS x;',
      '',
      ';',
    ].join('\n');
    assert.deepEqual(splitSqlStatements(text), ["CREATE MACRO a(x) AS x || ';'", 'CREATE MACRO "b;c"(x) AS x']);
  });

  it('reads every CREATE MACRO form: OR REPLACE, TEMP, TEMPORARY, FUNCTION, no parameters, any case', () => {
    const parsed = parseLibraryFile(
      'features.sql',
      [
        'CREATE MACRO capped_stay(days, cap) AS least(days, cap);',
        'create or replace temp macro Frailty(Age, Prior) as Age / 10 + Prior -- a comment',
        ';',
        'CREATE TEMPORARY MACRO one() AS 1;',
        'CREATE FUNCTION twice(x) AS x * 2',
      ].join('\n'),
    );
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(
      parsed.statements.map((statement) => [statement.name, statement.parameters, statement.bodyText, statement.position]),
      [
        ['capped_stay', ['days', 'cap'], 'least(days, cap)', 'features.sql, statement 1'],
        ['frailty', ['age', 'prior'], 'Age / 10 + Prior', 'features.sql, statement 2'],
        ['one', [], '1', 'features.sql, statement 3'],
        ['twice', ['x'], 'x * 2', 'features.sql, statement 4'],
      ],
    );
  });

  it('names the file and statement of each statement it cannot take, and why', () => {
    const parsed = parseLibraryFile(
      'lib/bad.sql',
      [
        'SELECT 1;',
        'CREATE MACRO t(x) AS TABLE SELECT x;',
        'CREATE MACRO d(x, y := 2) AS x + y;',
        'CREATE MACRO main.q(x) AS x;',
        'CREATE MACRO r(x, X) AS x;',
        'CREATE MACRO e(x) AS ;',
        'CREATE MACRO ok(x) AS x',
      ].join('\n'),
    );
    assert.deepEqual(parsed.statements.map((statement) => statement.name), ['ok']);
    assert.deepEqual(parsed.problems, [
      'lib/bad.sql, statement 1: only CREATE MACRO name(parameters) AS expression statements are allowed',
      'lib/bad.sql, statement 2: macro t: table macros (AS TABLE) are not supported; only scalar macros',
      'lib/bad.sql, statement 3: macro d: default parameter values are not supported',
      'lib/bad.sql, statement 4: macro main is named with a schema; use a plain name',
      'lib/bad.sql, statement 5: macro r: parameter x is named twice',
      'lib/bad.sql, statement 6: macro e has no body',
    ]);
  });
});

describe('macro bodies', () => {
  it('takes an expression over its parameters, functions and CASE', async () => {
    const made = await macro('band', ['age'], "CASE WHEN age < 40 THEN 'young' WHEN age < 65 THEN 'middle' ELSE 'old' END");
    assert.equal(made.name, 'band');
    assert.deepEqual(made.parameters, ['age']);
  });

  it('refuses subqueries, tables, columns that are not parameters, *, and what is not one expression', async () => {
    assert.match(await bodyRefusal(['x'], '(SELECT max(patient_id) FROM admissions)'), /subquery or a table/);
    assert.match(await bodyRefusal(['x'], 'x IN (SELECT 1)'), /subquery or a table/);
    assert.match(await bodyRefusal(['x'], 'x + length_of_stay'), /refers to length_of_stay, which is not one of its parameters/);
    assert.match(await bodyRefusal(['x'], 'admissions.x'), /refers to admissions\.x/);
    assert.match(await bodyRefusal(['x'], 'list_transform([x], y -> y + 1)'), /lambda/);
    // A body that closes the parenthesis to add a FROM is not one expression.
    assert.match(await bodyRefusal(['x'], 'x) FROM admissions WHERE (1 = 1'), /not a single SQL expression/);
    assert.match(await bodyRefusal(['x'], 'x), (x'), /not a single SQL expression/);
  });
});

describe('checking a library', () => {
  const entry = async (name: string, parameters: string[], body: string) => ({ macro: await macro(name, parameters, body), position: `lib.sql, ${name}` });

  it('refuses names of DuckDB functions, reserved names and names defined twice', async () => {
    const checked = checkLibrary(
      [await entry('least', ['x'], 'x'), await entry('__cr_k', ['x'], 'x'), await entry('twice', ['x'], 'x * 2'), await entry('twice', ['x'], 'x + x')],
      new Set(['least', 'greatest']),
    );
    assert.deepEqual([...checked.macros.keys()], ['twice']);
    assert.equal(checked.problems.length, 3);
    assert.match(checked.problems[0] as string, /least has the name of a DuckDB function/);
    assert.match(checked.problems[1] as string, /reserved/);
    assert.match(checked.problems[2] as string, /twice is defined twice/);
  });

  it('refuses wrong argument counts, cycles, chains deeper than the limit, and what calls them', async () => {
    const entries = [
      await entry('one', ['x'], 'x + 1'),
      await entry('wrong', ['x'], 'one(x, 2)'),
      await entry('ping', ['x'], 'pong(x)'),
      await entry('pong', ['x'], 'ping(x)'),
      await entry('self', ['x'], 'self(x)'),
      await entry('uses_cycle', ['x'], 'ping(x) + 1'),
    ];
    // A chain of maxMacroDepth macros is fine; one more is too deep.
    entries.push(await entry('d1', ['x'], 'x'));
    for (let level = 2; level <= maxMacroDepth + 1; level++) entries.push(await entry(`d${level}`, ['x'], `d${level - 1}(x)`));
    const checked = checkLibrary(entries, new Set());
    const bad = (name: string) => checked.problems.find((problem) => problem.includes(`macro ${name} `));
    assert.ok(checked.macros.has('one'));
    assert.ok(checked.macros.has(`d${maxMacroDepth}`));
    assert.match(bad('wrong') ?? '', /calls one with 2 arguments; it takes 1/);
    assert.match(bad('ping') ?? '', /calls itself through/);
    assert.match(bad('pong') ?? '', /calls itself through/);
    assert.match(bad('self') ?? '', /calls itself through self → self/);
    assert.match(bad('uses_cycle') ?? '', /calls ping, which cannot be used/);
    assert.match(bad(`d${maxMacroDepth + 1}`) ?? '', /more than 16 deep/);
    assert.equal(checked.macros.size, 1 + maxMacroDepth);
  });
});

describe('expanding macros', () => {
  let macros: Map<string, MacroDefinition>;
  before(async () => {
    macros = await library(
      macro('capped', ['days', 'cap'], 'least(days, cap)'),
      macro('frailty', ['age', 'prior'], 'capped(prior, 5) * 2 + age / 10'),
      macro('stay_class', ['days'], "CASE WHEN capped(days, 30) > 7 THEN 'long' ELSE 'short' END"),
      macro('mean_stay', ['days'], 'avg(days)'),
      macro('identity', ['x'], 'x'),
    );
  });

  it('replaces a call by the body with the arguments put in, and keeps the call\'s alias', async () => {
    const { tree, used } = await expanded('SELECT capped(length_of_stay, 30) AS los FROM admissions', macros);
    const typed = await sqlTree('SELECT least(length_of_stay, 30) AS los FROM admissions');
    assert.deepEqual(used, ['capped']);
    assert.equal(await render(tree), await render(typed));
  });

  it('expands macros inside macros, and macro calls inside arguments', async () => {
    const { tree, used } = await expanded('SELECT frailty(capped(length_of_stay, 10), prior_admissions) AS f FROM admissions', macros);
    const typed = await sqlTree('SELECT least(prior_admissions, 5) * 2 + least(length_of_stay, 10) / 10 AS f FROM admissions');
    assert.deepEqual([...used].sort(), ['capped', 'frailty']);
    assert.equal(await render(tree), await render(typed));
  });

  it('names an unaliased item after its macro, so the body never names an output column', async () => {
    const { tree } = await expanded('SELECT capped(length_of_stay, 30), capped(prior_admissions, 3) + 1, identity(age_band), age_band AS capped_3 FROM admissions', macros);
    const typed = await sqlTree('SELECT least(length_of_stay, 30) AS capped, least(prior_admissions, 3) + 1 AS capped_2, age_band AS "identity", age_band AS capped_3 FROM admissions');
    assert.equal(await render(tree), await render(typed));
    assert.doesNotMatch(await render(tree), /least\([^)]*\)\s*(,|FROM)/i, 'no item is left to be named after its expanded text');
  });

  it('refuses a call with the wrong number of arguments, or called like an aggregate', async () => {
    assert.equal(await expansionRefusal('SELECT capped(length_of_stay) AS x FROM admissions', macros), 'macro capped takes 2 arguments, not 1');
    assert.match(await expansionRefusal('SELECT identity(DISTINCT length_of_stay) AS x FROM admissions', macros), /DISTINCT, FILTER or ORDER BY/);
  });

  it('refuses cycles and chains deeper than the limit even in a library that was never checked', async () => {
    const cyclic = await library(macro('ping', ['x'], 'pong(x)'), macro('pong', ['x'], 'ping(x)'));
    assert.match(await expansionRefusal('SELECT ping(1) AS x', cyclic), /macro ping calls itself through ping → pong → ping/);
    const chain = [macro('d1', ['x'], 'x + 1')];
    for (let level = 2; level <= maxMacroDepth + 1; level++) chain.push(macro(`d${level}`, ['x'], `d${level - 1}(x)`));
    const deep = await library(...chain);
    assert.ok(expandMacros(await sqlTree(`SELECT d${maxMacroDepth}(1) AS x`), deep).ok, `${maxMacroDepth} deep is allowed`);
    assert.match(await expansionRefusal(`SELECT d${maxMacroDepth + 1}(1) AS x`, deep), /more than 16 deep/);
  });

  it('refuses a cell that grows too large once expanded', async () => {
    const chain = [macro('g1', ['x'], 'x + x')];
    for (let level = 2; level <= maxMacroDepth; level++) chain.push(macro(`g${level}`, ['x'], `g${level - 1}(x) + g${level - 1}(x)`));
    assert.match(await expansionRefusal(`SELECT g${maxMacroDepth}(length_of_stay) AS x FROM admissions`, await library(...chain)), /too large/);
  });

  it('leaves schema-qualified calls, table functions and cells without macros alone', async () => {
    for (const sql of ['SELECT main.capped(length_of_stay, 3) AS x FROM admissions', 'SELECT * FROM capped(1, 2)', 'SELECT age_band, count(*) AS n FROM admissions GROUP BY age_band']) {
      const tree = await sqlTree(sql);
      const result = expandMacros(tree, macros);
      assert.ok(result.ok);
      assert.deepEqual(result.used, []);
      assert.deepEqual(result.tree, tree, sql);
    }
  });

  // The same cell as typed SQL and with macros: the policy's verdict, the compiled SQL (the
  // algebra replaced the k-guard's rewrite) and what DuckDB would run are the same.
  const judged: [string, string][] = [
    [
      'SELECT age_band, mean_stay(capped(length_of_stay, 30)) AS mean_stay, count(*) AS n FROM admissions GROUP BY age_band',
      'SELECT age_band, avg(least(length_of_stay, 30)) AS mean_stay, count(*) AS n FROM admissions GROUP BY age_band',
    ],
    [
      'SELECT stay_class(length_of_stay) AS stay, count(*) AS n FROM admissions GROUP BY stay',
      "SELECT CASE WHEN least(length_of_stay, 30) > 7 THEN 'long' ELSE 'short' END AS stay, count(*) AS n FROM admissions GROUP BY stay",
    ],
    // Accepted alike under the new grammar (the cells above are refused now: least() over a measure),
    // so the compiled SQL is compared on these.
    [
      'SELECT identity(age_band) AS band, mean_stay(length_of_stay) AS mean_stay, count(*) AS n FROM admissions GROUP BY band',
      'SELECT age_band AS band, avg(length_of_stay) AS mean_stay, count(*) AS n FROM admissions GROUP BY band',
    ],
    // Refused alike: a privacy unit through a macro is still a privacy unit.
    ['SELECT identity(patient_id) AS who, count(*) AS n FROM admissions GROUP BY who', 'SELECT patient_id AS who, count(*) AS n FROM admissions GROUP BY who'],
    ['SELECT age_band, frailty(ssn, 1) AS f FROM admissions', 'SELECT age_band, least(1, 5) * 2 + ssn / 10 AS f FROM admissions'],
    ['SELECT sum(capped(hospital_id, 3)) AS s FROM admissions', 'SELECT sum(least(hospital_id, 3)) AS s FROM admissions'],
  ];
  for (const [withMacros, typedSql] of judged) {
    it(`judges "${withMacros.slice(0, 60)}…" exactly like the same SQL typed in`, async () => {
      const { tree } = await expanded(withMacros, macros);
      const typed = await sqlTree(typedSql);
      for (const context of [aggregate, reviewed]) {
        const a = analyseCell(tree, context);
        const b = analyseCell(typed, context);
        assert.equal(a.ok, b.ok);
        assert.deepEqual(a.problems.map(reasonOnly), b.problems.map(reasonOnly));
        assert.deepEqual(a.outputColumns, b.outputColumns);
      }
      const cellA = analyseCell(tree, aggregate).cell;
      const cellB = analyseCell(typed, aggregate).cell;
      assert.equal(cellA?.kind, cellB?.kind);
      if (cellA?.kind === 'aggregate' && cellB?.kind === 'aggregate') assert.deepEqual(compiled(cellA), compiled(cellB));
      if (withMacros.startsWith('SELECT identity(age_band)')) assert.equal(cellA?.kind, 'aggregate', 'accepted and compiled');
      assert.equal(await render(tree), await render(typed));
    });
  }
});

const reasonOnly = (problem: PolicyProblem): string => problem.reason;

/** Everything the worker would run for an aggregate cell. */
function compiled(cell: Parameters<typeof compileCell>[0]): string[] {
  const result = compileCell(cell, { prefix: '__cr_c0_', k: 5, salt: '00', width: 32 });
  return [...result.branches.flatMap((branch) => [...branch.setup, branch.sketches(setsToSketch(branch.tables.length, branch.terms.length, []))]), result.output(cell.columns), ...result.cleanup];
}

let renderer: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> | undefined;
after(async () => {
  if (renderer === undefined) return;
  const { instance, connection } = await renderer;
  connection.closeSync();
  instance.closeSync();
});

/** DuckDB's SQL for a tree (json_deserialize_sql): what the worker would run. */
async function render(tree: unknown): Promise<string> {
  renderer ??= (async () => {
    const instance = await DuckDBInstance.create(':memory:');
    return { instance, connection: await instance.connect() };
  })();
  const { connection } = await renderer;
  const reader = await connection.runAndReadAll('SELECT json_deserialize_sql($1::JSON)', [stringifySqlTree(tree)]);
  return String(reader.getRows()[0]?.[0]);
}
