/**
 * Option checks with one message shape, in the manner of sharp:
 * "Expected an integer between 8 and 4096 for width but received 5000".
 */
import { ErrorCodes, SnapshotError, shortenSubject, type ErrorCode } from './errors.js';

/** Longest string value quoted whole in a message; a longer one is shortened in the middle. */
const MAX_QUOTED = 120;

/** A string as messages quote it: JSON (control characters escaped), shortened in the middle when long. */
export function quoted(text: string): string {
  const half = (MAX_QUOTED - 1) / 2;
  return JSON.stringify(text.length <= MAX_QUOTED ? text : `${text.slice(0, Math.ceil(half))}…${text.slice(-Math.floor(half))}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}

export function invalid(expected: string, name: string, value: unknown, code: ErrorCode = ErrorCodes.InvalidParameter): SnapshotError {
  return new SnapshotError(code, `Expected ${expected} for ${name} but received ${describe(value)}`);
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

export function expectPath(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) {
    throw invalid('a non-empty file path without NUL bytes', name, value);
  }
  return value;
}

export function rejectUnknownKeys(name: string, value: object, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        `Unknown option ${shortenSubject(key, 60)} in ${name}; expected only ${allowed.join(', ')}`,
      );
    }
  }
}

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
