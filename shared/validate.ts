// Runtime validators for everything that crosses a boundary (IPC, HTTP, CLI, packet, worker
// message). A schema both checks an unknown value and carries its static type, so a boundary's
// TypeScript type and its runtime check can never drift apart.

export interface Issue {
  readonly path: string;
  readonly message: string;
}

export type Check<T> = { ok: true; value: T } | { ok: false; issue: Issue };

export interface Schema<T> {
  /** What the schema accepts, in words, for error messages. */
  readonly describe: string;
  check(value: unknown, path: string): Check<T>;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

const pass = <T>(value: T): Check<T> => ({ ok: true, value });
const fail = <T>(path: string, message: string): Check<T> => ({ ok: false, issue: { path, message } });
const where = (path: string): string => (path === '' ? 'value' : path);

export interface StringRules {
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: RegExp;
  readonly patternMessage?: string;
}

export function string(rules: StringRules = {}): Schema<string> {
  const { min = 0, max = 1_000_000, pattern, patternMessage } = rules;
  return {
    describe: 'string',
    check(value, path) {
      if (typeof value !== 'string') return fail(path, `${where(path)} must be a string`);
      if (value.length < min) {
        return fail(path, min === 1 ? `${where(path)} must not be empty` : `${where(path)} must be at least ${min} characters`);
      }
      if (value.length > max) return fail(path, `${where(path)} must be at most ${max} characters`);
      if (pattern && !pattern.test(value)) return fail(path, patternMessage ?? `${where(path)} has an invalid format`);
      return pass(value);
    },
  };
}

export function integer(rules: { min?: number; max?: number } = {}): Schema<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = rules;
  return {
    describe: 'integer',
    check(value, path) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return fail(path, `${where(path)} must be a whole number`);
      if (value < min || value > max) return fail(path, `${where(path)} must be between ${min} and ${max}`);
      return pass(value);
    },
  };
}

/** A finite number (NaN and ±Infinity are refused: JSON cannot carry them). */
export function number(rules: { min?: number; max?: number } = {}): Schema<number> {
  const { min = -Number.MAX_VALUE, max = Number.MAX_VALUE } = rules;
  return {
    describe: 'number',
    check(value, path) {
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail(path, `${where(path)} must be a finite number`);
      if (value < min || value > max) return fail(path, `${where(path)} must be between ${min} and ${max}`);
      return pass(value);
    },
  };
}

export function boolean(): Schema<boolean> {
  return {
    describe: 'boolean',
    check: (value, path) => (typeof value === 'boolean' ? pass(value) : fail(path, `${where(path)} must be true or false`)),
  };
}

export function literal<const T extends string | number | boolean | null>(expected: T): Schema<T> {
  return {
    describe: JSON.stringify(expected),
    check: (value, path) =>
      value === expected ? pass(expected) : fail(path, `${where(path)} must be ${JSON.stringify(expected)}`),
  };
}

export function oneOf<const T extends readonly string[]>(options: T): Schema<T[number]> {
  return {
    describe: options.join(' | '),
    check(value, path) {
      return typeof value === 'string' && (options as readonly string[]).includes(value)
        ? pass(value as T[number])
        : fail(path, `${where(path)} must be one of: ${options.join(', ')}`);
    },
  };
}

export function array<T>(item: Schema<T>, rules: { min?: number; max?: number } = {}): Schema<T[]> {
  const { min = 0, max = 100_000 } = rules;
  return {
    describe: `${item.describe}[]`,
    check(value, path) {
      if (!Array.isArray(value)) return fail(path, `${where(path)} must be a list`);
      if (value.length > max) return fail(path, `${where(path)} must have at most ${max} items`);
      if (value.length < min) return fail(path, `${where(path)} must have at least ${min} item${min === 1 ? '' : 's'}`);
      const out: T[] = [];
      for (let i = 0; i < value.length; i++) {
        const result = item.check(value[i], `${path}[${i}]`);
        if (!result.ok) return result;
        out.push(result.value);
      }
      return pass(out);
    },
  };
}

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return {
    describe: `${inner.describe} | null`,
    check: (value, path) => (value === null ? pass(null) : inner.check(value, path)),
  };
}

/** Marks an object field as optional: absent (or undefined) passes. */
export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
}

export function optional<T>(inner: Schema<T>): OptionalSchema<T> {
  return {
    optional: true,
    describe: `${inner.describe}?`,
    check: (value, path) => (value === undefined ? pass(undefined) : inner.check(value, path)),
  };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends OptionalSchema<unknown> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
export type ObjectOf<S extends Shape> = { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };
type Flatten<T> = { [K in keyof T]: T[K] };

/** A plain object with exactly these fields: unknown fields are refused, not ignored. */
export function object<S extends Shape>(shape: S): Schema<Flatten<ObjectOf<S>>> {
  const keys = Object.keys(shape);
  return {
    describe: `{ ${keys.join(', ')} }`,
    check(value, path) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return fail(path, `${where(path)} must be an object`);
      }
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        if (!Object.prototype.hasOwnProperty.call(shape, key)) {
          return fail(path === '' ? key : `${path}.${key}`, `unknown field "${path === '' ? key : `${path}.${key}`}"`);
        }
      }
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        const fieldPath = path === '' ? key : `${path}.${key}`;
        const schema = shape[key] as Schema<unknown>;
        const fieldValue = Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
        if (fieldValue === undefined && !('optional' in schema)) return fail(fieldPath, `${fieldPath} is required`);
        const result = schema.check(fieldValue, fieldPath);
        if (!result.ok) return result;
        if (result.value !== undefined) out[key] = result.value;
      }
      return pass(out as Flatten<ObjectOf<S>>);
    },
  };
}

/** A union discriminated by a string field, e.g. worker messages keyed by `kind`. */
export function variants<K extends string, const M extends Record<string, Schema<object>>>(
  key: K,
  members: M,
): Schema<{ [T in keyof M]: Infer<M[T]> & Record<K, T> }[keyof M]> {
  const tags = Object.keys(members);
  return {
    describe: tags.join(' | '),
    check(value, path) {
      if (typeof value !== 'object' || value === null) return fail(path, `${where(path)} must be an object`);
      const tag = (value as Record<string, unknown>)[key];
      if (typeof tag !== 'string' || !Object.prototype.hasOwnProperty.call(members, tag)) {
        return fail(path, `${path === '' ? key : `${path}.${key}`} must be one of: ${tags.join(', ')}`);
      }
      const { [key]: _tag, ...rest } = value as Record<string, unknown>;
      const result = (members[tag] as Schema<object>).check(rest, path);
      if (!result.ok) return result as Check<never>;
      return pass({ ...result.value, [key]: tag } as never);
    },
  };
}

export function refine<T>(inner: Schema<T>, rule: (value: T) => string | null): Schema<T> {
  return {
    describe: inner.describe,
    check(value, path) {
      const result = inner.check(value, path);
      if (!result.ok) return result;
      const problem = rule(result.value);
      return problem === null ? result : fail(path, problem);
    },
  };
}

export const empty = object({});

export function parse<T>(schema: Schema<T>, value: unknown): Check<T> {
  return schema.check(value, '');
}
