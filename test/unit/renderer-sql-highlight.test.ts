// The notebook editor's highlighter: what each piece of a notebook is coloured as, and that the
// tokens always give back the exact text (the coloured copy must line up with the textarea).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SqlToken, tokenizeSql } from '../../renderer/src/sqlHighlight.js';

/** The tokens that are not plain text, as [kind, text] pairs. */
const coloured = (source: string) => tokenizeSql(source).filter((token) => token.kind !== 'text').map((token) => [token.kind, token.text]);
const joined = (tokens: readonly SqlToken[]) => tokens.map((token) => token.text).join('');

describe('tokenizeSql', () => {
  it('marks cell markers as whole lines, with their options', () => {
    const source = '-- %% [markdown]\n-- # Readmissions\n-- %% output=by_band\nSELECT 1\n';
    assert.deepEqual(coloured(source), [
      ['marker', '-- %% [markdown]'],
      ['comment', '-- # Readmissions'],
      ['marker', '-- %% output=by_band'],
      ['keyword', 'SELECT'],
      ['number', '1'],
    ]);
  });

  it('treats "-- %%" after other text as a comment, not a cell marker', () => {
    assert.deepEqual(coloured('SELECT 1 -- %% not a cell'), [
      ['keyword', 'SELECT'],
      ['number', '1'],
      ['comment', '-- %% not a cell'],
    ]);
  });

  it('colours keywords in any case, function names by their parenthesis, and leaves other names plain', () => {
    assert.deepEqual(coloured('select age_band, COUNT (*) AS n FROM admissions a group by age_band'), [
      ['keyword', 'select'],
      ['function', 'COUNT'],
      ['keyword', 'AS'],
      ['keyword', 'FROM'],
      ['keyword', 'group'],
      ['keyword', 'by'],
    ]);
  });

  it('keeps strings whole, with doubled quotes and keywords inside', () => {
    assert.deepEqual(coloured("WHERE plan = 'O''Brien -- select'"), [
      ['keyword', 'WHERE'],
      ['string', "'O''Brien -- select'"],
    ]);
  });

  it('runs an unterminated string or block comment to the end, as the parser would', () => {
    assert.deepEqual(coloured("SELECT 'abc\nFROM t"), [
      ['keyword', 'SELECT'],
      ['string', "'abc\nFROM t"],
    ]);
    assert.deepEqual(coloured('/* note\nSELECT'), [['comment', '/* note\nSELECT']]);
  });

  it('tells quoted names, numbers and names with digits apart', () => {
    assert.deepEqual(coloured('SELECT "Patient ""Id""", 3.5e2, .5, t1.x2 FROM t1'), [
      ['keyword', 'SELECT'],
      ['quoted', '"Patient ""Id"""'],
      ['number', '3.5e2'],
      ['number', '.5'],
      ['keyword', 'FROM'],
    ]);
  });

  it('gives back the exact text for any input, merging plain runs', () => {
    const samples = [
      '',
      '\n\n',
      "-- %% output=x\r\nSELECT a.b, 'x' FROM t -- note\n/* c */ WHERE x >= 1.0;\n",
      'ünïcödé → 名前 "é" \'ß\'',
      "'",
      '-',
      '--',
      '/*',
      '.',
    ];
    for (const source of samples) {
      const tokens = tokenizeSql(source);
      assert.equal(joined(tokens), source, JSON.stringify(source));
      for (let at = 1; at < tokens.length; at += 1) {
        assert.ok(!(tokens[at]?.kind === 'text' && tokens[at - 1]?.kind === 'text'), 'adjacent plain tokens are merged');
      }
    }
  });
});
