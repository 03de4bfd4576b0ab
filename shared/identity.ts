// Identity: what a member is known by. The public part is shared with every room; the secret
// keys never leave the keystore in electron/core.
import { type Infer, object, oneOf, string, variants } from './validate.js';

export const aliasSchema = string({
  min: 1,
  max: 64,
  pattern: /^[\p{L}\p{N}][\p{L}\p{N} .'_-]*$/u,
  patternMessage: 'alias must start with a letter or digit and use only letters, digits, spaces and . \' _ -',
});

export const passphraseSchema = string({ min: 1, max: 1024 });

export const minPassphraseLength = 12;
export const minDistinctPassphraseCharacters = 5;

/**
 * Why a passphrase is too weak, or null when it is acceptable. Lives in shared/ so the create
 * screen can say it while the user types, and core enforces the same rule.
 */
export function passphraseWeakness(passphrase: string): string | null {
  if (passphrase.length === 0) return 'Enter a passphrase.';
  if ([...passphrase].length < minPassphraseLength) {
    return `Use at least ${minPassphraseLength} characters; a few unrelated words work well.`;
  }
  if (new Set(passphrase).size < minDistinctPassphraseCharacters) {
    return `Use at least ${minDistinctPassphraseCharacters} different characters.`;
  }
  if (passphrase.trim() !== passphrase) return 'The passphrase must not start or end with a space.';
  return null;
}

const base64url = (what: string, length: number) =>
  string({ min: length, max: length, pattern: /^[A-Za-z0-9_-]+$/, patternMessage: `${what} must be base64url` });

export const identityPublicSchema = object({
  alias: aliasSchema,
  /** Ed25519 public key, base64url (32 bytes). */
  signPublicKey: base64url('signPublicKey', 43),
  /** X25519 public key, base64url (32 bytes). */
  boxPublicKey: base64url('boxPublicKey', 43),
  /** BLAKE2b-256 over both public keys, 64 lowercase hex digits. */
  fingerprint: string({ min: 64, max: 64, pattern: /^[0-9a-f]+$/ }),
  /** The first 100 bits of the fingerprint in Crockford base32: 20 characters, read in groups of 4. */
  sharingId: string({ min: 20, max: 20, pattern: /^[0-9A-HJKMNP-TV-Z]+$/ }),
  createdAt: string({ min: 1, max: 40 }),
});

export type IdentityPublic = Infer<typeof identityPublicSchema>;

export const identityStatusSchema = variants('state', {
  none: object({}),
  locked: object({ identity: identityPublicSchema }),
  unlocked: object({ identity: identityPublicSchema }),
});

export type IdentityStatus = Infer<typeof identityStatusSchema>;

export const identityStates = oneOf(['none', 'locked', 'unlocked']);

/** Splits an identifier into groups for reading aloud: "K3F9 2QXM …". */
export function groupForReading(value: string, size = 4): string[] {
  const groups: string[] = [];
  for (let i = 0; i < value.length; i += size) groups.push(value.slice(i, i + size));
  return groups;
}
