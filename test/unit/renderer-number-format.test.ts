// How numbers read in output tables, coefficients and scored predictions (renderer/src/numberFormat.ts).
// Always in a named locale: the machine running the tests may use another.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCoefficient } from '../../renderer/src/model.js';
import { formatNumber, formatNumberText } from '../../renderer/src/numberFormat.js';
import { formatValue } from '../../renderer/src/scales.js';
import { columnWidths, maxColumnWidth } from '../../renderer/src/windowing.js';

const en = { locale: 'en-US' };

describe('formatting numbers for reading', () => {
  it('groups whole numbers and keeps every digit', () => {
    assert.equal(formatNumber(0, en), '0');
    assert.equal(formatNumber(-0, en), '0');
    assert.equal(formatNumber(7, en), '7');
    assert.equal(formatNumber(12480, en), '12,480');
    assert.equal(formatNumber(-1234567, en), '-1,234,567');
    assert.equal(formatNumber(24.0, en), '24');
  });

  it('gives |x| ≥ 100 at most two decimals', () => {
    assert.equal(formatNumber(504.0134920634921, en), '504.01');
    assert.equal(formatNumber(100.5, en), '100.5');
    assert.equal(formatNumber(1234567.891, en), '1,234,567.89');
    assert.equal(formatNumber(-2500.004, en), '-2,500');
  });

  it('gives |x| < 100 four significant digits, without trailing zeros', () => {
    assert.equal(formatNumber(10 / 24, en), '0.4167');
    assert.equal(formatNumber(0.5, en), '0.5');
    assert.equal(formatNumber(12.3456, en), '12.35');
    assert.equal(formatNumber(-3.14159, en), '-3.142');
    assert.equal(formatNumber(0.00123456, en), '0.001235');
    assert.equal(formatNumber(99.99951, en), '100');
  });

  it('writes the very small and the very large in scientific notation', () => {
    assert.equal(formatNumber(0.0000123456, en), '1.235E-5');
    assert.equal(formatNumber(-4.2e-9, en), '-4.2E-9');
    assert.equal(formatNumber(1.5e20, en), '1.5E20');
  });

  it('writes NaN and infinities as they are', () => {
    assert.equal(formatNumber(Number.NaN, en), 'NaN');
    assert.equal(formatNumber(Number.POSITIVE_INFINITY, en), 'Infinity');
  });

  it('follows the locale it is given', () => {
    assert.equal(formatNumber(1234567.891, { locale: 'de-DE' }), '1.234.567,89');
    assert.equal(formatNumber(10 / 24, { locale: 'de-DE' }), '0,4167');
    assert.equal(formatNumber(12480, { locale: 'fr-FR' }), '12\u202f480');
  });

  it('writes the sign when asked, as coefficients are', () => {
    assert.equal(formatNumber(0.412345, { ...en, signed: true }), '+0.4123');
    assert.equal(formatNumber(-1.2749, { ...en, signed: true }), '-1.275');
    assert.equal(formatNumber(0, { ...en, signed: true }), '0');
    assert.equal(formatCoefficient(12345.6, 'en-US'), '+12,345.6');
    assert.equal(formatCoefficient(-0.00012, 'en-US'), '-0.00012');
    assert.equal(formatCoefficient(-0.000012, 'en-US'), '-1.2E-5');
  });

  it('formats DuckDB’s text for a number, whole numbers exactly', () => {
    assert.equal(formatNumberText('504.0134920634921', en), '504.01');
    assert.equal(formatNumberText('12480', en), '12,480');
    assert.equal(formatNumberText('-7', en), '-7');
    assert.equal(formatNumberText('24.0', en), '24');
    assert.equal(formatNumberText('12.500', en), '12.5');
    assert.equal(formatNumberText('1.5e+20', en), '1.5E20');
    // HUGEINT's largest: beyond a double's 53 bits, still every digit.
    assert.equal(formatNumberText('170141183460469231731687303715884105727', en), '170,141,183,460,469,231,731,687,303,715,884,105,727');
    assert.equal(formatNumberText('nan', en), 'nan');
    assert.equal(formatNumberText('-inf', en), '-inf');
  });

  it('is the rule chart labels follow too', () => {
    assert.equal(formatValue(504.0134920634921), '504.01');
    assert.equal(formatValue(0.5), '0.5');
  });
});

describe('output table columns', () => {
  it('are wide enough for their header in its bold and monospaced fonts', () => {
    const [rate, type] = columnWidths(
      [
        { name: 'readmission_rate', type: 'DOUBLE' },
        { name: 'x', type: 'TIMESTAMP WITH TIME ZONE' },
      ],
      [['0.4167', '2025-01-01 00:00:00+00']],
    );
    // 16 bold characters and 24 monospaced ones, plus padding.
    assert.ok((rate as number) >= Math.floor(16 * 8.4 + 28));
    assert.ok((type as number) >= Math.floor(24 * 7 + 28));
    const [long] = columnWidths([{ name: 'n'.repeat(60), type: 'BIGINT' }], []);
    assert.equal(long, maxColumnWidth);
  });
});
