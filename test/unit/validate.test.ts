import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { array, integer, nullable, object, oneOf, optional, parse, string, variants } from '../../shared/validate.js';

describe('validators', () => {
  const person = object({ name: string({ min: 1, max: 10 }), age: optional(integer({ min: 0 })), tags: array(oneOf(['a', 'b'])) });

  it('accepts a value of the right shape and returns it typed', () => {
    const result = parse(person, { name: 'Ann', tags: ['a'] });
    assert.deepEqual(result, { ok: true, value: { name: 'Ann', tags: ['a'] } });
  });

  it('names the path of the first problem', () => {
    const result = parse(person, { name: 'Ann', tags: ['a', 'c'] });
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(result.issue.path, 'tags[1]');
      assert.match(result.issue.message, /one of: a, b/);
    }
  });

  it('refuses unknown fields instead of ignoring them', () => {
    const result = parse(person, { name: 'Ann', tags: [], admin: true });
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.issue.message, /unknown field "admin"/);
  });

  it('refuses missing required fields, wrong types, and out-of-range numbers', () => {
    assert.equal(parse(person, { tags: [] }).ok, false);
    assert.equal(parse(person, { name: 5, tags: [] }).ok, false);
    assert.equal(parse(person, { name: 'Ann', age: -1, tags: [] }).ok, false);
    assert.equal(parse(person, { name: 'Ann', age: 1.5, tags: [] }).ok, false);
    assert.equal(parse(person, null).ok, false);
    assert.equal(parse(person, []).ok, false);
    assert.equal(parse(string({ max: 3 }), 'abcd').ok, false);
  });

  it('checks a discriminated union by its tag and keeps the tag', () => {
    const message = variants('kind', { ping: object({ id: integer() }), stop: object({}) });
    assert.deepEqual(parse(message, { kind: 'ping', id: 3 }), { ok: true, value: { kind: 'ping', id: 3 } });
    assert.equal(parse(message, { kind: 'pong', id: 3 }).ok, false);
    assert.equal(parse(message, { kind: 'ping', id: 'x' }).ok, false);
    assert.equal(parse(message, { kind: 'stop', extra: 1 }).ok, false);
  });

  it('treats null explicitly', () => {
    assert.deepEqual(parse(nullable(integer()), null), { ok: true, value: null });
    assert.equal(parse(integer(), null).ok, false);
  });
});
