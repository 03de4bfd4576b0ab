// Numbered, append-only schema migrations. Never edit or reorder a released entry: add a new one.
// `PRAGMA user_version` records the last applied version.

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'identity',
    sql: `
      CREATE TABLE identity (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        alias TEXT NOT NULL,
        sign_public_key BLOB NOT NULL,
        box_public_key BLOB NOT NULL,
        -- Ed25519 and X25519 secret keys, sealed with XChaCha20-Poly1305 under an Argon2id key.
        sealed_secret_keys BLOB NOT NULL,
        kdf_algorithm TEXT NOT NULL,
        kdf_ops_limit INTEGER NOT NULL,
        kdf_mem_limit INTEGER NOT NULL,
        kdf_salt BLOB NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'rooms',
    sql: `
      -- Identity cards imported from other people. Keys are base64url, as they appear in cards,
      -- room definitions and entries.
      CREATE TABLE contacts (
        sign_public_key TEXT PRIMARY KEY,
        box_public_key TEXT NOT NULL UNIQUE,
        alias TEXT NOT NULL UNIQUE COLLATE NOCASE,
        fingerprint TEXT NOT NULL,
        sharing_id TEXT NOT NULL,
        -- The card as imported (its canonical text), so it can be shown or passed on unchanged.
        card TEXT NOT NULL,
        imported_at TEXT NOT NULL
      ) STRICT;

      -- Rooms this home created or was invited to. The definition is immutable: its canonical
      -- hash is the id. Everything else about a room is derived from its entries.
      CREATE TABLE rooms (
        id TEXT PRIMARY KEY CHECK (length(id) = 64),
        name TEXT NOT NULL,
        definition TEXT NOT NULL,
        -- 'created' here, or learnt from an 'invitation' packet.
        origin TEXT NOT NULL CHECK (origin IN ('created', 'invitation')),
        added_at TEXT NOT NULL
      ) STRICT;

      -- Every member's signed feed entries, as verified on arrival. One entry per (room, author,
      -- seq): a second, different one is equivocation and goes to alerts instead.
      CREATE TABLE entries (
        room TEXT NOT NULL REFERENCES rooms (id),
        author TEXT NOT NULL,
        seq INTEGER NOT NULL CHECK (seq >= 1),
        id TEXT NOT NULL UNIQUE,
        -- Canonical text of the unsigned entry: exactly the bytes its signature covers.
        entry TEXT NOT NULL,
        signature TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (room, author, seq)
      ) STRICT;

      -- Security alerts, e.g. two different entries signed with the same author and seq.
      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        room TEXT NOT NULL REFERENCES rooms (id),
        kind TEXT NOT NULL CHECK (kind IN ('equivocation', 'invalid-entry')),
        author TEXT NOT NULL,
        seq INTEGER NOT NULL,
        detail TEXT NOT NULL,
        raised_at TEXT NOT NULL,
        -- Canonical text of the signed entry kept, and of the one that conflicts with it.
        kept_entry TEXT NOT NULL,
        conflicting_entry TEXT NOT NULL,
        -- The same conflict arriving again (a replayed packet) raises no second alert.
        UNIQUE (room, kind, author, seq, conflicting_entry)
      ) STRICT;

      -- Packets applied (refused ones change nothing, so they are not here either).
      CREATE TABLE imports (
        id INTEGER PRIMARY KEY,
        packet_hash TEXT NOT NULL,
        room TEXT NOT NULL REFERENCES rooms (id),
        sender TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        accepted INTEGER NOT NULL,
        ignored INTEGER NOT NULL,
        alerts INTEGER NOT NULL,
        summary TEXT NOT NULL
      ) STRICT;

      CREATE INDEX alerts_by_room ON alerts (room);
      CREATE INDEX imports_by_room ON imports (room);
    `,
  },
  {
    version: 3,
    name: 'assets',
    sql: `
      -- Data keys of the assets I own, each sealed to my own box key (crypto_box_seal): a key is
      -- never stored in the clear, and opening one needs the unlocked identity. Keys others
      -- release to me travel inside their approvals (in the room's entries), not here.
      CREATE TABLE data_keys (
        asset TEXT PRIMARY KEY CHECK (length(asset) = 64),
        room TEXT NOT NULL REFERENCES rooms (id),
        sealed_key TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;

      -- Encrypted payload files in the vault, by the BLAKE2b-256 of their bytes. A row is written
      -- only after its file is whole and renamed into place; present = 0 records a payload this
      -- home knows of (from a descriptor) but does not hold.
      CREATE TABLE payloads (
        hash TEXT PRIMARY KEY CHECK (length(hash) = 64),
        size INTEGER NOT NULL CHECK (size >= 1),
        -- Relative to the home's vault folder.
        path TEXT NOT NULL,
        present INTEGER NOT NULL CHECK (present IN (0, 1)),
        added_at TEXT NOT NULL
      ) STRICT;

      CREATE INDEX data_keys_by_room ON data_keys (room);
      -- Import jobs live in memory only: they end with the process, and a crash mid-import
      -- leaves only a .partial file, swept at start-up. Snapshot run-use counters come with
      -- runs (issue 5) in a later migration.
    `,
  },
  {
    version: 4,
    name: 'runs',
    sql: `
      -- Runs this home started, recorded (synchronous FULL) before any data key is unsealed: a
      -- run counts against every approval it used from that moment, whatever its outcome. A row
      -- still 'running' at start-up was cut short by a crash and becomes 'interrupted'.
      CREATE TABLE runs (
        id TEXT PRIMARY KEY CHECK (length(id) = 64),
        room TEXT NOT NULL REFERENCES rooms (id),
        snapshot TEXT NOT NULL CHECK (length(snapshot) = 64),
        status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
        started_at TEXT NOT NULL,
        finished_at TEXT,
        -- JSON { class, cell (1-based or null), reasons } of a failed run, else NULL.
        failure TEXT,
        -- The signed receipt file's text; NULL while running and for an interrupted run.
        receipt TEXT
      ) STRICT;

      -- The approval.granted entries each run used.
      CREATE TABLE run_approvals (
        run TEXT NOT NULL REFERENCES runs (id),
        approval TEXT NOT NULL CHECK (length(approval) = 64),
        PRIMARY KEY (run, approval)
      ) STRICT;

      -- Output tables this home can read: its own runs' ('mine') and those released to it
      -- ('released', opened from a release payload and checked against the entry and receipt).
      -- Content is the canonical JSON of the OutputTable, sealed (XChaCha20-Poly1305) under a
      -- random key that is itself sealed to my own box key: reading an output needs the unlocked
      -- identity. Rows are deleted once expires_at has passed.
      CREATE TABLE outputs (
        run TEXT NOT NULL CHECK (length(run) = 64),
        name TEXT NOT NULL,
        room TEXT NOT NULL REFERENCES rooms (id),
        snapshot TEXT NOT NULL CHECK (length(snapshot) = 64),
        source TEXT NOT NULL CHECK (source IN ('mine', 'released')),
        cell INTEGER NOT NULL,
        -- JSON [{ name, type }].
        columns TEXT NOT NULL,
        row_count INTEGER NOT NULL CHECK (row_count >= 0),
        suppressed_rows INTEGER NOT NULL CHECK (suppressed_rows >= 0),
        hash TEXT NOT NULL CHECK (length(hash) = 64),
        sealed_key TEXT NOT NULL,
        content BLOB NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (run, name)
      ) STRICT;

      CREATE INDEX runs_by_room ON runs (room);
      CREATE INDEX run_approvals_by_approval ON run_approvals (approval);
      CREATE INDEX outputs_by_room ON outputs (room);
    `,
  },
  {
    version: 5,
    name: 'differencing-ledger',
    sql: `
      -- The differencing ledger (electron/core/ledger.ts): every contributor set whose values left
      -- the worker in one of my runs, kept so later runs of the room cannot release a set 1..k-1
      -- people from it. Never deleted (it outlives the outputs), never put in packets, and nothing
      -- of it is readable without the unlocked identity.

      -- Each room's secret salt for person ids (32 bytes), sealed (crypto_box_seal) to my own box key.
      CREATE TABLE ledger_salts (
        room TEXT PRIMARY KEY REFERENCES rooms (id),
        sealed_salt TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;

      -- One row per run that released sets: a random key sealed to my own box key.
      CREATE TABLE ledger_runs (
        run TEXT PRIMARY KEY REFERENCES runs (id),
        room TEXT NOT NULL REFERENCES rooms (id),
        sealed_key TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;

      -- The run's sets in release order. Content is the canonical JSON { table, family, sketch },
      -- sealed (XChaCha20-Poly1305) under the run's key, bound to (run, seq).
      CREATE TABLE ledger_sets (
        run TEXT NOT NULL REFERENCES ledger_runs (run),
        seq INTEGER NOT NULL CHECK (seq >= 0),
        content BLOB NOT NULL,
        PRIMARY KEY (run, seq)
      ) STRICT;

      CREATE INDEX ledger_runs_by_room ON ledger_runs (room);
    `,
  },
  {
    version: 6,
    name: 'pending-files',
    sql: `
      -- Temporary files being written outside the home (the hidden .partial of an export in the
      -- folder the person chose), electron/core/pending-files.ts. A row is committed before its
      -- file is created and deleted once the file is renamed into place or removed, so the files
      -- a kill -9 left are removed at the next start-up.
      CREATE TABLE pending_files (
        -- Absolute path of the temporary file.
        path TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 7,
    name: 'interrupted-attempts',
    sql: `
      -- Issue 15: an interrupted run (cut short before the commit that stores its outputs, ledger
      -- sets and receipt together, so nothing came out of it) no longer counts against its
      -- approvals (runs.ts runsUsedCounter); the next run of its snapshot to end lists it in its
      -- receipt. listed_in is that run's id, NULL until a receipt lists it. Migration 4's "a run
      -- counts whatever its outcome" now holds for every run that ended.
      ALTER TABLE runs ADD COLUMN listed_in TEXT REFERENCES runs (id);

      CREATE INDEX runs_unlisted_attempts ON runs (room, snapshot) WHERE status = 'interrupted' AND listed_in IS NULL;
    `,
  },
];

export const latestSchemaVersion = migrations.length === 0 ? 0 : (migrations[migrations.length - 1] as Migration).version;
