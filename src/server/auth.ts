/**
 * Request signatures as the official SDK makes them (MTS-WIRE.md section 3):
 * V3 ACS3-HMAC-SHA256 (the SDK's default, in the Authorization header) and V2
 * HMAC-SHA1 (Config.signatureAlgorithm 'v2', in the query). A request is
 * accepted when its access key is known, its signature matches (compared in
 * constant time), its date is within 15 minutes of this server's clock, and
 * its nonce was not seen in that window.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';

import { ErrorCodes, SnapshotError } from '../core/errors.js';
import { ApiError, ApiErrorCodes } from './api-error.js';
import { canonicalQueryV2, canonicalQueryV3, parseAcsDate, percentEncode, type QueryParameters } from './wire.js';

const MINUTE_MS = 60_000;
/** How far a request's date may be from this server's clock, either way. */
export const MAX_CLOCK_SKEW_MS = 15 * 60_000;
/** The hash of an empty body, which every MTS request has. */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const V3_ALGORITHM = 'ACS3-HMAC-SHA256';
/**
 * Headers a V3 signature must cover: without them a captured request could be
 * replayed with another date or nonce, or sent as another action.
 */
const REQUIRED_SIGNED_HEADERS = ['host', 'x-acs-action', 'x-acs-content-sha256', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-version'];
/** Longest access key id, secret and nonce taken. */
const MAX_KEY_ID = 128;
const MAX_SECRET = 256;
const MAX_NONCE = 128;

/** AccessKeyId -> AccessKeySecret. */
export type AccessKeys = ReadonlyMap<string, string>;

/**
 * Checks an access-key object ({AccessKeyId: AccessKeySecret}, as the
 * --access-keys file holds it): at least one pair, ids of letters, digits,
 * `.`, `_`, `-`, non-empty secrets; refused with InvalidParameter. Messages
 * never show a secret.
 */
export function parseAccessKeys(given: unknown, where = 'access keys'): AccessKeys {
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new SnapshotError(ErrorCodes.InvalidParameter, `${where}: expected a JSON object of AccessKeyId to AccessKeySecret`);
  }
  const keys = new Map<string, string>();
  for (const [id, secret] of Object.entries(given as Record<string, unknown>)) {
    if (!/^[\w.-]+$/.test(id) || id.length > MAX_KEY_ID) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        `${where}: the AccessKeyId ${JSON.stringify(id.slice(0, 64))} is not 1 to ${MAX_KEY_ID} letters, digits, ".", "_" or "-"`,
      );
    }
    if (typeof secret !== 'string' || secret === '' || secret.length > MAX_SECRET) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        `${where}: the secret of ${id} is not a string of 1 to ${MAX_SECRET} characters`,
      );
    }
    keys.set(id, secret);
  }
  if (keys.size === 0) throw new SnapshotError(ErrorCodes.InvalidParameter, `${where}: no access key is given`);
  return keys;
}

/** Reads and checks an access-key file. */
export function readAccessKeys(path: string): AccessKeys {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      `the access-key file cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      'the access-key file is not JSON: expected {"AccessKeyId": "AccessKeySecret", ...}',
    );
  }
  return parseAccessKeys(parsed, 'the access-key file');
}

/**
 * Nonces seen within the clock-skew window, per access key, so that a
 * captured request cannot be sent twice. Each is kept until its request's
 * date is MAX_CLOCK_SKEW_MS old (to the next whole minute; after that the
 * date refuses a replay). Memory is bounded by `maxEntries`, about 45 bytes
 * each: an entry is 52 bits of the SHA-256 of the key and the nonce (a
 * number, not the strings: a legitimate request is taken for a replay with
 * odds of entries / 2^52, about 4e-10 at two million) and its expiry in
 * minutes. When `maxEntries` are live, new requests are refused with
 * Throttling until some expire: the sustained rate is at most maxEntries per
 * 15 minutes.
 */
export class NonceCache {
  /** Nonce hash -> expiry, in minutes since the epoch (a small integer). */
  private readonly seen = new Map<number, number>();
  private nextSweep = 0;

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.seen.size;
  }

  /** Records a nonce; false when it was seen and is still live. */
  remember(accessKeyId: string, nonce: string, requestDateMs: number, now: number): boolean {
    const digest = createHash('sha256').update(accessKeyId).update('\n').update(nonce).digest();
    const key = digest.readUIntBE(0, 6) * 16 + (digest[6]! >> 4);
    const expires = this.seen.get(key);
    if (expires !== undefined && expires * MINUTE_MS > now) return false;
    if (now >= this.nextSweep || this.seen.size >= this.maxEntries) this.sweep(now);
    if (this.seen.size >= this.maxEntries) {
      throw new ApiError(ApiErrorCodes.Throttling, 'too many requests within the replay window; retry later', { retryAfterMs: 1_000 });
    }
    this.seen.set(key, Math.ceil((requestDateMs + MAX_CLOCK_SKEW_MS) / MINUTE_MS));
    return true;
  }

  private sweep(now: number): void {
    for (const [key, expires] of this.seen) if (expires * MINUTE_MS <= now) this.seen.delete(key);
    this.nextSweep = now + MINUTE_MS;
  }
}

/** What a signature check needs of a request. */
export interface SignedRequest {
  method: string;
  /** The request's path, without the query. */
  path: string;
  query: QueryParameters;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Who signed a request, and with what. */
export interface Signer {
  accessKeyId: string;
  version: 'v3' | 'v2';
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function sha256Hex(data: string | Buffer): string {
  if (data.length === 0) return EMPTY_BODY_SHA256;
  return createHash('sha256').update(data).digest('hex');
}

/** Equal in constant time (for a given length). */
function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function incomplete(message: string): ApiError {
  return new ApiError(ApiErrorCodes.IncompleteSignature, message);
}

interface V3Authorization {
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

/** `ACS3-HMAC-SHA256 Credential=<AK>,SignedHeaders=<a;b>,Signature=<hex>` */
function parseAuthorization(value: string): V3Authorization {
  const space = value.indexOf(' ');
  const algorithm = space < 0 ? value : value.slice(0, space);
  if (algorithm !== V3_ALGORITHM) {
    throw incomplete(
      `the signature algorithm ${JSON.stringify(algorithm.slice(0, 40))} is not supported; use ${V3_ALGORITHM} or HMAC-SHA1`,
    );
  }
  const fields = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (accessKeyId === undefined || accessKeyId === '' || signedHeaders === undefined || signature === undefined) {
    throw incomplete('the Authorization header needs Credential, SignedHeaders and Signature');
  }
  return { accessKeyId, signedHeaders: signedHeaders.split(';').map((name) => name.trim().toLowerCase()), signature };
}

/** V3's string to sign of a request, for the headers it names. */
export function stringToSignV3(request: SignedRequest, signedHeaders: readonly string[]): string {
  const names = [...signedHeaders].sort();
  const canonicalHeaders = names.map((name) => `${name}:${(header(request.headers, name) ?? '').trim()}\n`).join('');
  const canonicalRequest = [
    request.method,
    request.path,
    canonicalQueryV3(request.query),
    canonicalHeaders,
    names.join(';'),
    header(request.headers, 'x-acs-content-sha256') ?? sha256Hex(request.body),
  ].join('\n');
  return `${V3_ALGORITHM}\n${sha256Hex(canonicalRequest)}`;
}

/** V2's string to sign: `POST&%2F&pe(CanonicalizedQueryString)`. */
export function stringToSignV2(method: string, query: QueryParameters): string {
  return `${method}&${percentEncode('/')}&${percentEncode(canonicalQueryV2(query))}`;
}

export function signV3(secret: string, stringToSign: string): string {
  return createHmac('sha256', secret).update(stringToSign).digest('hex');
}

export function signV2(secret: string, stringToSign: string): string {
  return createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
}

export interface VerifyOptions {
  keys: AccessKeys;
  nonces: NonceCache;
  /** This server's clock, ms since the epoch. */
  now: number;
}

function secretOf(keys: AccessKeys, accessKeyId: string): string {
  const secret = keys.get(accessKeyId);
  if (secret === undefined) {
    throw new ApiError(
      ApiErrorCodes.InvalidAccessKeyIdNotFound,
      `Specified access key is not found: ${JSON.stringify(accessKeyId.slice(0, MAX_KEY_ID))}`,
    );
  }
  return secret;
}

function checkDateAndNonce(
  options: VerifyOptions,
  signer: Signer,
  dateText: string | undefined,
  nonce: string | undefined,
  dateName: string,
): void {
  if (dateText === undefined || dateText === '') throw incomplete(`the request has no ${dateName}`);
  const date = parseAcsDate(dateText);
  if (date === undefined) {
    throw new ApiError(
      ApiErrorCodes.InvalidTimeStampFormat,
      `${dateName} ${JSON.stringify(dateText.slice(0, 40))} is not a UTC time like 2024-01-01T00:00:00Z`,
    );
  }
  if (Math.abs(options.now - date) > MAX_CLOCK_SKEW_MS) {
    throw new ApiError(
      ApiErrorCodes.InvalidTimeStampExpired,
      `${dateName} ${dateText} is more than 15 minutes from the server's time ${new Date(options.now).toISOString().replace(/\.\d+Z$/, 'Z')}`,
    );
  }
  if (nonce === undefined || nonce === '') throw incomplete(`the request has no signature nonce`);
  if (nonce.length > MAX_NONCE) throw incomplete(`the signature nonce is longer than ${MAX_NONCE} characters`);
  if (!options.nonces.remember(signer.accessKeyId, nonce, date, options.now)) {
    throw new ApiError(ApiErrorCodes.SignatureNonceUsed, `Specified signature nonce was used already: ${nonce}`);
  }
}

function verifyV3(request: SignedRequest, authorization: string, options: VerifyOptions): Signer {
  const parsed = parseAuthorization(authorization);
  const secret = secretOf(options.keys, parsed.accessKeyId);
  for (const name of REQUIRED_SIGNED_HEADERS) {
    if (!parsed.signedHeaders.includes(name)) throw incomplete(`SignedHeaders must include ${name}`);
  }
  for (const name of parsed.signedHeaders) {
    if (header(request.headers, name) === undefined) throw incomplete(`the signed header ${name} is missing`);
  }
  // The body is what it says it is: x-acs-content-sha256 is signed, the body's hash must equal it.
  const contentHash = header(request.headers, 'x-acs-content-sha256')!;
  if (!sameText(contentHash.toLowerCase(), sha256Hex(request.body))) {
    throw new ApiError(ApiErrorCodes.SignatureDoesNotMatch, 'x-acs-content-sha256 is not the SHA-256 of the request body');
  }
  const stringToSign = stringToSignV3(request, parsed.signedHeaders);
  if (!sameText(parsed.signature.toLowerCase(), signV3(secret, stringToSign))) {
    throw new ApiError(
      ApiErrorCodes.SignatureDoesNotMatch,
      `Specified signature does not match our calculation. server StringToSign is [${stringToSign}]`,
    );
  }
  const signer: Signer = { accessKeyId: parsed.accessKeyId, version: 'v3' };
  checkDateAndNonce(options, signer, header(request.headers, 'x-acs-date'), header(request.headers, 'x-acs-signature-nonce'), 'x-acs-date');
  return signer;
}

function verifyV2(request: SignedRequest, options: VerifyOptions): Signer {
  const { query } = request;
  const accessKeyId = query.get('AccessKeyId');
  const signature = query.get('Signature');
  if (accessKeyId === undefined || accessKeyId === '' || signature === undefined || signature === '') {
    throw incomplete('a V2 signature needs the AccessKeyId and Signature parameters');
  }
  if (query.get('SignatureMethod') !== 'HMAC-SHA1' || query.get('SignatureVersion') !== '1.0') {
    throw incomplete('a V2 signature needs SignatureMethod=HMAC-SHA1 and SignatureVersion=1.0');
  }
  const secret = secretOf(options.keys, accessKeyId);
  const stringToSign = stringToSignV2(request.method, query);
  if (!sameText(signature, signV2(secret, stringToSign))) {
    throw new ApiError(
      ApiErrorCodes.SignatureDoesNotMatch,
      `Specified signature does not match our calculation. server string to sign is:${stringToSign}`,
    );
  }
  const signer: Signer = { accessKeyId, version: 'v2' };
  checkDateAndNonce(options, signer, query.get('Timestamp'), query.get('SignatureNonce'), 'Timestamp');
  return signer;
}

/**
 * Who signed the request, by whichever version it used; refused with an
 * ApiError (IncompleteSignature, InvalidAccessKeyId.NotFound,
 * SignatureDoesNotMatch, InvalidTimeStamp.*, SignatureNonceUsed) otherwise.
 * Only a request whose signature matched touches the nonce cache.
 */
export function verifyRequest(request: SignedRequest, options: VerifyOptions): Signer {
  if (request.query.has('SecurityToken') || header(request.headers, 'x-acs-security-token') !== undefined) {
    throw new ApiError(
      ApiErrorCodes.InvalidSecurityToken,
      'STS security tokens are not supported by framesnap serve; sign with an access key',
    );
  }
  const authorization = header(request.headers, 'authorization');
  if (authorization !== undefined) return verifyV3(request, authorization, options);
  if (request.query.has('Signature')) return verifyV2(request, options);
  throw incomplete('the request is not signed: expected an ACS3-HMAC-SHA256 Authorization header or a V2 Signature parameter');
}
