// The CLI's identity-card, contact, room and packet commands. Each reads the files it was given,
// calls core, and prints; scripts at air-gapped sites use the same names as the app's screens.
import { fstatSync, openSync, readFileSync, closeSync } from 'node:fs';
import path from 'node:path';
import { cardFileSizeProblem, cardFileText } from '../../shared/card.js';
import { type ApiError, CleanroomError, toApiError } from '../../shared/errors.js';
import { type Contact, type ExportResult, type ImportResult, type RoomDetail } from '../../shared/room.js';
import { type Core } from '../core/index.js';
import { describeFileError, outputTarget } from '../core/files.js';
import { type Command, type GlobalSettings } from './args.js';
import {
  contactLines,
  contactListLines,
  exportLines,
  importLine,
  roomDetailLines,
  roomListLines,
  shortId,
} from './format.js';
import { type CliContext, exitCodes, invoke, report, withCore, withUnlockedCore } from './session.js';

export type RoomCommand = Extract<
  Command,
  {
    name:
      | 'identity card'
      | 'contact import'
      | 'contact list'
      | 'room create'
      | 'room list'
      | 'room show'
      | 'room join'
      | 'room leave'
      | 'room amend'
      | 'room sign-amendment'
      | 'packet import'
      | 'packet export';
  }
>;

export async function roomCommands(context: CliContext, settings: GlobalSettings, command: RoomCommand): Promise<number> {
  switch (command.name) {
    case 'identity card': {
      const out = command.out;
      const { card, target } = await withUnlockedCore(context, settings, command.name, async (core) => {
        const made = await invoke(core, 'identity.card', {});
        if (out === undefined) return { card: made, target: null };
        // Written while the home is open, so its temporary name is recorded there (pending-files.ts).
        const file = outputTarget(out, made.fileName);
        core.writeUserFile(file, Buffer.from(made.card, 'utf8'));
        return { card: made, target: file };
      });
      if (target === null) {
        if (settings.json) report(context, settings, { ...card, path: null }, []);
        else context.stdout(card.card.replace(/\n$/, ''));
        return exitCodes.ok;
      }
      report(context, settings, { ...card, path: target }, [
        `Wrote your identity card to ${target}.`,
        'Give it to the people who will invite you, and read them your sharing identifier (`cleanroom identity show`) so they can check it.',
      ]);
      return exitCodes.ok;
    }
    case 'contact import': {
      const cards = command.cards.map((file) => ({ file, text: readCardFile(file) }));
      const contacts = await withCore(context, settings, async (core) => {
        const imported: Contact[] = [];
        for (const { file, text } of cards) imported.push(await importCard(core, file, text));
        return imported;
      });
      report(context, settings, { contacts }, [
        ...contacts.flatMap((contact, index) => [...(index > 0 ? [''] : []), ...contactLines(contact)]),
        '',
        'Compare each sharing identifier with the person, by phone or in person, before inviting them.',
      ]);
      return exitCodes.ok;
    }
    case 'contact list': {
      const { contacts } = await withCore(context, settings, (core) => invoke(core, 'contact.list', {}));
      report(context, settings, { contacts }, contactListLines(contacts));
      return exitCodes.ok;
    }
    case 'room create': {
      const cards = command.members.map((file) => ({ file, text: readCardFile(file) }));
      const { room, packet } = await withUnlockedCore(context, settings, command.name, async (core) => {
        const members: string[] = [];
        for (const { file, text } of cards) members.push((await importCard(core, file, text)).signPublicKey);
        const created = await invoke(core, 'room.create', {
          name: command.roomName,
          members,
          ...(command.site === undefined ? {} : { site: command.site }),
          ...(command.mode === undefined ? {} : { mode: command.mode }),
          ...(command.minGroupSize === undefined ? {} : { minGroupSize: command.minGroupSize }),
          ...(command.outputRetentionDays === undefined ? {} : { outputRetentionDays: command.outputRetentionDays }),
          ...(command.invitationDays === undefined ? {} : { invitationDays: command.invitationDays }),
        });
        const written = await exportAfter(core, created, command.out, `The room ${created.summary.name} was created`);
        return { room: created, packet: written };
      });
      report(context, settings, { room, packet }, [
        `Created the room "${room.summary.name}" (${shortId(room.summary.id)}).`,
        ...exportLines(packet),
        'The room is active once every member has joined.',
      ]);
      return exitCodes.ok;
    }
    case 'room list': {
      const { rooms } = await withCore(context, settings, (core) => invoke(core, 'room.list', {}));
      report(context, settings, { rooms }, roomListLines(rooms));
      return exitCodes.ok;
    }
    case 'room show': {
      const room = await withCore(context, settings, (core) => invoke(core, 'room.show', { room: command.room }));
      report(context, settings, room, roomDetailLines(room));
      return exitCodes.ok;
    }
    case 'room join':
    case 'room leave': {
      const joining = command.name === 'room join';
      const { room, packet } = await withUnlockedCore(context, settings, command.name, async (core) => {
        const changed = await invoke(core, joining ? 'room.join' : 'room.leave', { room: command.room });
        const what = joining ? `You joined ${changed.summary.name}` : `You left ${changed.summary.name}`;
        return { room: changed, packet: await exportAfter(core, changed, command.out, what) };
      });
      report(context, settings, { room, packet }, [
        joining ? `Joined "${room.summary.name}": ${room.summary.joinedCount} of ${room.summary.memberCount} members have joined.` : `Left "${room.summary.name}".`,
        ...exportLines(packet),
      ]);
      return exitCodes.ok;
    }
    case 'room amend': {
      const cards = command.add.map((file) => ({ file, text: readCardFile(file) }));
      const { room, packet, amendment } = await withUnlockedCore(context, settings, command.name, async (core) => {
        const added: string[] = [];
        for (const { file, text } of cards) added.push((await importCard(core, file, text)).signPublicKey);
        const before = await invoke(core, 'room.show', { room: command.room });
        const changed = await invoke(core, 'room.proposeAmendment', { room: before.summary.id, addMembers: added });
        const known = new Set(before.amendments.map((candidate) => candidate.id));
        const proposed = changed.amendments.find((candidate) => !known.has(candidate.id)) ?? null;
        const written = await exportAfter(core, changed, command.out, `The amendment to ${changed.summary.name} was proposed`);
        return { room: changed, packet: written, amendment: proposed };
      });
      report(context, settings, { room, packet, amendment }, [
        amendment === null
          ? `Proposed adding members to "${room.summary.name}".`
          : `Proposed amendment ${amendment.id} to "${room.summary.name}": adds ${amendment.addMembers.map((member) => member.alias).join(', ')}.`,
        ...(amendment !== null && amendment.status === 'pending' ? [`It takes effect once ${amendment.waitingFor.join(', ')} sign it.`] : []),
        ...exportLines(packet),
      ]);
      return exitCodes.ok;
    }
    case 'room sign-amendment': {
      const { room, packet, amendment } = await withUnlockedCore(context, settings, command.name, async (core) => {
        const before = await invoke(core, 'room.show', { room: command.room });
        const id = amendmentIdIn(before, command.amendment);
        const changed = await invoke(core, 'room.signAmendment', { room: before.summary.id, amendment: id });
        const written = await exportAfter(core, changed, command.out, `Your signature on amendment ${shortId(id)} was stored`);
        return { room: changed, packet: written, amendment: changed.amendments.find((candidate) => candidate.id === id) ?? null };
      });
      report(context, settings, { room, packet, amendment }, [
        amendment === null || amendment.status === 'accepted'
          ? `Signed amendment ${command.amendment} to "${room.summary.name}": every member has signed, so it is accepted.`
          : `Signed amendment ${shortId(amendment.id)} to "${room.summary.name}"; still waiting for ${amendment.waitingFor.join(', ')}.`,
        ...exportLines(packet),
      ]);
      return exitCodes.ok;
    }
    case 'packet export': {
      const packet = await withUnlockedCore(context, settings, command.name, (core) =>
        invoke(core, 'packet.export', {
          room: command.room,
          outPath: path.resolve(command.out),
          withPayloads: command.withPayloads,
          ...(command.to === undefined ? {} : { to: [...command.to] }),
        }),
      );
      report(context, settings, packet, exportLines(packet));
      return exitCodes.ok;
    }
    case 'packet import':
      return importPackets(context, settings, command);
  }
}

type ImportOutcome = { file: string; ok: true; value: ImportResult } | { file: string; ok: false; error: ApiError };

/** Imports each file on its own: one refused packet does not stop the others. */
async function importPackets(context: CliContext, settings: GlobalSettings, command: Extract<RoomCommand, { name: 'packet import' }>): Promise<number> {
  const outcomes = await withUnlockedCore(context, settings, command.name, async (core) => {
    const results: ImportOutcome[] = [];
    for (const file of command.files) {
      const result = await core.dispatch('packet.import', { path: path.resolve(file), ...(command.followSymlinks ? { followSymlinks: true } : {}) });
      results.push(result.ok ? { file, ok: true, value: result.value as ImportResult } : { file, ok: false, error: result.error });
    }
    return results;
  });
  const refused = outcomes.filter((outcome) => !outcome.ok);
  if (settings.json) {
    const first = refused[0];
    context.stdout(
      JSON.stringify({
        ok: first === undefined,
        value: { imports: outcomes },
        ...(first === undefined || first.ok
          ? {}
          : { error: { code: first.error.code, message: `${refused.length} of ${outcomes.length} packets refused; first: ${first.file}: ${first.error.message}` } }),
      }),
    );
  }
  for (const outcome of outcomes) {
    if (outcome.ok) {
      if (!settings.json) context.stdout(importLine(outcome.file, outcome.value));
      for (const alert of outcome.value.alerts) context.stderr(`cleanroom: ${outcome.file}: ${alert}`);
    } else {
      context.stderr(`cleanroom: ${outcome.file}: ${outcome.error.message.replace(/\s*\n\s*/g, ' ')}`);
    }
  }
  return refused.length === 0 ? exitCodes.ok : exitCodes.refused;
}

/** Writes the packet that tells the others about a change just made; a failure says the change is kept. */
async function exportAfter(core: Core, room: RoomDetail, out: string, done: string): Promise<ExportResult> {
  try {
    return await invoke(core, 'packet.export', { room: room.summary.id, outPath: path.resolve(out) });
  } catch (error) {
    const { code, message } = toApiError(error);
    throw new CleanroomError(
      code,
      `${done}, but the packet was not written: ${message} Write it again with \`cleanroom packet export ${shortId(room.summary.id)} --out F\`.`,
    );
  }
}

async function importCard(core: Core, file: string, text: string): Promise<Contact> {
  const result = await core.dispatch('contact.import', { card: text });
  if (result.ok) return result.value as Contact;
  throw new CleanroomError(result.error.code, `${file}: ${result.error.message}`);
}

/** An amendment named by its id or the first 6 or more digits of it. */
function amendmentIdIn(room: RoomDetail, wanted: string): string {
  const prefix = wanted.trim().toLowerCase();
  if (!/^[0-9a-f]{6,64}$/.test(prefix)) {
    throw new CleanroomError('BAD_REQUEST', `"${wanted}" is not an amendment id: give the id shown by \`cleanroom room show\`, or its first 6 or more digits.`);
  }
  const matches = room.amendments.filter((amendment) => amendment.id.startsWith(prefix));
  if (matches.length === 1) return (matches[0] as { id: string }).id;
  if (matches.length === 0) throw new CleanroomError('NOT_FOUND', `No amendment ${wanted} in ${room.summary.name}.`);
  throw new CleanroomError('AMBIGUOUS', `"${wanted}" matches ${matches.length} amendments in ${room.summary.name}; give more digits.`);
}

/** A card file's text; FILE_ERROR naming the file when it cannot be read. */
function readCardFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new CleanroomError('FILE_ERROR', `Cannot read the card ${file} (${describeFileError(error)}).`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new CleanroomError('FILE_ERROR', `Cannot read the card ${file}: it is not a file.`);
    const tooLarge = cardFileSizeProblem(file, stat.size);
    if (tooLarge !== null) throw new CleanroomError('BAD_CARD', tooLarge);
    // Decoded strictly: a lenient read would turn bad bytes into longer text and misreport the size.
    const read = cardFileText(file, readFileSync(fd));
    if (!read.ok) throw new CleanroomError('BAD_CARD', read.reason);
    return read.text;
  } catch (error) {
    if (error instanceof CleanroomError) throw error;
    throw new CleanroomError('FILE_ERROR', `Cannot read the card ${file} (${describeFileError(error)}).`);
  } finally {
    closeSync(fd);
  }
}
