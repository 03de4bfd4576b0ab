// The renderer's only door to the app: one function per API method, each bound to its own IPC
// channel (derived from the contract), so page code can never name a channel itself.
import { contextBridge, ipcRenderer } from 'electron';
import { buildApi, ipcChannel } from '../../shared/contract.js';
import type { Result } from '../../shared/errors.js';

contextBridge.exposeInMainWorld(
  'cleanroom',
  buildApi((name, request) => ipcRenderer.invoke(ipcChannel(name), request) as Promise<Result<unknown>>),
);
