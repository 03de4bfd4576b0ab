import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { canonicalString, decodeCanonical, encodeCanonical, hashCanonical, maxCanonicalDepth } from '../../shared/canonical.js';
import { cryptoReady } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function refusedAs(pattern: RegExp, code = 'BAD_PACKET') {
  return (error: unknown): boolean => {
    assert.ok(error instanceof CleanroomError, `expected a CleanroomError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  };
}

function nested(depth: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

/** A small deterministic generator, so a failing case can be reproduced. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomValue(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 5 : 7));
  const alphabet = ['a', 'Z', ' ', '"', '\\', '\n', '\u0000', 'é', '€', '\u2028', '\u{1F600}', '\ud800', '/'];
  const text = (): string => Array.from({ length: Math.floor(next() * 6) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return Math.floor((next() - 0.5) * 2 * Number.MAX_SAFE_INTEGER) || 0;
    case 3:
    case 4:
      return text();
    case 5:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default: {
      const record: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 4); i > 0; i--) record[text()] = randomValue(next, depth + 1);
      return record;
    }
  }
}

describe('canonical encoding', () => {
  before(() => cryptoReady());

  it('writes sorted keys and no whitespace', () => {
    assert.equal(canonicalString({ b: 1, a: [true, null, 'x'], c: { z: -2, y: 'é' } }), '{"a":[true,null,"x"],"b":1,"c":{"y":"é","z":-2}}');
    assert.deepEqual(encodeCanonical({ a: 'é' }), bytes('{"a":"é"}'));
  });

  it('sorts keys by UTF-16 code units, not by code point', () => {
    // U+1F600 is stored as the surrogates D83D DE00, which sort before U+FFFF.
    assert.equal(canonicalString({ '\uffff': 1, '\u{1F600}': 2, B: 3, a: 4 }), '{"B":3,"a":4,"\u{1F600}":2,"\uffff":1}');
  });

  it('escapes strings exactly as JSON.stringify does', () => {
    const awkward = 'quote " backslash \\ newline \n nul \u0000 line-separator \u2028 lone \ud800 slash /';
    assert.equal(canonicalString(awkward), JSON.stringify(awkward));
    assert.equal(decodeCanonical(encodeCanonical(awkward)), awkward);
  });

  it('gives the same bytes and hash whatever order the keys were added in', () => {
    const first = { name: 'Readmissions', members: [1, 2], policy: { k: 10, mode: 'aggregate' } };
    const second = { policy: { mode: 'aggregate', k: 10 }, members: [1, 2], name: 'Readmissions' };
    assert.deepEqual(encodeCanonical(first), encodeCanonical(second));
    assert.equal(hashCanonical(first), hashCanonical(second));
    assert.match(hashCanonical(first), /^[0-9a-f]{64}$/);
    assert.notEqual(hashCanonical(first), hashCanonical({ ...first, name: 'Readmission' }));
  });

  it('refuses numbers that are not safe integers', () => {
    for (const number of [1.5, -0, Number.NaN, Infinity, -Infinity, 2 ** 53, 1e300]) {
      assert.throws(() => encodeCanonical({ n: number }), refusedAs(/n is/, 'INTERNAL'), String(number));
    }
    assert.equal(canonicalString([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0]), '[9007199254740991,-9007199254740991,0]');
  });

  it('refuses undefined, holes and anything that is not plain JSON data', () => {
    class Point {
      x = 1;
    }
    const refused: [string, unknown][] = [
      ['undefined field', { a: undefined }],
      ['undefined item', [1, undefined]],
      // eslint-disable-next-line no-sparse-arrays
      ['hole', [1, , 3]],
      ['bytes', { payload: new Uint8Array([1, 2]) }],
      ['date', { at: new Date(0) }],
      ['map', new Map()],
      ['class instance', new Point()],
      ['function', { f: () => 1 }],
      ['bigint', { n: 1n }],
      ['symbol', Symbol('s')],
      ['symbol key', { [Symbol('s')]: 1 }],
      ['bare undefined', undefined],
    ];
    for (const [label, value] of refused) assert.throws(() => encodeCanonical(value), refusedAs(/Cannot encode canonically/, 'INTERNAL'), label);
    assert.equal(canonicalString(Object.assign(Object.create(null) as object, { a: 1 })), '{"a":1}');
  });

  it('refuses values nested more than the maximum depth', () => {
    assert.equal(canonicalString(nested(maxCanonicalDepth)).length, maxCanonicalDepth * 2);
    assert.throws(() => encodeCanonical(nested(maxCanonicalDepth + 1)), refusedAs(/nested more than 64/, 'INTERNAL'));
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    assert.throws(() => encodeCanonical(cycle), refusedAs(/nested more than/, 'INTERNAL'));
  });
});

describe('canonical decoding', () => {
  it('accepts exactly the canonical bytes and returns the value', () => {
    const value = { format: 'x/1', list: [1, -2, 'three', false, null, {}], nested: { b: [], a: '' } };
    assert.deepEqual(decodeCanonical(encodeCanonical(value), 'header'), value);
  });

  it('refuses every other spelling of the same value', () => {
    const spellings = [
      '{"a": 1}', // space after colon
      ' {"a":1}', // leading space
      '{"a":1}\n', // trailing newline
      '{"b":1,"a":2}', // unsorted keys
      '{"a":1,"a":1}', // duplicate key
      '{"a":1.0}', // fraction
      '{"a":1e0}', // exponent
      '{"a":01}', // leading zero (not even JSON)
      '{"a":"\\u0041"}', // unnecessary escape
      '{"a":"\\/"}', // escaped slash
      '{"a":"\\u00e9"}', // escaped non-ASCII
      '{"a":-0}', // negative zero
      '\ufeff{"a":1}', // byte order mark
    ];
    for (const text of spellings) {
      assert.throws(() => decodeCanonical(bytes(text), 'header'), refusedAs(/^header is not (in canonical form|valid JSON)/), JSON.stringify(text));
    }
    assert.deepEqual(decodeCanonical(bytes('{"a":1}'), 'header'), { a: 1 });
  });

  it('refuses floats and out-of-range integers even when written plainly', () => {
    assert.throws(() => decodeCanonical(bytes('[1.5]')), refusedAs(/not in canonical form: \[0\] is not a safe integer/));
    assert.throws(() => decodeCanonical(bytes('9007199254740993')), refusedAs(/not in canonical form/));
  });

  it('refuses bytes that are not UTF-8', () => {
    const cases: [string, number[]][] = [
      ['invalid byte', [0x22, 0xff, 0x22]],
      ['overlong slash', [0x22, 0xc0, 0xaf, 0x22]],
      ['lone continuation', [0x22, 0x80, 0x22]],
      ['truncated sequence', [0x22, 0xe2, 0x82, 0x22]],
      ['encoded surrogate', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ];
    for (const [label, raw] of cases) assert.throws(() => decodeCanonical(new Uint8Array(raw), 'entry'), refusedAs(/^entry is not valid UTF-8$/), label);
  });

  it('refuses input that is not JSON', () => {
    for (const text of ['', '{', '{"a":1', 'undefined', "{'a':1}", '[1,]', 'NaN']) {
      assert.throws(() => decodeCanonical(bytes(text), 'header'), refusedAs(/^header is not valid JSON$/), JSON.stringify(text));
    }
  });

  it('refuses deep nesting and oversized input before parsing', () => {
    assert.deepEqual(decodeCanonical(bytes('['.repeat(64) + ']'.repeat(64))), nested(64));
    assert.throws(() => decodeCanonical(bytes('['.repeat(100_000) + ']'.repeat(100_000))), refusedAs(/nested more than 64 levels/));
    assert.throws(() => decodeCanonical(bytes('[[[1]]]'), 'header', { maxDepth: 2 }), refusedAs(/nested more than 2 levels/));
    // Brackets inside strings are text, not nesting.
    assert.equal(decodeCanonical(bytes(JSON.stringify('['.repeat(100)))), '['.repeat(100));
    assert.throws(() => decodeCanonical(bytes('"' + 'x'.repeat(100) + '"'), 'header', { maxBytes: 64 }), refusedAs(/^header is too large \(102 bytes; at most 64\)$/));
  });

  it('round-trips random values, and no changed byte decodes to the same value', () => {
    const next = seededRandom(20240611);
    for (let round = 0; round < 300; round++) {
      const value = randomValue(next, 0);
      const encoded = encodeCanonical(value);
      const decoded = decodeCanonical(encoded);
      assert.deepEqual(decoded, value);
      assert.deepEqual(encodeCanonical(decoded), encoded);
      const position = Math.floor(next() * encoded.length);
      const changed = encoded.slice();
      changed[position] = (changed[position] ?? 0) ^ (1 << Math.floor(next() * 8));
      let other: unknown;
      try {
        other = decodeCanonical(changed);
      } catch (error) {
        assert.ok(error instanceof CleanroomError && error.code === 'BAD_PACKET');
        continue;
      }
      assert.notDeepEqual(other, value, `round ${round}: a changed byte decoded to the same value`);
    }
  });
});
