// Long-running imports (table.add, volume.add) as jobs the hosts poll with job.status. Jobs live in
// memory only: they end with the process, and whatever a crashed one left behind is a .partial
// file that the start-up sweep removes, never a visible asset.
import { randomBytes, toBase64Url } from '../../shared/crypto.js';
import { CleanroomError, toApiError } from '../../shared/errors.js';
import { type AssetView, type JobView } from '../../shared/asset.js';

export type JobKind = JobView['kind'];

export interface JobProgress {
  /** Reports bytes (or rows) done of `total` (null while unknown) with a line for the person. */
  (done: number, total: number | null, message: string): void;
}

export interface JobContext {
  readonly progress: JobProgress;
  /** Aborted when core closes: a job checks it between steps and gives up cleanly. */
  readonly signal: AbortSignal;
}

/** Finished jobs are kept this long for a late poll, then forgotten. */
const keepFinishedMs = 60 * 60 * 1000;

interface Job {
  view: JobView;
  settled: Promise<void>;
  finishedAt: number | null;
}

export class Jobs {
  private readonly jobs = new Map<string, Job>();
  private readonly abort = new AbortController();

  constructor(private readonly clock: () => Date) {}

  /** Starts `run` in the background and returns the job's id at once. */
  start(kind: JobKind, message: string, run: (context: JobContext) => Promise<AssetView>): string {
    if (this.abort.signal.aborted) throw new CleanroomError('INTERNAL', 'Cleanroom is shutting down.');
    this.forgetOld();
    const id = toBase64Url(randomBytes(16));
    const view: JobView = {
      id,
      kind,
      state: 'running',
      message,
      done: 0,
      total: null,
      asset: null,
      error: null,
      startedAt: this.clock().toISOString(),
    };
    const job: Job = { view, settled: Promise.resolve(), finishedAt: null };
    const progress: JobProgress = (done, total, line) => {
      if (job.view.state !== 'running') return;
      job.view = { ...job.view, done: Math.max(0, Math.floor(done)), total: total === null ? null : Math.max(0, Math.floor(total)), message: line };
    };
    const settled = (async () => {
      // Let start() return the id before any work happens, so a fast failure is still a job.
      await Promise.resolve();
      try {
        if (this.abort.signal.aborted) throw new CleanroomError('INTERNAL', 'Cleanroom closed before the job started; nothing was added.');
        const asset = await run({ progress, signal: this.abort.signal });
        job.view = { ...job.view, state: 'done', asset, message: `Added ${asset.kind} ${asset.name}.`, done: job.view.total ?? job.view.done };
      } catch (error) {
        const { code, message: text } = toApiError(error);
        job.view = { ...job.view, state: 'failed', error: { code, message: text.slice(0, 2000) }, message: 'Failed: nothing was added.' };
      } finally {
        job.finishedAt = Date.now();
      }
    })();
    job.settled = settled;
    this.jobs.set(id, job);
    return id;
  }

  view(id: string): JobView {
    const job = this.jobs.get(id);
    if (job === undefined) throw new CleanroomError('NOT_FOUND', `No job ${id} in this Cleanroom session (jobs end when the app closes).`);
    return job.view;
  }

  /** Tells running jobs to stop and waits until every one has cleaned up. */
  async stopAll(): Promise<void> {
    this.abort.abort();
    await Promise.all([...this.jobs.values()].map((job) => job.settled));
  }

  private forgetOld(): void {
    const now = Date.now();
    for (const [id, job] of this.jobs) if (job.finishedAt !== null && now - job.finishedAt > keepFinishedMs) this.jobs.delete(id);
  }
}
