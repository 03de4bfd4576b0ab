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

// ---- Packets: sealed boxes, secretstream, streaming BLAKE2b. ------------------------------------
// libsodium's sizes for the primitives below, as literals so they can be used before cryptoReady.

/** crypto_secretstream_xchacha20poly1305_KEYBYTES */
export const secretStreamKeyBytes = 32;
/** crypto_secretstream_xchacha20poly1305_HEADERBYTES */
export const secretStreamHeaderBytes = 24;
/** crypto_secretstream_xchacha20poly1305_ABYTES: a pushed chunk is this much longer than its plaintext. */
export const secretStreamOverheadBytes = 17;
/** crypto_box_SEALBYTES: a sealed box is this much longer than its plaintext. */
export const sealedBoxOverheadBytes = 48;
/** crypto_sign_BYTES */
export const signatureBytes = 64;

/** Anonymous public-key encryption (crypto_box_seal) to one X25519 public key. */
export const sealToBoxKey = (message: Uint8Array, boxPublicKey: Uint8Array): Uint8Array =>
  sodium.crypto_box_seal(message, boxPublicKey);

/** Opens a crypto_box_seal box; null when it was not sealed to this key pair or was changed. */
export function openSealedBox(sealed: Uint8Array, boxPublicKey: Uint8Array, boxSecretKey: Uint8Array): Uint8Array | null {
  if (sealed.length < sealedBoxOverheadBytes) return null;
  try {
    return sodium.crypto_box_seal_open(sealed, boxPublicKey, boxSecretKey);
  } catch {
    return null;
  }
}

/** The Ed25519 public key inside a libsodium signing secret key. */
export const signPublicKeyOf = (signSecretKey: Uint8Array): Uint8Array => sodium.crypto_sign_ed25519_sk_to_pk(signSecretKey);

/** BLAKE2b fed in pieces: the same digest as `hash` over the concatenation. */
export interface StreamingHash {
  update(data: Uint8Array): void;
  /** Finishes and releases the state; the hasher cannot be used afterwards. */
  digest(): Uint8Array;
}

export function createHasher(length = 32): StreamingHash {
  const state = sodium.crypto_generichash_init(null, length);
  let finished = false;
  return {
    update(data) {
      if (finished) throw new Error('hasher already finished');
      sodium.crypto_generichash_update(state, data);
    },
    digest() {
      if (finished) throw new Error('hasher already finished');
      finished = true;
      return sodium.crypto_generichash_final(state, length);
    },
  };
}

export type SecretStreamTag = 'message' | 'push' | 'rekey' | 'final';

type SodiumState = ReturnType<typeof sodium.crypto_secretstream_xchacha20poly1305_init_pull>;

const tagNumbers: Record<SecretStreamTag, () => number> = {
  message: () => sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
  push: () => sodium.crypto_secretstream_xchacha20poly1305_TAG_PUSH,
  rekey: () => sodium.crypto_secretstream_xchacha20poly1305_TAG_REKEY,
  final: () => sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL,
};

function tagName(tag: number): SecretStreamTag | null {
  for (const name of Object.keys(tagNumbers) as SecretStreamTag[]) if (tagNumbers[name]() === tag) return name;
  return null;
}

/**
 * The wrappers malloc a secretstream state (which holds the derived key) in the WebAssembly heap
 * and never free it. Wiping and freeing it ourselves keeps key material from lingering and keeps
 * long runs (import loops, the fuzzer) from growing the heap.
 */
function releaseStreamState(state: SodiumState): void {
  const runtime = (sodium as unknown as { libsodium?: { HEAPU8?: Uint8Array; _free?: (address: number) => void } }).libsodium;
  const address = typeof state === 'number' ? (state as number) : (state as { address?: unknown }).address;
  if (typeof address !== 'number' || !runtime?.HEAPU8 || typeof runtime._free !== 'function') return;
  runtime.HEAPU8.fill(0, address, address + 52);
  runtime._free(address);
}

/** crypto_secretstream_xchacha20poly1305 encryption: push chunks in order, the last one tagged final. */
export interface SecretStreamEncryptor {
  readonly header: Uint8Array;
  push(chunk: Uint8Array, tag: SecretStreamTag): Uint8Array;
  /** Wipes and frees the state; call when done (also after an error). */
  dispose(): void;
}

export function createSecretStreamEncryptor(key: Uint8Array): SecretStreamEncryptor {
  const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
  let disposed = false;
  return {
    header,
    push(chunk, tag) {
      if (disposed) throw new Error('secretstream encryptor already disposed');
      return sodium.crypto_secretstream_xchacha20poly1305_push(state, chunk, null, tagNumbers[tag]());
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      releaseStreamState(state);
    },
  };
}

export interface SecretStreamDecryptor {
  /** The chunk's plaintext and tag; null when it does not authenticate as the next chunk. */
  pull(cipher: Uint8Array): { message: Uint8Array; tag: SecretStreamTag } | null;
  dispose(): void;
}

/** Null when the header or key has the wrong length. */
export function createSecretStreamDecryptor(header: Uint8Array, key: Uint8Array): SecretStreamDecryptor | null {
  if (header.length !== secretStreamHeaderBytes || key.length !== secretStreamKeyBytes) return null;
  let state: SodiumState;
  try {
    state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
  } catch {
    return null;
  }
  let disposed = false;
  return {
    pull(cipher) {
      if (disposed) throw new Error('secretstream decryptor already disposed');
      if (cipher.length < secretStreamOverheadBytes) return null;
      let result: { message: Uint8Array; tag: number } | false;
      try {
        result = sodium.crypto_secretstream_xchacha20poly1305_pull(state, cipher, null);
      } catch {
        return null;
      }
      if (result === false) return null;
      const tag = tagName(result.tag);
      return tag === null ? null : { message: result.message, tag };
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      releaseStreamState(state);
    },
  };
}
