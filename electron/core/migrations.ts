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
];

export const latestSchemaVersion = migrations.length === 0 ? 0 : (migrations[migrations.length - 1] as Migration).version;
