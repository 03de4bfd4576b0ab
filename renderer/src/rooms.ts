// How rooms read on screen: status and policy wording, alerts, log order, who may sign what.
// Pure (no DOM) so node:test checks it.
import {
  type AlertView,
  type AmendmentView,
  type Contact,
  type LogEntryView,
  type MemberView,
  type RoomDetail,
  type RoomSummary,
} from '../../shared/room.js';
import { groupForReading } from '../../shared/identity.js';

export type Tone = 'neutral' | 'accent' | 'good' | 'warning' | 'danger';

export const roomStatusInfo: Record<RoomSummary['status'], { readonly label: string; readonly tone: Tone; readonly explanation: string }> =
  {
    invited: { label: 'Invited', tone: 'accent', explanation: 'You have been invited and have not joined yet.' },
    pending: { label: 'Waiting for members', tone: 'warning', explanation: 'Not every invited member has joined yet.' },
    active: { label: 'Active', tone: 'good', explanation: 'Every member has joined.' },
    closed: { label: 'Closed', tone: 'neutral', explanation: 'This room is closed: nothing new can happen in it.' },
    expired: { label: 'Invitation expired', tone: 'danger', explanation: 'The invitation expired before every member joined.' },
  };

export const memberStatusInfo: Record<MemberView['status'], { readonly label: string; readonly tone: Tone }> = {
  invited: { label: 'Invited', tone: 'warning' },
  joined: { label: 'Joined', tone: 'good' },
  left: { label: 'Left', tone: 'neutral' },
};

export const policyModeInfo: Record<RoomDetail['policy']['mode'], { readonly label: string; readonly explanation: string }> = {
  aggregate: {
    label: 'Aggregates only',
    explanation: 'Only checked aggregates (counts, sums, averages…) of groups with at least k people come out; rows never do.',
  },
  reviewed: {
    label: 'Reviewed code',
    explanation: 'Any read-only SQL may run, because every member approves its exact code first; outputs are still released explicitly.',
  },
};

/** "1 of 2 joined" */
export function joinedLabel(summary: Pick<RoomSummary, 'joinedCount' | 'memberCount'>): string {
  return `${summary.joinedCount} of ${summary.memberCount} joined`;
}

/** A security alert as one sentence a person can act on. */
export function alertMessage(alert: AlertView): string {
  if (alert.kind === 'equivocation') return `${alert.author} signed two different entries #${alert.seq} — possible tampering.`;
  return `An entry #${alert.seq} signed by ${alert.author} was refused: ${alert.detail}`;
}

/** The activity log, latest first; ties (same second) by author feed order, latest first. */
export function newestFirst(log: readonly LogEntryView[]): LogEntryView[] {
  return [...log].sort((a, b) => {
    if (a.at !== b.at) return a.at < b.at ? 1 : -1;
    if (a.authorKey !== b.authorKey) return a.authorKey < b.authorKey ? -1 : 1;
    return b.seq - a.seq;
  });
}

/** "3f2a 9c01 77be 0d4e …": enough to tell keys apart at a glance; the full one is a click away. */
export function shortFingerprint(fingerprint: string): string {
  return `${groupForReading(fingerprint, 4).slice(0, 4).join(' ')} …`;
}

/** This member, if this home is one of the room's members. */
export function me(detail: Pick<RoomDetail, 'members'>): MemberView | undefined {
  return detail.members.find((member) => member.isMe);
}

/** The alias of the member with this signing key, or "a former member" when none of them has it. */
export function memberAlias(detail: Pick<RoomDetail, 'members'>, signPublicKey: string): string {
  return detail.members.find((member) => member.signPublicKey === signPublicKey)?.alias ?? 'a former member';
}

/** Whether I can sign this amendment now: it is pending and waiting for me. */
export function awaitsMySignature(amendment: AmendmentView, myAlias: string | undefined): boolean {
  return amendment.status === 'pending' && myAlias !== undefined && amendment.waitingFor.includes(myAlias);
}

/** Contacts who are not yet members of the room (nor proposed in a pending amendment). */
export function contactsOutsideRoom(contacts: readonly Contact[], detail: Pick<RoomDetail, 'members' | 'amendments'>): Contact[] {
  const inside = new Set(detail.members.map((member) => member.signPublicKey));
  for (const amendment of detail.amendments) {
    if (amendment.status === 'pending') for (const added of amendment.addMembers) inside.add(added.signPublicKey);
  }
  return contacts.filter((contact) => !inside.has(contact.signPublicKey));
}

/** The members a packet can be addressed to: everyone else still in the room. */
export function packetRecipients(detail: Pick<RoomDetail, 'members'>): MemberView[] {
  return detail.members.filter((member) => !member.isMe && member.status !== 'left');
}

/**
 * Whether this home has anything of its own to send for the room: once it joined (or left: the
 * others learn it only from a packet). Core still has the last word.
 */
export function canWritePackets(summary: Pick<RoomSummary, 'myStatus'>): boolean {
  return summary.myStatus !== 'invited';
}
