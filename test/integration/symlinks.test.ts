// Import sources that are symbolic links: refused with one clear line unless the person passes
// --follow-symlinks (followSymlinks in the API), for tables, volumes and packets alike. Only the
// last path component is checked: links among the parent folders are the person's own layout.
import assert from 'node:assert/strict';
import { mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliEnv, runCli } from '../support/cli-process.js';
import { addAsset, formRoom, makeParty, type Party } from '../support/core-parties.js';
import { openTestCore, passphrase, temporaryFolder } from '../support/homes.js';

const env = cliEnv({ CLEANROOM_PASSPHRASE: passphrase });

const refusal = (link: string, target: string): string =>
  `${link} is a symbolic link (to ${target}); nothing was read. Give the file itself, or pass --follow-symlinks to follow the link.`;

describe('symbolic links as import sources', () => {
  const folder = temporaryFolder();
  let mary: Party;
  let acme: Party;
  let room: string;
  let csv: string;
  let csvLink: string;
  let packet: string;
  let packetLink: string;
  let linkedFolder: string;

  before(async () => {
    mary = await makeParty(folder.dir, 'Mary');
    acme = await makeParty(folder.dir, 'Acme');
    room = await formRoom(mary, [acme], 'study');
    const data = path.join(folder.dir, 'data');
    mkdirSync(data);
    csv = path.join(data, 'visits.csv');
    writeFileSync(csv, `id,ward,days\n${Array.from({ length: 50 }, (_, i) => `${i},w${i % 3},${i % 5}`).join('\n')}\n`);
    csvLink = path.join(folder.dir, 'visits-link.csv');
    symlinkSync(csv, csvLink);
    linkedFolder = path.join(folder.dir, 'linked-data');
    symlinkSync(data, linkedFolder);
    await acme.core.call('room.leave', { room });
    packet = (await acme.core.call('packet.export', { room, outPath: path.join(data, 'from-acme.cleanroom') })).path as string;
    packetLink = path.join(folder.dir, 'from-acme.cleanroom');
    symlinkSync('data/from-acme.cleanroom', packetLink);
    await mary.core.close();
  });

  after(async () => {
    await acme.core.close();
    folder.remove();
  });

  it('table inspect and table add refuse a link in one line, and read it with --follow-symlinks', async () => {
    const inspected = await runCli(['--home', mary.home, 'table', 'inspect', csvLink], env);
    assert.equal(inspected.code, 1);
    assert.equal(inspected.stderr, `cleanroom: ${refusal(csvLink, csv)}\n`);
    const added = await runCli(['--home', mary.home, '--json', 'table', 'add', room, '--name', 'visits', '--file', csvLink], env);
    assert.equal(added.code, 1);
    assert.deepEqual(JSON.parse(added.stdout), { ok: false, error: { code: 'NOT_ALLOWED', message: refusal(csvLink, csv) } });

    const followed = await runCli(['--home', mary.home, 'table', 'inspect', '--follow-symlinks', csvLink], env);
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, /\bward\b/);
    const addedFollowing = await runCli(['--home', mary.home, 'table', 'add', room, '--name', 'visits', '--file', csvLink, '--follow-symlinks'], env);
    assert.equal(addedFollowing.code, 0, addedFollowing.stderr);
    assert.match(addedFollowing.stdout, /^Added table visits to the room\.$/m);
  });

  it('a link among the parent folders is followed without asking', async () => {
    const inspected = await runCli(['--home', mary.home, 'table', 'inspect', path.join(linkedFolder, 'visits.csv')], env);
    assert.equal(inspected.code, 0, inspected.stderr);
  });

  it('through the API: followSymlinks is part of the contract for table.inspect and volume.add', async () => {
    const core = await openTestCore(mary.home);
    try {
      await core.call('identity.unlock', { passphrase });
      assert.deepEqual(await core.dispatch('table.inspect', { path: csvLink }), { ok: false, error: { code: 'NOT_ALLOWED', message: refusal(csvLink, csv) } });
      assert.equal((await core.call('table.inspect', { path: csvLink, followSymlinks: true })).format, 'csv');
      const party = { ...mary, core };
      assert.deepEqual(await addAsset(party, 'volume.add', { room, name: 'notes', path: csvLink }), { ok: false, error: { code: 'NOT_ALLOWED', message: refusal(csvLink, csv) } });
      const volume = await addAsset(party, 'volume.add', { room, name: 'notes', path: csvLink, followSymlinks: true });
      assert.ok(volume.ok, volume.ok ? '' : volume.error.message);
      // The link is resolved before packing: the volume holds the file it points to.
      assert.deepEqual(volume.value.files, [{ path: 'visits.csv', size: statSync(csv).size }]);
      const typo = await core.dispatch('table.inspect', { path: csvLink, followSymlinks: 'yes' });
      assert.equal(typo.ok ? null : typo.error.code, 'BAD_REQUEST');
    } finally {
      await core.close();
    }
  });

  it('packet import refuses a link, naming it, and imports it with --follow-symlinks, from the CLI and the API', async () => {
    const refused = await runCli(['--home', mary.home, 'packet', 'import', packetLink], env);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `cleanroom: ${packetLink}: ${refusal(packetLink, 'data/from-acme.cleanroom')}\n`);
    const core = await openTestCore(mary.home);
    try {
      await core.call('identity.unlock', { passphrase });
      assert.deepEqual(await core.dispatch('packet.import', { path: packetLink }), { ok: false, error: { code: 'NOT_ALLOWED', message: refusal(packetLink, 'data/from-acme.cleanroom') } });
    } finally {
      await core.close();
    }
    const imported = await runCli(['--home', mary.home, 'packet', 'import', '--follow-symlinks', packetLink], env);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /1 new entry from Acme for study/);
    const again = await openTestCore(mary.home);
    try {
      await again.call('identity.unlock', { passphrase });
      assert.equal((await again.call('packet.import', { path: packetLink, followSymlinks: true })).summary, 'Nothing new: already up to date');
      // The file itself, not a link, needs no option.
      assert.equal((await again.call('packet.import', { path: packet })).summary, 'Nothing new: already up to date');
    } finally {
      await again.close();
    }
  });
});
