// Schemas for the values every signed object is made of: keys, hashes, times.
import { string } from './validate.js';

const key = (what: string) =>
  string({ min: 43, max: 43, pattern: /^[A-Za-z0-9_-]+$/, patternMessage: `${what} must be a base64url public key` });

export const signPublicKeySchema = key('signPublicKey');
export const boxPublicKeySchema = key('boxPublicKey');
/** BLAKE2b-256, 64 lowercase hex digits: room ids, entry ids, amendment ids. */
export const hashHexSchema = string({ min: 64, max: 64, pattern: /^[0-9a-f]+$/, patternMessage: 'must be 64 hex digits' });
/** aggregate: only policy-checked aggregates leave a run; reviewed: any read-only SQL everyone approved. */
export const policyModes = ['aggregate', 'reviewed'] as const;

export const timestampSchema = string({
  min: 20,
  max: 30,
  pattern: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/,
  patternMessage: 'must be an ISO-8601 UTC time',
});

