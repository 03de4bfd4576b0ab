// The Electron host: a window on the renderer, served from the app's own scheme, and IPC handlers
// that pass each call to core after checking who sent it. No business logic lives here.
import { app, BrowserWindow, dialog, ipcMain, protocol } from 'electron';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { apiMethods, ipcChannel } from '../../shared/contract.js';
import { toApiError } from '../../shared/errors.js';
import { type Core, defaultHome, openCore } from '../core/index.js';
import { contentSecurityPolicy } from '../../shared/content-security-policy.js';
import { appOrigin, appScheme, applySecurityDefaults, isTrustedSender, trust } from './security.js';
import { launchUtilityWorker } from './worker-launch-electron.js';

const rendererDir = path.join(__dirname, 'renderer');
// better-sqlite3 built for Electron's ABI by build/setup.mjs (node_modules holds Node's build).
const electronSqliteBinding = path.join(__dirname, '..', 'native', 'electron', 'better_sqlite3.node');

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

protocol.registerSchemesAsPrivileged([{ scheme: appScheme, privileges: { standard: true, secure: true } }]);

function homeFromArgs(argv: readonly string[]): string {
  const flag = argv.find((arg) => arg.startsWith('--home='));
  return flag ? path.resolve(flag.slice('--home='.length)) : defaultHome();
}

async function serveRendererFile(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const relative = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
  const file = path.resolve(rendererDir, `.${relative}`);
  if (url.host !== 'app' || !file.startsWith(rendererDir + path.sep)) return new Response('Not found', { status: 404 });
  try {
    const body = await readFile(file);
    return new Response(body, {
      headers: {
        'content-type': contentTypes[path.extname(file)] ?? 'application/octet-stream',
        'content-security-policy': contentSecurityPolicy,
        'x-content-type-options': 'nosniff',
      },
    });
  } catch {
    return new Response('Not found', { status: 404 });
  }
}

function registerApi(core: Core): void {
  for (const method of apiMethods) {
    ipcMain.handle(ipcChannel(method), async (event, request: unknown) => {
      if (!isTrustedSender(event)) return { ok: false, error: { code: 'FORBIDDEN', message: 'Call refused: untrusted sender.' } };
      try {
        return await core.dispatch(method, request);
      } catch (error) {
        return { ok: false, error: toApiError(error) };
      }
    });
  }
}

function createWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1200,
    height: 800,
    minWidth: 880,
    minHeight: 600,
    show: false,
    title: 'Cleanroom',
    backgroundColor: '#f7f7f5',
    webPreferences: {
      preload: path.join(__dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
    },
  });
  trust(window.webContents);
  window.once('ready-to-show', () => window.show());
  void window.loadURL(`${appOrigin}/index.html`);
  return window;
}

async function start(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  await app.whenReady();
  applySecurityDefaults();
  protocol.handle(appScheme, serveRendererFile);

  let core: Core;
  try {
    core = await openCore({
      home: homeFromArgs(process.argv),
      host: 'electron',
      workerEntry: path.join(__dirname, 'worker.cjs'),
      launchWorker: launchUtilityWorker,
      sqliteNativeBinding: existsSync(electronSqliteBinding) ? electronSqliteBinding : undefined,
    });
  } catch (error) {
    dialog.showErrorBox('Cleanroom cannot open its home', toApiError(error).message);
    app.exit(1);
    return;
  }
  registerApi(core);

  let window = createWindow();
  app.on('second-instance', () => {
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) window = createWindow();
  });
  app.on('window-all-closed', () => app.quit());
  let closing = false;
  app.on('before-quit', (event) => {
    if (closing) return;
    closing = true;
    event.preventDefault();
    void core.close().finally(() => app.exit(0));
  });
}

void start();
