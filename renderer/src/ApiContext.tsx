// Hands the one CleanroomApi (IPC or HTTP, chosen in api.ts) to every screen.
import { createContext, type ReactNode, useContext } from 'react';
import { type CleanroomApi } from '../../shared/contract.js';

const ApiContext = createContext<CleanroomApi | null>(null);

export function ApiProvider({ api, children }: { api: CleanroomApi; children: ReactNode }) {
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

export function useApi(): CleanroomApi {
  const api = useContext(ApiContext);
  if (api === null) throw new Error('useApi must be used inside <ApiProvider>.');
  return api;
}
