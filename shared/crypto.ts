// Cryptographic primitives, all from libsodium (WebAssembly, so usable in every process and the
// renderer). Everything above this file speaks in these few functions, never in libsodium calls.
import sodium from 'libsodium-wrappers-sumo';

let readyPromise: Promise<void> | null = null;

/** Must resolve once before any other function here is called. */
export function cryptoReady(): Promise<void> {
  readyPromise ??= sodium.ready;
  return readyPromise;
}

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export const generateSigningKeyPair = (): KeyPair => {
  const pair = sodium.crypto_sign_keypair();
  return { publicKey: pair.publicKey, secretKey: pair.privateKey };
};

export const generateBoxKeyPair = (): KeyPair => {
  const pair = sodium.crypto_box_keypair();
  return { publicKey: pair.publicKey, secretKey: pair.privateKey };
};

export const randomBytes = (length: number): Uint8Array => sodium.randombytes_buf(length);

export interface KdfParams {
  readonly algorithm: 'argon2id13';
  readonly opsLimit: number;
  readonly memLimit: number;
  readonly salt: Uint8Array;
}

/** Argon2id cost for sealing identities: about a third of a second, 64 MiB, on these machines. */
export const identityKdfCost = { opsLimit: 3, memLimit: 64 * 1024 * 1024 } as const;

export const kdfSaltBytes = sodium.crypto_pwhash_SALTBYTES ?? 16;

export function deriveKey(passphrase: string, params: KdfParams): Uint8Array {
  return sodium.crypto_pwhash(
    sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
    sodium.from_string(passphrase),
    params.salt,
    params.opsLimit,
    params.memLimit,
    sodium.crypto_pwhash_ALG_ARGON2ID13,
  );
}

/** XChaCha20-Poly1305 with a random nonce prepended to the ciphertext. */
export function sealWithKey(key: Uint8Array, plaintext: Uint8Array, associatedData: Uint8Array): Uint8Array {
  const nonce = sodium.randombytes_buf(sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const cipher = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, associatedData, null, nonce, key);
  const out = new Uint8Array(nonce.length + cipher.length);
  out.set(nonce, 0);
  out.set(cipher, nonce.length);
  return out;
}

/** Returns null when the key is wrong or anything was changed. */
export function openWithKey(key: Uint8Array, sealed: Uint8Array, associatedData: Uint8Array): Uint8Array | null {
  const nonceBytes = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  if (sealed.length < nonceBytes + sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES) return null;
  try {
    return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      sealed.subarray(nonceBytes),
      associatedData,
      sealed.subarray(0, nonceBytes),
      key,
    );
  } catch {
    return null;
  }
}

export const sign = (message: Uint8Array, secretKey: Uint8Array): Uint8Array => sodium.crypto_sign_detached(message, secretKey);

export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

/** BLAKE2b, 32 bytes unless asked otherwise. */
export const hash = (data: Uint8Array, length = 32): Uint8Array => sodium.crypto_generichash(length, data, null);

/** Overwrites secret bytes so a locked identity leaves nothing readable in memory we own. */
export const wipe = (bytes: Uint8Array): void => sodium.memzero(bytes);

export const utf8 = (text: string): Uint8Array => sodium.from_string(text);

export const toBase64Url = (bytes: Uint8Array): string =>
  sodium.to_base64(bytes, sodium.base64_variants.URLSAFE_NO_PADDING);

export const fromBase64Url = (text: string): Uint8Array =>
  sodium.from_base64(text, sodium.base64_variants.URLSAFE_NO_PADDING);

export const toHex = (bytes: Uint8Array): string => sodium.to_hex(bytes);

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function base32Crockford(bytes: Uint8Array, characters: number): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < characters) {
      out += crockford[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
    if (out.length >= characters) break;
  }
  return out;
}

/** The identity fingerprint: BLAKE2b-256 over a domain tag and both public keys. */
export function fingerprintOf(signPublicKey: Uint8Array, boxPublicKey: Uint8Array): { fingerprint: string; sharingId: string } {
  const digest = hash(concatBytes(utf8('cleanroom/identity-fingerprint/v1'), signPublicKey, boxPublicKey));
  return { fingerprint: toHex(digest), sharingId: base32Crockford(digest, 20) };
}
