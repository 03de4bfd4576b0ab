// A bounded, deterministic run of the packet fuzzer (`npm run fuzz` runs it for longer): random
// bytes and mutated packets (cleanroom-packet/1, and /2 with payloads), each either accepted as
// exactly what its sender signed or refused with BAD_PACKET / NOT_A_MEMBER — never another exception.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { cryptoReady } from '../../shared/crypto.js';
import { buildFuzzCorpus, caseSeed, type FuzzCorpus, judgeFuzzInput, makeFuzzInput, refusalKind } from '../support/packet-fuzz.js';

const baseSeed = 20250301;
const cases = 2000;

describe('packet fuzzing (bounded)', () => {
  let corpus: FuzzCorpus;

  before(async () => {
    await cryptoReady();
    corpus = buildFuzzCorpus();
  });

  it(`survives ${cases} seeded cases with only accepted, BAD_PACKET or NOT_A_MEMBER`, () => {
    const outcomes = new Map<string, number>();
    const refusals = new Set<string>();
    for (let index = 0; index < cases; index++) {
      const seed = caseSeed(baseSeed, index);
      const input = makeFuzzInput(corpus, seed);
      const verdict = judgeFuzzInput(corpus, input);
      if (verdict.outcome === 'FAILED') {
        assert.fail(`case ${index} (seed ${seed}, ${input.mutation}): ${verdict.detail}\nbytes (base64): ${Buffer.from(input.bytes).toString('base64')}`);
      }
      outcomes.set(verdict.outcome, (outcomes.get(verdict.outcome) ?? 0) + 1);
      if (verdict.outcome === 'BAD_PACKET') refusals.add(refusalKind(verdict.detail));
    }
    // The generator reaches every layer, not just the first check.
    for (const outcome of ['accepted', 'BAD_PACKET', 'NOT_A_MEMBER']) assert.ok((outcomes.get(outcome) ?? 0) > 0, `some cases end ${outcome}`);
    const reached = [...refusals].join('\n');
    for (const check of [/^packet size|does not start with/m, /^header length/m, /^packet header is not/m, /^packet header: /m, /^header signature/m, /^frame N of N is N bytes/m, /truncated/m, /unexpected bytes/m, /^ciphertext hash/m, /does not decrypt/m, /tagged/m, /sealed to you/m, /^packet contents is not/m, /^packet contents: /m, /^payload N of N \(…\) does not match its hash in the signed header/m, /after the last payload/m, /^packet is truncated: it is N bytes, and its header, frames and N payloads? take N/m]) {
      assert.match(reached, check);
    }
  });
});
