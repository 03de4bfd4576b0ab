// The differencing ledger in a real home with the real worker: an aggregate run's request carries
// the room's salt and ledger; the sets the worker released are stored encrypted (nothing of a
// sketch or the salt is in the SQLite files) in the commit that stores the outputs; they survive
// reopening the home and go to the next run's worker; a malformed released sketch fails the run
// and stores nothing. Until the worker fills `released` itself, this test's launcher adds sets to
// the worker's answer (sketches of made-up people), exactly where the worker would put them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openCore } from '../../electron/core/index.js';
import { openHome } from '../../electron/core/home.js';
import { Keystore } from '../../electron/core/keystore.js';
import { appendLedger, checkReleased, type Ledger, loadLedger } from '../../electron/core/ledger.js';
import { type WorkerLauncher } from '../../electron/core/worker-host.js';
import { launchNodeWorker } from '../../electron/core/worker-launch-node.js';
import { fromBase64Url, toBase64Url } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { decodeSketch, encodeSketch, sketchOf, sketchWidth } from '../../shared/policy/sketch.js';
import { defaultMinGroupSize } from '../../shared/room.js';
import { maxLedgerSets, parseWorkerRequest, type ReleasedSetText, type WorkerRequest } from '../../shared/worker-protocol.js';
import { passphrase, temporaryFolder } from '../support/homes.js';
import { tsxExecArgv, workerSourceEntry } from '../support/paths.js';
import { approvedSnapshot, followJob, jointNotebook, makeRunWorld, type RunWorld } from '../support/run-parties.js';

type RunRequest = Extract<WorkerRequest, { kind: 'run' }>;

const width = sketchWidth(defaultMinGroupSize);

/** Sketches of made-up people (ids from a counter: this test checks storage, not the policy). */
function madeUpSets(first: number): ReleasedSetText[] {
  const ids = (from: number, n: number): bigint[] => Array.from({ length: n }, (_, index) => 0x9e3779b97f4a7c15n * BigInt(from + index + 1) & 0xffffffffffffffffn);
  const text = (from: number, n: number): string => toBase64Url(encodeSketch(sketchOf(ids(from, n), width)));
  return [
    { table: 'admissions', family: 'rates/n', sketch: text(first, 40) },
    { table: 'admissions', family: 'rates/n', sketch: text(first + 40, 25) },
    { table: 'claims', family: 'rates/readmissions', sketch: text(first, 30) },
  ];
}

/** Every file of the home's SQLite database (main file, WAL, journal), as bytes. */
function databaseBytes(home: string): Buffer[] {
  return readdirSync(home)
    .filter((name) => name.startsWith('cleanroom.db'))
    .map((name) => readFileSync(path.join(home, name)));
}

describe('differencing ledger', () => {
  const folder = temporaryFolder();
  let world: RunWorld;
  /** Every run request Acme's core sent, in order. */
  const requests: RunRequest[] = [];
  /** What each run's worker answer carried in `released`, in order. */
  const answered: ReleasedSetText[][] = [];
  /** Replaces the next run answer's `released` with this, when set. */
  let override: ReleasedSetText[] | null = null;
  const runs: string[] = [];

  /** Acme's worker, with its run requests recorded and `released` added to run answers that lack it. */
  const spying: WorkerLauncher = (entry, execArgv) => {
    const channel = launchNodeWorker(entry, execArgv);
    const runIds = new Set<number>();
    return {
      get pid() {
        return channel.pid;
      },
      send(message) {
        if (message.kind === 'run') {
          runIds.add(message.id);
          requests.push(structuredClone(message));
        }
        channel.send(message);
      },
      onMessage(listener) {
        channel.onMessage((raw) => {
          const message = raw as { kind?: unknown; id?: unknown; result?: { kind?: unknown; failure?: unknown; released?: ReleasedSetText[] } };
          if (message.kind === 'result' && runIds.has(message.id as number) && message.result?.kind === 'run' && message.result.failure === null) {
            const released = override ?? message.result.released ?? madeUpSets(1000 * (answered.length + 1));
            override = null;
            answered.push(released);
            listener({ ...message, result: { ...message.result, released } });
            return;
          }
          listener(raw);
        });
      },
      onExit: (listener) => channel.onExit(listener),
      kill: () => channel.kill(),
    };
  };

  const reopenAcme = async (): Promise<void> => {
    await world.acme.core.close();
    world.acme.core = await openCore({ home: world.acme.home, host: 'cli', workerEntry: workerSourceEntry, workerExecArgv: tsxExecArgv, clock: world.clock.now, launchWorker: spying });
    await world.acme.core.call('identity.unlock', { passphrase });
  };

  /** Acme's ledger, read with the home closed (then reopened with the spying worker). */
  const acmeLedger = async (): Promise<{ ledger: Ledger; files: Buffer[] }> => {
    await world.acme.core.close();
    const home = openHome(world.acme.home, 'cli');
    let ledger: Ledger;
    try {
      const keystore = new Keystore(home.db);
      const identity = keystore.unlock(passphrase);
      ledger = loadLedger(home.db, world.room, { boxPublicKey: fromBase64Url(identity.boxPublicKey), boxSecretKey: keystore.keys().boxSecretKey });
    } finally {
      home.close();
    }
    const files = databaseBytes(world.acme.home);
    await reopenAcme();
    return { ledger, files };
  };

  /** Runs the joint analysis once, as a snapshot of its own (each approval allows one run). */
  const runOnce = async (): Promise<{ state: string; run: string }> => {
    const snapshot = await approvedSnapshot(world, `Readmissions by plan ${runs.length + 1}`, jointNotebook);
    const started = await world.acme.core.call('run.start', { room: world.room, snapshot });
    const done = await followJob(world.acme, started.job);
    runs.push(started.run);
    return { state: done.state, run: started.run };
  };

  before(async () => {
    world = await makeRunWorld(folder.dir);
    await reopenAcme();
  });

  after(async () => {
    await world?.close();
    folder.remove();
  });

  it('sends the first aggregate run a fresh salt and an empty ledger, and stores what it released, sealed', async () => {
    const { state } = await runOnce();
    assert.equal(state, 'done');
    const request = requests[0];
    assert.ok(request?.differencing !== undefined, 'an aggregate run carries the ledger');
    assert.match(request.differencing.salt, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(request.differencing.sets, []);

    const { ledger, files } = await acmeLedger();
    assert.equal(toBase64Url(ledger.salt), request.differencing.salt, 'the salt is kept for the room');
    const released = answered[0] as ReleasedSetText[];
    assert.deepEqual(
      ledger.sets.map((set) => ({ run: set.run, table: set.table, family: set.family, sketch: toBase64Url(set.sketch) })),
      released.map((set) => ({ run: runs[0], ...set })),
    );

    // Nothing of a sketch or the salt is readable in the database files.
    const needles: Buffer[] = [Buffer.from(ledger.salt), Buffer.from(request.differencing.salt)];
    for (const set of ledger.sets) {
      needles.push(Buffer.from(toBase64Url(set.sketch)));
      // Windows of the cells' sums, which are the sketch's most distinctive bytes.
      for (let offset = 4; offset + 24 <= set.sketch.length; offset += 97) needles.push(Buffer.from(set.sketch.subarray(offset, offset + 24)));
    }
    assert.ok(needles.length > 10);
    assert.ok(files.length > 0);
    for (const file of files) for (const needle of needles) assert.equal(file.indexOf(needle), -1, 'a sketch or the salt is in the database in the clear');
  });

  it('sends the next run (after reopening the home) the same salt and the first run\'s sets, families kept apart by run', async () => {
    const { state } = await runOnce();
    assert.equal(state, 'done');
    const [first, second] = requests;
    assert.equal(second?.differencing?.salt, first?.differencing?.salt);
    assert.deepEqual(
      second?.differencing?.sets,
      (answered[0] as ReleasedSetText[]).map((set) => ({ ...set, family: `${runs[0]}/${set.family}` })),
    );
    for (const set of second?.differencing?.sets ?? []) assert.equal(decodeSketch(fromBase64Url(set.sketch)).width, width);
    const { ledger } = await acmeLedger();
    assert.deepEqual(ledger.sets.map((set) => set.run), [...(answered[0] as ReleasedSetText[]).map(() => runs[0]), ...(answered[1] as ReleasedSetText[]).map(() => runs[1])]);
  });

  it('fails a run whose worker released a malformed sketch, and stores neither its sets nor its outputs', async () => {
    const good = madeUpSets(5000);
    override = [...good, { table: 'admissions', family: 'rates/n', sketch: toBase64Url(Uint8Array.from([1, 1, 32, 0, 0])) }];
    const { state, run } = await runOnce();
    assert.equal(state, 'failed');
    const listed = (await world.acme.core.call('run.list', { room: world.room })).runs.find((candidate) => candidate.id === run);
    assert.equal(listed?.failure?.class, 'Internal');
    const outputs = await world.acme.core.call('output.list', { room: world.room });
    assert.ok(outputs.outputs.every((output) => output.run !== run), 'no output of the failed run');
    const { ledger } = await acmeLedger();
    assert.ok(ledger.sets.every((set) => set.run !== run), 'no set of the failed run');
    assert.equal(ledger.sets.length, (answered[0] as ReleasedSetText[]).length + (answered[1] as ReleasedSetText[]).length);
  });

  it('hands the worker a ledger of thousands of sets', async () => {
    // 5,000 sets recorded for the failed run above (any run of the room will do), straight into the home.
    const many = Array.from({ length: 5000 }, (_, index) => ({ table: 'admissions', family: `big/${index % 9}`, sketch: fromBase64Url((madeUpSets(index * 100)[index % 3] as ReleasedSetText).sketch) }));
    await world.acme.core.close();
    const home = openHome(world.acme.home, 'cli');
    try {
      const keystore = new Keystore(home.db);
      const identity = keystore.unlock(passphrase);
      appendLedger(home.db, world.room, runs[2] as string, many, { boxPublicKey: fromBase64Url(identity.boxPublicKey) });
    } finally {
      home.close();
    }
    await reopenAcme();
    const { state } = await runOnce();
    assert.equal(state, 'done');
    const sent = requests[requests.length - 1]?.differencing?.sets ?? [];
    assert.equal(sent.length, 5000 + (answered[0] as ReleasedSetText[]).length + (answered[1] as ReleasedSetText[]).length);
    assert.equal(sent.filter((set) => set.family.startsWith(`${runs[2]}/big/`)).length, 5000);
  });
});

describe('differencing ledger: protocol limits', () => {
  it('carries a ledger of 5,000 sketches in one run request', () => {
    const sketchText = (seed: number): string =>
      toBase64Url(encodeSketch(sketchOf(Array.from({ length: 300 }, (_, index) => (0x9e3779b97f4a7c15n * BigInt(seed * 1000 + index + 1)) & 0xffffffffffffffffn), width)));
    const sets = Array.from({ length: 5000 }, (_, index) => ({ table: 'admissions', family: `${'a'.repeat(64)}/out/${index % 7}`, sketch: sketchText(index % 50) }));
    const request = {
      kind: 'run',
      id: 1,
      runDir: '/tmp/x',
      tables: [],
      parameters: [],
      cells: [{ index: 0, kind: 'sql', source: 'SELECT 1', output: null, options: [] }],
      policy: { mode: 'aggregate', minGroupSize: defaultMinGroupSize },
      maxOutputRows: 10,
      differencing: { salt: toBase64Url(new Uint8Array(32)), sets },
    };
    const bytes = sets.reduce((sum, set) => sum + set.sketch.length, 0);
    const started = performance.now();
    const parsed = parseWorkerRequest(request);
    const took = performance.now() - started;
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.issue.message);
    console.log(`ledger of ${sets.length} sketches: ${(bytes / 1e6).toFixed(1)} MB of sketch text, validated in ${Math.round(took)} ms; the cap is ${maxLedgerSets} sets`);
    assert.equal(parseWorkerRequest({ ...request, differencing: { salt: 'short', sets } }).ok, false, 'a salt that is not 32 bytes');
    assert.equal(parseWorkerRequest({ ...request, differencing: { salt: request.differencing.salt, sets: [{ ...sets[0], sketch: 'not base64url!' }] } }).ok, false);
  });

  it('refuses released sketches of another width, or sums posing as sets', () => {
    const refused = (error: unknown) => error instanceof CleanroomError && error.code === 'INTERNAL';
    assert.throws(() => checkReleased([{ table: 'a', family: 'f', sketch: toBase64Url(encodeSketch(sketchOf([1n], width + 2))) }], defaultMinGroupSize), refused);
    assert.throws(() => checkReleased([{ table: 'a', family: 'f', sketch: toBase64Url(encodeSketch(sketchOf([1n, 1n], width))) }], defaultMinGroupSize), refused);
    assert.throws(() => checkReleased([{ table: 'a', family: 'f', sketch: 'AAAA' }], defaultMinGroupSize), refused);
    assert.deepEqual(checkReleased(undefined, defaultMinGroupSize), []);
  });
});
