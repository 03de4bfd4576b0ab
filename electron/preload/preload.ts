// The renderer's only door to the app: one function per API method, each bound to its own IPC
// channel (derived from the contract), so page code can never name a channel itself.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { buildApi, ipcChannel } from '../../shared/contract.js';
import type { Result } from '../../shared/errors.js';

contextBridge.exposeInMainWorld(
  'cleanroom',
  buildApi((name, request) => ipcRenderer.invoke(ipcChannel(name), request) as Promise<Result<unknown>>),
);

// Beside the API, one narrow helper: the path on disk of a file the person picked or dropped, so
// core can read a table from where it is (a page is never told a picked file's path).
contextBridge.exposeInMainWorld('cleanroomFiles', {
  pathForFile: (file: File): string => webUtils.getPathForFile(file),
});
