// Parties that use only the built `cleanroom` command: each has a home, an identity card file and
// an outbox folder, and exchanges packet files with the others the way people at air-gapped sites
// would.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { cliEnv, type CliResult, runCli } from './cli-process.js';
import { seededShuffle } from './room-fixtures.js';

export const cliPassphrase = 'correct horse battery staple';
export const partyEnv = cliEnv({ CLEANROOM_PASSPHRASE: cliPassphrase });

export interface CliParty {
  readonly alias: string;
  readonly home: string;
  readonly outbox: string;
  readonly card: string;
  /** Runs `cleanroom --home <home> ...args` with the passphrase set. */
  run(args: readonly string[]): Promise<CliResult>;
  /** Runs with --json, asserts exit 0, and returns the value. */
  json<T = Record<string, unknown>>(args: readonly string[]): Promise<T>;
}

/** A packet file written by one party, and who it is for. */
export interface PacketFile {
  readonly from: string;
  readonly path: string;
  readonly recipients: readonly string[];
}

export async function createCliParty(root: string, alias: string): Promise<CliParty> {
  const slug = alias.toLowerCase().replace(/\W+/g, '-');
  const home = path.join(root, 'homes', slug);
  const outbox = path.join(root, 'outbox', slug);
  mkdirSync(outbox, { recursive: true });
  mkdirSync(path.join(root, 'cards'), { recursive: true });
  const run = (args: readonly string[]) => runCli(['--home', home, ...args], partyEnv);
  const json = async <T>(args: readonly string[]): Promise<T> => {
    const result = await run(['--json', ...args]);
    assert.equal(result.code, 0, `cleanroom ${args.join(' ')} (${alias}): ${result.stderr}`);
    const output = JSON.parse(result.stdout) as { ok: boolean; value: T };
    assert.equal(output.ok, true);
    return output.value;
  };
  await json(['identity', 'create', '--alias', alias]);
  const card = await json<{ path: string }>(['identity', 'card', '--out', path.join(root, 'cards')]);
  return { alias, home, outbox, card: card.path, run, json };
}

interface ImportOutcome {
  readonly file: string;
  readonly ok: boolean;
  readonly value?: { accepted: number; ignored: number };
  readonly error?: { code: string; message: string };
}

/**
 * Rounds of exchange until a round brings nobody anything new: every exporter writes a packet,
 * then every party imports, in a shuffled order with some files twice, every packet addressed to
 * them so far (old ones too: duplicates and late arrivals are part of the test). Returns the
 * number of rounds it took.
 */
export async function exchangeUntilQuiet(
  parties: readonly CliParty[],
  exporters: readonly CliParty[],
  room: string,
  packets: PacketFile[],
  seed: number,
  maxRounds = 6,
): Promise<number> {
  for (let round = 1; round <= maxRounds; round++) {
    for (const party of exporters) {
      const written = await party.json<{ path: string; recipients: string[] }>(['packet', 'export', room, '--out', path.join(party.outbox, `round-${seed}-${round}.cleanroom`)]);
      packets.push({ from: party.alias, path: written.path, recipients: written.recipients });
    }
    let accepted = 0;
    for (const [index, party] of parties.entries()) {
      const mine = packets.filter((packet) => packet.from !== party.alias && packet.recipients.includes(party.alias)).map((packet) => packet.path);
      const shuffled = seededShuffle(mine, seed * 1000 + round * 10 + index);
      // Every third file again, at the end: a packet imported twice changes nothing the second time.
      const files = [...shuffled, ...shuffled.filter((_file, i) => i % 3 === 0)];
      const result = await party.json<{ imports: ImportOutcome[] }>(['packet', 'import', ...files]);
      for (const outcome of result.imports) {
        assert.equal(outcome.ok, true, `${party.alias} importing ${outcome.file}: ${outcome.error?.message}`);
        accepted += outcome.value?.accepted ?? 0;
      }
    }
    if (accepted === 0) return round;
  }
  throw new Error(`no quiet round after ${maxRounds} rounds (seed ${seed})`);
}
