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

/** Clients a limiter keeps at most; past it the longest-idle go first (addresses can be many: IPv6). */
const MAX_CLIENTS = 100_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly burst: number;
  private nextSweep = 0;

  /**
   * `name`: the option, for messages about it; `refusal`: the message of a
   * request refused by it.
   */
  constructor(
    options: RateLimitOptions,
    name = 'rateLimit',
    private readonly refusal = 'Request was denied due to user flow control: too many requests for this access key',
    defaultPerSecond = 5_000,
  ) {
    const perSecond = expectInteger(`${name}.requestsPerSecond`, options.requestsPerSecond ?? defaultPerSecond, 1, 10_000_000);
    this.perMs = perSecond / 1000;
    this.burst = expectInteger(`${name}.burst`, options.burst ?? perSecond, 1, 10_000_000);
  }

  /** Takes one token of `client`'s; refused with Throttling.User (and when to retry) when there is none. */
  take(client: string, now: number): void {
    const bucket = this.refilled(client, now, true)!;
    if (bucket.tokens < 1) throw this.refused(bucket);
    bucket.tokens -= 1;
  }

  /** Refused as take() is when `client` has no token left, without taking one. */
  check(client: string, now: number): void {
    const bucket = this.refilled(client, now, false);
    if (bucket !== undefined && bucket.tokens < 1) throw this.refused(bucket);
  }

  /** Takes a token of `client`'s if it has one (a failure to count, not a request to refuse). */
  spend(client: string, now: number): void {
    const bucket = this.refilled(client, now, true)!;
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  private refilled(client: string, now: number, create: boolean): Bucket | undefined {
    if (now >= this.nextSweep) this.sweep(now);
    let bucket = this.buckets.get(client);
    if (bucket === undefined) {
      if (!create) return undefined;
      if (this.buckets.size >= MAX_CLIENTS) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.burst, updated: now };
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.updated) * this.perMs);
      bucket.updated = now;
      // Most recently used last: the first in the map is the longest idle.
      this.buckets.delete(client);
    }
    this.buckets.set(client, bucket);
    return bucket;
  }

  private refused(bucket: Bucket): ApiError {
    return new ApiError(ApiErrorCodes.ThrottlingUser, this.refusal, { retryAfterMs: Math.ceil((1 - bucket.tokens) / this.perMs) });
  }

  private sweep(now: number): void {
    for (const [client, bucket] of this.buckets) if (now - bucket.updated > IDLE_MS) this.buckets.delete(client);
    this.nextSweep = now + IDLE_MS;
  }
}
