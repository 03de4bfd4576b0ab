// Canonical encoding: the one byte form of a value that gets hashed and signed.
//
// Canonical JSON: UTF-8, no whitespace, object keys sorted by UTF-16 code units (the default
// JavaScript sort) and unique, strings escaped exactly as JSON.stringify escapes them, numbers
// only safe integers (no fractions, exponents, -0, NaN or Infinity). Only plain objects, arrays,
// strings, booleans, null and such integers: bytes travel as base64url strings. A decoder refuses
// any byte sequence that does not re-encode to itself, so every value has exactly one byte form
// and two homes that hash "the same" value always hash the same bytes.
import { CleanroomError } from './errors.js';
import { hash, toHex } from './crypto.js';

// TextEncoder/TextDecoder are ECMAScript-adjacent globals present in Node and every browser, but
// the shared tsconfig has no DOM lib. These module-local declarations type just what we use.
declare class TextEncoder {
  encode(input: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label: 'utf-8', options: { fatal: boolean; ignoreBOM: boolean });
  decode(input: Uint8Array): string;
}

/** Deeper values are refused when encoding and decoding: bounds recursion on hostile input. */
export const maxCanonicalDepth = 64;
/** Default cap for decodeCanonical; callers with tighter limits pass their own. */
export const defaultMaxCanonicalBytes = 16 * 1024 * 1024;

export interface DecodeLimits {
  /** Refuse inputs longer than this many bytes before looking at them. */
  readonly maxBytes?: number;
  /** Refuse arrays/objects nested deeper than this. */
  readonly maxDepth?: number;
}

const utf8Encoder = new TextEncoder();
// fatal: invalid UTF-8 throws instead of becoming U+FFFD; ignoreBOM: a BOM is kept (and then
// fails JSON parsing) rather than silently stripped.
const strictUtf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Bytes as text, or null when they are not UTF-8 (never U+FFFD in place of a bad byte). */
export function strictUtf8Text(bytes: Uint8Array): string | null {
  try {
    return strictUtf8Decoder.decode(bytes);
  } catch {
    return null;
  }
}

class NotEncodable extends Error {}

function describePath(path: string): string {
  return path === '' ? 'the value' : path;
}

function encodeValue(value: unknown, path: string, depth: number, maxDepth: number): string {
  switch (typeof value) {
    case 'string':
      // Well-formed JSON.stringify escapes lone surrogates, so the output is always valid UTF-16.
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw new NotEncodable(`${describePath(path)} is not a safe integer (${String(value)})`);
      if (Object.is(value, -0)) throw new NotEncodable(`${describePath(path)} is -0`);
      return String(value);
    case 'object':
      break;
    default:
      throw new NotEncodable(`${describePath(path)} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}`);
  }
  if (value === null) return 'null';
  if (depth >= maxDepth) throw new NotEncodable(`${describePath(path)} is nested more than ${maxDepth} levels deep`);
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) {
      // Index access (not for..of) so holes show up as undefined and are refused.
      parts.push(encodeValue(value[i], `${path}[${i}]`, depth + 1, maxDepth));
    }
    return `[${parts.join(',')}]`;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    throw new NotEncodable(`${describePath(path)} is not a plain object (${typeof name === 'string' ? name : 'unknown'})`);
  }
  if (Object.getOwnPropertySymbols(value).length > 0) throw new NotEncodable(`${describePath(path)} has symbol keys`);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const fieldPath = path === '' ? key : `${path}.${key}`;
    parts.push(`${JSON.stringify(key)}:${encodeValue(record[key], fieldPath, depth + 1, maxDepth)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Canonical text; throws NotEncodable with the offending path. */
function canonicalText(value: unknown): string {
  return encodeValue(value, '', 0, maxCanonicalDepth);
}

function cannotEncode(error: unknown): never {
  if (error instanceof NotEncodable) throw new CleanroomError('INTERNAL', `Cannot encode canonically: ${error.message}`);
  throw error;
}

/** Canonical UTF-8 JSON bytes of a JSON-like value (see docs/packets.md). Throws on values it cannot encode. */
export function encodeCanonical(value: unknown): Uint8Array {
  return utf8Encoder.encode(canonicalString(value));
}

/** The same as text. */
export function canonicalString(value: unknown): string {
  try {
    return canonicalText(value);
  } catch (error) {
    return cannotEncode(error);
  }
}

/**
 * Nesting depth of JSON text, counted outside strings. Checked before JSON.parse so a hostile
 * "[[[[…" never reaches a recursive walk.
 */
function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i++; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x5b || code === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (code === 0x5d || code === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Parses canonical bytes; throws CleanroomError('BAD_PACKET', reason) unless they are exactly canonical. */
export function decodeCanonical(bytes: Uint8Array, what = 'data', limits: DecodeLimits = {}): unknown {
  const maxBytes = limits.maxBytes ?? defaultMaxCanonicalBytes;
  const maxDepth = Math.min(limits.maxDepth ?? maxCanonicalDepth, maxCanonicalDepth);
  if (bytes.length > maxBytes) {
    throw new CleanroomError('BAD_PACKET', `${what} is too large (${bytes.length} bytes; at most ${maxBytes})`);
  }
  let text: string;
  try {
    text = strictUtf8Decoder.decode(bytes);
  } catch {
    throw new CleanroomError('BAD_PACKET', `${what} is not valid UTF-8`);
  }
  if (nestingDepth(text, maxDepth) > maxDepth) {
    throw new CleanroomError('BAD_PACKET', `${what} is nested more than ${maxDepth} levels deep`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw new CleanroomError('BAD_PACKET', `${what} is not valid JSON`);
  }
  let again: string;
  try {
    again = encodeValue(value, '', 0, maxDepth);
  } catch (error) {
    if (error instanceof NotEncodable) throw new CleanroomError('BAD_PACKET', `${what} is not in canonical form: ${error.message}`);
    throw error;
  }
  if (!sameBytes(utf8Encoder.encode(again), bytes)) {
    throw new CleanroomError('BAD_PACKET', `${what} is not in canonical form`);
  }
  return value;
}

/** BLAKE2b-256 of the canonical bytes, as 64 lowercase hex digits. */
export function hashCanonical(value: unknown): string {
  return toHex(hash(encodeCanonical(value)));
}
