/**
 * Request signatures (src/server/auth.ts) against the worked examples of
 * MTS-WIRE.md section 3, which the SDK's own signer produced: V3
 * ACS3-HMAC-SHA256 and V2 HMAC-SHA1, the query's decoding and re-encoding,
 * dates, nonces and their bounded cache, the access-key file, and the rate
 * limiter. Pure functions: no server.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import { SnapshotError } from '../dist/index.js';
import { ApiError } from '../dist/server/api-error.js';
import {
  NonceCache,
  parseAccessKeys,
  readAccessKeys,
  signV2,
  signV3,
  stringToSignV2,
  stringToSignV3,
  verifyRequest,
  type SignedRequest,
} from '../dist/server/auth.js';
import { RateLimiter } from '../dist/server/rate-limit.js';
import { canonicalQueryV2, canonicalQueryV3, parseAcsDate, parseQuery, percentEncode } from '../dist/server/wire.js';

const SECRET = 'testAccessKeySecret';
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const NONCE = '3156853299f313e23d1673dc12e1703d';
const DATE = '2024-01-01T00:00:00Z';
const DATE_MS = Date.UTC(2024, 0, 1);

/** The worked example's query, as the SDK sent it. */
const WIRE_QUERY =
  'Input=%7B%22Bucket%22%3A%22example-bucket%22%2C%22Location%22%3A%22oss-cn-hangzhou%22%2C%22Object%22%3A%22example.flv%22%7D&SnapshotConfig=%7B%22OutputFile%22%3A%7B%22Bucket%22%3A%22example-001%22%2C%22Location%22%3A%22oss-cn-hangzhou%22%2C%22Object%22%3A%22example.jpg%22%7D%2C%22Time%22%3A%225%22%7D&UserData=testid-001';
const SIGNED_HEADERS = 'host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version';
const V3_SIGNATURE = 'c3469a9c6eb06d9b9751127af1ecfce808ff237c89a9ef9f4c247af9c7e42461';

function v3Request(overrides: Partial<SignedRequest> = {}, signature = V3_SIGNATURE, query = WIRE_QUERY): SignedRequest {
  return {
    method: 'POST',
    path: '/',
    query: parseQuery(query),
    headers: {
      host: '127.0.0.1:8080',
      'x-acs-version': '2014-06-18',
      'x-acs-action': 'SubmitSnapshotJob',
      'user-agent': 'AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/2',
      'x-acs-date': DATE,
      'x-acs-signature-nonce': NONCE,
      accept: 'application/json',
      'x-acs-content-sha256': EMPTY,
      'x-acs-credentials-provider': 'static_ak',
      authorization: `ACS3-HMAC-SHA256 Credential=testAccessKeyId,SignedHeaders=${SIGNED_HEADERS},Signature=${signature}`,
    },
    body: Buffer.alloc(0),
    ...overrides,
  };
}

const keys = parseAccessKeys({ testAccessKeyId: SECRET });

/** The ApiError a call throws. */
function refusal(call: () => unknown): ApiError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('no refusal');
}

/** The SnapshotError a configuration mistake throws, as {code, message}. */
function configFailure(call: () => unknown): { code: string; message: string } {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshotError);
    return { code: (error as SnapshotError).code, message: (error as SnapshotError).message };
  }
  throw new Error('no refusal');
}

describe('V3, ACS3-HMAC-SHA256: the worked example', () => {
  test('the canonical query, the string to sign and the signature', () => {
    const query = parseQuery(WIRE_QUERY);
    expect(query.get('Input')).toBe('{"Bucket":"example-bucket","Location":"oss-cn-hangzhou","Object":"example.flv"}');
    expect(canonicalQueryV3(query)).toBe(WIRE_QUERY);
    const stringToSign = stringToSignV3(v3Request(), SIGNED_HEADERS.split(';'));
    expect(stringToSign).toBe('ACS3-HMAC-SHA256\n8daba1fb161da2d9b2eff2a5266176c767f4beba03b8b358d794541cff208c71');
    expect(signV3(SECRET, stringToSign)).toBe(V3_SIGNATURE);
  });

  test("the research spec's own vector: another host, no UserData, no credentials-provider header", () => {
    const query = WIRE_QUERY.replace('&UserData=testid-001', '');
    const signedHeaders = 'host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version';
    const request = v3Request({}, V3_SIGNATURE, query);
    request.headers.host = 'mts.cn-hangzhou.aliyuncs.com';
    const stringToSign = stringToSignV3(request, signedHeaders.split(';'));
    expect(stringToSign).toMatch(/^ACS3-HMAC-SHA256\nbdcfd138[0-9a-f]{50}510c5c$/);
    expect(signV3('testKeySecret', stringToSign)).toMatch(/^7dccb3c5[0-9a-f]{50}235b19$/);
  });

  test('verifyRequest accepts it within 15 minutes of its date, once', () => {
    const nonces = new NonceCache(10);
    expect(verifyRequest(v3Request(), { keys, nonces, now: DATE_MS + 15 * 60_000 })).toEqual({
      accessKeyId: 'testAccessKeyId',
      version: 'v3',
    });
    expect(refusal(() => verifyRequest(v3Request(), { keys, nonces, now: DATE_MS })).code).toBe('SignatureNonceUsed');
  });

  test.each([
    [
      'a wrong secret',
      () => verifyRequest(v3Request(), { keys: parseAccessKeys({ testAccessKeyId: 'other' }), nonces: new NonceCache(10), now: DATE_MS }),
      'SignatureDoesNotMatch',
      400,
    ],
    [
      'one parameter changed',
      () =>
        verifyRequest(v3Request({}, V3_SIGNATURE, WIRE_QUERY.replace('testid-001', 'testid-002')), {
          keys,
          nonces: new NonceCache(10),
          now: DATE_MS,
        }),
      'SignatureDoesNotMatch',
      400,
    ],
    [
      'another action in the header',
      () =>
        verifyRequest(
          { ...v3Request(), headers: { ...v3Request().headers, 'x-acs-action': 'DeletePipeline' } },
          { keys, nonces: new NonceCache(10), now: DATE_MS },
        ),
      'SignatureDoesNotMatch',
      400,
    ],
    [
      'a body that is not the signed hash',
      () => verifyRequest(v3Request({ body: Buffer.from('x') }), { keys, nonces: new NonceCache(10), now: DATE_MS }),
      'SignatureDoesNotMatch',
      400,
    ],
    [
      'an unknown key',
      () => verifyRequest(v3Request(), { keys: parseAccessKeys({ someoneElse: SECRET }), nonces: new NonceCache(10), now: DATE_MS }),
      'InvalidAccessKeyId.NotFound',
      404,
    ],
    [
      'a date 15 minutes and a second ago',
      () => verifyRequest(v3Request(), { keys, nonces: new NonceCache(10), now: DATE_MS + 15 * 60_000 + 1_000 }),
      'InvalidTimeStamp.Expired',
      400,
    ],
    [
      'a date 16 minutes ahead',
      () => verifyRequest(v3Request(), { keys, nonces: new NonceCache(10), now: DATE_MS - 16 * 60_000 }),
      'InvalidTimeStamp.Expired',
      400,
    ],
  ])('refused: %s', (_name, call, code, status) => {
    const error = refusal(call);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
  });

  test('incomplete signatures', () => {
    const options = { keys, nonces: new NonceCache(10), now: DATE_MS };
    const without = (header: string): SignedRequest => {
      const request = v3Request();
      const headers = { ...request.headers };
      delete headers[header];
      return { ...request, headers };
    };
    const cases: [SignedRequest, string][] = [
      [
        without('authorization'),
        'the request is not signed: expected an ACS3-HMAC-SHA256 Authorization header or a V2 Signature parameter',
      ],
      [
        {
          ...v3Request(),
          headers: { ...v3Request().headers, authorization: 'ACS3-HMAC-SM3 Credential=a,SignedHeaders=host,Signature=00' },
        },
        'the signature algorithm "ACS3-HMAC-SM3" is not supported; use ACS3-HMAC-SHA256 or HMAC-SHA1',
      ],
      [
        { ...v3Request(), headers: { ...v3Request().headers, authorization: 'ACS3-HMAC-SHA256 Credential=testAccessKeyId' } },
        'the Authorization header needs Credential, SignedHeaders and Signature',
      ],
      [
        {
          ...v3Request(),
          headers: {
            ...v3Request().headers,
            authorization: `ACS3-HMAC-SHA256 Credential=testAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-version,Signature=${V3_SIGNATURE}`,
          },
        },
        'SignedHeaders must include x-acs-signature-nonce',
      ],
      [without('x-acs-credentials-provider'), 'the signed header x-acs-credentials-provider is missing'],
    ];
    for (const [request, message] of cases) {
      const error = refusal(() => verifyRequest(request, options));
      expect([error.code, error.message]).toEqual(['IncompleteSignature', message]);
    }
  });
});

describe('V2, HMAC-SHA1: the worked example', () => {
  const v2Query = (signature: string, extra = ''): string =>
    `Action=SubmitSnapshotJob&Format=json&Version=2014-06-18&Timestamp=2024-01-01T00%3A00%3A00Z&SignatureNonce=${NONCE}&${WIRE_QUERY}${extra}&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testAccessKeyId&Signature=${encodeURIComponent(signature)}`;

  test('the canonicalized query, the string to sign and the signature', () => {
    const query = parseQuery(v2Query('Xrb0G6TkeFdWqJrNvYXtb5n32xo='));
    expect(canonicalQueryV2(query)).toBe(
      'AccessKeyId=testAccessKeyId&Action=SubmitSnapshotJob&Format=json&Input=%7B%22Bucket%22%3A%22example-bucket%22%2C%22Location%22%3A%22oss-cn-hangzhou%22%2C%22Object%22%3A%22example.flv%22%7D&SignatureMethod=HMAC-SHA1&SignatureNonce=3156853299f313e23d1673dc12e1703d&SignatureVersion=1.0&SnapshotConfig=%7B%22OutputFile%22%3A%7B%22Bucket%22%3A%22example-001%22%2C%22Location%22%3A%22oss-cn-hangzhou%22%2C%22Object%22%3A%22example.jpg%22%7D%2C%22Time%22%3A%225%22%7D&Timestamp=2024-01-01T00%3A00%3A00Z&UserData=testid-001&Version=2014-06-18',
    );
    const stringToSign = stringToSignV2('POST', query);
    expect(
      stringToSign.startsWith(
        'POST&%2F&AccessKeyId%3DtestAccessKeyId%26Action%3DSubmitSnapshotJob%26Format%3Djson%26Input%3D%257B%2522Bucket%2522',
      ),
    ).toBe(true);
    expect(stringToSign.endsWith('%26Version%3D2014-06-18')).toBe(true);
    expect(signV2(SECRET, stringToSign)).toBe('Xrb0G6TkeFdWqJrNvYXtb5n32xo=');
  });

  test('verifyRequest: accepted once; a changed parameter or another secret is SignatureDoesNotMatch', () => {
    const request = (query: string): SignedRequest => ({
      method: 'POST',
      path: '/',
      query: parseQuery(query),
      headers: {},
      body: Buffer.alloc(0),
    });
    const nonces = new NonceCache(10);
    expect(verifyRequest(request(v2Query('Xrb0G6TkeFdWqJrNvYXtb5n32xo=')), { keys, nonces, now: DATE_MS })).toEqual({
      accessKeyId: 'testAccessKeyId',
      version: 'v2',
    });
    expect(refusal(() => verifyRequest(request(v2Query('Xrb0G6TkeFdWqJrNvYXtb5n32xo=')), { keys, nonces, now: DATE_MS })).code).toBe(
      'SignatureNonceUsed',
    );
    const changed = refusal(() =>
      verifyRequest(request(v2Query('Xrb0G6TkeFdWqJrNvYXtb5n32xo=', '&PipelineId=x')), { keys, nonces, now: DATE_MS }),
    );
    expect(changed.code).toBe('SignatureDoesNotMatch');
    expect(changed.message).toMatch(
      /^Specified signature does not match our calculation\. server string to sign is:POST&%2F&AccessKeyId%3DtestAccessKeyId/,
    );
    const method = refusal(() =>
      verifyRequest(request(v2Query('Xrb0G6TkeFdWqJrNvYXtb5n32xo=').replace('HMAC-SHA1', 'HMAC-SHA256')), { keys, nonces, now: DATE_MS }),
    );
    expect([method.code, method.message]).toEqual([
      'IncompleteSignature',
      'a V2 signature needs SignatureMethod=HMAC-SHA1 and SignatureVersion=1.0',
    ]);
  });
});

describe('the query string', () => {
  test("decoded once (+ is a space), re-encoded with ! ' ( ) * escaped, ~ literal", () => {
    const query = parseQuery("a=x+y%20z&b=!'()*~&c&d=%E4%BD%A0");
    expect([...query]).toEqual([
      ['a', 'x y z'],
      ['b', "!'()*~"],
      ['c', ''],
      ['d', '你'],
    ]);
    expect(percentEncode("x y!'()*~/")).toBe('x%20y%21%27%28%29%2A~%2F');
    expect(canonicalQueryV3(query)).toBe('a=x%20y%20z&b=%21%27%28%29%2A~&c=&d=%E4%BD%A0');
    // A key inside the JSON stays URL-encoded: it was encoded twice on the wire.
    expect(parseQuery('Input=%7B%22Object%22%3A%22a%252Fb.mp4%22%7D').get('Input')).toBe('{"Object":"a%2Fb.mp4"}');
  });

  test.each([
    ['a=%ZZ', 'the query string has a malformed percent-encoding: "%ZZ"'],
    ['a=1&a=2', 'the parameter "a" is given twice'],
    ['=1', 'the query string has a parameter without a name'],
  ])('refused: %s', (raw, message) => {
    const error = refusal(() => parseQuery(raw));
    expect([error.code, error.status, error.message]).toEqual(['InvalidParameter', 400, message]);
  });

  test('dates: the SDK form only, real times only', () => {
    expect(parseAcsDate('2024-01-01T00:00:00Z')).toBe(DATE_MS);
    for (const bad of [
      '2024-01-01T00:00:00.000Z',
      '2024-01-01 00:00:00Z',
      '2024-02-30T00:00:00Z',
      '2024-01-01T24:00:00Z',
      'Mon, 01 Jan 2024 00:00:00 GMT',
    ]) {
      expect(parseAcsDate(bad)).toBeUndefined();
    }
  });
});

describe('nonces, keys and the rate limit', () => {
  test('nonces are per access key, forgotten once their date is past the window, and bounded', () => {
    const nonces = new NonceCache(2);
    expect(nonces.remember('a', 'n1', DATE_MS, DATE_MS)).toBe(true);
    expect(nonces.remember('b', 'n1', DATE_MS, DATE_MS)).toBe(true);
    expect(nonces.remember('a', 'n1', DATE_MS, DATE_MS + 1_000)).toBe(false);
    // Full: refused until some expire.
    const full = refusal(() => nonces.remember('a', 'n2', DATE_MS, DATE_MS + 1_000));
    expect([full.code, full.status, full.retryAfterMs]).toEqual(['Throttling', 503, 1_000]);
    const later = DATE_MS + 15 * 60_000;
    expect(nonces.remember('a', 'n2', later, later)).toBe(true);
    expect(nonces.size).toBe(1);
    expect(nonces.remember('a', 'n1', later, later)).toBe(true);
  });

  test('the access-key file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'framesnap-keys-'));
    try {
      const file = join(dir, 'keys.json');
      writeFileSync(file, '{"LTAIexample":"s3cr3t","other.key":"x"}');
      expect([...readAccessKeys(file)]).toEqual([
        ['LTAIexample', 's3cr3t'],
        ['other.key', 'x'],
      ]);
      const cases: [string, string][] = [
        ['{}', 'the access-key file: no access key is given'],
        ['[]', 'the access-key file: expected a JSON object of AccessKeyId to AccessKeySecret'],
        ['{"a b":"x"}', 'the access-key file: the AccessKeyId "a b" is not 1 to 128 letters, digits, ".", "_" or "-"'],
        ['{"a":""}', 'the access-key file: the secret of a is not a string of 1 to 256 characters'],
        ['{"a":', 'the access-key file is not JSON: expected {"AccessKeyId": "AccessKeySecret", ...}'],
      ];
      for (const [text, message] of cases) {
        writeFileSync(file, text);
        expect(configFailure(() => readAccessKeys(file))).toEqual({ code: 'InvalidParameter', message });
      }
      expect(configFailure(() => readAccessKeys(join(dir, 'missing.json')))).toEqual({
        code: 'InvalidParameter',
        message: 'the access-key file cannot be read (ENOENT)',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('check() refuses without taking; spend() counts without refusing', () => {
    const failures = new RateLimiter({ requestsPerSecond: 1, burst: 2 }, 'authFailureLimit', 'too many failures');
    const at = 5_000_000;
    failures.check('10.0.0.1', at);
    failures.spend('10.0.0.1', at);
    failures.spend('10.0.0.1', at);
    failures.spend('10.0.0.1', at);
    const refused = refusal(() => failures.check('10.0.0.1', at));
    expect([refused.code, refused.status, refused.message, refused.retryAfterMs]).toEqual([
      'Throttling.User',
      429,
      'too many failures',
      1000,
    ]);
    failures.check('10.0.0.2', at);
    failures.check('10.0.0.1', at + 1000);
  });

  test('the token bucket: a burst, then one request per 1/rate; clients apart', () => {
    const limiter = new RateLimiter({ requestsPerSecond: 10, burst: 3 });
    const at = 1_000_000;
    for (let i = 0; i < 3; i += 1) limiter.take('a', at);
    const refused = refusal(() => limiter.take('a', at));
    expect([refused.code, refused.status, refused.retryAfterMs]).toEqual(['Throttling.User', 429, 100]);
    limiter.take('b', at);
    limiter.take('a', at + 100);
    expect(refusal(() => limiter.take('a', at + 150)).retryAfterMs).toBe(50);
  });
});
