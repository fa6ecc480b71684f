/**
 * A token bucket per client (the access key that signed the request, or the
 * remote address without authentication): `burst` requests at once, refilled
 * at `requestsPerSecond`. Chosen over @fastify/rate-limit because the limit
 * belongs to the verified access key, known only once the signature is
 * checked, and because one map lookup and two numbers per request is all it
 * needs. Idle clients are forgotten, so memory is bounded by the clients of
 * the last minute.
 */
import { expectInteger } from '../core/validate.js';
import { ApiError, ApiErrorCodes } from './api-error.js';

export interface RateLimitOptions {
  /** Sustained requests per second per client; default 5000. */
  requestsPerSecond?: number;
  /** Requests a client may send at once; default: requestsPerSecond. */
  burst?: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

const IDLE_MS = 60_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly burst: number;
  private nextSweep = 0;

  constructor(options: RateLimitOptions) {
    const perSecond = expectInteger('rateLimit.requestsPerSecond', options.requestsPerSecond ?? 5_000, 1, 10_000_000);
    this.perMs = perSecond / 1000;
    this.burst = expectInteger('rateLimit.burst', options.burst ?? perSecond, 1, 10_000_000);
  }

  /** Takes one token of `client`'s; refused with Throttling.User (and when to retry) when there is none. */
  take(client: string, now: number): void {
    if (now >= this.nextSweep) this.sweep(now);
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, updated: now };
      this.buckets.set(client, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.updated) * this.perMs);
      bucket.updated = now;
    }
    if (bucket.tokens < 1) {
      const retryAfterMs = Math.ceil((1 - bucket.tokens) / this.perMs);
      throw new ApiError(
        ApiErrorCodes.ThrottlingUser,
        'Request was denied due to user flow control: too many requests for this access key',
        {
          retryAfterMs,
        },
      );
    }
    bucket.tokens -= 1;
  }

  private sweep(now: number): void {
    for (const [client, bucket] of this.buckets) if (now - bucket.updated > IDLE_MS) this.buckets.delete(client);
    this.nextSweep = now + IDLE_MS;
  }
}
