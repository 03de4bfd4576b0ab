// `npm run fuzz`: the packet fuzzer, for longer than the unit test's bounded run.
//
//   npm run fuzz                          60 seconds, random base seed
//   npm run fuzz -- --seconds 600         a longer run
//   npm run fuzz -- --cases 100000        a fixed number of cases
//   npm run fuzz -- --forever             until interrupted
//   npm run fuzz -- --seed 1234           a chosen base seed
//   npm run fuzz -- --replay FILE         run the oracle on one saved input
//
// Prints cases per second, the outcome counts and which checks refused how many cases. A failing
// case is printed with its seed and mutation, and its bytes are saved (the corpus uses fresh keys
// each run, so the bytes, not the seed alone, reproduce it). Exit code 1 when anything failed.
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cryptoReady, randomBytes } from '../../shared/crypto.js';
import { buildFuzzCorpus, caseSeed, type FuzzCorpus, judgeFuzzInput, makeFuzzInput, refusalKind } from '../support/packet-fuzz.js';

interface Options {
  seconds: number | null;
  cases: number | null;
  seed: number;
  replay: string | null;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { seconds: 60, cases: null, seed: new DataView(randomBytes(4).buffer).getUint32(0), replay: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    const count = (): number => {
      const n = Number(value());
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} needs a whole number`);
      return n;
    };
    switch (flag) {
      case '--seconds':
        options.seconds = count();
        options.cases = null;
        break;
      case '--cases':
        options.cases = count();
        options.seconds = null;
        break;
      case '--forever':
        options.seconds = null;
        options.cases = null;
        break;
      case '--seed':
        options.seed = count() >>> 0;
        break;
      case '--replay':
        options.replay = value();
        break;
      default:
        throw new Error(`unknown argument ${flag}; see the comment at the top of test/fuzz/packet.fuzz.ts`);
    }
  }
  return options;
}

function replay(corpus: FuzzCorpus, file: string): number {
  const bytes = new Uint8Array(readFileSync(file));
  const verdict = judgeFuzzInput(corpus, { mutation: `replay of ${file}`, bytes, plaintext: null });
  console.log(`${verdict.outcome}: ${verdict.detail}`);
  return verdict.outcome === 'FAILED' ? 1 : 0;
}

async function main(): Promise<number> {
  await cryptoReady();
  const options = parseArgs(process.argv.slice(2));
  const corpus = buildFuzzCorpus();
  if (options.replay !== null) return replay(corpus, options.replay);

  const budget = options.cases !== null ? `${options.cases} cases` : options.seconds !== null ? `${options.seconds} s` : 'until interrupted';
  console.log(`packet fuzz: base seed ${options.seed}, ${budget}, corpus of ${corpus.packets.length} packets`);
  const outcomes = new Map<string, number>();
  const refusals = new Map<string, number>();
  const failures: string[] = [];
  let stop = false;
  process.on('SIGINT', () => (stop = true));
  const started = performance.now();
  const deadline = options.seconds === null ? Number.POSITIVE_INFINITY : started + options.seconds * 1000;
  let lastReport = started;
  let index = 0;
  for (; !stop && (options.cases === null || index < options.cases); index++) {
    // Checking the clock every case would cost more than some cases; every 64 is plenty.
    if ((index & 63) === 0) {
      const now = performance.now();
      if (now >= deadline) break;
      if (now - lastReport >= 10_000) {
        lastReport = now;
        console.log(`  ${index} cases, ${Math.round(index / ((now - started) / 1000))} cases/s, ${failures.length} failed`);
      }
      // Let SIGINT be delivered.
      if ((index & 4095) === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const seed = caseSeed(options.seed, index);
    const input = makeFuzzInput(corpus, seed);
    const verdict = judgeFuzzInput(corpus, input);
    outcomes.set(verdict.outcome, (outcomes.get(verdict.outcome) ?? 0) + 1);
    if (verdict.outcome === 'BAD_PACKET') {
      const kind = refusalKind(verdict.detail);
      refusals.set(kind, (refusals.get(kind) ?? 0) + 1);
    }
    if (verdict.outcome === 'FAILED') {
      const file = path.join(os.tmpdir(), `cleanroom-fuzz-${options.seed}-${index}.cleanroom`);
      writeFileSync(file, input.bytes);
      const report = `FAILED case ${index} (base seed ${options.seed}, case seed ${seed}): ${input.mutation}\n  ${verdict.detail}\n  bytes saved to ${file}`;
      console.log(report);
      failures.push(report);
      if (failures.length >= 20) break;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`\n${index} cases in ${seconds.toFixed(1)} s: ${Math.round(index / seconds)} cases/s`);
  for (const [outcome, count] of [...outcomes].sort()) console.log(`  ${outcome}: ${count}`);
  console.log('refused by check:');
  for (const [kind, count] of [...refusals].sort((a, b) => b[1] - a[1])) console.log(`  ${String(count).padStart(8)}  ${kind}`);
  if (failures.length > 0) {
    console.log(`\n${failures.length} FAILED case(s):\n${failures.join('\n')}`);
    return 1;
  }
  console.log('\nno failures');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
