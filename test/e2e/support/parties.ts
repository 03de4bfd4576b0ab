// The steps two-party specs share: each party has its own app (its own shell, home and window),
// and the steps are what a person does there: create an identity, save and import identity
// cards, import packets in the Exchange inbox, write a packet onto the "USB stick", and (for
// specs that need a room to start from) form a room from nothing to active.
import path from 'node:path';
import { $, browser, expect } from '@wdio/globals';
import { type OpenedApp } from './app.js';
import { downloadedNames, waitForDownload } from './downloads.js';
import { allByTestId, byTestId, chooseFiles, typeInto } from './ui.js';

export interface Party {
  readonly alias: string;
  readonly passphrase: string;
  app?: OpenedApp;
  /** As the party's own Identity screen shows it: five groups of four. */
  sharingId?: string;
  /** As the party's own Identity screen shows it: sixteen groups of four. */
  fingerprint?: string;
  cardPath?: string;
}

export const hospitalParty = (): Party => ({ alias: 'St Mary Hospital', passphrase: 'harbour lantern pebble orchid' });
export const insurerParty = (): Party => ({ alias: 'Acme Insurance', passphrase: 'quiet meadow copper violin' });

/** Makes this party's window the one the driver talks to. */
export async function use(party: Party): Promise<void> {
  if (party.app === undefined) throw new Error(`${party.alias}'s app is not open.`);
  await party.app.focus();
}

export async function navigate(section: 'rooms' | 'exchange' | 'identity'): Promise<void> {
  await byTestId(`nav-${section}`).click();
  await expect(byTestId(`nav-${section}`)).toHaveAttribute('aria-current', 'page');
}

/** Creates the identity on the first screen and reads back the identifiers it shows. */
export async function createIdentity(party: Party): Promise<void> {
  await byTestId('create-identity-screen').waitForDisplayed();
  await typeInto('create-alias', party.alias);
  await typeInto('create-passphrase', party.passphrase);
  await typeInto('create-confirm', party.passphrase);
  await byTestId('create-submit').click();
  await byTestId('identity-screen').waitForDisplayed();
  const groups = await allByTestId('sharing-id-group').map((group) => group.getText());
  party.sharingId = groups.join(' ');
  const fingerprintGroups = await allByTestId('fingerprint-group').map((group) => group.getText());
  party.fingerprint = fingerprintGroups.join(' ');
}

/** Saves the party's identity card from the Identity screen (a download) and remembers its path. */
export async function saveCard(party: Party): Promise<string> {
  await navigate('identity');
  const before = downloadedNames();
  await byTestId('save-card').click();
  party.cardPath = await waitForDownload(before, `${party.alias}'s identity card`);
  return party.cardPath;
}

/** Imports someone's card under Identity → Contacts and waits for the verification to show. */
export async function importContact(cardPath: string, alias: string): Promise<void> {
  await navigate('identity');
  await chooseFiles('contact-drop-input', cardPath);
  await expect($(`[data-testid="contact-row"][data-alias="${alias}"]`)).toBeDisplayed();
}

/** Imports files in the Exchange inbox and waits until each has a result. */
export async function importInInbox(...files: string[]): Promise<void> {
  await navigate('exchange');
  const before = await allByTestId('inbox-item').length;
  await chooseFiles('packet-drop-input', ...files);
  await browser.waitUntil(
    async () => {
      const states = await allByTestId('inbox-item').map((item) => item.getAttribute('data-state'));
      return states.length === before + files.length && !states.includes('importing');
    },
    { timeoutMsg: `The inbox did not finish importing ${files.map((file) => path.basename(file)).join(', ')}.` },
  );
}

/** The inbox row for a file name (newest first, so the latest import of that name). */
export const inboxItem = (fileName: string) => $(`[data-testid="inbox-item"][data-file-name="${fileName}"]`);

/** Imports one packet, checks it was accepted, and opens its room from the inbox. */
export async function importPacketAndOpenRoom(packetPath: string): Promise<void> {
  await importInInbox(packetPath);
  const item = inboxItem(path.basename(packetPath));
  await expect(item).toHaveAttribute('data-state', 'imported');
  await item.$('[data-testid="inbox-item-open-room"]').click();
  await expect(byTestId('room-screen')).toHaveAttribute('data-state', 'ready');
}

/**
 * Writes a packet with the write-packet form inside `containerTestId` straight into `folder`, and
 * returns the packet's path as the form reports it.
 */
export async function writePacketToFolder(containerTestId: string, folder: string): Promise<string> {
  const within = (testId: string) => $(`[data-testid="${containerTestId}"] [data-testid="${testId}"]`);
  await within('packet-destination-folder').click();
  const folderInput = within('packet-folder');
  await folderInput.waitForDisplayed();
  await folderInput.setValue(folder);
  await within('packet-write').click();
  await within('packet-written').waitForDisplayed();
  return within('packet-path').getText();
}

export interface RoomSetup {
  readonly name: string;
  readonly site: string;
  /** The "USB stick": a folder both parties reach. */
  readonly stick: string;
  /** The room's policy mode; the form's default (aggregate) when absent. */
  readonly mode?: 'aggregate' | 'reviewed';
}

/**
 * From two fresh homes to an active room, through the UI: identities, cards swapped, the creator
 * invites with a packet on the stick, the invitee joins and answers with a packet the creator
 * imports. Ends with both parties' windows on the room's overview.
 */
export async function formRoom(creator: Party, invitee: Party, room: RoomSetup): Promise<void> {
  for (const party of [creator, invitee]) {
    await use(party);
    await createIdentity(party);
    await saveCard(party);
  }
  await use(invitee);
  await importContact(creator.cardPath as string, creator.alias);
  await use(creator);
  await importContact(invitee.cardPath as string, invitee.alias);

  await navigate('rooms');
  await byTestId('new-room').click();
  await typeInto('room-name', room.name);
  await typeInto('room-site', room.site);
  await byTestId(`room-member-${invitee.alias}`).click();
  if (room.mode !== undefined) await byTestId(`room-mode-${room.mode}`).click();
  await byTestId('create-room-submit').click();
  await expect(byTestId('room-next-step')).toHaveAttribute('data-step', 'invite');
  const invitation = await writePacketToFolder('room-next-step', room.stick);

  await use(invitee);
  await importPacketAndOpenRoom(invitation);
  await byTestId('room-join').click();
  await expect(byTestId('room-screen')).toHaveAttribute('data-status', 'active');
  const answer = await writePacketToFolder('room-next-step', room.stick);

  await use(creator);
  await importPacketAndOpenRoom(answer);
  await expect(byTestId('room-screen')).toHaveAttribute('data-status', 'active');
}
