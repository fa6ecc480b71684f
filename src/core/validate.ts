/**
 * Parameter checks with one message shape, in the manner of sharp:
 * "Expected an integer between 8 and 4096 for width but received 5000".
 * An unknown key has the one other shape:
 * 'Unknown option "tme" for snapshot(): did you mean "time"?'.
 * The low-level API and the job API both check their parameters here.
 */
import { ErrorCodes, SnapshotError, shortenSubject, type ErrorCode } from './errors.js';

/** Longest string value quoted whole in a message; a longer one is shortened in the middle. */
const MAX_QUOTED = 120;
/** Longest key quoted whole in an unknown-key message. */
const MAX_QUOTED_KEY = 60;

/** A string as messages quote it: JSON (control characters escaped), shortened in the middle when long. */
export function quoted(text: string, max = MAX_QUOTED): string {
  const half = (max - 1) / 2;
  return JSON.stringify(text.length <= max ? text : `${text.slice(0, Math.ceil(half))}…${text.slice(-Math.floor(half))}`);
}

/** A received value as messages show it: strings quoted, numbers as they are, other things by kind. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}

/**
 * The one shape of a bad parameter: `Expected <expected> for <name> but
 * received <value>`. The code defaults to InvalidParameter; OutOfRange for a
 * value of the right kind outside its range, NullValue for a missing one.
 */
export function invalid(expected: string, name: string, value: unknown, code: ErrorCode = ErrorCodes.InvalidParameter): SnapshotError {
  return new SnapshotError(code, `Expected ${expected} for ${name} but received ${describe(value)}`);
}

/** A missing required parameter: NullValue, `Expected <expected> for <name> but received undefined`. */
export function missing(expected: string, name: string): SnapshotError {
  return invalid(expected, name, undefined, ErrorCodes.NullValue);
}

export function expectInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalid(`an integer between ${min} and ${max}`, name, value);
  }
  if (value < min || value > max) {
    throw invalid(`an integer between ${min} and ${max}`, name, value, ErrorCodes.OutOfRange);
  }
  return value;
}

export function expectNumber(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalid(`a number between ${min} and ${max}`, name, value);
  }
  if (value < min || value > max) {
    throw invalid(`a number between ${min} and ${max}`, name, value, ErrorCodes.OutOfRange);
  }
  return value;
}

export function expectOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalid(`one of ${allowed.join(', ')}`, name, value);
  }
  return value as T;
}

export function expectBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalid('a boolean', name, value);
  return value;
}

export function expectPath(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) {
    throw invalid('a non-empty file path without NUL bytes', name, value);
  }
  return value;
}

// ---- Objects and their keys ------------------------------------------------------

/**
 * The own enumerable properties of a request or options object, read once
 * into an object without a prototype: what a caller's object inherits (from a
 * class, from Object.create(defaults), from a polluted Object.prototype)
 * never counts as an option, and a getter is read once, not between a check
 * and a use.
 */
export function ownFields(value: object): Record<string, unknown> {
  const fields = Object.create(null) as Record<string, unknown>;
  for (const [key, field] of Object.entries(value)) {
    Object.defineProperty(fields, key, { value: field, enumerable: true, writable: true, configurable: true });
  }
  return fields;
}

/** What an unknown key is called in its message: an option (low-level API) or a field (job API). */
export type KeyKind = 'option' | 'field';

/**
 * Optimal string alignment distance (Levenshtein with adjacent
 * transpositions: "tiem" is one edit from "time"), case-insensitive.
 */
function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const rows: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i, ...Array<number>(t.length).fill(0)]);
  for (let j = 1; j <= t.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[s.length]![t.length]!;
}

/** Keys longer than this get no suggestion (and no quadratic distance). */
const MAX_SUGGESTED_KEY = 64;

/**
 * The allowed key `key` is most likely a typo of, if any: the nearest one
 * (case ignored) within a third of the shorter length (at least one edit);
 * on a tie, the first in `allowed`.
 */
export function nearestKey(key: string, allowed: readonly string[]): string | undefined {
  if (key.length > MAX_SUGGESTED_KEY) return undefined;
  let nearest: string | undefined;
  let nearestDistance = Infinity;
  for (const candidate of allowed) {
    const distance = editDistance(key, candidate);
    const tolerance = Math.max(1, Math.floor(Math.min(key.length, candidate.length) / 3));
    if (distance <= tolerance && distance < nearestDistance) {
      nearest = candidate;
      nearestDistance = distance;
    }
  }
  return nearest;
}

/**
 * The one unknown-key error (InvalidParameter):
 *   Unknown option "tme" for snapshot(): did you mean "time"?
 *   Unknown field "Foo" for SnapshotConfig: expected one of Time, Num, ...
 */
export function unknownKey(key: string, allowed: readonly string[], where: string, kind: KeyKind = 'option'): SnapshotError {
  const nearest = nearestKey(key, allowed);
  const hint =
    nearest !== undefined
      ? `did you mean ${quoted(nearest)}?`
      : allowed.length === 0
        ? `it takes none`
        : `expected one of ${allowed.join(', ')}`;
  return new SnapshotError(ErrorCodes.InvalidParameter, `Unknown ${kind} ${quoted(key, MAX_QUOTED_KEY)} for ${where}: ${hint}`);
}

/**
 * The one unknown-key checker: throws unknownKey for the first own key of
 * `fields` that is not in `allowed`. `where` names the object as the caller
 * wrote it: "snapshot()", "probe()", "SnapshotConfig", "request".
 */
export function checkKeys(fields: object, allowed: readonly string[], where: string, kind: KeyKind = 'option'): void {
  for (const key of Object.keys(fields)) {
    if (!allowed.includes(key)) throw unknownKey(key, allowed, where, kind);
  }
}

/**
 * The own fields (see ownFields) of an object parameter, its keys checked
 * against `allowed`; anything but a plain object (null, an array, a string)
 * is refused as `Expected <expected> for <name> but received ...`.
 */
export function expectFields(
  name: string,
  value: unknown,
  allowed: readonly string[],
  options: { where?: string; kind?: KeyKind; expected?: string } = {},
): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(options.expected ?? `an object`, name, value);
  }
  const fields = ownFields(value);
  checkKeys(fields, allowed, options.where ?? name, options.kind);
  return fields;
}

/**
 * The one JSON-or-object parser: a parameter given as JSON text or as an
 * object, returned as its own fields (see ownFields). Absence (undefined,
 * null, '') is the caller's to handle first. Refused: text that is not JSON
 * (JsonFormatInvalid, `<name> is not valid JSON: <reason>`) and JSON or a
 * value that is not an object (JsonFormatInvalid, `Expected a JSON object
 * for <name> but received ...`).
 */
export function parseJsonObject(name: string, value: unknown): Record<string, unknown> {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new SnapshotError(ErrorCodes.JsonFormatInvalid, `${name} is not valid JSON: ${shortenSubject((error as Error).message, 200)}`);
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('a JSON object', name, value, ErrorCodes.JsonFormatInvalid);
  }
  return ownFields(parsed);
}
