/**
 * The cloud API's wire format as its official SDK speaks it (../shared/MTS-WIRE.md,
 * sections 1 and 3): the query string, percent-decoded once, and the
 * percent-encoding both signature versions sign with. Pure functions.
 */
import { ApiError, ApiErrorCodes } from './api-error.js';

/** The query's pairs, decoded, in the order sent; a name given twice is refused. */
export type QueryParameters = Map<string, string>;

/** The longest query string taken (Node's own header limit, 16 KiB, bounds it first). */
export const MAX_QUERY_BYTES = 16_384;

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new ApiError(
      ApiErrorCodes.InvalidParameter,
      `the query string has a malformed percent-encoding: ${JSON.stringify(text.slice(0, 64))}`,
    );
  }
}

/**
 * Decodes a raw query string (without `?`): `+` is a space, `%XX` UTF-8.
 * Refused with InvalidParameter: a malformed escape, an empty or repeated name.
 */
export function parseQuery(raw: string): QueryParameters {
  const parameters: QueryParameters = new Map();
  if (raw === '') return parameters;
  if (raw.length > MAX_QUERY_BYTES)
    throw new ApiError(ApiErrorCodes.InvalidParameter, `the query string is longer than ${MAX_QUERY_BYTES} bytes`);
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = decodeComponent(at < 0 ? pair : pair.slice(0, at));
    const value = at < 0 ? '' : decodeComponent(pair.slice(at + 1));
    if (name === '') throw new ApiError(ApiErrorCodes.InvalidParameter, 'the query string has a parameter without a name');
    if (parameters.has(name)) throw new ApiError(ApiErrorCodes.InvalidParameter, `the parameter ${JSON.stringify(name)} is given twice`);
    parameters.set(name, value);
  }
  return parameters;
}

/**
 * The percent-encoding both signatures use: encodeURIComponent with
 * `! ' ( ) *` escaped too; space is %20, `~` stays.
 */
export function percentEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Code-unit order, as the SDK's sort() gives. */
function byName(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** V3's CanonicalQueryString: sorted by name, `name=pe(value)` joined with `&` (names are ASCII). */
export function canonicalQueryV3(parameters: QueryParameters): string {
  return [...parameters]
    .sort(byName)
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
}

/** V2's CanonicalizedQueryString: every parameter but Signature, sorted, `pe(name)=pe(value)`. */
export function canonicalQueryV2(parameters: QueryParameters): string {
  return [...parameters]
    .filter(([name]) => name !== 'Signature')
    .sort(byName)
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
}

/** The SDK's date form, UTC to the second: 2024-01-01T00:00:00Z. */
const ACS_DATE = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$/;

/** Milliseconds since the epoch of an x-acs-date or Timestamp value; undefined when it is not that form or no real time. */
export function parseAcsDate(text: string): number | undefined {
  const match = ACS_DATE.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  // 2024-02-30 rolls over to March: not a real time.
  if (back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  return ms;
}
