// Rooms through the built `cleanroom` command alone: three homes form a room by carrying packet
// files, imported in shuffled order and some twice, and end with the same view; a fourth joins by
// an amendment. Also the commands' output, refusals and usage errors.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseArgs } from '../../electron/cli/args.js';
import { assertRefused, assertUsage, cliEnv, lines, runCli } from '../support/cli-process.js';
import { type CliParty, createCliParty, exchangeUntilQuiet, type PacketFile } from '../support/cli-rooms.js';
import { temporaryFolder } from '../support/homes.js';

interface MemberJson {
  alias: string;
  signPublicKey: string;
  fingerprint: string;
  sharingId: string;
  status: string;
  isMe: boolean;
}

interface RoomJson {
  summary: { id: string; name: string; site: string; status: string; memberCount: number; joinedCount: number };
  policy: Record<string, unknown>;
  members: MemberJson[];
  amendments: { id: string; status: string; waitingFor: string[] }[];
  log: { id: string; type: string; author: string }[];
  alerts: unknown[];
}

/** What every member must agree on: members (without "is me"), policy, status and the log. */
function sharedView(room: RoomJson) {
  return {
    id: room.summary.id,
    name: room.summary.name,
    status: room.summary.status,
    policy: room.policy,
    members: room.members.map(({ alias, signPublicKey, fingerprint, sharingId, status }) => ({ alias, signPublicKey, fingerprint, sharingId, status })),
    amendments: room.amendments,
    log: room.log.map(({ id, type, author }) => ({ id, type, author })),
  };
}

/**
 * The room as every party shows it, and what they must all agree on (taken from the first);
 * asserts the room is active with exactly `joined` as its members, all joined, in that order.
 */
async function showActiveEverywhere(parties: readonly CliParty[], joined: readonly string[]) {
  const views = await Promise.all(parties.map((party) => party.json<RoomJson>(['room', 'show', 'Readmissions'])));
  const expected = sharedView(views[0] as RoomJson);
  assert.equal(expected.status, 'active');
  assert.deepEqual(
    expected.members.map((member) => [member.alias, member.status]),
    joined.map((alias) => [alias, 'joined']),
  );
  return { views, expected };
}

describe('cli: three homes form a room with packet files alone', () => {
  const folder = temporaryFolder();
  let mary: CliParty;
  let acme: CliParty;
  let carol: CliParty;
  let dana: CliParty;
  const packets: PacketFile[] = [];
  let roomId = '';

  before(async () => {
    [mary, acme, carol, dana] = await Promise.all([
      createCliParty(folder.dir, 'St Mary'),
      createCliParty(folder.dir, 'Acme Insurance'),
      createCliParty(folder.dir, 'Carol Lab'),
      createCliParty(folder.dir, 'Dana'),
    ]);
  });

  after(() => folder.remove());

  it('A creates the room with B\'s and C\'s cards; B and C import the invitation and join', async () => {
    const created = await mary.json<{ room: RoomJson; packet: { path: string; recipients: string[] } }>([
      'room', 'create', '--name', 'Readmissions', '--site', 'North region',
      '--member', acme.card, carol.card, '--mode', 'reviewed', '--min-group-size', '5', '--out', mary.outbox,
    ]);
    roomId = created.room.summary.id;
    assert.equal(created.room.summary.status, 'pending');
    assert.deepEqual(created.room.policy, { mode: 'reviewed', minGroupSize: 5, outputRetentionDays: 30 });
    assert.deepEqual(created.packet.recipients, ['Acme Insurance', 'Carol Lab']);
    assert.match(path.basename(created.packet.path), /^readmissions-st-mary-\d{8}T\d{6}Z\.cleanroom$/);
    packets.push({ from: mary.alias, ...created.packet });

    for (const party of [acme, carol]) {
      const imported = await party.run(['packet', 'import', created.packet.path]);
      assert.equal(imported.code, 0, imported.stderr);
      assert.equal(imported.stdout, `${created.packet.path}: Invitation to Readmissions from St Mary: 1 new entry\n`);
      const listed = await party.json<{ rooms: { name: string; status: string }[] }>(['room', 'list']);
      assert.deepEqual(listed.rooms.map(({ name, status }) => ({ name, status })), [{ name: 'Readmissions', status: 'invited' }]);
      const joined = await party.json<{ room: RoomJson; packet: { path: string; recipients: string[] } }>(['room', 'join', 'Readmissions', '--out', party.outbox]);
      assert.equal(joined.room.members.find((member) => member.isMe)?.status, 'joined');
      packets.push({ from: party.alias, ...joined.packet });
    }
  });

  it('after rounds of shuffled, repeated imports all three show the same members, policy, status and log', async () => {
    const rounds = await exchangeUntilQuiet([mary, acme, carol], [mary, acme, carol], 'Readmissions', packets, 7);
    assert.ok(rounds >= 2, 'the first round brings news, a later one is quiet');
    const { views, expected } = await showActiveEverywhere([mary, acme, carol], ['St Mary', 'Acme Insurance', 'Carol Lab']);
    assert.deepEqual(expected.log.map((item) => item.type), ['room.created', 'room.joined', 'room.joined']);
    for (const view of views) {
      assert.deepEqual(sharedView(view), expected);
      assert.deepEqual(view.alerts, []);
    }
    // The people's own identities match what the room lists for them.
    for (const party of [mary, acme, carol]) {
      const me = await party.json<{ sharingId: string }>(['identity', 'show']);
      assert.equal(expected.members.find((member) => member.alias === party.alias)?.sharingId, me.sharingId);
    }
  });

  it('shows the room for people: sharing identifiers in groups, policy, status and log', async () => {
    const shown = await acme.run(['room', 'show', roomId.slice(0, 8)]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^Room\s+Readmissions \(North region\)$/m);
    assert.match(shown.stdout, /^Status\s+active: all 3 members joined$/m);
    assert.match(shown.stdout, /^Policy\s+reviewed; minimum group size 5; outputs kept 30 days$/m);
    assert.match(shown.stdout, /^ {2}Acme Insurance \(you\): joined$/m);
    assert.equal(shown.stdout.match(/^ {4}Sharing id\s+([0-9A-HJKMNP-TV-Z]{4} ){4}[0-9A-HJKMNP-TV-Z]{4}$/gm)?.length, 3);
    assert.match(shown.stdout, /St Mary created the room “Readmissions” with 3 members/);
    const listed = await acme.run(['room', 'list']);
    assert.match(listed.stdout, new RegExp(`^Readmissions\\s+active\\s+3/3\\s+${roomId.slice(0, 12)}\\s+-$`, 'm'));
  });

  it('adds a fourth member by an amendment all sign; D joins and all four agree', async () => {
    const amended = await mary.json<{ amendment: { id: string; waitingFor: string[] }; packet: { path: string; recipients: string[] } }>([
      'room', 'amend', 'Readmissions', '--add', dana.card, '--out', path.join(mary.outbox, 'amend.cleanroom'),
    ]);
    assert.deepEqual([...amended.amendment.waitingFor].sort(), ['Acme Insurance', 'Carol Lab']);
    packets.push({ from: mary.alias, ...amended.packet });
    for (const party of [acme, carol]) {
      const imported = await party.run(['packet', 'import', amended.packet.path]);
      assert.equal(imported.code, 0, imported.stderr);
      const signed = await party.json<{ packet: { path: string; recipients: string[] } }>([
        'room', 'sign-amendment', 'Readmissions', amended.amendment.id.slice(0, 10), '--out', path.join(party.outbox, 'signed.cleanroom'),
      ]);
      packets.push({ from: party.alias, ...signed.packet });
    }
    // Until the amendment is accepted nobody writes to Dana; after the exchange, everyone does.
    await exchangeUntilQuiet([mary, acme, carol], [mary, acme, carol], 'Readmissions', packets, 11);
    const forDana = packets.filter((packet) => packet.recipients.includes('Dana'));
    assert.ok(forDana.length >= 3, 'every member now addresses Dana');

    const invitation = forDana[forDana.length - 1] as PacketFile;
    const imported = await dana.run(['packet', 'import', invitation.path]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /Invitation to Readmissions from /);
    const joined = await dana.json<{ packet: { path: string; recipients: string[] } }>(['room', 'join', 'Readmissions', '--out', dana.outbox]);
    assert.deepEqual([...joined.packet.recipients].sort(), ['Acme Insurance', 'Carol Lab', 'St Mary']);
    packets.push({ from: dana.alias, ...joined.packet });

    const everyone = [mary, acme, carol, dana];
    await exchangeUntilQuiet(everyone, everyone, 'Readmissions', packets, 13);
    const { views, expected } = await showActiveEverywhere(everyone, ['St Mary', 'Acme Insurance', 'Carol Lab', 'Dana']);
    assert.equal(expected.amendments[0]?.status, 'accepted');
    for (const view of views) assert.deepEqual(sharedView(view), expected);
  });

  it('imports several files: one line each, exit 1 when one is refused, the others still applied', async () => {
    const carolNews = (await carol.json<{ packet: { path: string } }>(['room', 'leave', 'Readmissions', '--out', path.join(carol.outbox, 'leave.cleanroom')])).packet;
    const junk = path.join(folder.dir, 'junk.cleanroom');
    writeFileSync(junk, 'not a packet at all');
    const result = await acme.run(['packet', 'import', junk, carolNews.path]);
    assert.equal(result.code, 1);
    assert.deepEqual(lines(result.stdout), [`${carolNews.path}: 1 new entry from Carol Lab for Readmissions`]);
    assert.deepEqual(lines(result.stderr), [`cleanroom: ${junk}: Packet refused, nothing was imported: not a Cleanroom packet: the file does not start with "CLRMPKT1".`]);
    const asJson = await acme.run(['--json', 'packet', 'import', junk, carolNews.path]);
    assert.equal(asJson.code, 1);
    const output = JSON.parse(asJson.stdout);
    assert.equal(output.ok, false);
    assert.equal(output.error.code, 'BAD_PACKET');
    assert.deepEqual(output.value.imports.map((item: { ok: boolean }) => item.ok), [false, true]);
    assert.equal(output.value.imports[1].value.summary, 'Nothing new: already up to date');
    const shown = await acme.json<RoomJson>(['room', 'show', 'Readmissions']);
    assert.equal(shown.members.find((member) => member.alias === 'Carol Lab')?.status, 'left');
  });

  it('lists contacts and prints a card without --out', async () => {
    const contacts = await mary.run(['contact', 'list']);
    assert.match(contacts.stdout, /^ALIAS\s+SHARING IDENTIFIER$/m);
    assert.match(contacts.stdout, /^Acme Insurance\s+([0-9A-Z]{4} ){4}[0-9A-Z]{4}$/m);
    assert.match(contacts.stdout, /^Dana\s+/m);
    const card = await dana.run(['identity', 'card']);
    assert.equal(card.code, 0, card.stderr);
    assert.equal(`${card.stdout}`, readFileSync(dana.card, 'utf8'));
  });

  it('refuses with one line: unknown room, unwritable output, missing card, a member alias that is not in the room', async () => {
    assertRefused(await mary.run(['room', 'show', 'Nope']), /No room "Nope"/);
    const file = path.join(folder.dir, 'a-file');
    writeFileSync(file, '');
    assertRefused(await mary.run(['packet', 'export', 'Readmissions', '--out', path.join(file, 'x.cleanroom')]), /Cannot write .*a part of the path is not a folder/);
    assertRefused(await mary.run(['contact', 'import', path.join(folder.dir, 'missing.card')]), /Cannot read the card .*missing\.card \(no such file or folder\)/);
    // Sizes are the file's own: 2,000 bytes that are not UTF-8 are not reported as the 6,000 they decode to.
    const binaryCard = path.join(folder.dir, 'binary.cleanroom-card');
    writeFileSync(binaryCard, Buffer.alloc(2000, 0xff));
    const binary = await mary.run(['contact', 'import', binaryCard]);
    assertRefused(binary, /not UTF-8/);
    assert.equal(binary.stderr.trim(), `cleanroom: ${binaryCard} is not an identity card: it is not UTF-8 text.`);
    const largeCard = path.join(folder.dir, 'large.cleanroom-card');
    writeFileSync(largeCard, `{"alias":"${'a'.repeat(5000)}"}\n`);
    const large = await mary.run(['contact', 'import', largeCard]);
    assertRefused(large, /too large/);
    assert.equal(large.stderr.trim(), `cleanroom: ${largeCard} is too large to be an identity card (5013 bytes; at most 4096).`);
    assertRefused(await mary.run(['packet', 'export', 'Readmissions', '--out', mary.outbox, '--to', 'Zed']), /No member "Zed" in Readmissions/);
    const beforeCount = readdirSync(mary.outbox).length;
    assertRefused(await mary.run(['room', 'join', 'Readmissions', '--out', mary.outbox]), /already joined/);
    assert.equal(readdirSync(mary.outbox).length, beforeCount, 'no packet written for a refused change');
  });

  it('reports a packet that could not be written after a change, saying the change was kept', async () => {
    const emptyRoot = path.join(folder.dir, 'second');
    mkdirSync(emptyRoot);
    const eve = await createCliParty(emptyRoot, 'Eve');
    const file = path.join(folder.dir, 'blocker');
    writeFileSync(file, '');
    const result = await eve.run(['room', 'create', '--name', 'Lost', '--member', dana.card, '--out', path.join(file, 'x.cleanroom')]);
    assertRefused(result, /^cleanroom: The room Lost was created, but the packet was not written: Cannot write .* Write it again with `cleanroom packet export [0-9a-f]{12} --out F`\.$/);
    const listed = await eve.json<{ rooms: { name: string }[] }>(['room', 'list']);
    assert.deepEqual(listed.rooms.map((room) => room.name), ['Lost']);
  });
});

describe('cli: room and packet usage errors exit 2', () => {
  const env = cliEnv();

  it('names what is missing or wrong', async () => {
    assertUsage(await runCli(['room', 'create', '--name', 'R', '--out', 'x'], env), /`cleanroom room create` needs --member[\s\S]*Usage: cleanroom room create --name NAME \[--site S\] --member CARD\.\.\./);
    assertUsage(await runCli(['room', 'show'], env), /`cleanroom room show` needs ROOM/);
    assertUsage(await runCli(['room', 'sign-amendment', 'R', '--out', 'x'], env), /needs AMENDMENT/);
    assertUsage(await runCli(['packet', 'import'], env), /`cleanroom packet import` needs F/);
    assertUsage(await runCli(['room', 'create', '--name', 'R', '--member', 'a', '--mode', 'fancy', '--out', 'x'], env), /--mode must be aggregate or reviewed, not "fancy"/);
    assertUsage(await runCli(['room', 'create', '--name', 'R', '--member', 'a', '--min-group-size', 'ten', '--out', 'x'], env), /--min-group-size must be a whole number/);
    assertUsage(await runCli(['room', 'frob'], env), /unknown command "room frob"; room subcommands are: create, list, show, join, leave, amend, sign-amendment/);
    assertUsage(await runCli(['room', 'join', 'R', '--out', 'x'], env), /needs the passphrase/);
  });

  it('takes list options as several values or repeated', () => {
    const parsed = parseArgs(['room', 'create', '--name', 'R', '--member', 'a.card', 'b.card', '--member', 'c.card', '--out', 'o']);
    assert.equal(parsed.kind, 'run');
    if (parsed.kind !== 'run') return;
    assert.deepEqual(parsed.command, { name: 'room create', roomName: 'R', members: ['a.card', 'b.card', 'c.card'], out: 'o' });
    const exported = parseArgs(['packet', 'export', 'R', '--to', 'Acme', 'St Mary', '--out', 'o']);
    assert.deepEqual(exported.kind === 'run' ? exported.command : null, {
      name: 'packet export',
      room: 'R',
      to: ['Acme', 'St Mary'],
      out: 'o',
      withPayloads: false,
    });
    const withPayloads = parseArgs(['packet', 'export', 'R', '--with-payloads', '--out', 'o']);
    assert.equal(withPayloads.kind === 'run' && withPayloads.command.name === 'packet export' && withPayloads.command.withPayloads, true);
    const imported = parseArgs(['packet', 'import', 'a', 'b', '--json']);
    assert.deepEqual(imported.kind === 'run' ? imported.command : null, { name: 'packet import', files: ['a', 'b'], followSymlinks: false });
    const following = parseArgs(['packet', 'import', '--follow-symlinks', 'a']);
    assert.deepEqual(following.kind === 'run' ? following.command : null, { name: 'packet import', files: ['a'], followSymlinks: true });
    assert.deepEqual(parseArgs(['room', '--help']), { kind: 'help', topic: 'room' });
  });
});
