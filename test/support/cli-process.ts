// Runs the built `cleanroom` command (build/out/cli.cjs) as a child process, the way a user or a
// script would, with a controlled environment; and the checks every CLI test makes of its exit.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { built } from './paths.js';

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningCli {
  readonly child: ChildProcess;
  /** The first line written to stdout; rejects if the process ends before writing one. */
  readonly firstLine: Promise<string>;
  /** Everything written, once the process has ended. */
  readonly result: Promise<CliResult>;
}

/** The environment without any Cleanroom settings inherited from the caller, plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('CLEANROOM_')) delete env[key];
  return { ...env, ...extra };
}

export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = cliEnv()): RunningCli {
  const child = spawn(process.execPath, [built('cli.cjs'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let lineFound: (line: string) => void = () => {};
  const firstLine = new Promise<string>((resolve) => (lineFound = resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const end = stdout.indexOf('\n');
    if (end !== -1) lineFound(stdout.slice(0, end));
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const lineOrExit = Promise.race([
    firstLine,
    result.then((ended) => {
      throw new Error(`cleanroom ended (code ${ended.code}) before printing a line; stderr: ${ended.stderr}`);
    }),
  ]);
  // Callers that only want the result never await the first line: that is not an error.
  lineOrExit.catch(() => {});
  return { child, firstLine: lineOrExit, result };
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = cliEnv()): Promise<CliResult> {
  return startCli(args, env).result;
}

/** The lines of a text, without the empty string after a final newline. */
export function lines(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}

/** Asserts a refusal: exit 1 and exactly one `cleanroom: ...` line on stderr. */
export function assertRefused(result: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  const stderrLines = lines(result.stderr);
  assert.equal(stderrLines.length, 1, `one stderr line, got: ${result.stderr}`);
  assert.match(stderrLines[0] as string, /^cleanroom: /);
  assert.match(stderrLines[0] as string, pattern);
}

/** Asserts a usage error: exit 2, a `cleanroom: ...` first line matching `pattern`, and no stack trace. */
export function assertUsage(result: { code: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 2, result.stderr);
  assert.match(lines(result.stderr)[0] as string, /^cleanroom: /);
  assert.match(result.stderr, pattern);
  assert.ok(!result.stderr.includes('    at '), 'no stack trace');
}
