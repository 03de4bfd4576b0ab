// Follows a long-running import (table.add, volume.add) by asking job.status every 300 ms until it
// is done or failed. One request at a time: the next poll is scheduled after the answer arrives.
import { useEffect, useState } from 'react';
import { type JobView } from '../../shared/asset.js';
import { type ApiError } from '../../shared/errors.js';
import { useApi } from './ApiContext.js';

export const jobPollMs = 300;

export type JobState =
  | { readonly state: 'idle' }
  | { readonly state: 'following'; readonly job: JobView | null }
  | { readonly state: 'finished'; readonly job: JobView }
  /** job.status itself failed: the import may still be running, but we cannot tell. */
  | { readonly state: 'lost'; readonly error: ApiError };

export function useJob(jobId: string | null): JobState {
  const api = useApi();
  const [state, setState] = useState<JobState>({ state: 'idle' });

  useEffect(() => {
    if (jobId === null) {
      setState({ state: 'idle' });
      return undefined;
    }
    let stopped = false;
    let timer: number | undefined;
    setState({ state: 'following', job: null });

    const poll = async () => {
      let next: JobState;
      try {
        const result = await api['job.status']({ job: jobId });
        if (!result.ok) next = { state: 'lost', error: result.error };
        else if (result.value.state === 'running') next = { state: 'following', job: result.value };
        else next = { state: 'finished', job: result.value };
      } catch (thrown) {
        next = { state: 'lost', error: { code: 'INTERNAL', message: thrown instanceof Error ? thrown.message : 'Cleanroom did not answer.' } };
      }
      if (stopped) return;
      setState(next);
      if (next.state === 'following') timer = window.setTimeout(() => void poll(), jobPollMs);
    };
    void poll();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [api, jobId]);

  return state;
}
