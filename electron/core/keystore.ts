// The identity's keys. Public keys are stored in the clear; the two secret keys are sealed
// together under a key derived from the passphrase (Argon2id) with XChaCha20-Poly1305, the
// public keys bound in as associated data. Unsealed secret keys live only in this object's
// memory, and are wiped on lock.
import type Database from 'better-sqlite3';
import { CleanroomError } from '../../shared/errors.js';
import {
  concatBytes,
  deriveKey,
  fingerprintOf,
  generateBoxKeyPair,
  generateSigningKeyPair,
  identityKdfCost,
  kdfSaltBytes,
  type KdfParams,
  openWithKey,
  randomBytes,
  sealWithKey,
  toBase64Url,
  utf8,
  wipe,
} from '../../shared/crypto.js';
import { type IdentityPublic, type IdentityStatus, passphraseWeakness } from '../../shared/identity.js';

interface IdentityRow {
  alias: string;
  sign_public_key: Buffer;
  box_public_key: Buffer;
  sealed_secret_keys: Buffer;
  kdf_algorithm: string;
  kdf_ops_limit: number;
  kdf_mem_limit: number;
  kdf_salt: Buffer;
  created_at: string;
}

export interface UnlockedKeys {
  readonly signSecretKey: Uint8Array;
  readonly boxSecretKey: Uint8Array;
}

const signSecretKeyBytes = 64;
const boxSecretKeyBytes = 32;

const sealingContext = (signPublicKey: Uint8Array, boxPublicKey: Uint8Array): Uint8Array =>
  concatBytes(utf8('cleanroom/identity-secret-keys/v1'), signPublicKey, boxPublicKey);

function publicOf(row: IdentityRow): IdentityPublic {
  const signPublicKey = new Uint8Array(row.sign_public_key);
  const boxPublicKey = new Uint8Array(row.box_public_key);
  return {
    alias: row.alias,
    signPublicKey: toBase64Url(signPublicKey),
    boxPublicKey: toBase64Url(boxPublicKey),
    ...fingerprintOf(signPublicKey, boxPublicKey),
    createdAt: row.created_at,
  };
}

function rejectWeak(passphrase: string): void {
  const weakness = passphraseWeakness(passphrase);
  if (weakness !== null) throw new CleanroomError('WEAK_PASSPHRASE', `Passphrase too weak: ${weakness}`);
}

function freshKdfParams(): KdfParams {
  return { algorithm: 'argon2id13', ...identityKdfCost, salt: randomBytes(kdfSaltBytes) };
}

export class Keystore {
  private unlocked: UnlockedKeys | null = null;

  constructor(private readonly db: Database.Database) {}

  private row(): IdentityRow | undefined {
    return this.db.prepare('SELECT * FROM identity WHERE singleton = 1').get() as IdentityRow | undefined;
  }

  private requireRow(): IdentityRow {
    const row = this.row();
    if (!row) throw new CleanroomError('NO_IDENTITY', 'This home has no identity yet. Create one first.');
    return row;
  }

  status(): IdentityStatus {
    const row = this.row();
    if (!row) return { state: 'none' };
    return { state: this.unlocked ? 'unlocked' : 'locked', identity: publicOf(row) };
  }

  publicIdentity(): IdentityPublic {
    return publicOf(this.requireRow());
  }

  create(alias: string, passphrase: string): IdentityPublic {
    if (this.row()) throw new CleanroomError('IDENTITY_EXISTS', 'This home already has an identity.');
    rejectWeak(passphrase);
    const signing = generateSigningKeyPair();
    const box = generateBoxKeyPair();
    const kdf = freshKdfParams();
    const key = deriveKey(passphrase, kdf);
    const secrets = concatBytes(signing.secretKey, box.secretKey);
    const sealed = sealWithKey(key, secrets, sealingContext(signing.publicKey, box.publicKey));
    wipe(key);
    wipe(secrets);
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO identity (singleton, alias, sign_public_key, box_public_key, sealed_secret_keys,
           kdf_algorithm, kdf_ops_limit, kdf_mem_limit, kdf_salt, created_at, updated_at)
         VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(alias, signing.publicKey, box.publicKey, sealed, kdf.algorithm, kdf.opsLimit, kdf.memLimit, kdf.salt, now, now);
    this.remember({ signSecretKey: signing.secretKey, boxSecretKey: box.secretKey });
    return this.publicIdentity();
  }

  /** Unseals the secret keys; WRONG_PASSPHRASE when the passphrase does not open them. */
  private unseal(row: IdentityRow, passphrase: string): UnlockedKeys {
    if (row.kdf_algorithm !== 'argon2id13') {
      throw new CleanroomError('HOME_TOO_NEW', `Unknown key derivation "${row.kdf_algorithm}"; update Cleanroom.`);
    }
    const key = deriveKey(passphrase, {
      algorithm: 'argon2id13',
      opsLimit: row.kdf_ops_limit,
      memLimit: row.kdf_mem_limit,
      salt: new Uint8Array(row.kdf_salt),
    });
    const opened = openWithKey(
      key,
      new Uint8Array(row.sealed_secret_keys),
      sealingContext(new Uint8Array(row.sign_public_key), new Uint8Array(row.box_public_key)),
    );
    wipe(key);
    if (!opened || opened.length !== signSecretKeyBytes + boxSecretKeyBytes) {
      throw new CleanroomError('WRONG_PASSPHRASE', 'Wrong passphrase.');
    }
    const keys = {
      signSecretKey: opened.slice(0, signSecretKeyBytes),
      boxSecretKey: opened.slice(signSecretKeyBytes),
    };
    wipe(opened);
    return keys;
  }

  unlock(passphrase: string): IdentityPublic {
    const row = this.requireRow();
    this.remember(this.unseal(row, passphrase));
    return publicOf(row);
  }

  lock(): void {
    if (!this.unlocked) return;
    wipe(this.unlocked.signSecretKey);
    wipe(this.unlocked.boxSecretKey);
    this.unlocked = null;
  }

  changePassphrase(current: string, next: string): void {
    const row = this.requireRow();
    const keys = this.unseal(row, current);
    try {
      rejectWeak(next);
      const kdf = freshKdfParams();
      const key = deriveKey(next, kdf);
      const secrets = concatBytes(keys.signSecretKey, keys.boxSecretKey);
      const sealed = sealWithKey(key, secrets, sealingContext(new Uint8Array(row.sign_public_key), new Uint8Array(row.box_public_key)));
      wipe(key);
      wipe(secrets);
      // One UPDATE: the old sealing stays valid until the new one is durably in place.
      this.db
        .prepare(
          `UPDATE identity SET sealed_secret_keys = ?, kdf_algorithm = ?, kdf_ops_limit = ?, kdf_mem_limit = ?,
             kdf_salt = ?, updated_at = ? WHERE singleton = 1`,
        )
        .run(sealed, kdf.algorithm, kdf.opsLimit, kdf.memLimit, kdf.salt, new Date().toISOString());
    } finally {
      wipe(keys.signSecretKey);
      wipe(keys.boxSecretKey);
    }
  }

  /** The unlocked secret keys, for signing and unsealing; LOCKED when not unlocked. */
  keys(): UnlockedKeys {
    if (!this.unlocked) throw new CleanroomError('LOCKED', 'Unlock your identity first.');
    return this.unlocked;
  }

  private remember(keys: UnlockedKeys): void {
    this.lock();
    this.unlocked = keys;
  }
}
