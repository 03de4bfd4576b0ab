// Random aggregate-mode queries from the grammar of issue 17 (.scratch/SPEC.md, docs/policy.md):
// room tables joined on privacy units and join keys (INNER/LEFT), public lookups joined on a
// dimension, row-level and per-unit CTEs and derived tables, WHERE over dimensions and measures
// against literals and parameters, GROUP BY dimension expressions (buckets, date_trunc, CASE over a
// dimension…), count/count(DISTINCT unit)/sum/avg/var/stddev/corr/regr_* of measures (or measures
// scaled by constants) with FILTER over dimensions, arithmetic over aggregates, HAVING, ORDER BY,
// LIMIT, UNION ALL of a total with its parts, and post-processing cells over earlier outputs.
// Seeded: the same seed gives the same queries.
import { ageBands, type Facts, labels, plans, regions, wards } from './data.js';
import { type Catalog, cellOf, type Dim, type GenCell, type Item, type Measure, type Query, type Select } from './query.js';

export type Random = () => number;

export const pickOf =
  (random: Random) =>
  <T>(values: readonly T[]): T =>
    values[Math.floor(random() * values.length)] as T;

/** Notebook parameters every generated notebook declares (getvariable('…') in WHERE). */
export const notebookParameters: readonly { readonly name: string; readonly value: string }[] = [
  { name: 'min_age', value: '40' },
  { name: 'chosen_region', value: "'north'" },
  { name: 'since', value: "DATE '2023-04-01'" },
];

const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;

// ---- Sources --------------------------------------------------------------------------------------

export interface SourceShape {
  readonly name: string;
  readonly ctes: string[];
  readonly from: string;
  readonly catalog: Catalog;
}

export class Generator {
  readonly pick: <T>(values: readonly T[]) => T;
  private counter = 0;

  constructor(
    readonly random: Random,
    readonly facts: Facts,
  ) {
    this.pick = pickOf(random);
  }

  chance(probability: number): boolean {
    return this.random() < probability;
  }

  int(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low + 1));
  }

  nextName(): string {
    this.counter += 1;
    return `q${this.counter}`;
  }

  // Columns of each room table under an alias.
  visitsDims(alias: string): Dim[] {
    const a = alias === '' ? '' : `${alias}.`;
    return [
      { sql: `${a}region`, type: 'text', values: [...regions, 'islands'].map(quote) },
      { sql: `${a}age_band`, type: 'text', values: [...ageBands, '90+'].map(quote) },
      { sql: `${a}age`, type: 'int', values: ['30', '40', '50', '65', '80', String(this.facts.topThresholds.age?.[0] ?? 90)] },
      { sql: `${a}ward`, type: 'text', values: wards.map(quote) },
      { sql: `${a}visit_month`, type: 'date', values: this.facts.months.map((month) => `DATE '${month}'`) },
      { sql: `${a}readmitted`, type: 'bool', values: ['true', 'false'] },
    ];
  }

  measure(sql: string, name: string, type: 'double' | 'int'): Measure {
    return { sql, name, type, samples: this.facts.sampleValues[name] ?? [1, 10, 100], tops: this.facts.topThresholds[name] ?? [] };
  }

  visitsMeasures(alias: string): Measure[] {
    const a = alias === '' ? '' : `${alias}.`;
    return [this.measure(`${a}cost`, 'cost', 'double'), this.measure(`${a}los`, 'los', 'int')];
  }

  plansDims(alias: string): Dim[] {
    return [{ sql: `${alias}.plan`, type: 'text', values: plans.map(quote) }];
  }

  plansMeasures(alias: string): Measure[] {
    return [this.measure(`${alias}.premium`, 'premium', 'double')];
  }

  wardsDims(alias: string): Dim[] {
    return [
      { sql: `${alias}.ward_type`, type: 'text', values: ["'medical'", "'surgical'"] },
      { sql: `${alias}.floor`, type: 'int', values: ['1', '2', '3'] },
    ];
  }

  /** A FROM clause from the grammar, with what it offers. */
  source(): SourceShape {
    const shapes: (() => SourceShape)[] = [
      () => ({ name: 'visits', ctes: [], from: 'visits v', catalog: { unit: 'v.patient_id', dims: this.visitsDims('v'), measures: this.visitsMeasures('v'), tables: ['visits'], rows: 'visit' } }),
      () => ({ name: 'visits-bare', ctes: [], from: 'visits', catalog: { unit: 'patient_id', dims: this.visitsDims(''), measures: this.visitsMeasures(''), tables: ['visits'], rows: 'visit' } }),
      () => {
        const join = this.pick(['JOIN', 'LEFT JOIN', 'INNER JOIN']);
        const on = this.chance(0.2) ? 'USING (patient_id)' : 'ON v.patient_id = p.patient_id';
        const unit = on.startsWith('USING') ? 'patient_id' : 'v.patient_id';
        return {
          name: 'visits+plans',
          ctes: [],
          from: `visits v ${join} plans p ${on}`,
          catalog: { unit, dims: [...this.visitsDims('v'), ...this.plansDims('p')], measures: [...this.visitsMeasures('v'), ...this.plansMeasures('p')], tables: ['visits', 'plans'], rows: 'visit' },
        };
      },
      () => ({
        name: 'plans',
        ctes: [],
        from: 'plans p',
        catalog: { unit: 'p.patient_id', dims: this.plansDims('p'), measures: this.plansMeasures('p'), tables: ['plans'], rows: 'people' },
      }),
      () => ({
        name: 'plans+visits',
        ctes: [],
        from: `plans p ${this.pick(['JOIN', 'LEFT JOIN'])} visits v ON p.patient_id = v.patient_id`,
        catalog: { unit: 'p.patient_id', dims: [...this.plansDims('p'), ...this.visitsDims('v')], measures: [...this.plansMeasures('p'), ...this.visitsMeasures('v')], tables: ['visits', 'plans'], rows: 'plan-visit' },
      }),
      () => ({
        name: 'visits+wards',
        ctes: [],
        from: `visits v ${this.pick(['JOIN', 'LEFT JOIN'])} wards w ON v.ward = w.ward`,
        catalog: { unit: 'v.patient_id', dims: [...this.visitsDims('v'), ...this.wardsDims('w')], measures: this.visitsMeasures('v'), tables: ['visits', 'wards'], rows: 'visit' },
      }),
      () => ({
        name: 'visits+plans+wards',
        ctes: [],
        from: 'visits v LEFT JOIN plans p ON v.patient_id = p.patient_id JOIN wards w ON w.ward = v.ward',
        catalog: {
          unit: 'v.patient_id',
          dims: [...this.visitsDims('v'), ...this.plansDims('p'), ...this.wardsDims('w')],
          measures: [...this.visitsMeasures('v'), ...this.plansMeasures('p')],
          tables: ['visits', 'plans', 'wards'],
          rows: 'visit',
        },
      }),
      () => ({
        name: 'tags+visits',
        ctes: [],
        from: 'tags t JOIN visits v ON t.patient_id = v.patient_id',
        catalog: {
          unit: 'v.patient_id',
          dims: [...this.visitsDims('v'), { sql: 't.label', type: 'text', values: [...labels, 'target'].map(quote) }],
          measures: [...this.visitsMeasures('v'), this.measure('t.weight', 'weight', 'double')],
          tables: ['tags', 'visits'],
          rows: 'tag-visit',
        },
      }),
      () => this.rowLevelSource(),
      () => this.perUnitSource(),
    ];
    return this.pick(shapes)();
  }

  /** A row-level CTE or derived table: renamed columns, a scaled measure, a WHERE. */
  rowLevelSource(): SourceShape {
    const where = this.chance(0.6) ? ` WHERE ${this.predicate(this.visitsDims(''), this.visitsMeasures(''))}` : '';
    const body = `SELECT patient_id, region AS area, age, visit_month, readmitted, cost / 1000 AS cost_k, los FROM visits${where}`;
    const dims: Dim[] = [
      { sql: 'b.area', type: 'text', values: [...regions, 'islands'].map(quote) },
      { sql: 'b.age', type: 'int', values: ['30', '50', '65', '80'] },
      { sql: 'b.visit_month', type: 'date', values: this.facts.months.map((month) => `DATE '${month}'`) },
      { sql: 'b.readmitted', type: 'bool', values: ['true', 'false'] },
    ];
    const costK: Measure = { sql: 'b.cost_k', name: 'cost_k', type: 'double', samples: (this.facts.sampleValues.cost ?? []).map((value) => value / 1000), tops: (this.facts.topThresholds.cost ?? []).map((value) => value / 1000) };
    const catalog: Catalog = { unit: 'b.patient_id', dims, measures: [costK, this.measure('b.los', 'los', 'int')], tables: ['visits'], rows: 'visit' };
    return this.chance(0.5)
      ? { name: 'row-cte', ctes: [`base AS (${body})`], from: 'base b', catalog }
      : { name: 'row-derived', ctes: [], from: `(${body}) b`, catalog };
  }

  /** A per-unit pre-aggregation (GROUP BY the privacy unit), maybe joined to plans. */
  perUnitSource(): SourceShape {
    const where = this.chance(0.4) ? ` WHERE ${this.predicate(this.visitsDims(''), [])}` : '';
    const body = `SELECT patient_id, region, age_band, count(*) AS n_visits, sum(cost) AS total_cost, avg(los) AS mean_los FROM visits${where} GROUP BY patient_id, region, age_band`;
    const dims: Dim[] = [
      { sql: 'per.region', type: 'text', values: [...regions, 'islands'].map(quote) },
      { sql: 'per.age_band', type: 'text', values: [...ageBands, '90+'].map(quote) },
    ];
    const measures: Measure[] = [
      { sql: 'per.n_visits', name: 'n_visits', type: 'int', samples: [2, 3, 5], tops: [5, 6] },
      { sql: 'per.total_cost', name: 'total_cost', type: 'double', samples: [1000, 3000, 5000], tops: [8000, 100_000] },
      { sql: 'per.mean_los', name: 'mean_los', type: 'double', samples: [3, 7, 10], tops: [12, 13] },
    ];
    const derived = this.chance(0.3);
    const head = derived ? { ctes: [], from: `(${body}) per` } : { ctes: [`per AS (${body})`], from: 'per' };
    if (this.chance(0.35)) {
      return {
        name: 'per-unit+plans',
        ctes: head.ctes,
        from: `${head.from} JOIN plans p ON per.patient_id = p.patient_id`,
        catalog: { unit: 'per.patient_id', dims: [...dims, ...this.plansDims('p')], measures: [...measures, ...this.plansMeasures('p')], tables: ['visits', 'plans'], rows: 'people' },
      };
    }
    return { name: 'per-unit', ctes: head.ctes, from: head.from, catalog: { unit: 'per.patient_id', dims, measures, tables: ['visits'], rows: 'people' } };
  }

  // ---- Expressions ----------------------------------------------------------------------------

  /** A dimension expression of the grammar, with its type (text for CASE results). */
  dimensionExpression(dim: Dim): string {
    const d = dim.sql;
    switch (dim.type) {
      case 'text':
        return this.pick([d, d, `upper(${d})`, `substr(${d}, 1, 2)`, `CASE WHEN ${d} IN (${dim.values.slice(0, 2).join(', ')}) THEN 'first' ELSE 'rest' END`, `lower(${d})`]);
      case 'int':
        return this.pick([d, `floor(${d} / 10) * 10`, `CASE WHEN ${d} < ${this.pick(dim.values)} THEN 'low' ELSE 'high' END`, `round(${d} / 20)`, `CAST(${d} / 25 AS INTEGER)`]);
      case 'date':
        return this.pick([`date_trunc('quarter', ${d})`, `month(${d})`, `year(${d})`, `date_part('quarter', ${d})`, d, `date_trunc('month', ${d})`]);
      case 'bool':
        return this.pick([d, `CAST(${d} AS INTEGER)`, `CASE WHEN ${d} THEN 'yes' ELSE 'no' END`]);
    }
  }

  dimensionPredicate(dim: Dim): string {
    const d = dim.sql;
    const value = this.pick(dim.values);
    switch (dim.type) {
      case 'text': {
        const options = [`${d} = ${value}`, `${d} <> ${value}`, `${d} IN (${dim.values.slice(0, 1 + this.int(1, 2)).join(', ')})`, `${d} LIKE '${value.slice(1, 2)}%'`, `${d} IS NOT NULL`];
        if (/region|area/.test(d)) options.push(`${d} = getvariable('chosen_region')`);
        return this.pick(options);
      }
      case 'int': {
        const options = [`${d} >= ${value}`, `${d} < ${value}`, `${d} BETWEEN ${value} AND ${Number(value) + this.int(5, 30)}`];
        if (/age/.test(d)) options.push(`${d} >= getvariable('min_age')`);
        return this.pick(options);
      }
      case 'date':
        return this.pick([`${d} >= ${value}`, `${d} < ${value}`, `${d} >= getvariable('since')`, `${d} BETWEEN ${value} AND DATE '2023-10-01'`]);
      case 'bool':
        return this.pick([`${d} = true`, `${d} = false`, `NOT ${d}`, d]);
    }
  }

  measurePredicate(measure: Measure): string {
    const m = measure.sql;
    const value = String(this.pick(measure.samples.length > 0 ? measure.samples : [1]));
    return this.pick([`${m} > ${value}`, `${m} <= ${value}`, `${m} IS NOT NULL`, `${m} BETWEEN ${value} AND ${Number(value) * 2 + 1}`, `${m} >= 0`]);
  }

  /** A WHERE condition: one or two comparisons, AND/OR/NOT. */
  predicate(dims: readonly Dim[], measures: readonly Measure[]): string {
    const one = (): string => (measures.length > 0 && this.chance(0.25) ? this.measurePredicate(this.pick(measures)) : this.dimensionPredicate(this.pick(dims)));
    const roll = this.random();
    if (roll < 0.6) return one();
    if (roll < 0.8) return `${one()} AND ${one()}`;
    if (roll < 0.93) return `(${one()} OR ${one()})`;
    return `NOT (${one()})`;
  }

  /** A value aggregate's argument: a bare measure or one scaled by constants. */
  scaled(measure: Measure): { sql: string; scale: string } {
    const roll = this.random();
    if (roll < 0.75) return { sql: measure.sql, scale: '' };
    if (roll < 0.85) return { sql: `${measure.sql} * 1.5`, scale: '*1.5' };
    if (roll < 0.95) return { sql: `${measure.sql} / 100`, scale: '/100' };
    return { sql: `-${measure.sql}`, scale: 'neg' };
  }

  /** One aggregate term with its signature, and the terms an avg is made of (sum and count). */
  term(catalog: Catalog): { sql: string; sig: string | null; parts: string[] } {
    const { measures, unit } = catalog;
    const rows = catalog.rows === 'people' ? 'people' : `count@${catalog.rows}`;
    const sumRows = catalog.rows === 'plan-visit' ? 'visit' : catalog.rows;
    const filter = this.chance(0.2) ? ` FILTER (WHERE ${this.dimensionPredicate(this.pick(catalog.dims))})` : '';
    const one = (sql: string, sig: string | null) => ({ sql, sig, parts: [sql] });
    const roll = this.random();
    if (roll < 0.2 || measures.length === 0) return one(`count(*)${filter}`, rows);
    if (roll < 0.27) return one(`count(${this.pick(measures).sql})${filter}`, rows);
    if (roll < 0.37 && unit !== null) return one(`count(DISTINCT ${unit})${filter}`, 'people');
    const measure = this.pick(measures);
    const argument = this.scaled(measure);
    if (roll < 0.6) return one(`sum(${argument.sql})${filter}`, argument.scale === '' ? `sum:${measure.name}@${sumRows}` : null);
    if (roll < 0.75) return { sql: `${this.pick(['avg', 'mean'])}(${argument.sql})${filter}`, sig: null, parts: [`sum(${argument.sql})${filter}`, `count(${argument.sql})${filter}`] };
    if (roll < 0.87) return one(`${this.pick(['var_samp', 'var_pop', 'stddev_samp', 'stddev_pop', 'stddev', 'variance'])}(${argument.sql})${filter}`, null);
    const other = measures.filter((candidate) => candidate.sql !== measure.sql);
    if (other.length === 0) return one(`stddev(${argument.sql})${filter}`, null);
    const second = this.pick(other);
    const fn = this.pick(['corr', 'covar_pop', 'covar_samp', 'regr_slope', 'regr_intercept', 'regr_r2', 'regr_count', 'regr_avgx', 'regr_sxx', 'regr_syy']);
    return one(`${fn}(${argument.sql}, ${second.sql})${filter}`, null);
  }

  /** A select-list item: a term, or arithmetic over terms. */
  item(catalog: Catalog, name: string): Item {
    const roll = this.random();
    const first = this.term(catalog);
    if (roll < 0.7) return first.parts.length === 1 ? { expr: first.sql, name, sig: first.sig } : { expr: first.sql, name, sig: first.sig, parts: first.parts };
    const second = this.term(catalog);
    const expr = this.pick([
      `${first.sql} / nullif(${second.sql}, 0)`,
      `100.0 * ${first.sql} / ${second.sql}`,
      `${first.sql} * 2`,
      `${first.sql} - ${second.sql}`,
      `${first.sql} + ${second.sql}`,
      `${first.sql} * 1.0 / ${second.sql}`,
    ]);
    const parts = expr.endsWith('* 2') ? first.parts : [...first.parts, ...second.parts];
    return { expr, name, sig: null, parts };
  }

  // ---- Whole queries --------------------------------------------------------------------------

  /** A single aggregate SELECT from the grammar (the base that mutations change). */
  select(shape: SourceShape = this.source()): Select {
    const { catalog } = shape;
    const where = this.chance(0.55) ? [this.predicate(catalog.dims, catalog.measures)] : [];
    const groupCount = this.pick([0, 1, 1, 1, 2, 2]);
    const groups: { expr: string; name: string }[] = [];
    const used = new Set<string>();
    for (let index = 0; index < groupCount; index++) {
      const dim = this.pick(catalog.dims);
      if (used.has(dim.sql)) continue;
      used.add(dim.sql);
      groups.push({ expr: this.dimensionExpression(dim), name: `g${index + 1}` });
    }
    const items = Array.from({ length: this.int(1, 4) }, (_, index) => this.item(catalog, `v${index + 1}`));
    const having = this.chance(0.1) ? this.pick(['count(*) >= 8', `sum(${catalog.measures[0]?.sql ?? '1'}) > 100`, 'count(*) < 1000']) : null;
    const orderBy = groups.length > 0 && this.chance(0.3) ? this.pick(['1', `${items[0]?.name ?? '1'} DESC`, `${groups.length + 1}`]) : null;
    const limit = orderBy !== null && this.chance(0.4) ? this.int(2, 6) : null;
    return {
      ctes: [...shape.ctes],
      from: shape.from,
      where,
      groups,
      groupStyle: this.pick(['expr', 'expr', 'expr', 'alias', 'position']),
      items,
      having,
      orderBy,
      limit,
      catalog,
    };
  }

  /** UNION ALL of a total and its parts (grouped by one dimension expression), same terms. */
  union(): Query {
    const shape = this.source();
    const base = this.select(shape);
    const dim = this.pick(shape.catalog.dims);
    const items = base.items;
    const total: Select = { ...base, groups: [], items, having: null, orderBy: null, limit: null, label: 'all' };
    const parts: Select = { ...base, groups: [{ expr: `CAST(${this.dimensionExpression(dim)} AS VARCHAR)`, name: 'part' }], groupStyle: 'expr', items, having: null, orderBy: null, limit: null };
    return { kind: 'union', branches: this.chance(0.5) ? [total, parts] : [parts, total], orderBy: this.chance(0.4) ? '1' : null };
  }

  /** A cell from the grammar. */
  grammarCell(): GenCell {
    const name = this.nextName();
    const query: Query = this.chance(0.12) ? this.union() : { kind: 'select', select: this.select() };
    return cellOf(query, name, 'grammar', null, true);
  }

  /** A post-processing cell over an earlier output (its key columns and value columns by name). */
  postCell(earlier: GenCell): GenCell | null {
    const columns = earlier.columns;
    const values = columns.map((column, index) => ({ column, index })).filter(({ index }) => !earlier.keys.includes(index));
    if (values.length === 0) return null;
    const value = this.pick(values).column;
    const keyNames = earlier.keys.map((index) => columns[index] as string);
    const name = this.nextName();
    const keyed = keyNames.map((_, index) => index);
    const shapes: { sql: string; keys: number[]; columns: string[] }[] = [
      { sql: `SELECT ${[...keyNames, `${value} * 2 AS doubled`, `${value} / 10.0 AS tenth`].join(', ')} FROM ${earlier.name}`, keys: keyed, columns: [...keyNames, 'doubled', 'tenth'] },
      { sql: `SELECT count(*) AS released_rows, sum(${value}) AS total, avg(${value}) AS mean FROM ${earlier.name}`, keys: [], columns: ['released_rows', 'total', 'mean'] },
      { sql: `SELECT ${[...keyNames, value].join(', ')} FROM ${earlier.name} WHERE ${value} IS NOT NULL`, keys: keyed, columns: [...keyNames, value] },
    ];
    const shape = this.pick(shapes);
    const order = shape.keys.length > 0 && this.chance(0.5) ? ' ORDER BY 1' : '';
    return {
      name,
      sql: `${shape.sql}${order}`,
      ref: shape.sql,
      keys: shape.keys,
      sigs: shape.columns.map(() => null),
      columns: shape.columns,
      partColumns: shape.columns.map(() => null),
      partSql: [],
      inputs: [earlier.name],
      tables: [],
      origin: 'post',
      mutation: null,
      grammatical: true,
    };
  }

  /** Class 4: a cell that reads an earlier output (role-free values) together with a room table. */
  bothCell(earlier: GenCell): GenCell {
    const sql = this.pick([
      `SELECT count(*) AS n, sum(v.cost) AS s FROM visits v WHERE v.age > (SELECT count(*) + 60 FROM ${earlier.name})`,
      `SELECT count(*) AS n, sum(v.cost) AS s FROM visits v CROSS JOIN (SELECT count(*) AS c FROM ${earlier.name}) o WHERE o.c >= 0`,
      `SELECT v.region AS region, count(*) AS n FROM visits v JOIN ${earlier.name} o ON v.region = CAST(o.${earlier.columns[0] ?? 'v1'} AS VARCHAR) GROUP BY v.region`,
    ]);
    const keyed = sql.startsWith('SELECT v.region');
    return {
      name: this.nextName(),
      sql,
      ref: sql,
      keys: keyed ? [0] : [],
      sigs: keyed ? [null, null] : [null, null],
      columns: keyed ? ['region', 'n'] : ['n', 's'],
      partColumns: [null, null],
      partSql: [],
      inputs: [earlier.name],
      tables: ['visits'],
      origin: 'mutant',
      mutation: '4.reads-output-and-room',
      grammatical: false,
    };
  }
}
