// The renderer's base64: packet files read in the browser travel to core as base64, and exported
// packets come back that way. Checked against Node's own encoder.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { base64FromBytes, bytesFromBase64 } from '../../renderer/src/bytes.js';

describe('base64FromBytes', () => {
  it('matches Buffer for every length around the padding boundaries', () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = randomBytes(length);
      assert.equal(base64FromBytes(new Uint8Array(bytes)), bytes.toString('base64'), `length ${length}`);
    }
  });

  it('takes an ArrayBuffer, as File.arrayBuffer() gives', () => {
    const bytes = Uint8Array.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);
    assert.equal(base64FromBytes(bytes.buffer), Buffer.from(bytes).toString('base64'));
  });

  it('encodes a view at its offset, not its whole buffer', () => {
    const whole = Uint8Array.from([9, 9, 1, 2, 3, 9]);
    assert.equal(base64FromBytes(whole.subarray(2, 5)), Buffer.from([1, 2, 3]).toString('base64'));
  });

  it('handles inputs larger than one internal slice', () => {
    const bytes = randomBytes(3 * 4096 * 3 + 7);
    assert.equal(base64FromBytes(new Uint8Array(bytes)), bytes.toString('base64'));
  });
});

describe('bytesFromBase64', () => {
  it('round-trips with Buffer, padded and unpadded', () => {
    for (let length = 0; length <= 40; length++) {
      const bytes = randomBytes(length);
      const text = bytes.toString('base64');
      assert.deepEqual(Buffer.from(bytesFromBase64(text)), bytes, `length ${length}`);
      assert.deepEqual(Buffer.from(bytesFromBase64(text.replace(/=+$/u, ''))), bytes, `length ${length} unpadded`);
    }
  });

  it('refuses characters outside the alphabet and impossible lengths', () => {
    assert.throws(() => bytesFromBase64('ab-d'), /unexpected character at position 2/);
    assert.throws(() => bytesFromBase64('abcd e=='), /unexpected character/);
    assert.throws(() => bytesFromBase64('abcde'), /wrong length/);
  });
});
