// Long-running work (table.add, volume.add, run.start) as jobs the hosts poll with job.status and
// stop with job.cancel. Jobs live in memory only: they end with the process; whatever a crashed
// import left behind is a .partial file that the start-up sweep removes, and a crashed run is
// marked interrupted at the next start-up.
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
  /**
   * Aborted when the person cancels this job or core closes: a job passes it to the worker (which
   * is then killed) and checks it between steps, and gives up cleanly.
   */
  readonly signal: AbortSignal;
}

/** How a job ended well: the line shown for it, and the asset an import added. */
export interface JobOutcome {
  readonly message: string;
  readonly asset?: AssetView;
}

export interface JobOptions {
  /** A run's id, shown in the job's view from the start. */
  readonly run?: string;
  /** The line shown when the job fails (default "Failed: nothing was added."). */
  readonly failedMessage?: string;
  /** The line shown when the job is cancelled (default "Cancelled: nothing was added."). */
  readonly cancelledMessage?: string;
}

/** Finished jobs are kept this long for a late poll, then forgotten. */
const keepFinishedMs = 60 * 60 * 1000;

interface Job {
  view: JobView;
  settled: Promise<void>;
  finishedAt: number | null;
  readonly abort: AbortController;
  cancelRequested: boolean;
}

export class Jobs {
  private readonly jobs = new Map<string, Job>();
  private readonly abort = new AbortController();

  constructor(
    private readonly clock: () => Date,
    /** Turns a library's error into ours before it is shown (core: a full disk becomes DISK_FULL). */
    private readonly translate: (error: unknown) => unknown = (error) => error,
  ) {}

  /** Starts an import in the background and returns the job's id at once. */
  start(kind: JobKind, message: string, run: (context: JobContext) => Promise<AssetView>): string {
    return this.startWork(kind, message, async (context) => {
      const asset = await run(context);
      return { asset, message: `Added ${asset.kind} ${asset.name}.` };
    });
  }

  /** Starts any job in the background and returns its id at once. */
  startWork(kind: JobKind, message: string, work: (context: JobContext) => Promise<JobOutcome>, options: JobOptions = {}): string {
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
      ...(options.run === undefined ? {} : { run: options.run }),
      error: null,
      startedAt: this.clock().toISOString(),
    };
    const abort = new AbortController();
    // Closing core cancels every job too.
    const onClose = (): void => abort.abort();
    this.abort.signal.addEventListener('abort', onClose, { once: true });
    const job: Job = { view, settled: Promise.resolve(), finishedAt: null, abort, cancelRequested: false };
    const progress: JobProgress = (done, total, line) => {
      if (job.view.state !== 'running') return;
      job.view = { ...job.view, done: Math.max(0, Math.floor(done)), total: total === null ? null : Math.max(0, Math.floor(total)), message: line };
    };
    const settled = (async () => {
      // Let start() return the id before any work happens, so a fast failure is still a job.
      await Promise.resolve();
      try {
        if (this.abort.signal.aborted) throw new CleanroomError('INTERNAL', 'Cleanroom closed before the job started; nothing was done.');
        const outcome = await work({ progress, signal: abort.signal });
        job.view = {
          ...job.view,
          state: 'done',
          asset: outcome.asset ?? null,
          message: outcome.message,
          done: job.view.total ?? job.view.done,
        };
      } catch (error) {
        const { code, message: text } = toApiError(this.translate(error));
        const cancelled = job.cancelRequested || code === 'CANCELLED';
        job.view = {
          ...job.view,
          state: cancelled ? 'cancelled' : 'failed',
          error: { code: cancelled ? 'CANCELLED' : code, message: (cancelled && code !== 'CANCELLED' ? 'Cancelled.' : text).slice(0, 2000) },
          message: cancelled ? (options.cancelledMessage ?? 'Cancelled: nothing was added.') : (options.failedMessage ?? 'Failed: nothing was added.'),
        };
      } finally {
        job.finishedAt = Date.now();
        this.abort.signal.removeEventListener('abort', onClose);
      }
    })();
    job.settled = settled;
    this.jobs.set(id, job);
    return id;
  }

  view(id: string): JobView {
    return this.find(id).view;
  }

  /**
   * Asks a running job to stop and waits until it has cleaned up; returns its final view. A job
   * that already ended is returned as it is.
   */
  async cancel(id: string): Promise<JobView> {
    const job = this.find(id);
    if (job.view.state === 'running') {
      job.cancelRequested = true;
      job.abort.abort();
      await job.settled;
    }
    return job.view;
  }

  /** Tells running jobs to stop and waits until every one has cleaned up. */
  async stopAll(): Promise<void> {
    this.abort.abort();
    await Promise.all([...this.jobs.values()].map((job) => job.settled));
  }

  private find(id: string): Job {
    const job = this.jobs.get(id);
    if (job === undefined) throw new CleanroomError('NOT_FOUND', `No job ${id} in this Cleanroom session (jobs end when the app closes).`);
    return job;
  }

  private forgetOld(): void {
    const now = Date.now();
    for (const [id, job] of this.jobs) if (job.finishedAt !== null && now - job.finishedAt > keepFinishedMs) this.jobs.delete(id);
  }
}
