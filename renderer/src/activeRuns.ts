// Runs this window started and is still following, by snapshot: a run goes on in core when its
// snapshot screen is left (another tab, another room), and the screen picks its progress up
// again when it comes back. Kept for the page's life only; core's run.list is the record.

export interface ActiveRun {
  readonly job: string;
  readonly run: string;
}

const bySnapshot = new Map<string, ActiveRun>();

export function rememberActiveRun(snapshot: string, active: ActiveRun): void {
  bySnapshot.set(snapshot, active);
}

export function activeRunOf(snapshot: string): ActiveRun | null {
  return bySnapshot.get(snapshot) ?? null;
}

export function forgetActiveRun(snapshot: string, run: string): void {
  if (bySnapshot.get(snapshot)?.run === run) bySnapshot.delete(snapshot);
}

/** The job following a run, when this window started it and it has not ended. */
export function jobOfRun(run: string): string | null {
  for (const active of bySnapshot.values()) if (active.run === run) return active.job;
  return null;
}
