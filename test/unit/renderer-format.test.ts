// What the room, contact and exchange screens compute before rendering: wording, order, form
// checks and the inbox's routing of files. Pure functions, no DOM.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AlertView, type AmendmentView, type Contact, type LogEntryView, type MemberView } from '../../shared/room.js';
import { checkCreateRoom, type CreateRoomInput, folderPathProblem, wholeNumber } from '../../renderer/src/formChecks.js';
import { formatByteSize, listNames } from '../../renderer/src/format.js';
import { fileSizeProblem, importCounts, inboxFileKind, type InboxItem, maxCardFileBytes, updateItem } from '../../renderer/src/inbox.js';
import {
  alertMessage,
  awaitsMySignature,
  canWritePackets,
  contactsOutsideRoom,
  joinedLabel,
  memberAlias,
  newestFirst,
  packetRecipients,
  shortFingerprint,
} from '../../renderer/src/rooms.js';
import { toggled } from '../../renderer/src/toggled.js';

const key = (letter: string) => letter.repeat(43);
const fingerprint = '0123456789abcdef'.repeat(4);

const member = (alias: string, overrides: Partial<MemberView> = {}): MemberView => ({
  alias,
  signPublicKey: key(alias.charAt(0)),
  boxPublicKey: key('z'),
  fingerprint,
  sharingId: 'ABCD'.repeat(5),
  status: 'joined',
  isMe: false,
  ...overrides,
});

const contact = (alias: string): Contact => ({
  alias,
  signPublicKey: key(alias.charAt(0)),
  boxPublicKey: key('z'),
  fingerprint,
  sharingId: 'ABCD'.repeat(5),
  importedAt: '2025-11-23T10:00:00Z',
});

const entry = (author: string, seq: number, at: string): LogEntryView => ({
  id: `${author}${seq}`.padEnd(64, '0'),
  author,
  authorKey: key(author.charAt(0)),
  seq,
  at,
  type: 'room.joined',
  summary: `${author} did #${seq}`,
  settlement: null,
});

describe('format helpers', () => {
  it('formats byte sizes in binary units', () => {
    assert.equal(formatByteSize(1), '1 byte');
    assert.equal(formatByteSize(812), '812 bytes');
    assert.equal(formatByteSize(1024), '1 KB');
    assert.equal(formatByteSize(4300), '4.2 KB');
    assert.equal(formatByteSize(150 * 1024), '150 KB');
    assert.equal(formatByteSize(1.5 * 1024 * 1024), '1.5 MB');
  });

  it('lists names as a sentence', () => {
    assert.equal(listNames([]), '');
    assert.equal(listNames(['Acme']), 'Acme');
    assert.equal(listNames(['Acme', 'St Mary']), 'Acme and St Mary');
    assert.equal(listNames(['Acme', 'Lab', 'St Mary']), 'Acme, Lab and St Mary');
  });
});

describe('room helpers', () => {
  it('says how many members joined', () => {
    assert.equal(joinedLabel({ joinedCount: 1, memberCount: 2 }), '1 of 2 joined');
  });

  it('words an equivocation alert as possible tampering, naming author and entry number', () => {
    const alert: AlertView = {
      kind: 'equivocation',
      author: 'Acme',
      authorKey: key('A'),
      seq: 4,
      detail: 'two entries',
      at: '2025-11-23T10:00:00Z',
    };
    assert.equal(alertMessage(alert), 'Acme signed two different entries #4 — possible tampering.');
    assert.equal(
      alertMessage({ ...alert, kind: 'invalid-entry', detail: 'bad signature' }),
      'An entry #4 signed by Acme was refused: bad signature',
    );
  });

  it('orders the log newest first, then by feed order within the same time', () => {
    const log = [
      entry('Acme', 1, '2025-11-23T10:00:00Z'),
      entry('Acme', 2, '2025-11-23T10:00:00Z'),
      entry('Bank', 1, '2025-11-24T09:00:00Z'),
    ];
    assert.deepEqual(
      newestFirst(log).map((item) => item.summary),
      ['Bank did #1', 'Acme did #2', 'Acme did #1'],
    );
    assert.equal(log[0]?.summary, 'Acme did #1', 'the input is not reordered');
  });

  it('shortens a fingerprint to four groups', () => {
    assert.equal(shortFingerprint(fingerprint), '0123 4567 89ab cdef …');
  });

  it('asks for my signature only on pending amendments waiting for me', () => {
    const amendment: AmendmentView = {
      id: 'a'.repeat(64),
      proposedBy: 'Acme',
      addMembers: [],
      signedBy: ['Acme'],
      waitingFor: ['Bank'],
      status: 'pending',
    };
    assert.equal(awaitsMySignature(amendment, 'Bank'), true);
    assert.equal(awaitsMySignature(amendment, 'Acme'), false);
    assert.equal(awaitsMySignature(amendment, undefined), false);
    assert.equal(awaitsMySignature({ ...amendment, status: 'accepted' }, 'Bank'), false);
  });

  it('offers only contacts who are neither members nor already proposed', () => {
    const members = [member('Acme', { isMe: true }), member('Bank')];
    const amendments: AmendmentView[] = [
      {
        id: 'a'.repeat(64),
        proposedBy: 'Acme',
        addMembers: [{ alias: 'Clinic', signPublicKey: key('C'), boxPublicKey: key('z') }],
        signedBy: [],
        waitingFor: [],
        status: 'pending',
      },
    ];
    const outside = contactsOutsideRoom([contact('Bank'), contact('Clinic'), contact('Dental')], { members, amendments });
    assert.deepEqual(
      outside.map((item) => item.alias),
      ['Dental'],
    );
  });

  it('addresses packets to every other member still in the room', () => {
    const members = [
      member('Acme', { isMe: true }),
      member('Bank'),
      member('Clinic', { status: 'left' }),
      member('Dental', { status: 'invited' }),
    ];
    assert.deepEqual(
      packetRecipients({ members }).map((item) => item.alias),
      ['Bank', 'Dental'],
    );
  });

  it('names a member by signing key, and one no longer listed as a former member', () => {
    const members = [member('Acme'), member('Bank')];
    assert.equal(memberAlias({ members }, key('B')), 'Bank');
    assert.equal(memberAlias({ members }, 'unknown-key'), 'a former member');
  });

  it('lets a member write packets once joined or left, not while only invited', () => {
    assert.equal(canWritePackets({ myStatus: 'joined' }), true);
    assert.equal(canWritePackets({ myStatus: 'left' }), true);
    assert.equal(canWritePackets({ myStatus: 'invited' }), false);
  });
});

describe('create-room form checks', () => {
  const valid: CreateRoomInput = {
    name: '  Readmissions 2025 ',
    site: ' Boston ',
    members: [key('B')],
    mode: 'aggregate',
    minGroupSize: '10',
    outputRetentionDays: '30',
    invitationDays: ' 14 ',
  };

  it('builds the request from a valid form, trimmed, with numbers as numbers', () => {
    assert.deepEqual(checkCreateRoom(valid), {
      ok: true,
      request: {
        name: 'Readmissions 2025',
        site: 'Boston',
        members: [key('B')],
        mode: 'aggregate',
        minGroupSize: 10,
        outputRetentionDays: 30,
        invitationDays: 14,
      },
    });
  });

  it('leaves out an empty site', () => {
    const checked = checkCreateRoom({ ...valid, site: '   ' });
    assert.equal(checked.ok, true);
    assert.equal(checked.ok && 'site' in checked.request, false);
  });

  it('reports every problem at once, each as a sentence', () => {
    const checked = checkCreateRoom({
      ...valid,
      name: ' ',
      members: [],
      minGroupSize: '1',
      outputRetentionDays: 'thirty',
      invitationDays: '',
    });
    assert.deepEqual(checked, {
      ok: false,
      problems: {
        name: 'Enter a name for the room.',
        members: 'Pick at least one contact to invite.',
        minGroupSize: 'Use a whole number from 2 to 1000000.',
        outputRetentionDays: 'Use a whole number (digits only) from 1 to 3650.',
        invitationDays: 'Enter a whole number from 1 to 365.',
      },
    });
  });

  it('refuses more members than a room may start with', () => {
    const members = Array.from({ length: 10 }, (_, index) => key(String.fromCharCode(65 + index)));
    const checked = checkCreateRoom({ ...valid, members });
    assert.equal(checked.ok, false);
    assert.match(!checked.ok ? (checked.problems.members ?? '') : '', /at most 10 members: pick up to 9 contacts/);
  });

  it('falls back on the contract schema for what the form cannot see, e.g. a malformed member key', () => {
    assert.deepEqual(checkCreateRoom({ ...valid, members: ['not-a-key'] }), {
      ok: false,
      problems: { members: 'Members[0] must be at least 43 characters.' },
    });
  });

  it('reads whole numbers strictly', () => {
    assert.equal(wholeNumber('7', 1, 10), 7);
    assert.equal(typeof wholeNumber('7.5', 1, 10), 'string');
    assert.equal(typeof wholeNumber('-3', 1, 10), 'string');
    assert.equal(typeof wholeNumber('1e3', 1, 10_000), 'string');
    assert.equal(typeof wholeNumber('11', 1, 10), 'string');
  });

  it('asks for a folder before writing to one', () => {
    assert.match(folderPathProblem('  ') ?? '', /Enter the folder/);
    assert.equal(folderPathProblem('/media/usb'), null);
  });
});

describe('inbox', () => {
  it('sends identity cards to contacts and everything else to packet import', () => {
    assert.equal(inboxFileKind('acme-insurance.cleanroom-card'), 'card');
    assert.equal(inboxFileKind('ACME.CLEANROOM-CARD'), 'card');
    assert.equal(inboxFileKind('readmissions-acme-2.cleanroom'), 'packet');
    assert.equal(inboxFileKind('notes.txt'), 'packet');
  });

  it('refuses empty and oversized files before reading them', () => {
    assert.deepEqual(fileSizeProblem('a.cleanroom', 0, 'packet'), { code: 'FILE_ERROR', message: 'a.cleanroom is empty.' });
    assert.equal(fileSizeProblem('a.cleanroom-card', maxCardFileBytes, 'card'), null);
    assert.deepEqual(fileSizeProblem('a.cleanroom-card', maxCardFileBytes + 1, 'card'), {
      code: 'BAD_CARD',
      message: 'a.cleanroom-card is too large to be an identity card (4097 bytes; at most 4096).',
    });
    assert.equal(fileSizeProblem('a.cleanroom', 1024, 'packet'), null);
  });

  it('counts what an import brought, and says plainly when it brought nothing', () => {
    assert.equal(importCounts({ accepted: 1, ignored: 0 }), '1 new entry');
    assert.equal(importCounts({ accepted: 3, ignored: 2 }), '3 new entries · 2 already known');
    assert.equal(importCounts({ accepted: 0, ignored: 1 }), 'Nothing new · 1 entry already known');
    assert.equal(importCounts({ accepted: 0, ignored: 0 }), 'Nothing new');
  });

  it('updates one result in place and keeps the others', () => {
    const items: InboxItem[] = [
      { id: 2, fileName: 'b.cleanroom', size: 10, kind: 'packet', state: 'importing' },
      { id: 1, fileName: 'a.cleanroom', size: 10, kind: 'packet', state: 'failed', error: { code: 'BAD_PACKET', message: 'bad' } },
    ];
    const done: InboxItem = {
      id: 2,
      fileName: 'b.cleanroom',
      size: 10,
      kind: 'packet',
      state: 'failed',
      error: { code: 'NOT_A_MEMBER', message: 'no' },
    };
    assert.deepEqual(updateItem(items, done), [done, items[1]]);
  });
});

describe('ticking a list of checkboxes', () => {
  it('adds a ticked item at the end and removes an unticked one, leaving the list it was given as it was', () => {
    const list = ['a', 'b'];
    assert.deepEqual(toggled(list, 'c', true), ['a', 'b', 'c']);
    assert.deepEqual(toggled(list, 'a', false), ['b']);
    assert.deepEqual(toggled(list, 'z', false), ['a', 'b']);
    assert.deepEqual(list, ['a', 'b']);
  });
});
