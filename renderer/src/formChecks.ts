// Checks the forms run while the user types, from the same rules core enforces (shared/identity,
// shared/room and the API contract).
import { api, type ApiRequest } from '../../shared/contract.js';
import { aliasSchema, minPassphraseLength, passphraseWeakness } from '../../shared/identity.js';
import { maxMembersAtCreation, minMembers } from '../../shared/room.js';

export interface PassphraseFeedback {
  readonly tone: 'neutral' | 'good' | 'warning';
  readonly text: string;
}

/** Live feedback under a new-passphrase field. */
export function passphraseFeedback(passphrase: string): PassphraseFeedback {
  if (passphrase === '') {
    return { tone: 'neutral', text: `At least ${minPassphraseLength} characters. A few unrelated words are easy to remember and hard to guess.` };
  }
  const weakness = passphraseWeakness(passphrase);
  return weakness === null ? { tone: 'good', text: 'Strong enough.' } : { tone: 'warning', text: weakness };
}

/** Why an alias would be refused, as a sentence; null when it is fine. */
export function aliasProblem(alias: string): string | null {
  if (alias === '') return 'Enter an alias.';
  const checked = aliasSchema.check(alias, 'alias');
  if (checked.ok) return null;
  return sentence(checked.issue.message);
}

// ---- Create room ------------------------------------------------------------------------------

/** The create-room form as typed: numbers are still text, so a half-typed value is not lost. */
export interface CreateRoomInput {
  readonly name: string;
  readonly site: string;
  readonly members: readonly string[];
  readonly mode: RoomCreateRequest['mode'];
  readonly minGroupSize: string;
  readonly outputRetentionDays: string;
  readonly invitationDays: string;
}

export type CreateRoomField = 'name' | 'site' | 'members' | 'minGroupSize' | 'outputRetentionDays' | 'invitationDays';

export type CreateRoomCheck =
  | { readonly ok: true; readonly request: RoomCreateRequest }
  | { readonly ok: false; readonly problems: Partial<Record<CreateRoomField, string>> };

type RoomCreateRequest = ApiRequest<'room.create'>;

/** The order the fields appear in, so the first problem can take focus. */
export const createRoomFields: readonly CreateRoomField[] = [
  'name',
  'site',
  'members',
  'minGroupSize',
  'outputRetentionDays',
  'invitationDays',
];

/** Checks the create-room form with the limits core enforces; the request when it is fine. */
export function checkCreateRoom(input: CreateRoomInput): CreateRoomCheck {
  const problems: Partial<Record<CreateRoomField, string>> = {};
  const name = input.name.trim();
  const site = input.site.trim();
  if (name === '') problems.name = 'Enter a name for the room.';
  else if (name.length > 100) problems.name = 'Use at most 100 characters.';
  if (site.length > 200) problems.site = 'Use at most 200 characters.';
  const others = maxMembersAtCreation - 1;
  if (input.members.length < minMembers - 1) problems.members = 'Pick at least one contact to invite.';
  else if (input.members.length > others)
    problems.members = `A room starts with at most ${maxMembersAtCreation} members: pick up to ${others} contacts.`;
  const minGroupSize = wholeNumber(input.minGroupSize, 2, 1_000_000);
  if (typeof minGroupSize === 'string') problems.minGroupSize = minGroupSize;
  const outputRetentionDays = wholeNumber(input.outputRetentionDays, 1, 3650);
  if (typeof outputRetentionDays === 'string') problems.outputRetentionDays = outputRetentionDays;
  const invitationDays = wholeNumber(input.invitationDays, 1, 365);
  if (typeof invitationDays === 'string') problems.invitationDays = invitationDays;

  // The typeof tests repeat what `problems` holds, so TypeScript knows the numbers are numbers.
  if (
    Object.keys(problems).length > 0 ||
    typeof minGroupSize === 'string' ||
    typeof outputRetentionDays === 'string' ||
    typeof invitationDays === 'string'
  ) {
    return { ok: false, problems };
  }
  const request: RoomCreateRequest = {
    name,
    ...(site !== '' ? { site } : {}),
    members: [...input.members],
    mode: input.mode,
    minGroupSize,
    outputRetentionDays,
    invitationDays,
  };
  // Last, the contract's own schema: whatever it refuses, core would refuse too.
  const checked = api['room.create'].request.check(request, '');
  if (!checked.ok) {
    const field = createRoomFields.find((name) => checked.issue.path === name || checked.issue.path.startsWith(`${name}[`)) ?? 'name';
    return { ok: false, problems: { [field]: sentence(checked.issue.message) } };
  }
  return { ok: true, request };
}

/** "room name must not…" → "Room name must not…." */
export function sentence(message: string): string {
  const text = `${message.charAt(0).toUpperCase()}${message.slice(1)}`;
  return text.endsWith('.') ? text : `${text}.`;
}

/** A whole number from a text field within [min, max], or why it is not one. */
export function wholeNumber(text: string, min: number, max: number): number | string {
  const trimmed = text.trim();
  if (trimmed === '') return `Enter a whole number from ${min} to ${max}.`;
  if (!/^\d+$/u.test(trimmed)) return `Use a whole number (digits only) from ${min} to ${max}.`;
  const value = Number(trimmed);
  if (value < min || value > max) return `Use a whole number from ${min} to ${max}.`;
  return value;
}

/** Why a folder path for writing packets would be refused here; null when it can be tried. */
export function folderPathProblem(folder: string): string | null {
  const trimmed = folder.trim();
  if (trimmed === '') return 'Enter the folder to write the packet to, e.g. the USB stick.';
  if (trimmed.length > 4096) return 'That path is too long.';
  return null;
}
