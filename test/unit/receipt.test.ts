import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { canonicalString, encodeCanonical } from '../../shared/canonical.js';
import { concatBytes, cryptoReady, fromBase64Url, hash, toBase64Url, toHex, utf8, verify } from '../../shared/crypto.js';
import {
  encodeReceiptFile,
  maxReceiptBytes,
  outputTableHash,
  type Receipt,
  receiptSchema,
  signReceipt,
  type SignedReceipt,
  verifyReceipt,
} from '../../shared/receipt.js';
import { parse } from '../../shared/validate.js';
import { makeIdentity, minutesAfter, type TestIdentity } from '../support/room-fixtures.js';

const hex = (digit: string): string => digit.repeat(64);
const fromHex = (text: string): Uint8Array => Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));

// The test vector printed in docs/receipts.md §6: signing key from crypto_sign_seed_keypair(32 × 0x01).
const vectorSeed = new Uint8Array(32).fill(1);
const vectorRunnerHex = '8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c';
const vectorFile = '{"receipt":{"approvals":["cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"],"engine":{"cleanroom":"0.1.0","duckdb":"v1.5.5"},"failure":null,"finishedAt":"2030-03-04T09:00:07.250Z","format":"cleanroom-receipt/1","inputs":[{"asset":"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","payloadHash":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"}],"outputs":[{"hash":"b208bcbaf86fb6d6bec25b04dfd8467de3131fc94305f5c5d67d8e645a3aa0f1","name":"rates","rows":2,"suppressedRows":1}],"policy":{"minGroupSize":10,"mode":"aggregate"},"privacyBudgetSpent":null,"room":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","runner":"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w","snapshot":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","startedAt":"2030-03-04T09:00:00.000Z","status":"succeeded"},"signature":"OLOAdBOJZaP7oa2RFLVg-DBDzeCUQhmoSTD-WXhmarB6TgtptiVeKA5BM4xW_LG7_vBxEG3Fi6e0UtY29mPWAg"}\n';

function makeReceipt(runner: TestIdentity, changes: Partial<Receipt> = {}): Receipt {
  return {
    format: 'cleanroom-receipt/1',
    room: hex('1'),
    snapshot: hex('2'),
    runner: runner.ref.signPublicKey,
    approvals: [hex('3'), hex('4')],
    inputs: [
      { asset: hex('5'), payloadHash: hex('6') },
      { asset: hex('7'), payloadHash: hex('8') },
    ],
    policy: { mode: 'aggregate', minGroupSize: 10 },
    engine: { cleanroom: '0.1.0', duckdb: 'v1.5.5' },
    outputs: [{ name: 'rates', hash: outputTableHash({ columns: [{ name: 'n', type: 'BIGINT' }], rows: [['12']] }), rows: 1, suppressedRows: 2 }],
    privacyBudgetSpent: null,
    startedAt: minutesAfter(0).toISOString(),
    finishedAt: minutesAfter(1).toISOString(),
    status: 'succeeded',
    failure: null,
    ...changes,
  };
}

function refused(verdict: ReturnType<typeof verifyReceipt>, pattern?: RegExp): string {
  assert.equal(verdict.ok, false, 'expected the receipt to be refused');
  const { reason } = verdict as { ok: false; reason: string };
  assert.ok(reason.length > 0);
  if (pattern) assert.match(reason, pattern);
  return reason;
}

describe('run receipts', () => {
  let runner: TestIdentity;
  let other: TestIdentity;
  let signed: SignedReceipt;
  let file: string;

  before(async () => {
    await cryptoReady();
    runner = makeIdentity('Runner');
    other = makeIdentity('Someone Else');
    signed = signReceipt(makeReceipt(runner), runner.sign.secretKey);
    file = encodeReceiptFile(signed);
  });

  it('round-trips: sign, encode, verify as text and as an object', () => {
    assert.ok(file.endsWith('}\n'));
    assert.equal(file, `${canonicalString(signed)}\n`);
    const fromText = verifyReceipt(file, { runnerKey: runner.ref.signPublicKey });
    assert.deepEqual(fromText, { ok: true, receipt: makeReceipt(runner) });
    const fromObject = verifyReceipt(JSON.parse(file) as unknown, { runnerKey: runner.ref.signPublicKey });
    assert.deepEqual(fromObject, { ok: true, receipt: makeReceipt(runner) });
  });

  it('reproduces the documented test vector byte for byte', () => {
    // A libsodium Ed25519 secret key is seed ‖ public key.
    const secretKey = concatBytes(vectorSeed, fromHex(vectorRunnerHex));
    const runnerKey = toBase64Url(fromHex(vectorRunnerHex));
    const verdict = verifyReceipt(vectorFile, { runnerKey });
    assert.equal(verdict.ok, true);
    const receipt = (verdict as { receipt: Receipt }).receipt;
    assert.equal(encodeReceiptFile(signReceipt(receipt, secretKey)), vectorFile);
    const table = { columns: [{ name: 'age_band', type: 'VARCHAR' }, { name: 'n', type: 'BIGINT' }], rows: [['18-39', '112'], ['40-64', '240']] };
    assert.equal(verifyReceipt(vectorFile, { runnerKey, expected: { snapshot: 'b'.repeat(64), outputs: [{ name: 'rates', hash: outputTableHash(table) }] } }).ok, true);
  });

  it('signs exactly the documented string: utf8("cleanroom/receipt/v1\\n") ‖ canonical(receipt)', () => {
    const message = concatBytes(utf8('cleanroom/receipt/v1\n'), encodeCanonical(signed.receipt));
    assert.ok(verify(fromBase64Url(signed.signature), message, runner.sign.publicKey));
    assert.ok(!verify(fromBase64Url(signed.signature), encodeCanonical(signed.receipt), runner.sign.publicKey));
  });

  it('hashes outputs as documented: BLAKE2b-256 of a tag and the canonical table text', () => {
    const table = { columns: [{ name: 'band', type: 'VARCHAR' }, { name: 'n', type: 'BIGINT' }], rows: [['18-30', '12'], [null, '40']] };
    const expected = toHex(hash(concatBytes(utf8('cleanroom/output/v1\n'), encodeCanonical({ format: 'cleanroom-output/1', ...table }))));
    assert.equal(outputTableHash(table), expected);
    assert.notEqual(outputTableHash({ ...table, rows: [['18-30', '13'], [null, '40']] }), expected);
    assert.notEqual(outputTableHash({ ...table, rows: [[null, '40'], ['18-30', '12']] }), expected);
    assert.throws(() => outputTableHash({ ...table, rows: [['18-30']] }), /1 values for 2 columns/);
  });

  it('fails on every single-byte change of the encoded file, with a reason', () => {
    const bytes = utf8(file);
    const decoder = new TextDecoder('utf-8', { fatal: false });
    let checked = 0;
    for (let position = 0; position < bytes.length; position++) {
      // Every other byte value at this position would be 255 × ~1000 verifications; a spread of
      // bit flips and the printable neighbours covers each way a byte can change meaning.
      const original = bytes[position] as number;
      const replacements = new Set<number>([0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80].map((mask) => original ^ mask));
      for (const near of [original - 1, original + 1, 0x30, 0x41, 0x61, 0x22, 0x20, 0x0a]) if (near >= 0 && near <= 0xff) replacements.add(near);
      replacements.delete(original);
      for (const replacement of replacements) {
        const changed = bytes.slice();
        changed[position] = replacement;
        const verdict = verifyReceipt(decoder.decode(changed), { runnerKey: runner.ref.signPublicKey });
        if (verdict.ok) assert.fail(`byte ${position} changed from ${original} to ${replacement} still verifies`);
        assert.ok(verdict.reason.length > 0);
        checked++;
      }
    }
    assert.ok(checked > bytes.length * 8);
  });

  it('fails on every change of a signature character (including ones that decode to the same bytes)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let position = 0; position < signed.signature.length; position++) {
      for (const character of alphabet) {
        if (character === signed.signature[position]) continue;
        const signature = signed.signature.slice(0, position) + character + signed.signature.slice(position + 1);
        const verdict = verifyReceipt(encodeReceiptFile({ ...signed, signature }), { runnerKey: runner.ref.signPublicKey });
        if (verdict.ok) assert.fail(`signature character ${position} changed to ${character} still verifies`);
      }
    }
  });

  it('fails for the wrong runner key, and for a receipt signed by someone else', () => {
    refused(verifyReceipt(file, { runnerKey: other.ref.signPublicKey }), /names runner .* not the expected/);
    const forged = signReceipt(makeReceipt(other), other.sign.secretKey);
    refused(verifyReceipt(encodeReceiptFile(forged), { runnerKey: runner.ref.signPublicKey }), /not the expected/);
    const relabelled = { receipt: makeReceipt(runner), signature: forged.signature };
    refused(verifyReceipt(encodeReceiptFile(relabelled), { runnerKey: runner.ref.signPublicKey }), /signature does not verify/);
    refused(verifyReceipt(file, { runnerKey: 'not a key' }), /runner key to check against/);
    assert.throws(() => signReceipt(makeReceipt(runner), other.sign.secretKey), /not the runner/);
  });

  it('compares the outputs and snapshot the verifier holds', () => {
    const rates = signed.receipt.outputs[0];
    assert.ok(rates);
    const runnerKey = runner.ref.signPublicKey;
    assert.equal(verifyReceipt(file, { runnerKey, expected: { snapshot: hex('2'), outputs: [{ name: 'rates', hash: rates.hash }] } }).ok, true);
    const otherHash = outputTableHash({ columns: [{ name: 'n', type: 'BIGINT' }], rows: [['13']] });
    refused(verifyReceipt(file, { runnerKey, expected: { outputs: [{ name: 'rates', hash: otherHash }] } }), /^output rates differs from the receipt$/);
    refused(verifyReceipt(file, { runnerKey, expected: { outputs: [{ name: 'totals', hash: rates.hash }] } }), /output totals is not in the receipt/);
    refused(verifyReceipt(file, { runnerKey, expected: { snapshot: hex('9') } }), /is for snapshot 2+, not 9+/);
  });

  it('refuses non-canonical encodings of a genuine receipt', () => {
    const runnerKey = runner.ref.signPublicKey;
    refused(verifyReceipt(`${JSON.stringify(signed, null, 2)}\n`, { runnerKey }), /not in canonical form/);
    refused(verifyReceipt(`${JSON.stringify({ signature: signed.signature, receipt: signed.receipt })}\n`, { runnerKey }), /not in canonical form/);
    refused(verifyReceipt(file.slice(0, -1), { runnerKey }), /end with one newline/);
    refused(verifyReceipt(`${file}\n`, { runnerKey }), /canonical form|valid JSON/);
    refused(verifyReceipt(file.replace('\n', '\r\n'), { runnerKey }), /canonical form|newline/);
    refused(verifyReceipt(`\uFEFF${file}`, { runnerKey }), /valid JSON|canonical/);
  });

  it('refuses unknown fields at every level, even when signed', () => {
    const runnerKey = runner.ref.signPublicKey;
    refused(verifyReceipt(encodeReceiptFile({ ...signed, note: 'hi' } as unknown as SignedReceipt), { runnerKey }), /unknown field "note"/);
    const withExtra = (receipt: unknown): string => encodeReceiptFile({ receipt, signature: signed.signature } as unknown as SignedReceipt);
    refused(verifyReceipt(withExtra({ ...signed.receipt, extra: 1 }), { runnerKey }), /unknown field "receipt.extra"/);
    refused(verifyReceipt(withExtra({ ...signed.receipt, policy: { ...signed.receipt.policy, outputRetentionDays: 30 } }), { runnerKey }), /unknown field "receipt.policy.outputRetentionDays"/);
    const outputs = signed.receipt.outputs.map((output) => ({ ...output, columns: 3 }));
    refused(verifyReceipt(withExtra({ ...signed.receipt, outputs }), { runnerKey }), /unknown field "receipt.outputs\[0\].columns"/);
    assert.throws(() => signReceipt({ ...makeReceipt(runner), extra: true } as unknown as Receipt, runner.sign.secretKey), /unknown field/);
  });

  it('holds the schema’s rules: sorted unique lists, status and failure agree, times in order', () => {
    const problem = (changes: Partial<Receipt>): string | null => {
      const checked = parse(receiptSchema, makeReceipt(runner, changes));
      return checked.ok ? null : checked.issue.message;
    };
    assert.equal(problem({}), null);
    assert.match(problem({ approvals: [hex('4'), hex('3')] }) ?? '', /approvals must be sorted/);
    assert.match(problem({ approvals: [hex('3'), hex('3')] }) ?? '', /approvals lists 3+ twice/);
    assert.match(problem({ inputs: [{ asset: hex('7'), payloadHash: hex('8') }, { asset: hex('5'), payloadHash: hex('6') }] }) ?? '', /inputs must be sorted/);
    const output = makeReceipt(runner).outputs[0];
    assert.ok(output);
    assert.match(problem({ outputs: [output, output] }) ?? '', /outputs lists rates twice/);
    assert.match(problem({ finishedAt: minutesAfter(-1).toISOString() }) ?? '', /finishedAt is before startedAt/);
    assert.match(problem({ status: 'failed' }) ?? '', /must say why/);
    assert.match(problem({ failure: { class: 'Conversion', cell: 2 } }) ?? '', /succeeded run has no failure/);
    assert.match(problem({ status: 'failed', failure: { class: 'Conversion', cell: 2 } }) ?? '', /failed run has no outputs/);
    assert.equal(problem({ status: 'failed', failure: { class: 'Conversion', cell: 2 }, outputs: [] }), null);
    assert.equal(problem({ status: 'failed', failure: { class: 'OutOfMemory', cell: null }, outputs: [] }), null);
    assert.equal(problem({ status: 'cancelled', outputs: [] }), null);
    assert.match(problem({ failure: { class: 'Conversion: value 42', cell: 1 }, status: 'failed', outputs: [] }) ?? '', /failure class/);
    assert.equal(problem({ privacyBudgetSpent: [{ owner: runner.ref.signPublicKey, epsilonMicros: 500_000 }] }), null);
    assert.match(problem({ policy: { mode: 'open' as 'aggregate', minGroupSize: 10 } }) ?? '', /policy.mode must be one of/);
  });

  it('writes interrupted attempts only in a cleanroom-receipt/2, signed under its own tag (issue 15)', () => {
    const attempts = [
      { run: hex('a'), startedAt: minutesAfter(-5).toISOString() },
      { run: hex('b'), startedAt: minutesAfter(0).toISOString() },
    ];
    const retried = signReceipt(makeReceipt(runner, { format: 'cleanroom-receipt/2', interrupted: attempts }), runner.sign.secretKey);
    const text = encodeReceiptFile(retried);
    const checked = verifyReceipt(text, { runnerKey: runner.ref.signPublicKey });
    assert.ok(checked.ok, checked.ok ? '' : checked.reason);
    assert.deepEqual(checked.receipt.interrupted, attempts);
    const v2 = concatBytes(utf8('cleanroom/receipt/v2\n'), encodeCanonical(retried.receipt));
    assert.ok(verify(fromBase64Url(retried.signature), v2, runner.sign.publicKey));
    assert.ok(!verify(fromBase64Url(retried.signature), concatBytes(utf8('cleanroom/receipt/v1\n'), encodeCanonical(retried.receipt)), runner.sign.publicKey));
    // Dropping the attempts (and saying /1) breaks the signature: the list cannot be cut off.
    const { interrupted: _dropped, ...bare } = retried.receipt;
    refused(verifyReceipt({ receipt: { ...bare, format: 'cleanroom-receipt/1' }, signature: retried.signature }, { runnerKey: runner.ref.signPublicKey }), /signature does not verify/);

    const problem = (changes: Partial<Receipt>): string | null => {
      const result = parse(receiptSchema, makeReceipt(runner, changes));
      return result.ok ? null : result.issue.message;
    };
    assert.equal(problem({ interrupted: attempts }), 'a cleanroom-receipt/1 receipt has no interrupted attempts');
    assert.equal(problem({ format: 'cleanroom-receipt/2' }), 'a cleanroom-receipt/2 receipt must list its interrupted attempts');
    assert.match(problem({ format: 'cleanroom-receipt/2', interrupted: [] }) ?? '', /interrupted must have at least 1 item/);
    assert.match(problem({ format: 'cleanroom-receipt/2', interrupted: [attempts[1], attempts[0]] as typeof attempts }) ?? '', /interrupted must be sorted/);
    assert.equal(
      problem({ format: 'cleanroom-receipt/2', interrupted: [{ run: hex('a'), startedAt: minutesAfter(0.5).toISOString() }] }),
      `interrupted attempt ${hex('a')} started after the run`,
    );
  });

  it('never throws on hostile input', () => {
    const runnerKey = runner.ref.signPublicKey;
    const hostile: unknown[] = [
      undefined,
      null,
      0,
      '',
      '\n',
      'null\n',
      '[]\n',
      '{}\n',
      new Uint8Array([1, 2, 3]),
      `${'['.repeat(100_000)}\n`,
      `${'x'.repeat(maxReceiptBytes + 1)}\n`,
      '\ud800\n',
      { receipt: 1n, signature: '' },
      { get receipt(): never { throw new Error('boom'); }, signature: signed.signature },
      Object.create(null) as unknown,
      { ...signed, receipt: { ...signed.receipt, outputs: [{ name: 'rates', hash: 'zz', rows: -1, suppressedRows: 0.5 }] } },
    ];
    for (const input of hostile) refused(verifyReceipt(input, { runnerKey }));
    refused(verifyReceipt(file, { runnerKey: 42 as unknown as string }));
    refused(verifyReceipt(file, { runnerKey, expected: { outputs: 'rates' as unknown as [] } }));
    refused(verifyReceipt(`${'x'.repeat(maxReceiptBytes + 1)}\n`, { runnerKey }), /too large/);
  });
});
