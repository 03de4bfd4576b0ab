// Which payloads an export carries: my assets that a recipient's snapshots need (the recipient is
// the snapshot's runner), or all of mine when asked; never another member's.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type AssetDescriptor } from '../../shared/asset.js';
import { hashCanonical } from '../../shared/canonical.js';
import { cryptoReady, randomBytes, toBase64Url, toHex } from '../../shared/crypto.js';
import { type Snapshot } from '../../shared/notebook.js';
import { type EntryBody, type SignedEntry } from '../../shared/room.js';
import { assetsIn, payloadsToSend } from '../../electron/core/packet-stream.js';

const room = 'aa'.repeat(32);
const key = (): string => toBase64Url(randomBytes(32));

/** Only the fields payload selection reads; entry validity is the room state's business, tested there. */
const entryOf = (author: string, body: EntryBody): SignedEntry =>
  ({ entry: { format: 'cleanroom-entry/1', room, author, seq: 1, prev: null, at: '2030-03-04T09:00:00.000Z', body }, signature: 'x'.repeat(86) }) as SignedEntry;

function table(owner: string, name: string): AssetDescriptor {
  return {
    format: 'cleanroom-asset/1',
    kind: 'table',
    room,
    name,
    owner,
    payload: { hash: toHex(randomBytes(32)), size: 100, encryption: 'secretstream-xchacha20poly1305/1', chunkSize: 65536 },
    createdAt: '2030-03-04T09:00:00.000Z',
    nonce: toBase64Url(randomBytes(16)),
    columns: [{ name: 'id', type: 'BIGINT', role: 'join_key' }],
    rowCount: null,
    sourceFormat: 'csv',
    allowMinMax: false,
  };
}

function snapshot(author: string, runner: string, assets: readonly AssetDescriptor[]): Snapshot {
  return {
    format: 'cleanroom-snapshot/1',
    room,
    name: 'readmissions',
    author,
    notebook: { parameters: [], cells: [{ kind: 'sql', source: 'SELECT 1', output: null, options: [] }] },
    assets: assets.map((a) => ({ name: a.name, kind: a.kind, owner: a.owner, asset: hashCanonical(a), payloadHash: a.payload.hash })),
    runner,
    recipients: [runner],
    createdAt: '2030-03-04T09:00:00.000Z',
  };
}

describe('payloads an export carries', () => {
  before(() => cryptoReady());

  it("sends my assets to the runner of a snapshot that reads them, all of mine on request, and never another member's", () => {
    const me = key();
    const runner = key();
    const bystander = key();
    const visits = table(me, 'visits');
    const claims = table(me, 'claims');
    const theirs = table(runner, 'plans');
    const entries = [
      entryOf(me, { type: 'asset.added', descriptor: visits }),
      entryOf(me, { type: 'asset.added', descriptor: claims }),
      entryOf(runner, { type: 'asset.added', descriptor: theirs }),
      entryOf(runner, { type: 'snapshot.added', snapshot: snapshot(runner, runner, [visits, theirs]) }),
    ];
    const names = (assets: ReturnType<typeof payloadsToSend>) => assets.map((a) => a.descriptor.name);
    assert.deepEqual(names(payloadsToSend(entries, me, [runner], false)), ['visits'], 'the runner gets what its snapshot reads of mine');
    assert.deepEqual(names(payloadsToSend(entries, me, [bystander], false)), [], 'someone who runs nothing gets nothing');
    assert.deepEqual(names(payloadsToSend(entries, me, [bystander, runner], false)), ['visits'], 'one packet to several: what any runner among them needs');
    assert.deepEqual(names(payloadsToSend(entries, me, [bystander], true)), ['claims', 'visits'], 'withPayloads: all of mine, by name');
    assert.deepEqual(names(payloadsToSend(entries, runner, [me], true)), ['plans']);
    // I run it myself: nobody else needs my payload for it.
    const mine = [...entries, entryOf(me, { type: 'snapshot.added', snapshot: snapshot(me, me, [claims]) })];
    assert.deepEqual(names(payloadsToSend(mine, me, [runner], false)), ['visits']);
  });

  it('knows an asset only from its owner’s own asset.added entry', () => {
    const me = key();
    const other = key();
    const forged = table(me, 'visits');
    const assets = assetsIn([entryOf(other, { type: 'asset.added', descriptor: forged })]);
    assert.equal(assets.size, 0);
    const real = assetsIn([entryOf(me, { type: 'asset.added', descriptor: forged })]);
    assert.deepEqual([...real.keys()], [hashCanonical(forged)]);
  });
});
