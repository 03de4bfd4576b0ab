// What the output viewer computes before drawing: a column's kind from its DuckDB type name, how
// DuckDB's text reads as numbers and instants, which chart an output gets, the bars and lines it
// draws, and the axes' ticks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { barData, chooseChart, defaultMeasure, extent, lineData, maxBars } from '../../renderer/src/chart.js';
import { columnKind, parseNumber, parseTemporal } from '../../renderer/src/duckdbValues.js';
import { decimalsOf, formatTick, formatValue, linearScale, niceStep, niceTicks, timeTicks } from '../../renderer/src/scales.js';

describe('column kinds from DuckDB type names', () => {
  it('reads integers, decimals, dates, times, text and booleans, with or without parameters', () => {
    const cases: Record<string, string> = {
      BIGINT: 'integer',
      HUGEINT: 'integer',
      UTINYINT: 'integer',
      INTEGER: 'integer',
      DOUBLE: 'decimal',
      FLOAT: 'decimal',
      'DECIMAL(18,3)': 'decimal',
      DATE: 'date',
      TIMESTAMP: 'timestamp',
      'TIMESTAMP WITH TIME ZONE': 'timestamp',
      TIMESTAMP_NS: 'timestamp',
      TIME: 'time',
      VARCHAR: 'text',
      "ENUM('a', 'b')": 'text',
      BOOLEAN: 'boolean',
      'VARCHAR[]': 'other',
      'INTEGER[3]': 'other',
      'STRUCT(a INTEGER)': 'other',
      BLOB: 'other',
      INTERVAL: 'other',
      bigint: 'integer',
    };
    for (const [type, kind] of Object.entries(cases)) assert.equal(columnKind(type), kind, type);
  });
});

describe('DuckDB text as values', () => {
  it('reads numbers as DuckDB writes them, and nothing else', () => {
    assert.equal(parseNumber('42'), 42);
    assert.equal(parseNumber('-1.5'), -1.5);
    assert.equal(parseNumber('1e-05'), 0.00001);
    assert.equal(parseNumber('12.50'), 12.5);
    assert.equal(parseNumber('.5'), 0.5);
    for (const text of [null, '', 'NaN', 'inf', '-inf', 'infinity', '0x10', '1,000', '12 kg', ' ']) assert.equal(parseNumber(text), null, String(text));
  });

  it('reads dates and timestamps as UTC instants, offsets applied, and refuses impossible ones', () => {
    assert.equal(parseTemporal('2025-03-14', 'date'), Date.UTC(2025, 2, 14));
    assert.equal(parseTemporal('2025-03-14 09:30:00', 'timestamp'), Date.UTC(2025, 2, 14, 9, 30));
    assert.equal(parseTemporal('2025-03-14 09:30:00.250', 'timestamp'), Date.UTC(2025, 2, 14, 9, 30, 0, 250));
    assert.equal(parseTemporal('2025-03-14 09:30:00+02', 'timestamp'), Date.UTC(2025, 2, 14, 7, 30));
    assert.equal(parseTemporal('2025-03-14 09:30:00-05:30', 'timestamp'), Date.UTC(2025, 2, 14, 15, 0));
    // Years below 100 are years, not 1900 + n as Date.UTC would read them.
    assert.equal(new Date(parseTemporal('0099-01-01', 'date') as number).getUTCFullYear(), 99);
    assert.equal(parseTemporal('2025-02-29', 'date'), null);
    assert.equal(parseTemporal('2024-02-29', 'date'), Date.UTC(2024, 1, 29));
    assert.equal(parseTemporal('2025-13-01', 'date'), null);
    assert.equal(parseTemporal('infinity', 'date'), null);
    assert.equal(parseTemporal('0044-03-15 (BC)', 'date'), null);
    assert.equal(parseTemporal(null, 'date'), null);
    assert.equal(parseTemporal('09:30:15', 'time'), (9 * 3600 + 30 * 60 + 15) * 1000);
    assert.equal(parseTemporal('24:61:00', 'time'), null);
  });
});

const readmissionColumns = [
  { name: 'age_band', type: 'VARCHAR' },
  { name: 'plan', type: 'VARCHAR' },
  { name: 'patients', type: 'BIGINT' },
  { name: 'readmission_rate', type: 'DOUBLE' },
];
const readmissionRows = [
  ['18-34', 'Basic', '12', '0.25'],
  ['18-34', 'Plus', '11', '0.3'],
  ['35-49', 'Basic', '14', '0.5'],
  ['35-49', 'Plus', '10', null],
];

describe('which chart an output gets', () => {
  it('bars for category columns with numbers: grouped by the second category when it has few values', () => {
    const choice = chooseChart(readmissionColumns, readmissionRows);
    assert.deepEqual(choice, { kind: 'bar', categories: [0, 1], series: 1, measures: [2, 3] });
    assert.equal(defaultMeasure(readmissionColumns, [2, 3]), 3);
    assert.equal(defaultMeasure(readmissionColumns, [2]), 2);
  });

  it('one category column: plain bars, every numeric column a measure', () => {
    const choice = chooseChart(
      [
        { name: 'plan', type: 'VARCHAR' },
        { name: 'n', type: 'BIGINT' },
      ],
      [['Basic', '3']],
    );
    assert.deepEqual(choice, { kind: 'bar', categories: [0], series: null, measures: [1] });
  });

  it('a line when the first column is a date or time, split by one category column', () => {
    const columns = [
      { name: 'month', type: 'DATE' },
      { name: 'plan', type: 'VARCHAR' },
      { name: 'claims', type: 'BIGINT' },
    ];
    const rows = [
      ['2025-02-01', 'Basic', '5'],
      ['2025-01-01', 'Basic', '4'],
      ['2025-01-01', 'Plus', '7'],
    ];
    const choice = chooseChart(columns, rows);
    assert.deepEqual(choice, { kind: 'line', x: 0, xKind: 'date', series: 1, measures: [2] });
    if (choice.kind !== 'line') return;
    const data = lineData(choice, 2, rows);
    assert.deepEqual(
      data.series.map((series) => [series.name, series.points.map((point) => point.y)]),
      [
        ['Basic', [4, 5]],
        ['Plus', [7]],
      ],
    );
    assert.equal(data.skipped, 0);
  });

  it('a line over an ordered number (a year), bars when the numbers are not in order', () => {
    const columns = [
      { name: 'year', type: 'INTEGER' },
      { name: 'admissions', type: 'BIGINT' },
    ];
    assert.equal(chooseChart(columns, [['2023', '5'], ['2024', '9'], ['2025', '7']]).kind, 'line');
    assert.deepEqual(chooseChart(columns, [['2024', '5'], ['2023', '9']]), { kind: 'bar', categories: [0], series: null, measures: [1] });
  });

  it('no chart without rows or without a number; a single row of numbers is one group of bars', () => {
    assert.equal(chooseChart(readmissionColumns, []).kind, 'none');
    const textOnly = chooseChart([{ name: 'plan', type: 'VARCHAR' }], [['Basic']]);
    assert.equal(textOnly.kind, 'none');
    if (textOnly.kind === 'none') assert.match(textOnly.reason, /no numeric column/);
    assert.deepEqual(chooseChart([{ name: 'n', type: 'BIGINT' }, { name: 'avg', type: 'DOUBLE' }], [['40', '0.3']]), {
      kind: 'bar',
      categories: [],
      series: null,
      measures: [0, 1],
    });
  });

  it('many values in the second category: joined into the bar labels instead of a legend', () => {
    const rows = Array.from({ length: 20 }, (_, index) => ['A', `plan${index}`, String(index)]);
    const columns = [
      { name: 'band', type: 'VARCHAR' },
      { name: 'plan', type: 'VARCHAR' },
      { name: 'n', type: 'BIGINT' },
    ];
    const choice = chooseChart(columns, rows);
    assert.deepEqual(choice, { kind: 'bar', categories: [0, 1], series: null, measures: [2] });
    if (choice.kind !== 'bar') return;
    const data = barData(choice, 2, rows);
    assert.equal(data.groups[3], 'A · plan3');
    assert.deepEqual(data.series, ['']);
  });
});

describe('bar data', () => {
  it('groups in table order, a value per series, null where a row has none', () => {
    const choice = chooseChart(readmissionColumns, readmissionRows);
    assert.equal(choice.kind, 'bar');
    if (choice.kind !== 'bar') return;
    const data = barData(choice, 3, readmissionRows);
    assert.deepEqual(data.groups, ['18-34', '35-49']);
    assert.deepEqual(data.series, ['Basic', 'Plus']);
    assert.deepEqual(data.values, [
      [0.25, 0.3],
      [0.5, null],
    ]);
    assert.equal(data.totalGroups, 2);
  });

  it('shows at most maxBars bars and says how many groups there were', () => {
    const rows = Array.from({ length: 5000 }, (_, index) => [`g${index}`, String(index)]);
    const choice = chooseChart(
      [
        { name: 'g', type: 'VARCHAR' },
        { name: 'n', type: 'BIGINT' },
      ],
      rows,
    );
    if (choice.kind !== 'bar') throw new Error('expected bars');
    const data = barData(choice, 1, rows);
    assert.ok(data.groups.length * data.series.length <= maxBars);
    assert.equal(data.totalGroups, 5000);
    assert.equal(data.groups[0], 'g0');
  });

  it('extent ignores nulls and is null for nothing', () => {
    assert.deepEqual(extent([3, null, -1, 7]), [-1, 7]);
    assert.equal(extent([null]), null);
  });
});

describe('scales and ticks', () => {
  it('maps a domain onto a range, and a flat domain to its middle', () => {
    const scale = linearScale([0, 10], [200, 0]);
    assert.equal(scale.at(0), 200);
    assert.equal(scale.at(5), 100);
    assert.equal(scale.at(10), 0);
    assert.equal(linearScale([3, 3], [0, 100]).at(3), 50);
  });

  it('picks round steps and ticks that cover the data', () => {
    assert.equal(niceStep(1, 5), 0.2);
    assert.equal(niceStep(100, 5), 20);
    assert.equal(niceStep(0.37, 5), 0.1);
    assert.deepEqual(niceTicks(0, 0.53).ticks, [0, 0.2, 0.4, 0.6]);
    assert.deepEqual(niceTicks(0, 0.3).ticks, [0, 0.1, 0.2, 0.3]);
    assert.deepEqual(niceTicks(0, 97), { min: 0, max: 100, step: 20, ticks: [0, 20, 40, 60, 80, 100] });
    const negative = niceTicks(-12, 31);
    assert.ok(negative.min <= -12 && negative.max >= 31);
    assert.ok(negative.ticks.includes(0));
    // All values equal: the axis still has a length and starts at 0 for non-negative data.
    const flat = niceTicks(5, 5);
    assert.ok(flat.min <= 5 && flat.max > 5 && flat.min >= 0);
    const zeros = niceTicks(0, 0);
    assert.ok(zeros.min === 0 && zeros.max >= 1, 'all zeros: an axis from 0 up');
  });

  it('formats ticks to the step’s precision, and big values short', () => {
    assert.equal(decimalsOf(0.25), 2);
    assert.equal(decimalsOf(2.5), 1);
    assert.equal(decimalsOf(20), 0);
    assert.equal(formatTick(0.3, 0.1), '0.3');
    assert.equal(formatTick(1200, 200), '1,200');
    assert.equal(formatTick(2_500_000, 500_000), '2.5M');
    assert.equal(formatValue(0.123456), '0.1235');
    assert.equal(formatValue(1234567), '1,234,567');
    assert.equal(formatValue(12.5), '12.5');
  });

  it('puts time ticks on whole days, months or years', () => {
    const days = timeTicks(Date.UTC(2025, 0, 1, 5), Date.UTC(2025, 0, 6), 5);
    assert.deepEqual(days.ticks, [1, 2, 3, 4, 5, 6].map((d) => Date.UTC(2025, 0, d + 1)).slice(0, 5));
    assert.equal(days.format(Date.UTC(2025, 0, 2)), '2025-01-02');
    const months = timeTicks(Date.UTC(2024, 10, 15), Date.UTC(2025, 9, 1), 4);
    assert.ok(months.ticks.every((tick) => new Date(tick).getUTCDate() === 1 && new Date(tick).getUTCHours() === 0));
    assert.match(months.format(months.ticks[0] as number), /^[A-Z][a-z]{2} \d{4}$/);
    const years = timeTicks(Date.UTC(1990, 0, 1), Date.UTC(2025, 0, 1), 5);
    assert.ok(years.ticks.every((tick) => new Date(tick).getUTCMonth() === 0 && new Date(tick).getUTCFullYear() % 5 === 0));
    assert.equal(years.format(Date.UTC(2000, 0, 1)), '2000');
  });
});
