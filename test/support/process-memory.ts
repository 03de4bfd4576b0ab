// Peak resident memory of a process, from Linux's /proc (VmHWM, reset by writing 5 to
// clear_refs), for the benchmarks. Elsewhere, or where not allowed, the reset says so and the
// peak is null or covers the process's whole life.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Starts a new peak for `pid`; false when the kernel would not (the peak then covers its whole life). */
export function resetPeak(pid: number | 'self'): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export function peakMiB(pid: number | 'self'): number | null {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? null : Number(match[1]) / 1024;
  } catch {
    return null;
  }
}

/** Child processes of this one (the DuckDB workers core forks, in this process). */
export function childPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid) pids.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}
