// The differencing ledger of each room in this home: every contributor set (as a sketch) whose
// values left the worker in one of my runs, so that no later run of the room releases a set 1..k−1
// people from one of them (shared/policy/differencing.ts). The ledger stays in this home: never in
// packets, never deleted (values outlive their outputs' retention in whoever saw them).
//
// At rest like outputs: each run's sets are sealed (XChaCha20-Poly1305) under a random key that is
// itself sealed to my own box key, so reading the ledger needs the unlocked identity. The room's
// salt for person ids (32 random bytes, made at the first aggregate run) is sealed to my box key too.
// The salt keeps ids unguessable, so nobody can pick ids that fool a sketch's checks.
//
// Writes happen inside the run's finishing transaction (synchronous FULL, like runs): the sets are
// recorded in the same commit that makes the outputs visible, or neither is.
import type Database from 'better-sqlite3';
import { assetNameSchema } from '../../shared/asset.js';
import { decodeCanonical, encodeCanonical } from '../../shared/canonical.js';
import { fromBase64Url, openWithKey, randomBytes, sealWithKey, secretStreamKeyBytes, toBase64Url, utf8, wipe } from '../../shared/crypto.js';
import { CleanroomError } from '../../shared/errors.js';
import { decodeSketch, encodeSketch, sketchWidth } from '../../shared/policy/sketch.js';
import { object, parse, string } from '../../shared/validate.js';
import { maxFamilyLength, maxSketchTextLength, type ReleasedSetText, type RunDifferencing } from '../../shared/worker-protocol.js';
import { openOwnDataKey, sealDataKeyForOwner } from './vault.js';

/** A released set as the ledger keeps it: the sketch as encodeSketch's bytes. */
export interface LedgerSet {
  readonly table: string;
  readonly family: string;
  readonly sketch: Uint8Array;
}

export interface Ledger {
  /** The room's salt for person ids. */
  readonly salt: Uint8Array;
  /** Every set of every earlier run, runs in the order they were recorded, sets in release order. */
  readonly sets: readonly (LedgerSet & { readonly run: string })[];
}

type BoxKeys = { readonly boxPublicKey: Uint8Array; readonly boxSecretKey: Uint8Array };

export const ledgerSaltBytes = 32;

const setContentSchema = object({
  table: assetNameSchema,
  family: string({ min: 1, max: maxFamilyLength }),
  sketch: string({ min: 4, max: maxSketchTextLength, pattern: /^[A-Za-z0-9_-]+$/ }),
});

/** What a stored set's content is bound to: it cannot be moved to another run or position. */
const setContext = (run: string, seq: number): Uint8Array => utf8(`cleanroom/ledger-set/v1\n${run}\n${seq}`);

const damaged = (what: string): CleanroomError => new CleanroomError('HOME_DAMAGED', `The differencing ledger's ${what} cannot be read; the home is damaged.`);

/** The room's salt, made and stored (sealed) on first use. */
function roomSalt(db: Database.Database, roomId: string, keys: BoxKeys, at: Date): Uint8Array {
  return db.transaction(() => {
    const row = db.prepare('SELECT sealed_salt FROM ledger_salts WHERE room = ?').get(roomId) as { sealed_salt: string } | undefined;
    if (row !== undefined) return openOwnDataKey(row.sealed_salt, keys);
    const salt = randomBytes(ledgerSaltBytes);
    db.prepare('INSERT INTO ledger_salts (room, sealed_salt, created_at) VALUES (?, ?, ?)').run(roomId, sealDataKeyForOwner(salt, keys.boxPublicKey), at.toISOString());
    return salt;
  })();
}

/** The room's ledger: its salt (made now if the room has none) and every set my earlier runs released. */
export function loadLedger(db: Database.Database, roomId: string, keys: BoxKeys, at: Date = new Date()): Ledger {
  const salt = roomSalt(db, roomId, keys, at);
  const sets: (LedgerSet & { run: string })[] = [];
  const runs = db.prepare('SELECT run, sealed_key FROM ledger_runs WHERE room = ? ORDER BY rowid').all(roomId) as { run: string; sealed_key: string }[];
  const contents = db.prepare('SELECT seq, content FROM ledger_sets WHERE run = ? ORDER BY seq');
  for (const { run, sealed_key: sealedKey } of runs) {
    const key = openOwnDataKey(sealedKey, keys);
    try {
      for (const row of contents.all(run) as { seq: number; content: Buffer }[]) {
        const plain = openWithKey(key, new Uint8Array(row.content), setContext(run, row.seq));
        if (plain === null) throw damaged(`set ${row.seq} of run ${run.slice(0, 8)}`);
        let value: unknown;
        try {
          value = decodeCanonical(plain, 'a ledger set', { maxBytes: 2 * maxSketchTextLength, maxDepth: 2 });
        } catch {
          throw damaged(`set ${row.seq} of run ${run.slice(0, 8)}`);
        }
        const checked = parse(setContentSchema, value);
        if (!checked.ok) throw damaged(`set ${row.seq} of run ${run.slice(0, 8)}`);
        sets.push({ run, table: checked.value.table, family: checked.value.family, sketch: fromBase64Url(checked.value.sketch) });
      }
    } finally {
      wipe(key);
    }
  }
  return { salt, sets };
}

/** Records a run's released sets (inside the caller's transaction, if any). Nothing is written for none. */
export function appendLedger(db: Database.Database, roomId: string, runId: string, sets: readonly LedgerSet[], keys: Pick<BoxKeys, 'boxPublicKey'>, at: Date = new Date()): void {
  if (sets.length === 0) return;
  const key = randomBytes(secretStreamKeyBytes);
  try {
    db.transaction(() => {
      db.prepare('INSERT INTO ledger_runs (run, room, sealed_key, created_at) VALUES (?, ?, ?, ?)').run(runId, roomId, sealDataKeyForOwner(key, keys.boxPublicKey), at.toISOString());
      const insert = db.prepare('INSERT INTO ledger_sets (run, seq, content) VALUES (?, ?, ?)');
      sets.forEach((set, seq) => {
        const plain = encodeCanonical({ table: set.table, family: set.family, sketch: toBase64Url(set.sketch) });
        insert.run(runId, seq, Buffer.from(sealWithKey(key, plain, setContext(runId, seq))));
      });
    })();
  } finally {
    wipe(key);
  }
}

/**
 * The `differencing` field of a run request. Families are prefixed with their run's id, so that
 * one family name used by two runs stays two families.
 */
export function ledgerRequest(ledger: Ledger): RunDifferencing {
  return {
    salt: toBase64Url(ledger.salt),
    sets: ledger.sets.map((set) => ({ table: set.table, family: `${set.run}/${set.family}`, sketch: toBase64Url(set.sketch) })),
  };
}

/**
 * The worker's `released` sets, checked before they are stored: each a well-formed sketch of a set
 * at this room's width (a malformed one would make every later run of the room fail). Throws
 * INTERNAL, failing the run, for anything else.
 */
export function checkReleased(released: readonly ReleasedSetText[] | undefined, k: number): LedgerSet[] {
  const width = sketchWidth(k);
  return (released ?? []).map((set) => {
    let sketch;
    try {
      sketch = decodeSketch(fromBase64Url(set.sketch));
    } catch {
      throw new CleanroomError('INTERNAL', 'The worker released a malformed sketch.');
    }
    if (sketch.width !== width || !sketch.distinct) throw new CleanroomError('INTERNAL', "The worker released a sketch that is not a set at this room's width.");
    return { table: set.table, family: set.family, sketch: encodeSketch(sketch) };
  });
}
