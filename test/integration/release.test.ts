// Releasing a run's outputs and checking receipts, on two real homes: only the runner releases;
// the release packet brings St Mary the tables, whose hashes match the receipt; releasing again
// sends the same contents and records nothing new; receipt.verify holds on both sides and fails on
// any changed byte, on a changed output, and for a room the home does not know.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Keystore } from '../../electron/core/keystore.js';
import { openStoredOutput, sealStoredOutput } from '../../electron/core/outputs.js';
import { fromBase64Url } from '../../shared/crypto.js';
import { makeParty, type Party, whileClosed } from '../support/core-parties.js';
import { passphrase, temporaryFolder } from '../support/homes.js';
import { approvedSnapshot, followJob, jointNotebook, makeRunWorld, type RunWorld, sendPacket } from '../support/run-parties.js';

/** Changes one value of a stored output in a closed home, re-sealing it with the home's own key. */
async function tamperStoredOutput(party: Party, run: string, name: string): Promise<void> {
  await whileClosed(party, () => {
    const db = new Database(path.join(party.home, 'cleanroom.db'), { fileMustExist: true });
    try {
      const keystore = new Keystore(db);
      const identity = keystore.unlock(passphrase);
      const keys = { boxPublicKey: fromBase64Url(identity.boxPublicKey), boxSecretKey: keystore.keys().boxSecretKey };
      const row = db.prepare('SELECT sealed_key, content FROM outputs WHERE run = ? AND name = ?').get(run, name) as { sealed_key: string; content: Buffer };
      const table = openStoredOutput(run, name, row.sealed_key, new Uint8Array(row.content), keys);
      const rows = table.rows.map((values, index) => (index === 0 ? values.map((value, column) => (column === 2 ? String(Number(value) + 1) : value)) : values));
      const sealed = sealStoredOutput(run, name, { columns: table.columns, rows }, keys.boxPublicKey);
      db.prepare('UPDATE outputs SET sealed_key = ?, content = ? WHERE run = ? AND name = ?').run(sealed.sealedKey, Buffer.from(sealed.content), run, name);
    } finally {
      db.close();
    }
  });
}

describe('releasing outputs and verifying receipts', () => {
  const folder = temporaryFolder();
  let world: RunWorld;
  let room = '';
  let run = '';
  let receipt = '';

  before(async () => {
    world = await makeRunWorld(folder.dir);
    room = world.room;
    const snapshot = await approvedSnapshot(world, 'Readmissions by plan', jointNotebook);
    const started = await world.acme.core.call('run.start', { room, snapshot });
    const done = await followJob(world.acme, started.job);
    assert.equal(done.state, 'done', JSON.stringify(done.error));
    run = started.run;
    receipt = (await world.acme.core.call('run.receipt', { room, run })).receipt;
    await sendPacket(world.acme, world.mary, room);
  });

  after(async () => {
    await world?.close();
    folder.remove();
  });

  it('lets only the runner release, and St Mary reads the released tables with matching hashes', async () => {
    const { acme, mary } = world;
    const refused = await mary.core.dispatch('output.release', { room, run });
    assert.ok(!refused.ok);
    assert.equal(refused.error.code, 'NOT_ALLOWED');
    assert.equal(refused.error.message, `Only Acme can release the outputs of run ${run.slice(0, 8)}.`);
    assert.deepEqual((await mary.core.call('output.list', { room })).outputs, [], 'nothing released yet');

    const released = await acme.core.call('output.release', { room, run: run.slice(0, 12), outPath: folder.dir });
    assert.deepEqual(released.recipients, ['St Mary']);
    assert.ok(released.path !== null && existsSync(released.path));
    const imported = await mary.core.call('packet.import', { path: released.path });
    assert.match(imported.summary, /1 payload/);

    const mine = await acme.core.call('output.show', { room, output: 'rates' });
    const { outputs } = await mary.core.call('output.list', { room });
    assert.deepEqual(outputs.map((output) => [output.name, output.source, output.runner, output.run, output.hash]), [['rates', 'released', 'Acme', run, mine.output.hash]]);
    const theirs = await mary.core.call('output.show', { room, output: 'rates' });
    assert.deepEqual(theirs.rows, mine.rows);
    assert.deepEqual(theirs.output.columns, mine.output.columns);
    assert.equal(theirs.output.suppressedRows, mine.output.suppressedRows);
    const [seen] = (await mary.core.call('run.list', { room })).runs;
    assert.equal(seen?.released, true);
    const log = (await mary.core.call('room.show', { room })).log.map((item) => item.summary);
    assert.ok(log.includes('Acme released 1 output of “Readmissions by plan” to St Mary'), log.join('\n'));
  });

  it('releases again by re-sending the same contents, recording nothing new', async () => {
    const { acme, mary } = world;
    const entriesBefore = (await acme.core.call('room.show', { room })).log.length;
    const again = await acme.core.call('output.release', { room, run });
    assert.ok(again.contentBase64 !== null);
    assert.equal((await acme.core.call('room.show', { room })).log.length, entriesBefore);
    const imported = await mary.core.call('packet.import', { contentBase64: again.contentBase64 });
    assert.equal(imported.accepted, 0);
    assert.equal((await mary.core.call('output.list', { room })).outputs.length, 1);
  });

  it('verifies the receipt on both sides, output by output', async () => {
    for (const party of [world.acme, world.mary]) {
      const check = await party.core.call('receipt.verify', { receipt });
      assert.equal(check.ok, true, `${party.alias}: ${check.reason ?? ''}`);
      assert.equal(check.reason, null);
      assert.equal(check.roomName, 'Readmissions');
      assert.equal(check.runner, 'Acme');
      assert.equal(check.status, 'succeeded');
      assert.deepEqual(check.outputs.map((output) => [output.name, output.matches]), [['rates', true]]);
      assert.deepEqual(check.checks.slice(0, 2), ['the file is a well-formed cleanroom-receipt/1', 'signed by Acme, the runner of “Readmissions by plan”']);
      assert.ok(check.checks.includes('output rates matches the copy this home holds'));
    }
  });

  it('fails on any changed byte of the receipt', async () => {
    const bytes = Buffer.from(receipt, 'utf8');
    for (let position = 0; position < bytes.length; position++) {
      const changed = Buffer.from(bytes);
      changed[position] = (changed[position] as number) ^ 0x01;
      const check = await world.mary.core.call('receipt.verify', { receipt: changed.toString('utf8') });
      assert.equal(check.ok, false, `byte ${position} changed, yet the receipt verified`);
      assert.ok(check.reason !== null && check.reason.length > 0);
    }
  });

  it('fails when the output this home holds was changed, and will not show the changed table', async () => {
    const { mary } = world;
    await tamperStoredOutput(mary, run, 'rates');
    const check = await mary.core.call('receipt.verify', { receipt });
    assert.equal(check.ok, false);
    assert.equal(check.reason, 'output rates differs from the receipt');
    assert.deepEqual(check.outputs.map((output) => [output.name, output.matches]), [['rates', false]]);
    const shown = await mary.core.dispatch('output.show', { room, output: 'rates' });
    assert.ok(!shown.ok);
    assert.equal(shown.error.code, 'HOME_DAMAGED');
  });

  it('says so for a room this home does not know', async () => {
    const stranger = await makeParty(folder.dir, 'Stranger');
    try {
      const check = await stranger.core.call('receipt.verify', { receipt });
      assert.equal(check.ok, false);
      assert.match(check.reason ?? '', /^this home does not know room [0-9a-f]{12}…/);
      assert.deepEqual(check.checks, ['the file is a well-formed cleanroom-receipt/1']);
      const garbage = await stranger.core.call('receipt.verify', { receipt: 'not a receipt\n' });
      assert.equal(garbage.ok, false);
    } finally {
      await stranger.core.close();
    }
  });
});
