// Core's side of the DuckDB worker: starts the worker process on demand, speaks the typed protocol
// of shared/worker-protocol.ts to it, kills it when a request outlives its timeout, and starts a
// fresh one on the next request after a timeout or crash, so a hung or dead worker costs the
// caller one failed request and never the app.

import { CleanroomError } from '../../shared/errors.js';
import {
  parseWorkerMessage,
  parseWorkerRequest,
  type WorkerRequest,
  type WorkerRequestInput,
  type WorkerProgress,
  type WorkerRequestKind,
  type WorkerResult,
  type WorkerResultFor,
} from '../../shared/worker-protocol.js';
import { launchNodeWorker } from './worker-launch-node.js';

// ---------------------------------------------------------------------------------------------
// Launchers: how a worker process is started (child_process.fork under Node, utilityProcess
// under Electron). The host needs only this much of either.

export interface WorkerExit {
  readonly code: number | null;
  readonly signal: string | null;
}

export interface WorkerChannel {
  /** The worker's process id; undefined until it has spawned (Electron) or if it never did. */
  readonly pid: number | undefined;
  send(message: WorkerRequest): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called exactly once, when the process has ended and been reaped (or failed to spawn). */
  onExit(listener: (exit: WorkerExit) => void): void;
  /** Ends the process now; a worker stuck inside DuckDB must not be able to refuse. */
  kill(): void;
}

export type WorkerLauncher = (entry: string, execArgv: string[]) => WorkerChannel;

export interface WorkerHostOptions {
  /** The worker's entry file: build/out/worker.cjs, or electron/worker/main.ts under tsx. */
  readonly entry: string;
  readonly execArgv?: readonly string[];
  readonly launch?: WorkerLauncher;
  /** Per-request timeout unless the request says otherwise. Default 30 s. */
  readonly defaultTimeoutMs?: number;
  /** How long a new worker may take to open DuckDB and report ready. Default 20 s. */
  readonly startTimeoutMs?: number;
}

export interface WorkerRequestOptions {
  /** The whole request's limit, progress or not: long imports pass a generous one. */
  readonly timeoutMs?: number;
  /** Called for each `progress` message the worker sends about this request, in order. */
  readonly onProgress?: (progress: WorkerProgress) => void;
  /**
   * Aborting it kills the worker (nothing it held survives) and rejects with CANCELLED once the
   * process is gone; the next request starts a new worker.
   */
  readonly signal?: AbortSignal;
}

export interface WorkerHandshake {
  readonly duckdbVersion: string;
  readonly pid: number;
}

const defaultTimeoutMs = 30_000;
const defaultStartTimeoutMs = 20_000;
/** How long to wait for a killed worker's exit to be reported before treating it as gone anyway. */
const exitGraceMs = 5_000;
const maxTimerMs = 2_147_483_647;

function checkTimeout(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > maxTimerMs) {
    throw new CleanroomError('BAD_REQUEST', `${name} must be a whole number of milliseconds from 1 to ${maxTimerMs}`);
  }
  return value;
}

const cancelled = (): CleanroomError => new CleanroomError('CANCELLED', 'Cancelled: the DuckDB worker was stopped; nothing it held was kept.');

const describeExit = (exit: WorkerExit): string =>
  exit.signal !== null ? `signal ${exit.signal}` : exit.code !== null ? `exit code ${exit.code}` : 'no exit status';

// ---------------------------------------------------------------------------------------------
// One worker process, from launch to exit.

interface PendingRequest {
  readonly kind: WorkerRequestKind;
  readonly timer: NodeJS.Timeout;
  readonly onProgress: ((progress: WorkerProgress) => void) | undefined;
  resolve(result: WorkerResult): void;
  reject(error: CleanroomError): void;
}

type ProcessState = 'starting' | 'running' | 'ending' | 'exited';

class WorkerProcess {
  readonly #channel: WorkerChannel;
  readonly #pending = new Map<number, PendingRequest>();
  #state: ProcessState = 'starting';
  #pid: number | null = null;
  /** Why requests still pending fail when this process ends, if the host ended it on purpose. */
  #endReason: CleanroomError | null = null;
  readonly #startTimer: NodeJS.Timeout;
  #exitGraceTimer: NodeJS.Timeout | null = null;
  #settleReady: (error: CleanroomError | null) => void = () => undefined;
  #markExited: () => void = () => undefined;

  /** Resolves when the worker reports ready; rejects with WORKER_UNAVAILABLE if it never does. */
  readonly ready: Promise<void>;
  /** Resolves once the process is gone (its exit seen, so its pid no longer exists). */
  readonly exited: Promise<void>;

  constructor(channel: WorkerChannel, startTimeoutMs: number) {
    this.#channel = channel;
    this.ready = new Promise((resolve, reject) => {
      this.#settleReady = (error) => (error === null ? resolve() : reject(error));
    });
    // Every caller awaits `ready`; this only stops a failed start nobody waited for from being
    // reported as an unhandled rejection.
    this.ready.catch(() => undefined);
    this.exited = new Promise((resolve) => {
      this.#markExited = resolve;
    });
    this.#startTimer = setTimeout(() => {
      this.end(new CleanroomError('WORKER_UNAVAILABLE', `The DuckDB worker did not start within ${startTimeoutMs} ms.`));
    }, startTimeoutMs);
    channel.onMessage((raw) => this.#receive(raw));
    channel.onExit((exit) => this.#handleExit(exit));
  }

  /** The worker's pid while it is starting up or serving; null once it is ending or gone. */
  get pid(): number | null {
    return this.usable ? this.#pid : null;
  }

  /** True while new requests may be sent to this process. */
  get usable(): boolean {
    return this.#state === 'starting' || this.#state === 'running';
  }

  request(
    request: WorkerRequest,
    timeoutMs: number,
    onProgress?: (progress: WorkerProgress) => void,
    signal?: AbortSignal,
  ): Promise<WorkerResult> {
    return new Promise((resolve, reject) => {
      if (this.#state !== 'running') {
        reject(this.#endReason ?? new CleanroomError('WORKER_CRASHED', 'The DuckDB worker stopped before the request was sent.'));
        return;
      }
      if (signal?.aborted === true) {
        reject(cancelled());
        return;
      }
      /** Ends this request alone: the process is killed for it, and the request fails with `error` once it is gone. */
      const stopFor = (why: string, error: CleanroomError): void => {
        const pending = this.#pending.get(request.id);
        if (pending === undefined) return;
        this.#pending.delete(request.id);
        clearTimeout(pending.timer);
        signal?.removeEventListener('abort', onAbort);
        this.end(new CleanroomError('WORKER_CRASHED', `The DuckDB worker was restarted because another request ${why}.`));
        // Reject only once the process is really gone, so "timed out" or "cancelled" also means "killed".
        void this.exited.then(() => reject(error));
      };
      const onAbort = (): void => stopFor('was cancelled', cancelled());
      const timer = setTimeout(
        () =>
          stopFor(
            'timed out',
            new CleanroomError(
              'WORKER_TIMEOUT',
              `The DuckDB worker did not answer within ${timeoutMs} ms, so it was stopped; the next request starts a new one.`,
            ),
          ),
        timeoutMs,
      );
      const settle = {
        resolve: (result: WorkerResult) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(result);
        },
        reject: (error: CleanroomError) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.#pending.set(request.id, { kind: request.kind, timer, onProgress, ...settle });
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        this.#channel.send(request);
      } catch {
        this.#pending.delete(request.id);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const reason = new CleanroomError('WORKER_CRASHED', 'The DuckDB worker could not be reached; the next request starts a new one.');
        this.end(reason);
        reject(reason);
      }
    });
  }

  /** Kills the process on purpose; requests still pending fail with `reason`. */
  end(reason: CleanroomError): void {
    if (this.#state === 'exited') return;
    this.#endReason ??= reason;
    this.#state = 'ending';
    clearTimeout(this.#startTimer);
    this.#channel.kill();
    // Normally the exit arrives at once; if a launcher never reports it, stop waiting rather than
    // hang every caller. This timer is ref'd so the caller's process stays alive until then.
    this.#exitGraceTimer ??= setTimeout(() => this.#handleExit({ code: null, signal: null }), exitGraceMs);
  }

  #receive(raw: unknown): void {
    if (this.#state === 'exited') return;
    const parsed = parseWorkerMessage(raw);
    if (!parsed.ok) {
      this.#protocolViolation('it sent a malformed message');
      return;
    }
    const message = parsed.value;
    if (message.kind === 'ready') {
      if (this.#state !== 'starting') return;
      this.#state = 'running';
      this.#pid = message.pid;
      clearTimeout(this.#startTimer);
      this.#settleReady(null);
      return;
    }
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return; // an answer nobody is waiting for any more
    if (message.kind === 'progress') {
      try {
        pending.onProgress?.({ phase: message.phase, done: message.done, total: message.total });
      } catch {
        // A listener's bug must not cost the request; the listener owns its own errors.
      }
      return;
    }
    if (message.kind === 'result' && message.result.kind !== pending.kind) {
      this.#protocolViolation('it answered a request with the wrong kind of result');
      return;
    }
    this.#pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.kind === 'result') pending.resolve(message.result);
    else pending.reject(new CleanroomError(message.code, message.message));
  }

  #protocolViolation(what: string): void {
    // A worker that breaks the protocol cannot be trusted with the next request either.
    this.end(
      new CleanroomError(
        this.#state === 'starting' ? 'WORKER_UNAVAILABLE' : 'WORKER_CRASHED',
        `The DuckDB worker was stopped because ${what}.`,
      ),
    );
  }

  #handleExit(exit: WorkerExit): void {
    if (this.#state === 'exited') return;
    const wasStarting = this.#pid === null;
    this.#state = 'exited';
    clearTimeout(this.#startTimer);
    if (this.#exitGraceTimer !== null) clearTimeout(this.#exitGraceTimer);
    if (wasStarting) {
      const reason = this.#endReason;
      this.#settleReady(
        reason?.code === 'WORKER_UNAVAILABLE'
          ? reason
          : new CleanroomError('WORKER_UNAVAILABLE', `The DuckDB worker could not start (${describeExit(exit)}).`),
      );
    }
    const reason =
      this.#endReason ??
      new CleanroomError(
        'WORKER_CRASHED',
        `The DuckDB worker stopped unexpectedly (${describeExit(exit)}); the next request starts a new one.`,
      );
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(reason);
    }
    this.#pending.clear();
    this.#markExited();
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Owns at most one live DuckDB worker process. The process starts lazily on the first request;
 * after a timeout, crash or `stop()`, the next request starts a new one. A live worker keeps the
 * host process running (like any child process): call `stop()` when shutting down.
 */
export class WorkerHost {
  readonly #entry: string;
  readonly #execArgv: readonly string[];
  readonly #launch: WorkerLauncher;
  readonly #defaultTimeoutMs: number;
  readonly #startTimeoutMs: number;
  #process: WorkerProcess | null = null;
  #nextId = 1;

  constructor(options: WorkerHostOptions) {
    this.#entry = options.entry;
    this.#execArgv = [...(options.execArgv ?? [])];
    this.#launch = options.launch ?? launchNodeWorker;
    this.#defaultTimeoutMs = checkTimeout('defaultTimeoutMs', options.defaultTimeoutMs ?? defaultTimeoutMs);
    this.#startTimeoutMs = checkTimeout('startTimeoutMs', options.startTimeoutMs ?? defaultStartTimeoutMs);
  }

  /** The pid of the current worker process, or null when none is running. */
  get pid(): number | null {
    return this.#process?.pid ?? null;
  }

  /** Starts the worker if needed and returns DuckDB's version and the worker's pid. */
  async handshake(): Promise<WorkerHandshake> {
    const { duckdbVersion, pid } = await this.request({ kind: 'handshake' });
    return { duckdbVersion, pid };
  }

  /**
   * Sends one request and resolves with the result for its kind. Rejects with the worker's own
   * error (e.g. BAD_REQUEST, INTERNAL "query failed: Binder Error"), WORKER_TIMEOUT (the worker
   * was killed), CANCELLED (options.signal aborted; the worker was killed), WORKER_CRASHED (it died
   * meanwhile) or WORKER_UNAVAILABLE (it could not start).
   */
  async request<R extends WorkerRequestInput>(message: R, options: WorkerRequestOptions = {}): Promise<WorkerResultFor<R['kind']>> {
    const timeoutMs = checkTimeout('timeoutMs', options.timeoutMs ?? this.#defaultTimeoutMs);
    const parsed = parseWorkerRequest({ ...message, id: this.#nextId++ });
    if (!parsed.ok) throw new CleanroomError('BAD_REQUEST', `Invalid worker request: ${parsed.issue.message}`);
    if (options.signal?.aborted === true) throw cancelled();
    const worker = await this.#running();
    // The process checked that the result's kind matches the request's.
    return (await worker.request(parsed.value, timeoutMs, options.onProgress, options.signal)) as WorkerResultFor<R['kind']>;
  }

  /** Kills the worker, if any, and waits until it is gone. Pending requests fail with WORKER_UNAVAILABLE. */
  async stop(): Promise<void> {
    const worker = this.#process;
    this.#process = null;
    if (worker === null) return;
    worker.end(new CleanroomError('WORKER_UNAVAILABLE', 'The DuckDB worker was stopped.'));
    await worker.exited;
  }

  async #running(): Promise<WorkerProcess> {
    let worker = this.#process;
    if (worker === null || !worker.usable) {
      // No await between the check and this assignment: concurrent callers share one start.
      worker = this.#start();
      this.#process = worker;
    }
    await worker.ready;
    return worker;
  }

  #start(): WorkerProcess {
    let channel: WorkerChannel;
    try {
      channel = this.#launch(this.#entry, [...this.#execArgv]);
    } catch {
      throw new CleanroomError('WORKER_UNAVAILABLE', 'The DuckDB worker process could not be launched.');
    }
    return new WorkerProcess(channel, this.#startTimeoutMs);
  }
}
