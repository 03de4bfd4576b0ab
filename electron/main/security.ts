// Electron's security defaults, applied to every web contents and session the app creates.
import { app, type IpcMainInvokeEvent, session, type WebContents } from 'electron';

export const appScheme = 'cleanroom';
export const appOrigin = `${appScheme}://app`;

/** Web contents allowed to call the API: the app's own windows, and only their top frame. */
const trustedContents = new Set<number>();

export function trust(contents: WebContents): void {
  const id = contents.id;
  trustedContents.add(id);
  contents.once('destroyed', () => trustedContents.delete(id));
}

export function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  if (!frame || !trustedContents.has(event.sender.id) || frame !== event.sender.mainFrame) return false;
  try {
    return new URL(frame.url).origin === appOrigin || frame.url.startsWith(`${appOrigin}/`);
  } catch {
    return false;
  }
}

export function applySecurityDefaults(): void {
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.on('will-redirect', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
  const deny = session.defaultSession;
  deny.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  deny.setPermissionCheckHandler(() => false);
  deny.setDevicePermissionHandler(() => false);
}
