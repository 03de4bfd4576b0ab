// How rooms, contacts and packet results read on a terminal. Pure: values in, lines out.
import { groupForReading } from '../../shared/identity.js';
import { type Contact, type ExportResult, type ImportResult, type RoomDetail, type RoomSummary } from '../../shared/room.js';

const label = (text: string, width = 14): string => text.padEnd(width);

/** "2025-03-14 09:30 UTC" */
export const readableTime = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

const sharingIdText = (sharingId: string): string => groupForReading(sharingId).join(' ');

export const shortId = (id: string): string => id.slice(0, 12);

const listed = (names: readonly string[]): string => (names.length === 0 ? 'nobody' : names.join(', '));

export function contactLines(contact: Contact): string[] {
  const fingerprint = groupForReading(contact.fingerprint);
  return [
    `${label('Contact', 20)}${contact.alias}`,
    `${label('Sharing identifier', 20)}${sharingIdText(contact.sharingId)}`,
    `${label('Fingerprint', 20)}${fingerprint.slice(0, 8).join(' ')}`,
    `${label('', 20)}${fingerprint.slice(8).join(' ')}`,
  ];
}

export function contactListLines(contacts: readonly Contact[]): string[] {
  if (contacts.length === 0) return ['No contacts yet. Import an identity card with `cleanroom contact import CARD`.'];
  const width = Math.max(5, ...contacts.map((contact) => contact.alias.length)) + 2;
  return [
    `${'ALIAS'.padEnd(width)}SHARING IDENTIFIER`,
    ...contacts.map((contact) => `${contact.alias.padEnd(width)}${sharingIdText(contact.sharingId)}`),
  ];
}

function statusText(summary: RoomSummary): string {
  switch (summary.status) {
    case 'invited':
      return `invited: you have not joined yet (${summary.joinedCount} of ${summary.memberCount} members joined)`;
    case 'pending':
      return `pending: ${summary.joinedCount} of ${summary.memberCount} members joined`;
    case 'active':
      return `active: all ${summary.memberCount} members joined`;
    case 'closed':
      return 'closed: fewer than 2 members remain';
    case 'expired':
      return 'expired: the invitation ran out before everyone joined';
  }
}

export function roomListLines(rooms: readonly RoomSummary[]): string[] {
  if (rooms.length === 0) {
    return ['No rooms yet. Create one with `cleanroom room create`, or import an invitation with `cleanroom packet import F`.'];
  }
  const nameWidth = Math.max(4, ...rooms.map((room) => room.name.length)) + 2;
  return [
    `${'NAME'.padEnd(nameWidth)}${'STATUS'.padEnd(10)}${'JOINED'.padEnd(8)}${'ID'.padEnd(14)}ALERTS`,
    ...rooms.map(
      (room) =>
        `${room.name.padEnd(nameWidth)}${room.status.padEnd(10)}${`${room.joinedCount}/${room.memberCount}`.padEnd(8)}${shortId(room.id).padEnd(14)}${room.alertCount === 0 ? '-' : room.alertCount}`,
    ),
  ];
}

export function roomDetailLines(detail: RoomDetail): string[] {
  const { summary, policy } = detail;
  const lines = [
    `${label('Room')}${summary.name}${summary.site === '' ? '' : ` (${summary.site})`}`,
    `${label('Id')}${summary.id}`,
    `${label('Status')}${statusText(summary)}`,
    `${label('Policy')}${policy.mode}; minimum group size ${policy.minGroupSize}; outputs kept ${policy.outputRetentionDays} days`,
    `${label('Created')}by ${detail.createdBy} on ${readableTime(detail.createdAt)}`,
    `${label('Invitation')}expires ${readableTime(detail.invitationExpiresAt)}`,
    '',
    `Members (${detail.members.length}); compare each sharing identifier with the person it belongs to:`,
  ];
  for (const member of detail.members) {
    const fingerprint = groupForReading(member.fingerprint);
    lines.push(
      `  ${member.alias}${member.isMe ? ' (you)' : ''}: ${member.status}`,
      `    ${label('Sharing id')}${sharingIdText(member.sharingId)}`,
      `    ${label('Fingerprint')}${fingerprint.slice(0, 8).join(' ')}`,
      `    ${label('')}${fingerprint.slice(8).join(' ')}`,
    );
  }
  if (detail.amendments.length > 0) {
    lines.push('', 'Amendments:');
    for (const amendment of detail.amendments) {
      lines.push(
        `  ${amendment.id}`,
        `    ${label('Status')}${amendment.status}; proposed by ${amendment.proposedBy}`,
        `    ${label('Adds')}${listed(amendment.addMembers.map((member) => member.alias))}`,
        `    ${label('Signed by')}${listed(amendment.signedBy)}`,
        ...(amendment.status === 'pending' ? [`    ${label('Waiting for')}${listed(amendment.waitingFor)}`] : []),
      );
    }
  }
  lines.push('', 'Log:');
  for (const item of detail.log) {
    lines.push(`  ${readableTime(item.at)}  ${item.summary}`);
    if (item.settlement !== null) lines.push(`    conflict settled: ${item.settlement}`);
  }
  if (detail.alerts.length > 0) {
    lines.push('', `Security alerts (${detail.alerts.length}):`);
    for (const alert of detail.alerts) lines.push(`  ! ${readableTime(alert.at)}  ${alert.kind}: ${alert.detail}`);
  }
  return lines;
}

export function exportLines(result: ExportResult): string[] {
  return [
    `Packet written to ${result.path ?? result.fileName} (${result.size} bytes) for ${listed(result.recipients)}.`,
    'Carry it to them; they apply it with `cleanroom packet import F`.',
  ];
}

export function importLine(file: string, result: ImportResult): string {
  return `${file}: ${result.summary}`;
}
