// The load generator of case HTTP (bench/server.mjs), in a process of its own
// so that the client's work is not counted against the server's core:
// autocannon, each request a QuerySnapshotJobList signed with V3
// (ACS3-HMAC-SHA256) as the official SDK signs it, each with a nonce of its
// own and a current date, over keep-alive connections.
//
//   node bench/server-load.mjs '{"port", "ids", "connections", "seconds", "accessKeyId", "accessKeySecret"}'
//
// Prints autocannon's result as one JSON line on stdout.
import { createHash } from 'node:crypto';

import autocannon from 'autocannon';

import { signV3, stringToSignV3 } from '../dist/server/auth.js';
import { canonicalQueryV3 } from '../dist/server/wire.js';

const { port, ids, connections, seconds, accessKeyId, accessKeySecret } = JSON.parse(process.argv[2]);
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const SIGNED = ['host', 'x-acs-action', 'x-acs-content-sha256', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-version'];
const query = new Map([['SnapshotJobIds', ids.join(',')]]);
const path = `/?${canonicalQueryV3(query)}`;
const host = `127.0.0.1:${port}`;
const noncePrefix = `${process.pid}-${Date.now()}-`;
let counter = 0;
/** Requests signed ahead per second of the run: above what one core serves. */
const PRESIGNED_PER_SECOND = 8_000;

/** A signed request, as the SDK sends it. */
function signed(request) {
  const headers = {
    host,
    'x-acs-version': '2014-06-18',
    'x-acs-action': 'QuerySnapshotJobList',
    'x-acs-date': new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    'x-acs-signature-nonce': `${noncePrefix}${counter++}`,
    accept: 'application/json',
    'x-acs-content-sha256': EMPTY_SHA256,
  };
  const stringToSign = stringToSignV3({ method: 'POST', path: '/', query, headers, body: Buffer.alloc(0) }, SIGNED);
  headers.authorization = `ACS3-HMAC-SHA256 Credential=${accessKeyId},SignedHeaders=${SIGNED.join(';')},Signature=${signV3(accessKeySecret, stringToSign)}`;
  return { ...request, method: 'POST', path, headers };
}

// Signed before the timing starts (the dates stay valid for 15 minutes), so
// that the client's own hashing takes no CPU from the server it measures; a
// run faster than that signs the rest on the fly.
const presigned = Array.from({ length: Math.ceil(seconds * PRESIGNED_PER_SECOND) }, () => signed({}));
let next = 0;
const result = await autocannon({
  url: `http://${host}`,
  connections,
  duration: seconds,
  requests: [{ setupRequest: (request) => (next < presigned.length ? { ...request, ...presigned[next++] } : signed(request)) }],
});
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMedianMs: result.latency.p50,
    latencyP99Ms: result.latency.p99,
  })}\n`,
);
