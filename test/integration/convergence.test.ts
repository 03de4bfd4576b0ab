// Convergence through real homes (issue 15): two members add a table named `shared` offline, then
// exchange packets. Nothing is refused; the later table is renamed in both homes, which say so in
// the log, and both members go on working (a notebook over the renamed table travels too). Then
// seeded runs of three homes adding clashing tables and leaving, with packets delivered in random
// order, twice or dropped and re-sent, all end showing the same room, and everyone still in the
// room can add to it.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { roomDetailLines } from '../../electron/cli/format.js';
import { type RoomDetail } from '../../shared/room.js';
import { seededRandom } from '../../shared/seeded-random.js';
import { addAsset, exchange, exportFor, formRoom, makeParty, type Party } from '../support/core-parties.js';
import { temporaryFolder } from '../support/homes.js';

describe('convergence through real homes', () => {
  const folder = temporaryFolder();
  let mary: Party;
  let acme: Party;
  let carol: Party;
  let csv = '';

  const addTable = async (party: Party, room: string, name: string) => {
    const added = await addAsset(party, 'table.add', { room, name, path: csv, roles: [{ column: 'patient_id', role: 'privacy_unit' }] });
    assert.ok(added.ok, added.ok ? undefined : added.error.message);
    return added.value;
  };
  /** What every home must agree on: the log with its settlements, the members, the assets by name. */
  const shown = async (party: Party, room: string) => {
    const detail: RoomDetail = await party.core.call('room.show', { room });
    const { assets } = await party.core.call('asset.list', { room });
    return {
      log: detail.log.map((item) => [item.id, item.summary, item.settlement]),
      members: detail.members.map((member) => [member.alias, member.status]),
      assets: assets.map((asset) => [asset.name, asset.id]),
    };
  };

  const hasLeft = async (party: Party, room: string): Promise<boolean> =>
    (await party.core.call('room.show', { room })).members.find((member) => member.isMe)?.status === 'left';
  /** Imports a packet; only a member who has left may find it not addressed to them. */
  const deliver = async (packet: string, to: Party, room: string, context: string): Promise<void> => {
    const result = await to.core.dispatch('packet.import', { contentBase64: packet });
    if (!result.ok && result.error.code === 'NOT_A_MEMBER' && (await hasLeft(to, room))) return;
    assert.ok(result.ok, `${context}: ${result.ok ? '' : result.error.message}`);
  };
  /** Every party sends every other one its whole feed, twice (as exchange() does, past members who left). */
  const resend = async (parties: readonly Party[], room: string): Promise<void> => {
    for (let round = 0; round < 2; round++) {
      for (const from of parties) {
        const packet = await exportFor(from, room);
        for (const to of parties) if (to !== from) await deliver(packet, to, room, `resending ${room}`);
      }
    }
  };

  before(async () => {
    mary = await makeParty(folder.dir, 'St Mary');
    acme = await makeParty(folder.dir, 'Acme');
    carol = await makeParty(folder.dir, 'Carol');
    mkdirSync(path.join(folder.dir, 'files'), { recursive: true });
    csv = path.join(folder.dir, 'files', 'patients.csv');
    writeFileSync(csv, 'patient_id,ward,readmitted\n1,north,1\n2,south,0\n3,north,0\n');
  });

  after(async () => {
    for (const party of [mary, acme, carol]) await party?.core.close();
    folder.remove();
  });

  it('renames the later of two tables named shared in both homes, and both members go on', async () => {
    const room = await formRoom(mary, [acme], 'Shared work');
    await addTable(mary, room, 'shared');
    const acmes = await addTable(acme, room, 'shared');
    const renamed = `shared_${acmes.id.slice(0, 8)}`;
    const settlement = `renamed ${renamed}: St Mary added an asset named shared first`;

    const atMary = await mary.core.call('packet.import', { contentBase64: await exportFor(acme, room) });
    assert.equal(atMary.summary, "1 new entry from Acme for Shared work; 1 conflict settled (see the room's log)");
    const atAcme = await acme.core.call('packet.import', { contentBase64: await exportFor(mary, room) });
    assert.equal(atAcme.summary, "1 new entry from St Mary for Shared work; 1 conflict settled (see the room's log)");

    for (const party of [mary, acme]) {
      const detail = await party.core.call('room.show', { room });
      assert.deepEqual(
        detail.log.filter((item) => item.settlement !== null).map((item) => [item.summary, item.settlement]),
        [['Acme added table shared (3 columns)', settlement]],
      );
      // `cleanroom room show` prints it under the entry.
      const lines = roomDetailLines(detail);
      const at = lines.findIndex((line) => line.endsWith('  Acme added table shared (3 columns)'));
      assert.equal(lines[at + 1], `    conflict settled: ${settlement}`);
      const { assets } = await party.core.call('asset.list', { room });
      assert.deepEqual(assets.map((asset) => asset.name), ['shared', renamed]);
    }
    // The new name is taken like any other, and Acme's feed goes on: a notebook over the renamed table.
    await assert.rejects(addTable(mary, room, renamed), new RegExp(`Shared work already has an asset named ${renamed}; choose another name\\.`));
    const snapshot = await acme.core.call('notebook.add', { room, name: 'Wards', source: `-- %%\nSELECT ward, count(*) AS n FROM ${renamed} GROUP BY ward\n` });
    assert.deepEqual(snapshot.assets.map((asset) => [asset.name, asset.asset]), [[renamed, acmes.id]]);
    await exchange([mary, acme], room);
    assert.deepEqual(await shown(mary, room), await shown(acme, room));
    const atMaryNow = await mary.core.call('notebook.show', { room, snapshot: snapshot.id });
    assert.equal(atMaryNow.id, snapshot.id);
  });

  it('ends with the same room in every home after seeded offline work and unreliable delivery', async () => {
    const parties = [mary, acme, carol];
    for (let seed = 1; seed <= 5; seed++) {
      const random = seededRandom(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const room = await formRoom(mary, [acme, carol], `Run ${seed}`);
      const operations: string[] = [];
      const inFlight: { packet: string; to: Party }[] = [];
      let someoneLeft = false;
      for (let step = 0; step < 6; step++) {
        const party = pick(parties);
        const detail = await party.core.call('room.show', { room });
        if (detail.members.find((member) => member.isMe)?.status !== 'joined') continue;
        if (random() < 0.85 || someoneLeft) {
          const { assets } = await party.core.call('asset.list', { room });
          const name = pick(['shared', 'visits'].filter((candidate) => !assets.some((asset) => asset.name === candidate)).concat(`t${step}`));
          await addTable(party, room, name);
          operations.push(`${party.alias}: add table ${name}`);
        } else {
          await party.core.call('room.leave', { room });
          someoneLeft = true;
          operations.push(`${party.alias}: leave`);
        }
        if (random() < 0.6) {
          const packet = await exportFor(party, room);
          for (const to of parties) if (to !== party) inFlight.push({ packet, to });
        }
        while (inFlight.length > 0 && random() < 0.6) {
          const [next] = inFlight.splice(Math.floor(random() * inFlight.length), 1);
          if (next === undefined || random() < 0.2) continue; // dropped: re-sent at the end
          await deliver(next.packet, next.to, room, `seed ${seed}\n${operations.join('\n')}`);
          if (random() < 0.3) inFlight.push(next); // delivered twice
        }
      }
      await resend(parties, room);
      // A member who left receives nothing more; everyone else must show the same room.
      const current = [];
      for (const party of parties) if (!(await hasLeft(party, room))) current.push(party);
      const views = await Promise.all(current.map((party) => shown(party, room)));
      const settled = views[0]?.log.filter((item) => item[2] !== null).map((item) => item[2]) ?? [];
      console.log(`end-to-end seed ${seed}: ${operations.join('; ')}; settled: ${settled.length === 0 ? 'nothing' : settled.join('; ')}`);
      for (const view of views.slice(1)) assert.deepEqual(view, views[0], `seed ${seed}\n${operations.join('\n')}`);
      // Everyone still in the room can add to it, and the homes agree again.
      for (const party of current) await addTable(party, room, `after_${party.alias.replace(/\W/g, '').toLowerCase()}`);
      await resend(parties, room);
      const again = await Promise.all(current.map((party) => shown(party, room)));
      for (const view of again.slice(1)) assert.deepEqual(view, again[0], `seed ${seed}, after everyone added a table`);
    }
  });
});
