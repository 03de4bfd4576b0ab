// Two parties who share nothing but files form a room: each runs its own browser shell on its own
// home, in its own window. They swap identity cards (downloaded), the hospital invites the
// insurer with a packet written straight into a folder (the "USB stick"), the insurer joins and
// answers with a downloaded packet, and both end up looking at the same active room and history.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { $, browser, expect } from '@wdio/globals';
import { openApp } from '../support/app.js';
import { downloadedNames, waitForDownload } from '../support/downloads.js';
import {
  createIdentity,
  hospitalParty,
  importInInbox,
  inboxItem,
  insurerParty,
  navigate,
  type Party,
  saveCard,
  use,
} from '../support/parties.js';
import { allByTestId, byTestId, chooseFiles, saveFullScreenshot, typeInto } from '../support/ui.js';

const hospital: Party = hospitalParty();
const insurer: Party = insurerParty();
const roomName = 'Readmissions 2025';
const roomSite = 'St Mary × Acme, Boston';

/** What a party's room overview shows, to compare the two views. */
interface RoomView {
  readonly status: string | null;
  readonly members: { alias: string | null; status: string | null; sharingId: string }[];
  readonly log: { at: string | null; author: string; summary: string }[];
}

async function readRoomView(): Promise<RoomView> {
  const screen = byTestId('room-screen');
  await expect(screen).toHaveAttribute('data-state', 'ready');
  const members = await allByTestId('member-row').map(async (row) => ({
    alias: await row.getAttribute('data-alias'),
    status: await row.getAttribute('data-status'),
    sharingId: await row.$('[data-testid="member-sharing-id"]').getText(),
  }));
  const log = await allByTestId('log-entry').map(async (entry) => ({
    at: await entry.$('[data-testid="log-time"]').getAttribute('datetime'),
    author: await entry.$('[data-testid="log-author"]').getText(),
    summary: await entry.$('[data-testid="log-summary"]').getText(),
  }));
  return { status: await screen.getAttribute('data-status'), members, log };
}

describe('rooms: two parties, two homes, only files between them', () => {
  // The "USB stick": a folder both parties can reach, as a stick moved between machines would be.
  const usbStick = mkdtempSync(path.join(os.tmpdir(), 'cleanroom-e2e-usb-'));
  let invitationPath = '';
  let answerPath = '';

  before(async () => {
    hospital.app = await openApp();
    insurer.app = await openApp({ window: 'new' });
  });

  after(async () => {
    await hospital.app?.close();
    await insurer.app?.close();
    rmSync(usbStick, { recursive: true, force: true });
  });

  it('each party creates an identity in its own home', async () => {
    await use(hospital);
    await createIdentity(hospital);
    await use(insurer);
    await createIdentity(insurer);
    expect(hospital.sharingId).toMatch(/^([0-9A-HJKMNP-TV-Z]{4} ){4}[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(insurer.sharingId).not.toBe(hospital.sharingId);
  });

  it('each party saves its identity card as a file', async () => {
    for (const party of [hospital, insurer]) {
      await use(party);
      const cardPath = await saveCard(party);
      expect(path.basename(cardPath)).toMatch(/\.cleanroom-card$/);
      await expect(byTestId('identity-card-saved')).toHaveText(expect.stringContaining(path.basename(cardPath)));
    }
  });

  it('refuses a file that is not an identity card, saying why', async () => {
    await use(hospital);
    const notACard = path.join(usbStick, 'holiday-photo.cleanroom-card');
    writeFileSync(notACard, 'this is not an identity card');
    await chooseFiles('contact-drop-input', notACard);
    const error = byTestId('contact-import-error');
    await error.waitForDisplayed();
    await expect(error).toHaveText(expect.stringContaining('(BAD_CARD)'));
    await expect(byTestId('contacts-empty')).toBeDisplayed();
  });

  it('imports the other party’s card, showing the identifiers to compare by phone', async () => {
    await chooseFiles('contact-drop-input', insurer.cardPath as string);
    const imported = byTestId('contact-imported');
    await imported.waitForDisplayed();
    await expect(byTestId('contact-imported-alias')).toHaveText(insurer.alias);
    const groups = await allByTestId('contact-imported-sharing-id-group').map((group) => group.getText());
    // The same identifier the insurer reads out from their own Identity screen.
    expect(groups.join(' ')).toBe(insurer.sharingId);
    await expect(byTestId('contact-imported-note')).toHaveText(
      expect.stringContaining(`Compare this sharing identifier with ${insurer.alias} by phone before inviting them`),
    );
    await expect($(`[data-testid="contact-row"][data-alias="${insurer.alias}"]`)).toBeDisplayed();
    // The earlier refusal stays listed under the new result.
    await expect(byTestId('contact-import-error')).toBeDisplayed();
    await byTestId('contacts').scrollIntoView();
    await saveFullScreenshot('contacts-a.png');
  });

  it('checks the create-room form before sending it', async () => {
    await navigate('rooms');
    await byTestId('rooms-empty').waitForDisplayed();
    await byTestId('new-room').click();
    await byTestId('create-room-screen').waitForDisplayed();
    await expect(byTestId('room-min-group-size')).toHaveValue('10');
    await expect(byTestId('room-output-retention')).toHaveValue('30');
    await expect(byTestId('room-invitation-days')).toHaveValue('14');
    await typeInto('room-min-group-size', '1');
    await byTestId('create-room-submit').click();
    await expect(byTestId('room-name-error')).toHaveText('Enter a name for the room.');
    await expect(byTestId('room-members-error')).toHaveText('Pick at least one contact to invite.');
    await expect(byTestId('room-min-group-size-error')).toHaveText(expect.stringContaining('from 2 to'));
    await expect(byTestId('room-name')).toBeFocused();
    await saveFullScreenshot('create-room-a.png');
  });

  it('creates the room with the insurer and writes the invitation packet onto the stick', async () => {
    await typeInto('room-name', roomName);
    await typeInto('room-site', roomSite);
    await byTestId(`room-member-${insurer.alias}`).click();
    await typeInto('room-min-group-size', '10');
    await byTestId('room-mode-aggregate').click();
    await byTestId('create-room-submit').click();

    await expect(byTestId('room-screen')).toHaveAttribute('data-state', 'ready');
    await expect(byTestId('room-screen')).toHaveAttribute('data-status', 'pending');
    await expect($('h1')).toHaveText(roomName);
    const nextStep = byTestId('room-next-step');
    await expect(nextStep).toHaveAttribute('data-step', 'invite');
    await expect(nextStep).toHaveText(expect.stringContaining('Write the invitation packet'));

    await byTestId('packet-destination-folder').click();
    await typeInto('packet-folder', usbStick);
    await byTestId('packet-write').click();
    await byTestId('packet-written').waitForDisplayed();
    await saveFullScreenshot('room-created-a.png');
    await expect(byTestId('packet-recipients')).toHaveText(insurer.alias);
    const fileName = await byTestId('packet-file-name').getText();
    expect(fileName).toMatch(/\.cleanroom$/);
    invitationPath = path.join(usbStick, fileName);
    expect(existsSync(invitationPath)).toBe(true);
    await expect(byTestId('packet-path')).toHaveText(invitationPath);
  });

  it('the insurer imports the invitation and sees who invited them', async () => {
    await use(insurer);
    await importInInbox(invitationPath);
    const item = inboxItem(path.basename(invitationPath));
    await expect(item).toHaveAttribute('data-state', 'imported');
    await item.$('[data-testid="inbox-item-open-room"]').click();

    await expect(byTestId('room-screen')).toHaveAttribute('data-status', 'invited');
    await expect(byTestId('room-invitation')).toHaveText(expect.stringContaining(`${hospital.alias} invited you to this room`));
    const view = await readRoomView();
    expect(view.members.find((member) => member.alias === hospital.alias)?.sharingId).toBe(hospital.sharingId);
    expect(view.members.find((member) => member.alias === insurer.alias)?.status).toBe('invited');
    // The fingerprint is short until asked for in full, then the same as on the inviter's screen.
    const inviterRow = $(`[data-testid="member-row"][data-alias="${hospital.alias}"]`);
    const toggle = inviterRow.$('[data-testid="member-fingerprint-toggle"]');
    await expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await toggle.click();
    await expect(toggle).toHaveAttribute('aria-expanded', 'true');
    const rows = await inviterRow.$$('[data-testid="member-fingerprint-full"] code').map((row) => row.getText());
    expect(rows).toHaveLength(4);
    expect(rows.join(' ')).toBe(hospital.fingerprint);
    await expect(byTestId('policy-mode')).toHaveAttribute('data-mode', 'aggregate');
    await expect(byTestId('policy-min-group-size')).toHaveText('10');
    await saveFullScreenshot('room-invitation-b.png');
  });

  it('the insurer joins and downloads a packet for the hospital', async () => {
    await byTestId('room-join').click();
    await expect(byTestId('room-screen')).toHaveAttribute('data-status', 'active');
    await expect(byTestId('room-invitation')).not.toExist();
    await expect(byTestId('room-next-step')).toHaveAttribute('data-step', 'joined');

    // Download is the default destination.
    await expect(byTestId('packet-destination-download')).toBeSelected();
    const before = downloadedNames();
    await byTestId('packet-write').click();
    answerPath = await waitForDownload(before, 'The insurer’s packet');
    await expect(byTestId('packet-file-name')).toHaveText(path.basename(answerPath));
    await expect(byTestId('packet-recipients')).toHaveText(hospital.alias);
  });

  it('importing the same invitation again changes nothing', async () => {
    await importInInbox(invitationPath);
    const again = inboxItem(path.basename(invitationPath));
    await expect(again).toHaveAttribute('data-state', 'imported');
    await expect(again.$('[data-testid="inbox-item-counts"]')).toHaveText(
      expect.stringMatching(/^Nothing new · \d+ entr(y|ies) already known$/),
    );
    // Both imports stay listed.
    await expect(allByTestId('inbox-item')).toBeElementsArrayOfSize(2);
  });

  it('the hospital refuses a damaged packet with the reason, and imports the answer', async () => {
    await use(hospital);
    const damaged = path.join(usbStick, 'damaged.cleanroom');
    writeFileSync(damaged, 'CLEANROOM but not really a packet');
    await importInInbox(damaged, answerPath);

    const refused = inboxItem('damaged.cleanroom');
    await expect(refused).toHaveAttribute('data-state', 'failed');
    await expect(refused.$('[data-testid="inbox-item-error"]')).toHaveText(expect.stringContaining('(BAD_PACKET)'));
    const accepted = inboxItem(path.basename(answerPath));
    await expect(accepted).toHaveAttribute('data-state', 'imported');
    await expect(accepted.$('[data-testid="inbox-item-summary"]')).toHaveText(expect.stringContaining(roomName));
    await saveFullScreenshot('exchange-a.png');
  });

  it('both parties see the room active, both members joined, and the same history', async () => {
    await inboxItem(path.basename(answerPath)).$('[data-testid="inbox-item-open-room"]').click();
    await expect(byTestId('room-screen')).toHaveAttribute('data-status', 'active');
    const hospitalView = await readRoomView();

    await use(insurer);
    await navigate('rooms');
    const row = $(`[data-testid="room-row"][data-status="active"]`);
    await row.waitForDisplayed();
    await expect(row.$('[data-testid="room-row-members"]')).toHaveText('2 of 2 joined');
    await saveFullScreenshot('rooms-b.png');
    await row.$('[data-testid="room-open"]').click();
    const insurerView = await readRoomView();

    for (const view of [hospitalView, insurerView]) {
      expect(view.status).toBe('active');
      expect(view.members.map((member) => [member.alias, member.status]).sort()).toEqual([
        [insurer.alias, 'joined'],
        [hospital.alias, 'joined'],
      ]);
      // Created and two joins at least; the exact wording is core's.
      expect(view.log.length).toBeGreaterThanOrEqual(2);
    }
    expect(insurerView.members).toEqual(hospitalView.members);
    expect(insurerView.log).toEqual(hospitalView.log);
  });

  it('saves screenshots of both room overviews', async () => {
    await use(hospital);
    await byTestId('room-screen').waitForDisplayed();
    await saveFullScreenshot('room-overview-a.png');
    await use(insurer);
    await byTestId('room-screen').waitForDisplayed();
    await saveFullScreenshot('room-overview-b.png');
  });

  it('the insurer leaves only after confirming, by keyboard', async () => {
    await byTestId('room-leave-button').click();
    await expect(byTestId('room-leave-confirm-button')).toBeFocused();
    await byTestId('room-leave-cancel').click();
    await expect(byTestId('room-leave-confirm')).not.toExist();
    await expect(byTestId('room-leave-button')).toBeFocused();

    await browser.keys('Enter');
    await expect(byTestId('room-leave-confirm-button')).toBeFocused();
    await browser.keys('Enter');
    await expect(byTestId('room-next-step')).toHaveAttribute('data-step', 'left');
    await expect($(`[data-testid="member-row"][data-alias="${insurer.alias}"]`)).toHaveAttribute('data-status', 'left');
    await expect(byTestId('room-leave')).not.toExist();
  });

  it('the hospital learns it from the insurer’s next packet', async () => {
    await byTestId('packet-destination-folder').click();
    await typeInto('packet-folder', usbStick);
    await byTestId('packet-write').click();
    await byTestId('packet-written').waitForDisplayed();
    const leftPacket = await byTestId('packet-path').getText();

    await use(hospital);
    await importInInbox(leftPacket);
    const item = inboxItem(path.basename(leftPacket));
    await expect(item).toHaveAttribute('data-state', 'imported');
    await item.$('[data-testid="inbox-item-open-room"]').click();
    await expect($(`[data-testid="member-row"][data-alias="${insurer.alias}"]`)).toHaveAttribute('data-status', 'left');
    await expect($('[data-testid="log-entry"][data-type="room.left"] [data-testid="log-author"]')).toHaveText(insurer.alias);
  });
});
