// A person's first minutes with Cleanroom: create an identity, read it back, lock, fail to unlock
// with a wrong passphrase, unlock, change the passphrase and unlock with the new one.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { $$, browser, expect } from '@wdio/globals';
import { openApp, type OpenedApp } from '../support/app.js';
import { byTestId, typeInto } from '../support/ui.js';
import { repoRoot } from '../wdio.shared.conf.js';

const alias = 'St Mary Hospital';
const firstPassphrase = 'harbour lantern pebble orchid';
const secondPassphrase = 'quiet meadow copper violin';
const wrongPassphrase = 'harbour lantern pebble orchie';

async function expectIdentityScreen(): Promise<void> {
  await byTestId('identity-screen').waitForDisplayed();
  await expect(byTestId('identity-alias')).toHaveText(alias);
}

async function unlockWith(passphrase: string): Promise<void> {
  await typeInto('unlock-passphrase', passphrase);
  // Keyboard submit: Enter in the field, as a person would.
  await browser.keys('Enter');
}

describe('identity', () => {
  let app: OpenedApp | undefined;

  before(async () => {
    app = await openApp();
  });

  after(async () => {
    await app?.close();
  });

  it('starts at the create-identity screen, explaining the trust model', async () => {
    await byTestId('create-identity-screen').waitForDisplayed();
    await expect(byTestId('trust-line')).toHaveText(
      'Your rows never leave this machine unencrypted; others see only column names and types.',
    );
    if (app?.target === 'chromium') {
      // The access token was moved from the address bar into sessionStorage.
      expect(await browser.getUrl()).not.toContain('token=');
    }
  });

  it('says when the page lacks its token, and recovers when the printed address is pasted into the tab', async () => {
    if (app?.target !== 'chromium' || app.url === undefined) return; // Electron needs no token.
    const printed = app.url;
    const bare = printed.slice(0, printed.indexOf('#'));
    // No token (a bookmark of the bare address), then an old one (the shell was restarted).
    for (const stored of [null, 'an-old-token']) {
      await browser.execute((token) => {
        sessionStorage.clear();
        if (token !== null) sessionStorage.setItem('cleanroom.shellToken', token);
      }, stored);
      await browser.url(bare);
      await byTestId('startup-error').waitForDisplayed();
      await expect(byTestId('startup-error')).toHaveText(expect.stringContaining(stored === null ? 'without its access token' : 'Missing or wrong token'));
      // Only the fragment differs, so the browser loads no new page: the app must pick the token up.
      await browser.url(printed);
      await byTestId('create-identity-screen').waitForDisplayed();
      expect(await browser.getUrl()).not.toContain('token=');
    }
  });

  it('gives live passphrase feedback and refuses mismatched passphrases', async () => {
    await typeInto('create-alias', alias);
    await typeInto('create-passphrase', 'short');
    await expect(byTestId('create-identity-screen')).toHaveText(expect.stringContaining('Use at least 12 characters'));
    await typeInto('create-passphrase', firstPassphrase);
    await expect(byTestId('create-identity-screen')).toHaveText(expect.stringContaining('Strong enough.'));
    await typeInto('create-confirm', `${firstPassphrase}x`);
    await byTestId('create-submit').click();
    await expect(byTestId('create-identity-screen')).toHaveText(expect.stringContaining('The passphrases do not match.'));
    await expect(byTestId('create-confirm')).toBeFocused();
  });

  it('creates the identity and shows alias, sharing identifier and fingerprint in groups', async () => {
    await typeInto('create-confirm', firstPassphrase);
    await byTestId('create-submit').click();
    await expectIdentityScreen();

    const sharingGroups = await $$('[data-testid="sharing-id-group"]').map((group) => group.getText());
    expect(sharingGroups).toHaveLength(5);
    for (const group of sharingGroups) expect(group).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}$/);

    const fingerprintGroups = await $$('[data-testid="fingerprint-group"]').map((group) => group.getText());
    expect(fingerprintGroups).toHaveLength(16);
    for (const group of fingerprintGroups) expect(group).toMatch(/^[0-9a-f]{4}$/);

    // The About card loads on its own; wait for it so the screenshot shows the finished screen.
    await expect(byTestId('about-duckdb')).toHaveAttribute('data-state', 'ready');
    await expect(byTestId('about-version')).toHaveText(/^\d+\.\d+\.\d+/);
    await expect(byTestId('about-host')).toHaveText(app?.target === 'electron' ? 'Desktop app' : 'Browser shell');

    const artifacts = path.join(repoRoot, 'test', 'artifacts');
    mkdirSync(artifacts, { recursive: true });
    await browser.saveScreenshot(path.join(artifacts, app?.target === 'electron' ? 'identity-electron.png' : 'identity.png'));
  });

  it('copies the sharing identifier and confirms it', async () => {
    await byTestId('copy-sharing-id').click();
    await expect(byTestId('copy-sharing-id')).toHaveText('Copied');
  });

  it('stays unlocked across a reload and navigates between sections', async () => {
    await browser.refresh();
    await byTestId('app-shell').waitForDisplayed();
    await byTestId('nav-rooms').click();
    await byTestId('rooms-empty').waitForDisplayed();
    await expect(byTestId('nav-rooms')).toHaveAttribute('aria-current', 'page');
    await byTestId('nav-exchange').click();
    await byTestId('exchange-empty').waitForDisplayed();
    await byTestId('nav-identity').click();
    await expectIdentityScreen();
  });

  it('locks', async () => {
    await byTestId('lock-button').click();
    await byTestId('unlock-screen').waitForDisplayed();
    await expect(byTestId('unlock-alias')).toHaveText(alias);
  });

  it('refuses a wrong passphrase with a visible error and stays locked', async () => {
    await unlockWith(wrongPassphrase);
    const error = byTestId('unlock-error');
    await error.waitForDisplayed();
    expect((await error.getText()).trim()).not.toBe('');
    await expect(byTestId('unlock-screen')).toBeDisplayed();
    await expect(byTestId('app-shell')).not.toExist();
    await expect(byTestId('unlock-passphrase')).toBeFocused();
  });

  it('unlocks with the right passphrase, back on the identity screen', async () => {
    await unlockWith(firstPassphrase);
    await expectIdentityScreen();
  });

  it('shows the error when changing the passphrase with a wrong current one', async () => {
    await typeInto('change-current', wrongPassphrase);
    await typeInto('change-next', secondPassphrase);
    await typeInto('change-confirm', secondPassphrase);
    await byTestId('change-submit').click();
    const error = byTestId('change-passphrase-error');
    await error.waitForDisplayed();
    expect((await error.getText()).trim()).not.toBe('');
  });

  it('changes the passphrase, and afterwards only the new one unlocks', async () => {
    await typeInto('change-current', firstPassphrase);
    await typeInto('change-next', secondPassphrase);
    await typeInto('change-confirm', secondPassphrase);
    await byTestId('change-submit').click();
    await byTestId('change-passphrase-done').waitForDisplayed();

    await byTestId('lock-button').click();
    await byTestId('unlock-screen').waitForDisplayed();
    await unlockWith(firstPassphrase);
    await byTestId('unlock-error').waitForDisplayed();

    await unlockWith(secondPassphrase);
    await expectIdentityScreen();
  });
});
