// Mutations of generated queries toward the eight attack classes of issue 17. Each takes a fresh
// query from the generator and changes one part so that, if the policy let it through unchanged,
// a released value would depend on fewer than k people. Many are refused; some stay inside the
// grammar (a FILTER over a dimension that keeps one person, a total and the total without one
// person) and must then be withheld rather than refused — `grammatical` says which.
import { bigSpender, islander, k, taggedTarget } from './data.js';
import { type Generator, type SourceShape } from './generator.js';
import { type Catalog, cellOf, cloneSelect, type GenCell, type Item, type Measure, type Query, type Select } from './query.js';

export interface Mutation {
  /** "<class>.<name>", class 1-8 of the issue. */
  readonly name: string;
  readonly grammatical: boolean;
  readonly make: (generator: Generator) => GenCell[];
}

const visitsShape = (generator: Generator): SourceShape => ({
  name: 'visits',
  ctes: [],
  from: 'visits v',
  catalog: { unit: 'v.patient_id', dims: generator.visitsDims('v'), measures: generator.visitsMeasures('v'), tables: ['visits'], rows: 'visit' },
});

const target = (generator: Generator): number => generator.pick([bigSpender, islander, taggedTarget, generator.pick(generator.facts.patients)]);

const measureOf = (catalog: Catalog, generator: Generator): Measure => generator.pick(catalog.measures.length > 0 ? catalog.measures : generator.visitsMeasures('v'));

const top = (generator: Generator, measure: Measure): number => generator.pick(measure.tops.length > 0 ? measure.tops : measure.samples.length > 0 ? measure.samples : [1]);

/** A base query over visits (sometimes joined), with 0-1 group keys. */
function base(generator: Generator, shape: SourceShape = visitsShape(generator)): Select {
  const select = generator.select(shape);
  select.groups = select.groups.slice(0, 1);
  select.having = null;
  select.orderBy = null;
  select.limit = null;
  return select;
}

const single = (generator: Generator, select: Select, mutation: string, grammatical: boolean, substitutions: readonly (readonly [string, string])[] = []): GenCell[] => [
  cellOf({ kind: 'select', select }, generator.nextName(), 'mutant', mutation, grammatical, substitutions),
];

/** Replaces the first item (or adds one) with the given expression. */
function withItem(select: Select, item: Omit<Item, 'name'>): Select {
  const copy = cloneSelect(select);
  const named = { ...item, name: 'attack' };
  copy.items = [named, ...copy.items.slice(1)];
  return copy;
}

/** Two cells: the query as is, and the query changed by `change` (differencing across outputs). */
function pair(generator: Generator, select: Select, change: (copy: Select) => void, mutation: string, grammatical: boolean): GenCell[] {
  const changed = cloneSelect(select);
  change(changed);
  return [
    cellOf({ kind: 'select', select }, generator.nextName(), 'mutant', `${mutation}/a`, true),
    cellOf({ kind: 'select', select: changed }, generator.nextName(), 'mutant', `${mutation}/b`, grammatical),
  ];
}

/** A count and a sum over a visits source, no groups: the totals that differencing attacks compare. */
function totals(generator: Generator, where: string[] = []): Select {
  const select = base(generator);
  select.groups = generator.chance(0.5) ? [] : select.groups;
  select.where = where;
  select.items = [
    { expr: 'count(*)', name: 'rows_n', sig: 'count@visit' },
    { expr: 'count(DISTINCT v.patient_id)', name: 'people', sig: 'people' },
    { expr: 'sum(v.cost)', name: 'cost_total', sig: 'sum:cost@visit' },
    { expr: 'sum(v.los)', name: 'los_total', sig: 'sum:los@visit' },
  ];
  return select;
}

export const mutations: readonly Mutation[] = [
  // ---- 1. Role-free selectors: constant relations joined in ------------------------------------
  {
    name: '1.constant-join',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.from += ` JOIN (SELECT ${target(g)} AS id) c ON v.patient_id = c.id`;
      return single(g, select, '1.constant-join', false);
    },
  },
  {
    name: '1.constant-left-join-z',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.from += ` LEFT JOIN (SELECT ${target(g)} AS id, 0 AS z) c ON v.patient_id = c.id`;
      const measure = measureOf(select.catalog, g);
      return single(g, withItem(select, { expr: `sum(${measure.sql} + c.z)`, sig: null }), '1.constant-left-join-z', false);
    },
  },
  {
    name: '1.values-join',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.from += ` JOIN (VALUES (${target(g)}), (${target(g)})) c(id) ON v.patient_id = c.id`;
      return single(g, select, '1.values-join', false);
    },
  },
  {
    name: '1.literal-subquery-in',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.where.push(`v.patient_id IN (SELECT ${target(g)})`);
      return single(g, select, '1.literal-subquery-in', false);
    },
  },
  {
    name: '1.cross-join-constant-case',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.from += ` CROSS JOIN (SELECT ${target(g)} AS id) c`;
      const measure = measureOf(select.catalog, g);
      return single(g, withItem(select, { expr: `sum(CASE WHEN v.patient_id = c.id THEN ${measure.sql} END)`, sig: null }), '1.cross-join-constant-case', false);
    },
  },

  // ---- 2. Privacy units selecting rows outside WHERE ---------------------------------------------
  {
    name: '2.unit-in-on',
    grammatical: false,
    make: (g) => {
      const select = base(g, { name: 'visits+plans', ctes: [], from: 'visits v JOIN plans p ON v.patient_id = p.patient_id', catalog: { unit: 'v.patient_id', dims: [...g.visitsDims('v'), ...g.plansDims('p')], measures: [...g.visitsMeasures('v'), ...g.plansMeasures('p')], tables: ['visits', 'plans'], rows: 'visit' } });
      return pair(g, select, (copy) => (copy.from = `visits v JOIN plans p ON v.patient_id = p.patient_id AND v.patient_id <> ${target(g)}`), '2.unit-in-on', false);
    },
  },
  {
    name: '2.anti-semi-join-constant',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.from += ` ${g.pick(['ANTI', 'SEMI'])} JOIN (SELECT ${target(g)} AS id) c ON v.patient_id = c.id`;
      return single(g, select, '2.anti-semi-join-constant', false);
    },
  },
  {
    name: '2.order-by-unit-limit',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.from = `(SELECT * FROM visits ORDER BY patient_id ${g.pick(['', 'DESC'])} LIMIT ${g.int(1, 12)}) v`;
      return single(g, select, '2.order-by-unit-limit', false);
    },
  },
  {
    name: '2.unit-in-where',
    grammatical: false,
    make: (g) => {
      const select = totals(g);
      return pair(g, select, (copy) => copy.where.push(g.pick([`v.patient_id <> ${target(g)}`, `v.patient_id NOT IN (${target(g)})`, `v.patient_id < ${target(g)}`])), '2.unit-in-where', false);
    },
  },
  {
    name: '2.unit-arithmetic-join',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.from = `visits v JOIN plans p ON v.patient_id = p.patient_id + ${g.pick([0, 1])}`;
      return single(g, select, '2.unit-arithmetic-join', false);
    },
  },
  {
    name: '2.non-equi-join',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.from = `visits v JOIN plans p ON v.patient_id >= p.patient_id AND p.patient_id >= ${target(g)}`;
      return single(g, select, '2.non-equi-join', false);
    },
  },

  // ---- 3. Selectors inside aggregates -----------------------------------------------------------
  {
    name: '3.measure-indicator-product',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      const measure = measureOf(select.catalog, g);
      return single(g, withItem(select, { expr: `sum(${measure.sql} * (${measure.sql} > ${top(g, measure)}))`, sig: null }), '3.measure-indicator-product', false);
    },
  },
  {
    name: '3.filter-on-measure',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      const measure = measureOf(select.catalog, g);
      return single(g, withItem(select, { expr: `${g.pick(['sum', 'avg', 'count'])}(${measure.sql}) FILTER (WHERE ${measure.sql} > ${top(g, measure)})`, sig: null }), '3.filter-on-measure', false);
    },
  },
  {
    name: '3.case-on-unit',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      const measure = measureOf(select.catalog, g);
      return single(g, withItem(select, { expr: `${g.pick(['sum', 'avg', 'stddev'])}(CASE WHEN v.patient_id = ${target(g)} THEN ${measure.sql} END)`, sig: null }), '3.case-on-unit', false);
    },
  },
  {
    name: '3.case-on-measure',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      const measure = measureOf(select.catalog, g);
      return single(g, withItem(select, { expr: `avg(CASE WHEN ${measure.sql} > ${top(g, measure)} THEN v.los END)`, sig: null }), '3.case-on-measure', false);
    },
  },
  {
    name: '3.regr-selector',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      return single(g, withItem(select, { expr: `regr_slope(v.cost, CASE WHEN v.patient_id = ${target(g)} THEN 1 ELSE 0 END)`, sig: null }), '3.regr-selector', false);
    },
  },
  {
    name: '3.count-distinct-case-bit',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      return single(g, withItem(select, { expr: `count(DISTINCT CASE WHEN v.patient_id = ${target(g)} AND v.los > ${g.int(1, 8)} THEN v.patient_id END)`, sig: null }), '3.count-distinct-case-bit', false);
    },
  },
  {
    name: '3.power-histogram',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      return single(g, withItem(select, { expr: g.pick(['sum(power(64, v.los))', 'sum(power(2, floor(v.cost / 250)))', 'sum(exp(v.los))']), sig: null }), '3.power-histogram', false);
    },
  },
  {
    name: '3.filter-on-unit',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      const measure = measureOf(select.catalog, g);
      return single(g, withItem(select, { expr: `sum(${measure.sql}) FILTER (WHERE v.patient_id = ${target(g)})`, sig: null }), '3.filter-on-unit', false);
    },
  },
  {
    name: '3.refused-aggregate',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      const measure = measureOf(select.catalog, g);
      const fn = g.pick(['max', 'min', 'median', 'quantile_cont', 'arg_max', 'mode', 'first', 'string_agg', 'bit_xor', 'product']);
      const expr = fn === 'quantile_cont' ? `quantile_cont(${measure.sql}, 0.99)` : fn === 'arg_max' ? `arg_max(v.age, ${measure.sql})` : fn === 'string_agg' ? `string_agg(CAST(${measure.sql} AS VARCHAR), ',')` : fn === 'bit_xor' ? 'bit_xor(v.los)' : `${fn}(${measure.sql})`;
      return single(g, withItem(select, { expr, sig: null }), '3.refused-aggregate', false);
    },
  },
  {
    name: '3.filter-dimension-few-people',
    grammatical: true,
    make: (g) => {
      const select = base(g);
      const measure = measureOf(select.catalog, g);
      const selector = g.pick([`v.age >= ${g.facts.topThresholds.age?.[0] ?? 90}`, "v.region = 'islands'", "v.age_band = '90+'", `v.age >= ${g.facts.topThresholds.age?.[2] ?? 85}`]);
      const fn = g.pick(['sum', 'avg', 'count', 'stddev']);
      return single(g, withItem(select, { expr: `${fn}(${measure.sql}) FILTER (WHERE ${selector})`, sig: fn === 'sum' ? `sum:${measure.name}@visit` : fn === 'count' ? 'count@visit' : null }), '3.filter-dimension-few-people', true);
    },
  },
  {
    name: '3.measure-product',
    grammatical: false,
    make: (g) => single(g, withItem(base(g), { expr: g.pick(['sum(v.cost * v.los)', 'avg(v.cost / v.los)', 'sum(v.cost * v.cost)']), sig: null }), '3.measure-product', false),
  },
  {
    name: '3.case-over-dimension-in-aggregate',
    grammatical: false,
    make: (g) => single(g, withItem(base(g), { expr: `sum(CASE WHEN v.age >= ${g.facts.topThresholds.age?.[0] ?? 90} THEN v.cost ELSE 0 END)`, sig: null }), '3.case-over-dimension-in-aggregate', false),
  },

  // ---- 4. Roles lost on the way up -----------------------------------------------------------
  {
    name: '4.inner-aggregate-of-dimension',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.groups = [];
      select.ctes = [];
      select.from = `(SELECT region, ${g.pick(['max(age)', 'min(age)', 'avg(age)', 'count(DISTINCT age)'])} AS x FROM visits GROUP BY region) q`;
      select.where = [];
      select.items = [{ expr: 'sum(q.x)', name: 'total', sig: null }, { expr: 'avg(q.x)', name: 'mean', sig: null }];
      return single(g, select, '4.inner-aggregate-of-dimension', false);
    },
  },
  {
    name: '4.inner-aggregate-of-unit',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.groups = [];
      select.from = `(SELECT region, ${g.pick(['max(patient_id)', 'min(patient_id)', 'sum(patient_id)'])} AS x, count(*) AS n FROM visits GROUP BY region) q`;
      select.where = [];
      select.items = [{ expr: 'sum(q.x)', name: 'total', sig: null }, { expr: 'sum(q.n)', name: 'n', sig: null }];
      return single(g, select, '4.inner-aggregate-of-unit', false);
    },
  },
  {
    name: '4.inner-count-with-unit-filter',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.groups = [];
      select.from = `(SELECT region, count(*) FILTER (WHERE patient_id = ${target(g)}) AS c, sum(cost) FILTER (WHERE patient_id = ${target(g)}) AS s FROM visits GROUP BY region) q`;
      select.where = [];
      select.items = [{ expr: 'sum(q.c)', name: 'c', sig: null }, { expr: 'sum(q.s)', name: 's', sig: null }];
      return single(g, select, '4.inner-count-with-unit-filter', false);
    },
  },
  {
    name: '4.group-key-selects-unit',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.groups = [{ expr: `CASE WHEN v.patient_id = ${target(g)} THEN 'x' ELSE v.region END`, name: 'grp' }];
      select.groupStyle = g.pick(['alias', 'expr']);
      return single(g, select, '4.group-key-selects-unit', false);
    },
  },
  {
    name: '4.group-key-from-measure',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      const measure = measureOf(select.catalog, g);
      select.groups = [{ expr: `${measure.sql} > ${top(g, measure)}`, name: 'big' }];
      select.groupStyle = g.pick(['alias', 'expr', 'position']);
      return single(g, select, '4.group-key-from-measure', false);
    },
  },
  {
    name: '4.per-unit-selector',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.ctes = [`per AS (SELECT patient_id, region, sum(cost) FILTER (WHERE patient_id = ${target(g)}) AS s, count(*) AS n FROM visits GROUP BY patient_id, region)`];
      select.from = 'per';
      select.where = [];
      select.groups = g.chance(0.5) ? [{ expr: 'per.region', name: 'region' }] : [];
      select.items = [{ expr: 'sum(per.s)', name: 's', sig: null }, { expr: 'sum(per.n)', name: 'n', sig: null }];
      return single(g, select, '4.per-unit-selector', false);
    },
  },
  {
    name: '4.per-unit-max-then-where',
    grammatical: true,
    make: (g) => {
      const select = base(g);
      const threshold = g.pick(g.facts.topThresholds.cost ?? [2000]);
      select.ctes = [`per AS (SELECT patient_id, region, max(cost) AS top_cost, count(*) AS n FROM visits GROUP BY patient_id, region)`];
      select.from = 'per';
      select.where = [`per.top_cost > ${threshold}`];
      select.groups = [];
      select.items = [{ expr: 'count(*)', name: 'people', sig: 'people' }, { expr: 'sum(per.n)', name: 'visits_n', sig: 'sum:n_visits@people' }, { expr: 'avg(per.top_cost)', name: 'mean_top', sig: null }];
      return single(g, select, '4.per-unit-max-then-where', true);
    },
  },
  {
    name: '4.select-alias-reused',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      select.items = [
        { expr: `(max(v.patient_id) = ${target(g)})::INTEGER`, name: 'sel', sig: null },
        { expr: 'sum(v.cost)', name: 's', sig: null },
      ];
      return single(g, select, '4.select-alias-reused', false);
    },
  },

  // ---- 5. k counted over the wrong set: the runner's made-up people --------------------------------
  {
    name: '5.runner-fake-people',
    grammatical: true,
    make: (g) => {
      const select = base(g, {
        name: 'tags+visits',
        ctes: [],
        from: 'tags t JOIN visits v ON t.patient_id = v.patient_id',
        catalog: { unit: 'v.patient_id', dims: g.visitsDims('v'), measures: g.visitsMeasures('v'), tables: ['tags', 'visits'], rows: 'tag-visit' },
      });
      select.groups = [{ expr: 't.label', name: 'label' }];
      select.where = g.chance(0.5) ? ["t.label = 'target'"] : [];
      select.items = [
        { expr: 'count(DISTINCT t.tag_id)', name: 'tagged', sig: null },
        { expr: 'sum(v.cost)', name: 'cost', sig: 'sum:cost@tag-visit' },
        { expr: 'avg(v.los)', name: 'los', sig: null },
        { expr: 'count(*)', name: 'rows_n', sig: 'count@tag-visit' },
      ];
      return single(g, select, '5.runner-fake-people', true);
    },
  },
  {
    name: '5.runner-per-unit',
    grammatical: true,
    make: (g) => {
      const select = base(g);
      select.ctes = ['per AS (SELECT t.tag_id, t.label, sum(v.cost) AS s, count(*) AS n FROM tags t JOIN visits v ON t.patient_id = v.patient_id GROUP BY t.tag_id, t.label)'];
      select.from = 'per';
      select.where = [];
      select.groups = [{ expr: 'per.label', name: 'label' }];
      select.items = [{ expr: 'sum(per.s)', name: 's', sig: null }, { expr: 'count(*)', name: 'n', sig: null }];
      // Grouped by the made-up people only, though it reads visits: the grammar may refuse it.
      return single(g, select, '5.runner-per-unit', false);
    },
  },

  // ---- 6. Oracles ----------------------------------------------------------------------------
  {
    name: '6.having-one-person-group',
    grammatical: true,
    make: (g) => {
      const select = base(g);
      select.groups = [{ expr: g.pick(['v.region', 'v.age_band']), name: 'grp' }];
      select.where = [];
      select.items = [{ expr: 'count(*)', name: 'n', sig: 'count@visit' }];
      select.having = g.pick([`avg(v.cost) > ${g.int(500, 1500)}`, `sum(v.los) > ${g.int(3, 30)}`, 'count(DISTINCT v.patient_id) = 1', `max(v.los) > ${g.int(5, 13)}`]);
      // max is refused at the top level, HAVING included.
      return single(g, select, '6.having-one-person-group', !select.having.startsWith('max('));
    },
  },
  {
    name: '6.cast-fails-for-one-value',
    grammatical: true,
    make: (g) => {
      const select = base(g);
      const expr = g.pick([
        'sum(CAST(v.cost AS SMALLINT))',
        `sum(CAST(CASE WHEN v.patient_id = ${target(g)} THEN 'x' ELSE '1' END AS INTEGER))`,
        'sum(CAST(v.los * 3000 AS SMALLINT))',
        "count(CAST(v.region AS INTEGER))",
      ]);
      // A CAST of a bare measure is still a bare measure; the others select or compute inside the aggregate.
      return single(g, withItem(select, { expr, sig: null }), '6.cast-fails-for-one-value', expr === 'sum(CAST(v.cost AS SMALLINT))', [['CAST(', 'TRY_CAST(']]);
    },
  },
  {
    name: '6.math-fails-for-one-value',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      const expr = g.pick(['sum(ln(v.los))', 'sum(sqrt(v.cost - 2000))', 'sum(100 // v.los)', 'sum(v.los * 2305843009213693952)']);
      const ref = expr.replace(/^sum\((.*)\)$/, 'sum(TRY($1))');
      return single(g, withItem(select, { expr, sig: null, ref }), '6.math-fails-for-one-value', false);
    },
  },
  {
    name: '6.aggregate-math-fails',
    grammatical: true,
    make: (g) => {
      const select = base(g);
      select.groups = [];
      const [outer, term] = g.pick([
        [`ln(__term - ${g.int(100, 400)})`, 'count(*)'],
        [`sqrt(__term - ${g.int(100, 2000)})`, 'sum(v.los)'],
        [`100 // (__term - ${g.int(100, 400)})`, 'count(*)'],
        [`CAST(__term AS TINYINT)`, 'sum(v.los)'],
      ] as const);
      const expr = outer.replace('__term', term);
      // Items without terms of their own: the reference below shows the items only.
      select.items = select.items.map((item) => ({ expr: item.expr, name: item.name, sig: item.sig }));
      const cell = single(g, withItem(select, { expr, sig: null }), '6.aggregate-math-fails', expr.startsWith('100 //'))[0] as GenCell;
      // DuckDB has no TRY over an aggregate: the reference computes the term, then the expression with TRY.
      const inner = cloneSelect(select);
      inner.items = [{ expr: term, name: '__term', sig: null }, ...select.items.slice(1)];
      const rest = select.items.slice(1).map((item) => item.name);
      const ref = `SELECT ${[`TRY(${outer}) AS attack`, ...rest].join(', ')} FROM (${cellOf({ kind: 'select', select: inner }, 'inner', 'mutant', null, false).ref}) AS __inner`;
      // Arithmetic over aggregates is in the grammar; ln, sqrt and casts of one may not be.
      return [{ ...cell, ref }];
    },
  },
  {
    name: '6.implicit-cast-in-where',
    grammatical: false,
    make: (g) => {
      const select = base(g);
      const [where, ref] = g.pick([
        ['v.age_band > 50', 'TRY_CAST(v.age_band AS INTEGER) > 50'],
        ["v.cost > 'abc'", "v.cost > TRY_CAST('abc' AS DOUBLE)"],
        ['v.region = 5', 'TRY_CAST(v.region AS INTEGER) = 5'],
      ] as const);
      select.where = [where];
      return single(g, select, '6.implicit-cast-in-where', false, [[where, ref]]);
    },
  },

  // ---- 8. Differencing ----------------------------------------------------------------------------
  {
    name: '8.union-total-without-one',
    grammatical: true,
    make: (g) => {
      const select = totals(g);
      select.groups = [];
      const without = g.pick(["v.region <> 'islands'", `v.age < ${g.facts.topThresholds.age?.[0] ?? 90}`, "v.age_band <> '90+'", `NOT (v.region = 'islands')`]);
      const all: Select = { ...select, label: 'all' };
      const rest: Select = { ...cloneSelect(select), where: [without], label: 'rest' };
      const query: Query = { kind: 'union', branches: [all, rest], orderBy: null };
      return [cellOf(query, g.nextName(), 'mutant', '8.union-total-without-one', true)];
    },
  },
  {
    name: '8.two-outputs-without-one',
    grammatical: true,
    make: (g) => {
      const select = totals(g);
      const without = g.pick(["v.region <> 'islands'", `v.age < ${g.facts.topThresholds.age?.[0] ?? 90}`, "v.age_band <> '90+'"]);
      return pair(g, select, (copy) => copy.where.push(without), '8.two-outputs-without-one', true);
    },
  },
  {
    name: '8.threshold-pair',
    grammatical: true,
    make: (g) => {
      const select = totals(g);
      const measure = g.pick(g.visitsMeasures('v'));
      return pair(g, select, (copy) => copy.where.push(`${measure.sql} < ${top(g, measure)}`), '8.threshold-pair', true);
    },
  },
  {
    name: '8.filter-pair-in-one-select',
    grammatical: true,
    make: (g) => {
      const select = totals(g);
      const without = g.pick(["v.region <> 'islands'", `v.age < ${g.facts.topThresholds.age?.[0] ?? 90}`, `v.age < ${g.facts.topThresholds.age?.[2] ?? 85}`, `v.visit_month > DATE '2023-01-01'`]);
      select.items = [...select.items, { expr: `count(*) FILTER (WHERE ${without})`, name: 'rows_rest', sig: 'count@visit' }, { expr: `sum(v.cost) FILTER (WHERE ${without})`, name: 'cost_rest', sig: 'sum:cost@visit' }];
      return single(g, select, '8.filter-pair-in-one-select', true);
    },
  },
  {
    name: '8.groups-and-total',
    grammatical: true,
    make: (g) => {
      const select = totals(g);
      select.groups = [];
      const dim = g.pick(["v.age_band", 'v.region', 'floor(v.age / 10) * 10', "CAST(v.age >= 85 AS VARCHAR)"]);
      const all: Select = { ...select, label: 'all' };
      const parts: Select = { ...cloneSelect(select), groups: [{ expr: `CAST(${dim} AS VARCHAR)`, name: 'part' }], groupStyle: 'expr' };
      return [cellOf({ kind: 'union', branches: [all, parts], orderBy: null }, g.nextName(), 'mutant', '8.groups-and-total', true)];
    },
  },
  {
    name: '8.join-drops-few',
    grammatical: true,
    make: (g) => {
      const select = totals(g);
      return pair(g, select, (copy) => (copy.from = 'visits v JOIN plans p ON v.patient_id = p.patient_id'), '8.join-drops-few', true);
    },
  },
  {
    name: '8.row-level-difference',
    grammatical: true,
    make: (g) => {
      const select = totals(g);
      const month = g.pick(g.facts.months.slice(1, 3));
      return pair(g, select, (copy) => copy.where.push(`v.visit_month >= DATE '${month}'`), '8.row-level-difference', true);
    },
  },
  {
    name: '8.rows-differ-people-same',
    grammatical: true,
    make: (g) => {
      const select = totals(g);
      const rare = g.facts.rareCells.length > 0 ? g.pick(g.facts.rareCells) : { month: g.facts.months[0] ?? '2023-01-01', ward: 'W1' };
      const without = `NOT (v.visit_month = DATE '${rare.month}' AND v.ward = '${rare.ward}')`;
      if (g.chance(0.5)) return pair(g, select, (copy) => copy.where.push(without), '8.rows-differ-people-same', true);
      select.items = [...select.items, { expr: `count(*) FILTER (WHERE ${without})`, name: 'rows_rest', sig: 'count@visit' }, { expr: `sum(v.cost) FILTER (WHERE ${without})`, name: 'cost_rest', sig: 'sum:cost@visit' }];
      return single(g, select, '8.rows-differ-people-same', true);
    },
  },
  {
    name: '8.count-star-and-count-column',
    grammatical: true,
    make: (g) => {
      // count(*) − count(m) is the number of rows with m NULL: a few people's, though both count everyone.
      const select = base(g);
      select.items = [
        { expr: 'count(*)', name: 'rows_n', sig: 'count@visit' },
        { expr: `count(${g.pick(['v.los', 'v.cost'])})`, name: 'rows_with_value', sig: 'count@visit' },
        { expr: 'count(DISTINCT v.patient_id)', name: 'people', sig: 'people' },
      ];
      return single(g, select, '8.count-star-and-count-column', true);
    },
  },
];

/** The minimum group size of the property (exported for the test's messages). */
export const propertyK = k;
