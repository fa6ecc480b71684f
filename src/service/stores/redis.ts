/**
 * The Redis back end: jobs, pipelines and their indexes live in Redis, the
 * queue is BullMQ, so any number of service instances and `framesnap worker`
 * processes on any number of machines share them. Same observable behaviour
 * as the memory back end (memory.ts), plus what a shared, durable store adds:
 * a job whose worker died runs again (Attempts 2), a consumer that stops hands
 * its running jobs back, and cancel() reaches the consumer wherever it runs.
 *
 * Keys (P is the `prefix` option, 'framesnap' by default):
 *
 *   P:job:<id>          hash    job: the record's JSON as submitted (the final one once finished);
 *                               state, requestId, async, seq, pipeline, attempts, stalls,
 *                               count and percent (progress), cancel (the reason, JSON),
 *                               notified (MNSMessageResult, JSON), enqueues and bull (the
 *                               current BullMQ job id, `<id>-<n>`), expired (a synchronous
 *                               job's record as it ends if its process dies, JSON)
 *   P:seq               string  the submission counter
 *   P:jobs              zset    every job remembered, by seq (newest-first pages, ids)
 *   P:finished          zset    finished jobs by seq (the history drops the oldest first)
 *   P:queued            set     asynchronous jobs waiting, in BullMQ or held (Throttling)
 *   P:pipelines         hash    pipeline id -> Pipeline JSON
 *   P:pipeline-states   hash    pipeline id -> State (read by the claim script)
 *   P:held:<pipeline>   zset    jobs a paused pipeline holds, by seq
 *   P:releasing         zset    held jobs of a resumed pipeline on their way back into BullMQ
 *   P:sync              zset    synchronous jobs without an outcome, by their deadline (syncDeadlineMs)
 *   P:default-pipeline  string  the default pipeline's id, made once for every instance
 *   P:events            stream  progress, finished, notified, and cancels of running jobs
 *   P:messages:<queue>  list    a pipeline's message queue (NotifyConfig.QueueName), oldest first
 *   P:queue:*           BullMQ's queue, whose jobs carry only {jobId}
 *
 * Every transition is one Lua script (one round trip, atomic): a claim and a
 * finish cannot interleave, the first outcome of the current attempt wins, and
 * an event is added to P:events by the same script that made the change.
 * Every instance reads that stream from where it was at open(), each event
 * once, and after a lost connection goes on where it stopped (pub/sub would
 * drop what came meanwhile); the stream keeps about the last EVENTS_KEPT.
 * BullMQ's QueueEvents is not used: our events are our records' (a
 * synchronous job, a notification), not BullMQ jobs'.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';

import { debug } from '../../core/debug.js';
import { ErrorCodes, SnapshotError, type ErrorCode } from '../../core/errors.js';
import { expectInteger, invalid } from '../../core/validate.js';
import {
  HAND_BACK,
  type BackendEvents,
  type CancelOutcome,
  type JobBackend,
  type JobEntry,
  type JobHandler,
  type MessageStore,
} from './backend.js';
import { DEFAULT_PIPELINE_NAME, failedJob, isFinal, newJobId, newPipeline, stopHandlers } from './records.js';
import { idsAnswer, matchesFilter, unknownPageToken, type JobQuery, type JobQueryAnswer } from './query.js';
import type { JobProgress, JobState, MNSMessageResult, Pipeline, ReceivedMessage, SnapshotJob } from '../types.js';

import type * as BullMQ from 'bullmq';
import type * as IORedis from 'ioredis';

export interface RedisBackendOptions {
  /** redis://[user:password@]host:port[/db] or rediss://...; the password stays in the connection options. */
  url: string;
  /** Jobs remembered at most; the oldest finished ones go first. */
  maxHistory: number;
  /** Prefix of every key; instances that share one prefix share jobs. Default 'framesnap'. */
  prefix?: string;
  /**
   * How long a running job's lock lasts without renewal (renewed every half
   * of it while the job runs): a job whose worker died runs again after at
   * most about this plus stalledIntervalMs. Default 30000.
   */
  lockDurationMs?: number;
  /** How often each worker looks for jobs whose lock ran out. Default half the lock, at most 5000. */
  stalledIntervalMs?: number;
  /** How often a job may lose its worker (died, or lost its lock) and still run again. Default 10. */
  maxStalledCount?: number;
}

const DEFAULT_PREFIX = 'framesnap';
/** How many of the held jobs before it a job fetched too early puts back into the queue itself, at most. */
const RELEASE_AHEAD_MAX = 100;
/** A synchronous job given no syncDeadlineMs ends Fail this long after it was added, unless it has its outcome by then. */
const DEFAULT_SYNC_DEADLINE_MS = 3_600_000;
/** How often each open instance looks for synchronous jobs past their deadline, at most. */
const SWEEP_INTERVAL_MS = 5000;
/** How often a consumer looks for waiting jobs left out of BullMQ, at most (and at least once per lock duration). */
const RECOVER_INTERVAL_MS = 30_000;
/** How long close() and stopConsuming() wait for BullMQ and Redis before they force them closed. */
const CLOSE_DEADLINE_MS = 5000;
const DEFAULT_LOCK_MS = 30_000;
const DEFAULT_MAX_STALLED = 10;
const QUEUE_NAME = 'queue';
/** How long open() waits for the connection; then it fails instead of retrying forever. */
const CONNECT_TIMEOUT_MS = 5000;
/** How long a write waits for its own event to be read back from P:events before it resolves anyway. */
const OWN_EVENT_WAIT_MS = 2000;
/** Events the P:events stream keeps (about; trimmed as it grows): how far behind an instance may fall. */
const EVENTS_KEPT = 10_000;
/** How long one blocking read of P:events waits before it asks again. */
const EVENTS_BLOCK_MS = 5000;
/** Jobs read per round trip while a filtered page is collected. */
const PAGE_BATCH = 100;

/** The hash fields a job is read from, in the order compose() takes them. */
const FIELDS = ['job', 'state', 'count', 'percent', 'attempts', 'notified', 'requestId'] as const;
type Fields = (string | null)[];

/** Lua: the job's hash key and the HMGET of FIELDS. */
const LUA_COMMON = `
local P = ARGV[1]
local FIELDS = {${FIELDS.map((field) => `'${field}'`).join(', ')}}
local function jobKey(id) return P .. ':job:' .. id end
local function isFinal(state) return state == 'Success' or state == 'Fail' end
local function emit(event) redis.call('XADD', P .. ':events', 'MAXLEN', '~', ${EVENTS_KEPT}, '*', 'e', event) end
`;

/**
 * The scripts, each run with no KEYS and ARGV[1] = the prefix. Keys are built
 * inside from the prefix (one Redis, not a cluster), as BullMQ does for its
 * job keys.
 */
const SCRIPTS = {
  // ARGV: P, id, jobJson, requestId, async ('1'|'0'), maxQueue, maxHistory, pipelineId,
  // and for a synchronous job its deadline and its record as it ends after it (expiredJson).
  // -1 when the queue is full; the seq otherwise. Trims the history while it is too long.
  add: `
local id = ARGV[2]
local async = ARGV[5] == '1'
if async and redis.call('SCARD', P .. ':queued') >= tonumber(ARGV[6]) then return -1 end
local seq = redis.call('INCR', P .. ':seq')
local key = jobKey(id)
redis.call('HSET', key, 'job', ARGV[3], 'state', 'Submitted', 'requestId', ARGV[4], 'async', ARGV[5],
  'seq', seq, 'pipeline', ARGV[8], 'attempts', 0, 'stalls', 0)
if async then
  redis.call('HSET', key, 'enqueues', 1, 'bull', id .. '-1')
  redis.call('SADD', P .. ':queued', id)
else
  redis.call('HSET', key, 'expired', ARGV[10])
  redis.call('ZADD', P .. ':sync', ARGV[9], id)
end
redis.call('ZADD', P .. ':jobs', seq, id)
local maxHistory = tonumber(ARGV[7])
while redis.call('ZCARD', P .. ':jobs') > maxHistory do
  local oldest = redis.call('ZRANGE', P .. ':finished', 0, 0)[1]
  if not oldest then break end
  redis.call('DEL', jobKey(oldest))
  redis.call('ZREM', P .. ':jobs', oldest)
  redis.call('ZREM', P .. ':finished', oldest)
end
return seq`,

  // ARGV: P, id. Takes back a job whose BullMQ add failed.
  unadd: `
local id = ARGV[2]
redis.call('DEL', jobKey(id))
redis.call('ZREM', P .. ':jobs', id)
redis.call('SREM', P .. ':queued', id)
return 1`,

  // ARGV: P, id. A synchronous job started.
  start: `
local key = jobKey(ARGV[2])
if redis.call('HGET', key, 'state') ~= 'Submitted' then return 0 end
redis.call('HSET', key, 'state', 'Snapshoting', 'attempts', 1)
return 1`,

  // ARGV: P, id, count, percent, event, attempt. 1 when stored and published; 0 for a stale attempt.
  progress: `
local key = jobKey(ARGV[2])
local f = redis.call('HMGET', key, 'state', 'attempts')
if f[1] ~= 'Snapshoting' or tonumber(f[2]) ~= tonumber(ARGV[6]) then return 0 end
redis.call('HSET', key, 'count', ARGV[3], 'percent', ARGV[4])
emit(ARGV[5])
return 1`,

  // ARGV: P, id, attempt, jobJson, state, event. 1 when this outcome won.
  // A queued job's attempt check uses the attempts it has now (cancel, give-up).
  finish: `
local id = ARGV[2]
local key = jobKey(id)
local f = redis.call('HMGET', key, 'state', 'async', 'attempts', 'pipeline', 'seq')
if not f[1] or isFinal(f[1]) then return 0 end
if f[2] == '1' and tonumber(f[3]) ~= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', key, 'job', ARGV[4], 'state', ARGV[5])
redis.call('HDEL', key, 'count', 'percent', 'cancel', 'bull', 'expired')
redis.call('ZREM', P .. ':held:' .. f[4], id)
redis.call('ZREM', P .. ':releasing', id)
redis.call('SREM', P .. ':queued', id)
redis.call('ZREM', P .. ':sync', id)
redis.call('ZADD', P .. ':finished', f[5], id)
emit(ARGV[6])
return 1`,

  // ARGV: P, now. Ends the synchronous jobs whose deadline passed without an outcome (their
  // process died) with the record add() stored for it, as finish would: {id, requestId, json, ...}.
  sweep: `
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. ':sync', '-inf', ARGV[2], 'LIMIT', 0, 100)) do
  redis.call('ZREM', P .. ':sync', id)
  local key = jobKey(id)
  local f = redis.call('HMGET', key, 'state', 'expired', 'seq', 'requestId')
  if f[1] and not isFinal(f[1]) and f[2] then
    redis.call('HSET', key, 'job', f[2], 'state', 'Fail')
    redis.call('HDEL', key, 'count', 'percent', 'cancel', 'expired')
    redis.call('ZADD', P .. ':finished', f[3], id)
    emit('{"t":"f","e":"","job":' .. f[2] .. '}')
    out[#out + 1] = id
    out[#out + 1] = f[4] or ''
    out[#out + 1] = f[2]
  end
end
return out`,

  // ARGV: P, id, resultJson, event.
  notified: `
local key = jobKey(ARGV[2])
if redis.call('EXISTS', key) == 1 then redis.call('HSET', key, 'notified', ARGV[3]) end
emit(ARGV[4])
return 1`,

  // ARGV: P, id, bullId, maxStalledCount.
  // {'skip'} (gone, finished, or a stale BullMQ job), {'held'}, {'wait', ids...} (held jobs
  // submitted before it are on their way back into BullMQ), {'cancel'}, {'stalled'},
  // or {'claimed', attempt, FIELDS...}.
  claim: `
local id = ARGV[2]
local key = jobKey(id)
local f = redis.call('HMGET', key, 'state', 'bull', 'cancel', 'pipeline', 'attempts', 'stalls', 'seq')
local state = f[1]
if not state or isFinal(state) or f[2] ~= ARGV[3] then return {'skip'} end
if f[3] then return {'cancel'} end
if redis.call('HGET', P .. ':pipeline-states', f[4]) == 'Paused' then
  -- Held, still Submitted and still counted as waiting, until the pipeline resumes.
  redis.call('ZADD', P .. ':held:' .. f[4], f[7], id)
  redis.call('HSET', key, 'state', 'Submitted', 'bull', '')
  redis.call('HDEL', key, 'count', 'percent')
  redis.call('SADD', P .. ':queued', id)
  return {'held'}
end
-- A resumed pipeline's held jobs go back to the queue's head; a later job fetched before they
-- are all there waits for them (any pipeline's: the window is a few milliseconds): {'wait', ids...}.
if state == 'Submitted' then
  local earlier = redis.call('ZRANGEBYSCORE', P .. ':releasing', '-inf', '(' .. f[7], 'LIMIT', 0, ${RELEASE_AHEAD_MAX})
  if #earlier > 0 then return {'wait', unpack(earlier)} end
end
local stalls = tonumber(f[6])
-- Snapshoting here: the attempt before this one never ended (its worker died or lost its lock).
if state == 'Snapshoting' then
  stalls = stalls + 1
  if stalls > tonumber(ARGV[4]) then return {'stalled'} end
end
local attempt = tonumber(f[5]) + 1
redis.call('HSET', key, 'state', 'Snapshoting', 'attempts', attempt, 'stalls', stalls)
redis.call('HDEL', key, 'count', 'percent')
redis.call('SREM', P .. ':queued', id)
local out = {'claimed', attempt}
local fields = redis.call('HMGET', key, unpack(FIELDS))
for i = 1, #FIELDS do out[#out + 1] = fields[i] end
return out`,

  // ARGV: P, id, attempt. 1 when the job is Submitted again (then the caller puts its BullMQ job back).
  handBack: `
local id = ARGV[2]
local key = jobKey(id)
local f = redis.call('HMGET', key, 'state', 'attempts')
if f[1] ~= 'Snapshoting' or tonumber(f[2]) ~= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', key, 'state', 'Submitted')
redis.call('HDEL', key, 'count', 'percent')
redis.call('SADD', P .. ':queued', id)
return 1`,

  // ARGV: P, id, reasonJson, cancelMessage.
  // {'missing'}, {kind, attempts, bullId, FIELDS...} with kind final, sync, running or queued.
  cancel: `
local id = ARGV[2]
local key = jobKey(id)
local f = redis.call('HMGET', key, 'state', 'async', 'attempts', 'bull')
if not f[1] then return {'missing'} end
local kind
if isFinal(f[1]) then kind = 'final'
elseif f[2] ~= '1' then kind = 'sync'
else
  redis.call('HSET', key, 'cancel', ARGV[3])
  if f[1] == 'Snapshoting' then
    emit(ARGV[4])
    kind = 'running'
  else kind = 'queued' end
end
local out = {kind, f[3], f[4] or ''}
local fields = redis.call('HMGET', key, unpack(FIELDS))
for i = 1, #FIELDS do out[#out + 1] = fields[i] end
return out`,

  // ARGV: P, id, json, state. Creates or replaces a pipeline.
  putPipeline: `
redis.call('HSET', P .. ':pipelines', ARGV[2], ARGV[3])
redis.call('HSET', P .. ':pipeline-states', ARGV[2], ARGV[4])
return 1`,

  // ARGV: P, id, expectedJson, newJson, newState.
  // {'retry'} when the pipeline changed since it was read; {'ok', heldIds...} otherwise:
  // an Active pipeline's held jobs move to P:releasing (in seq order) for requeue().
  updatePipeline: `
local id = ARGV[2]
if redis.call('HGET', P .. ':pipelines', id) ~= ARGV[3] then return {'retry'} end
redis.call('HSET', P .. ':pipelines', id, ARGV[4])
redis.call('HSET', P .. ':pipeline-states', id, ARGV[5])
local out = {'ok'}
if ARGV[5] ~= 'Paused' then
  local held = redis.call('ZRANGE', P .. ':held:' .. id, 0, -1, 'WITHSCORES')
  for i = 1, #held, 2 do
    redis.call('ZADD', P .. ':releasing', held[i + 1], held[i])
    out[#out + 1] = held[i]
  end
  redis.call('DEL', P .. ':held:' .. id)
end
return out`,

  // ARGV: P, ids... Gives each job still Submitted a new BullMQ job id: {id, bullId, ...} in seq
  // order. A job no longer waiting leaves P:releasing now; the others once their BullMQ job exists.
  requeue: `
local waiting = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local f = redis.call('HMGET', jobKey(id), 'state', 'seq')
  if f[1] == 'Submitted' then waiting[#waiting + 1] = {id, tonumber(f[2])}
  else redis.call('ZREM', P .. ':releasing', id) end
end
table.sort(waiting, function(a, b) return a[2] < b[2] end)
local out = {}
for _, job in ipairs(waiting) do
  local key = jobKey(job[1])
  local bull = job[1] .. '-' .. redis.call('HINCRBY', key, 'enqueues', 1)
  redis.call('HSET', key, 'bull', bull)
  out[#out + 1] = job[1]
  out[#out + 1] = bull
end
return out`,

  // ARGV: P. Waiting jobs that have no BullMQ job (their process died between the two writes
  // of add()), and held jobs of a resumed pipeline whose requeue was cut short: their ids.
  // BullMQ keeps a job at P:queue:<its id> until it completes (then removeOnComplete drops it).
  lost: `
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', P .. ':queued')) do
  local f = redis.call('HMGET', jobKey(id), 'state', 'bull')
  if f[1] == 'Submitted' and f[2] and f[2] ~= '' and redis.call('EXISTS', P .. ':${QUEUE_NAME}:' .. f[2]) == 0 then
    out[#out + 1] = id
  end
end
for _, id in ipairs(redis.call('ZRANGE', P .. ':releasing', 0, -1)) do out[#out + 1] = id end
return out`,

  // ARGV: P, queueName, messageJson, max. 0 when the queue holds max messages already.
  pushMessage: `
local key = P .. ':messages:' .. ARGV[2]
if redis.call('LLEN', key) >= tonumber(ARGV[4]) then return 0 end
redis.call('RPUSH', key, ARGV[3])
return 1`,

  // ARGV: P, id, json. The default pipeline's id: the one stored, or this new one.
  defaultPipeline: `
local existing = redis.call('GET', P .. ':default-pipeline')
if existing then return existing end
redis.call('SET', P .. ':default-pipeline', ARGV[2])
redis.call('HSET', P .. ':pipelines', ARGV[2], ARGV[3])
redis.call('HSET', P .. ':pipeline-states', ARGV[2], 'Active')
return ARGV[2]`,

  // ARGV: P, token, below, count: from the token's job on (inclusive) when a token is given,
  // else below `below` (a ZRANGE bound: '+inf' for the newest, '(<seq>' to go on).
  // {'unknown'} for a token naming no job remembered; else {'ok', id, FIELDS..., id, FIELDS...,
  // ..., next}: up to count jobs newest first, then the bound to go on from ('' at the end).
  page: `
local max = ARGV[3]
if ARGV[2] ~= '' then
  max = redis.call('ZSCORE', P .. ':jobs', ARGV[2])
  if not max then return {'unknown'} end
end
local count = tonumber(ARGV[4])
local ids = redis.call('ZREVRANGEBYSCORE', P .. ':jobs', max, '-inf', 'WITHSCORES', 'LIMIT', 0, count)
local out = {'ok'}
for i = 1, #ids, 2 do
  out[#out + 1] = ids[i]
  local fields = redis.call('HMGET', jobKey(ids[i]), unpack(FIELDS))
  for j = 1, #FIELDS do out[#out + 1] = fields[j] end
end
if #ids == 2 * count then out[#out + 1] = '(' .. ids[#ids] else out[#out + 1] = '' end
return out`,
} as const;

type ScriptName = keyof typeof SCRIPTS;
type Reply = string | number | null | Reply[];

interface CancelMessage {
  jobId: string;
  code: ErrorCode;
  message: string;
}

/** An entry of P:events; `e` names the write that made it (its instance and number). */
type BackendEvent =
  | { t: 'p'; e: string; progress: JobProgress }
  | { t: 'f'; e: string; job: SnapshotJob }
  | { t: 'n'; e: string; jobId: string; result: MNSMessageResult }
  | ({ t: 'c'; e: string } & CancelMessage);

interface Running {
  /** The BullMQ job it came from. */
  bullId: string;
  controller: AbortController;
  done: Promise<void>;
  /** A finish() of this job was answered here (won or lost): its outcome is decided. */
  decided: boolean;
}

interface Modules {
  bullmq: typeof BullMQ;
  ioredis: typeof IORedis;
}

/** bullmq and ioredis are optional peers: loaded when a Redis back end opens, never before. */
function loadModules(): Modules {
  const require = createRequire(import.meta.url);
  try {
    return { bullmq: require('bullmq') as typeof BullMQ, ioredis: require('ioredis') as typeof IORedis };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      const message = 'the redis option needs the bullmq and ioredis packages (npm install bullmq ioredis)';
      throw new SnapshotError(ErrorCodes.InvalidParameter, message, { cause: error });
    }
    throw error;
  }
}

/**
 * The URL as given with its password replaced by ***, for messages. Whatever
 * comes before the last '@' may hold a password, however malformed the URL
 * is: only a well-formed scheme and user name are kept, else only the host.
 */
function redacted(url: string): string {
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  const host = url.slice(at + 1);
  const scheme = /^[a-z][\w+.-]*:\/\//i.exec(url)?.[0];
  const userinfo = scheme === undefined ? undefined : url.slice(scheme.length, at);
  if (scheme === undefined || userinfo === undefined || /[\s/]/.test(userinfo)) return `***@${host}`;
  const colon = userinfo.indexOf(':');
  return colon < 0 ? `${scheme}***@${host}` : `${scheme}${userinfo.slice(0, colon)}:***@${host}`;
}

/** Resolves when `promise` settles or after `ms`: true when it settled in time. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    void promise.then(
      () => (clearTimeout(timer), resolve(true)),
      () => (clearTimeout(timer), resolve(true)),
    );
  });
}

/** The reason a synchronous job ends Fail when its deadline passed without an outcome. */
function syncStopped(): SnapshotError {
  return new SnapshotError(ErrorCodes.InternalError, 'the process running the synchronous job stopped before it finished');
}

/** A job as read from its hash: the stored record with the live fields laid over it. */
function compose(fields: Fields): SnapshotJob | undefined {
  const [json, state, count, percent, attempts, notified] = fields;
  if (json === null || json === undefined) return undefined;
  const job = JSON.parse(json) as SnapshotJob;
  if (state !== 'Success' && state !== 'Fail') {
    job.State = state as JobState;
    if (count !== null && count !== undefined) {
      job.Count = count;
      job.Percent = Number(percent);
    }
    const started = Number(attempts);
    if (started >= 2) job.Attempts = started;
  }
  if (notified !== null && notified !== undefined) job.MNSMessageResult = JSON.parse(notified) as MNSMessageResult;
  return job;
}

export class RedisBackend extends EventEmitter<BackendEvents> implements JobBackend {
  readonly kind = 'redis';
  readonly durable = true;

  private readonly url: string;
  private readonly maxHistory: number;
  private readonly prefix: string;
  private readonly lockDurationMs: number;
  private readonly stalledIntervalMs: number;
  private readonly maxStalledCount: number;
  /** Names this instance's events, so each write can wait for its own event to be emitted here. */
  private readonly instanceId = randomUUID();
  private eventCount = 0;
  private readonly ownEvents = new Map<string, () => void>();

  private modules: Modules | undefined;
  private client: IORedis.Redis | undefined;
  /** The connection that blocks reading P:events. */
  private reader: IORedis.Redis | undefined;
  private queue: BullMQ.Queue<{ jobId: string }> | undefined;
  private worker: BullMQ.Worker<{ jobId: string }> | undefined;
  private handler: JobHandler | undefined;
  /** stopConsuming() has begun: jobs BullMQ hands over now go straight back. */
  private stopping = false;
  /** Jobs this instance's consumer runs, by job id (registered before the claim, so no cancel is missed). */
  private readonly running = new Map<string, Running>();
  /** Ends this instance's expired synchronous jobs (every open instance sweeps). */
  private sweepTimer: NodeJS.Timeout | undefined;
  /** A consumer's periodic recover(). */
  private recoverTimer: NodeJS.Timeout | undefined;

  constructor(options: RedisBackendOptions) {
    super();
    if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
      throw invalid('a redis:// or rediss:// URL', 'redis', typeof options.url === 'string' ? redacted(options.url) : options.url);
    }
    this.url = options.url;
    this.maxHistory = expectInteger('maxHistory', options.maxHistory, 1, Number.MAX_SAFE_INTEGER);
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof prefix !== 'string' || !/^[\w.:-]{1,100}$/.test(prefix)) {
      throw invalid('1 to 100 letters, digits, _ . : or -', 'prefix', prefix);
    }
    this.prefix = prefix;
    this.lockDurationMs = expectInteger('lockDurationMs', options.lockDurationMs ?? DEFAULT_LOCK_MS, 1000, 3_600_000);
    this.stalledIntervalMs = expectInteger(
      'stalledIntervalMs',
      options.stalledIntervalMs ?? Math.max(500, Math.min(5000, Math.floor(this.lockDurationMs / 2))),
      100,
      3_600_000,
    );
    this.maxStalledCount = expectInteger('maxStalledCount', options.maxStalledCount ?? DEFAULT_MAX_STALLED, 0, 1000);
  }

  /** The pipelines' message queues, in Redis: any instance reads what any other sent, each message once. */
  readonly messages: MessageStore = {
    push: async (queueName, message, max) => (await this.run('pushMessage', queueName, JSON.stringify(message), max)) === 1,
    pop: async (queueName) => {
      const json = await this.commands().lpop(this.key(`messages:${queueName}`));
      return json === null ? undefined : (JSON.parse(json) as ReceivedMessage);
    },
  };

  async open(): Promise<{ defaultPipelineId: string }> {
    const modules = (this.modules = loadModules());
    let lastError: Error | undefined;
    const client = new modules.ioredis.Redis(this.url, {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // After open: a lost connection is retried for ever (with back-off), while each command fails after a few tries instead of hanging.
      maxRetriesPerRequest: 3,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    client.on('error', (error: Error) => {
      lastError = error;
      debug('redis: %s', error.message);
    });
    this.client = client;
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      this.client = undefined;
      const reason = lastError?.message ?? (error as Error).message;
      throw new SnapshotError(ErrorCodes.InternalError, `could not connect to Redis at ${redacted(this.url)}: ${reason}`, { cause: error });
    }
    for (const [name, body] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: 0, lua: LUA_COMMON + body });

    // The reader goes on from the stream's last entry now, so no event written after open() is missed.
    const [latest] = await client.xrevrange(this.key('events'), '+', '-', 'COUNT', 1);
    const reader = client.duplicate({ connectionName: `${this.prefix}:events-reader` });
    reader.on('error', (error: Error) => debug('redis events: %s', error.message));
    this.reader = reader;
    void this.readEvents(reader, latest?.[0] ?? '0-0');

    // BullMQ shares the command connection: adding a job is one more script on it.
    this.queue = new modules.bullmq.Queue<{ jobId: string }>(QUEUE_NAME, {
      connection: client,
      prefix: this.prefix,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
    });
    this.queue.on('error', (error: Error) => debug('redis queue: %s', error.message));

    const candidate = newPipeline(DEFAULT_PIPELINE_NAME, undefined, newJobId());
    const defaultPipelineId = (await this.run('defaultPipeline', candidate.Id, JSON.stringify(candidate))) as string;
    // A synchronous job runs in the process that took it, which no other can watch: when that
    // process dies, the job would stay Snapshoting for ever. Any instance ends it after its deadline.
    this.sweepTimer = setInterval(() => void this.sweep(), Math.min(this.stalledIntervalMs, SWEEP_INTERVAL_MS));
    this.sweepTimer.unref();
    return { defaultPipelineId };
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    clearInterval(this.recoverTimer);
    this.recoverTimer = undefined;
    const worker = this.worker;
    this.worker = undefined;
    // Each close waits for Redis, which may be out of reach for good: none may hang close().
    if (worker !== undefined) await this.closeWorker(worker, worker.close(true));
    const queue = this.queue;
    this.queue = undefined;
    if (queue !== undefined) {
      const closed = queue.close().catch((error: Error) => debug('redis queue close: %s', error.message));
      // Out of reach now: it shares the command connection, disconnected below.
      const wait = this.client?.status === 'ready' ? CLOSE_DEADLINE_MS : 0;
      if (!(await settlesWithin(closed, wait))) debug('redis queue close: Redis did not answer; disconnected');
    }
    this.reader?.disconnect();
    this.reader = undefined;
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      const quit = client.status === 'ready' ? client.quit().catch(() => undefined) : Promise.resolve();
      await settlesWithin(quit, CLOSE_DEADLINE_MS);
      client.disconnect();
    }
    for (const resolve of this.ownEvents.values()) resolve();
    this.ownEvents.clear();
  }

  // ---- Pipelines ----

  async addPipeline(pipeline: Pipeline): Promise<void> {
    await this.run('putPipeline', pipeline.Id, JSON.stringify(pipeline), pipeline.State);
  }

  async updatePipeline(id: string, update: (pipeline: Pipeline) => Pipeline): Promise<Pipeline | undefined> {
    // Optimistic: read, apply, and store only if nobody changed it in between (else again).
    for (;;) {
      const stored = await this.commands().hget(this.key('pipelines'), id);
      if (stored === null) return undefined;
      const updated = update(JSON.parse(stored) as Pipeline);
      const reply = (await this.run('updatePipeline', id, stored, JSON.stringify(updated), updated.State)) as string[];
      if (reply[0] === 'retry') continue;
      const released = reply.slice(1);
      // The change is stored: a requeue cut short is finished by recover() (each consumer runs it now and then).
      if (released.length > 0) {
        await this.requeue(released).catch((error: Error) =>
          debug('pipeline %s: its held jobs could not be queued again now (recovered later): %s', id, error.message),
        );
      }
      return updated;
    }
  }

  async pipelines(ids: readonly string[]): Promise<Pipeline[]> {
    if (ids.length === 0) return [];
    const stored = await this.commands().hmget(this.key('pipelines'), ...ids);
    return stored.flatMap((json) => (json === null ? [] : [JSON.parse(json) as Pipeline]));
  }

  async allPipelines(): Promise<Pipeline[]> {
    const stored = await this.commands().hvals(this.key('pipelines'));
    return stored.map((json) => JSON.parse(json) as Pipeline);
  }

  async deletePipeline(id: string): Promise<boolean> {
    // The state goes first: a job of the pipeline claimed meanwhile runs as if it were Active.
    await this.commands().hdel(this.key('pipeline-states'), id);
    return (await this.commands().hdel(this.key('pipelines'), id)) === 1;
  }

  // ---- Jobs ----

  async add(entry: JobEntry, maxQueue: number): Promise<void> {
    const id = entry.job.Id;
    // A synchronous job's record as it ends if its process dies first (the sweep stores it).
    const deadline = entry.syncDeadlineMs ?? Date.now() + DEFAULT_SYNC_DEADLINE_MS;
    const expired = entry.asynchronous ? '' : JSON.stringify(failedJob(entry.job, syncStopped()));
    // prettier-ignore
    const seq = (await this.run('add', id, JSON.stringify(entry.job), entry.requestId, entry.asynchronous ? '1' : '0',
      maxQueue, this.maxHistory, entry.job.PipelineId, deadline, expired)) as number;
    if (seq < 0) throw new SnapshotError(ErrorCodes.Throttling, `the job queue is full (${maxQueue} jobs waiting); retry later`);
    if (!entry.asynchronous) return;
    try {
      await this.openQueue().add('job', { jobId: id }, { jobId: `${id}-1` });
    } catch (error) {
      await this.run('unadd', id).catch(() => undefined);
      throw new SnapshotError(ErrorCodes.InternalError, `the job could not be queued: ${(error as Error).message}`, { cause: error });
    }
  }

  async start(jobId: string): Promise<void> {
    await this.run('start', jobId);
  }

  async progress(progress: JobProgress, attempt: number): Promise<void> {
    await this.publishing(
      (event) =>
        this.run(
          'progress',
          progress.JobId,
          String(progress.Done),
          progress.Percent,
          JSON.stringify({ t: 'p', e: event, progress }),
          attempt,
        ),
      (reply) => reply === 1,
    );
  }

  async finish(job: SnapshotJob, attempt: number): Promise<boolean> {
    const json = JSON.stringify(job);
    const reply = await this.publishing(
      (event) => this.run('finish', job.Id, attempt, json, job.State, `{"t":"f","e":${JSON.stringify(event)},"job":${json}}`),
      (won) => won === 1,
    );
    const running = this.running.get(job.Id);
    if (running !== undefined) running.decided = true;
    return reply === 1;
  }

  async notified(jobId: string, result: MNSMessageResult): Promise<void> {
    await this.publishing(
      (event) => this.run('notified', jobId, JSON.stringify(result), JSON.stringify({ t: 'n', e: event, jobId, result })),
      () => true,
    );
  }

  async get(jobId: string): Promise<SnapshotJob | undefined> {
    return compose(await this.commands().hmget(this.jobKey(jobId), ...FIELDS));
  }

  async requestIdOf(jobId: string): Promise<string | undefined> {
    return (await this.commands().hget(this.jobKey(jobId), 'requestId')) ?? undefined;
  }

  async query(query: JobQuery): Promise<JobQueryAnswer> {
    if (query.kind === 'ids') {
      const batch = this.commands().pipeline();
      for (const id of query.ids) batch.hmget(this.jobKey(id), ...FIELDS);
      const replies = (await batch.exec()) ?? [];
      const found = new Map<string, SnapshotJob>();
      query.ids.forEach((id, index) => {
        const [error, fields] = replies[index] ?? [null, null];
        if (error !== null) throw error;
        const job = compose(fields as Fields);
        if (job !== undefined) found.set(id, job);
      });
      return idsAnswer(query.ids, found);
    }
    // Newest first from the token's job on, in batches, until the page is full and the next match is known.
    const page: SnapshotJob[] = [];
    let next: string | undefined;
    const unfiltered = Object.keys(query.filter).length === 0;
    const count = unfiltered ? query.pageSize + 1 : Math.max(query.pageSize + 1, PAGE_BATCH);
    let reply = (await this.run('page', query.token ?? '', '+inf', count)) as Reply[];
    if (reply[0] === 'unknown') throw unknownPageToken(query.token!);
    for (;;) {
      const rest = reply[reply.length - 1] as string;
      const stride = FIELDS.length + 1;
      for (let at = 1; at + stride <= reply.length - 1 && next === undefined; at += stride) {
        const job = compose(reply.slice(at + 1, at + stride) as Fields);
        if (job === undefined || !matchesFilter(job, query.filter)) continue;
        if (page.length === query.pageSize) next = job.Id;
        else page.push(job);
      }
      if (next !== undefined || rest === '') break;
      reply = (await this.run('page', '', rest, count)) as Reply[];
    }
    return {
      SnapshotJobList: { SnapshotJob: page },
      NonExistSnapshotJobIds: { String: [] },
      ...(next === undefined ? {} : { NextPageToken: next }),
    };
  }

  async cancel(jobId: string, reason: SnapshotError): Promise<CancelOutcome> {
    const stored = JSON.stringify({ code: reason.code, message: reason.message });
    const event: BackendEvent = { t: 'c', e: '', jobId, code: reason.code, message: reason.message };
    const reply = (await this.run('cancel', jobId, stored, JSON.stringify(event))) as Reply[];
    const kind = reply[0] as 'missing' | 'final' | 'sync' | 'running' | 'queued';
    if (kind === 'missing') return { kind: 'missing' };
    const job = compose(reply.slice(3) as Fields)!;
    if (kind === 'final') return { kind: 'final', job };
    // A synchronous job runs in the process that took it, whose caller waits for it (as memory.ts).
    if (kind === 'sync' || kind === 'running') return { kind: 'running', job };
    // Queued: a claim from now on sees the reason and does not start it; end it here.
    const failed = failedJob(job, reason);
    const won = await this.finish(failed, Number(reply[1]));
    // Its BullMQ job goes too, unless a worker holds it this moment (its claim then skips it).
    const bullId = reply[2];
    if (typeof bullId === 'string' && bullId !== '')
      await this.openQueue()
        .remove(bullId)
        .catch(() => 0);
    return { kind: 'cancelled', job: won ? failed : ((await this.get(jobId)) ?? failed) };
  }

  // ---- The queue ----

  consume(concurrency: number, handler: JobHandler): void {
    if (this.worker !== undefined) throw new Error('consume() was called twice without stopConsuming()');
    const { bullmq } = this.openModules();
    this.handler = handler;
    this.stopping = false;
    // prettier-ignore
    const worker = new bullmq.Worker<{ jobId: string }>(QUEUE_NAME, (job, token) => this.process(job, token), {
      // Its own connections (one of them blocks waiting for jobs); BullMQ needs them to retry for ever.
      connection: { url: this.url, maxRetriesPerRequest: null },
      prefix: this.prefix,
      concurrency,
      lockDuration: this.lockDurationMs,
      stalledInterval: this.stalledIntervalMs,
      maxStalledCount: this.maxStalledCount,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 0 },
    });
    worker.on('error', (error: Error) => debug('redis worker: %s', error.message));
    // This worker lost a job's lock (its event loop stalled, or Redis was out of reach for a
    // whole lock period): the job runs again elsewhere, so this run stops without an outcome.
    worker.on('lockRenewalFailed', (bullIds) => {
      for (const [jobId, running] of this.running) {
        if (bullIds.includes(running.bullId)) {
          debug('job %s: its lock was lost; handed back', jobId);
          running.controller.abort(HAND_BACK);
        }
      }
    });
    // BullMQ fails a job itself only when it stalled more than maxStalledCount times
    // (our processor throws nothing but WaitingError, which fails nothing): end our record with a reason.
    worker.on('failed', (job, error) => {
      const jobId = job?.data.jobId;
      if (jobId === undefined) return;
      const reason = /stalled more than/.test(error.message)
        ? this.givenUp()
        : new SnapshotError(ErrorCodes.InternalError, `the job could not be run: ${error.message}`);
      void this.endWaiting(jobId, reason).catch((failure: Error) => debug('job %s: could not be ended: %s', jobId, failure.message));
    });
    this.worker = worker;
    void this.recover().catch((error: Error) => debug('redis recover: %s', error.message));
    // Not only at start: a resume cut short in another process (or a requeue that failed here)
    // leaves jobs out of BullMQ while this consumer runs.
    this.recoverTimer = setInterval(
      () => void this.recover().catch((error: Error) => debug('redis recover: %s', error.message)),
      Math.min(RECOVER_INTERVAL_MS, this.lockDurationMs),
    );
    this.recoverTimer.unref();
  }

  async stopConsuming(graceMs: number, _reason: SnapshotError, _queuedReason: SnapshotError): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.stopping = true;
    clearInterval(this.recoverTimer);
    this.recoverTimer = undefined;
    // Takes no more jobs; resolves once every processor has returned (no timeout of its own).
    const closed = worker.close();
    // The rest are handed back: their consumers stop, and process() puts the jobs back at the head of the queue.
    await stopHandlers(this.running, graceMs, HAND_BACK);
    await this.closeWorker(worker, closed);
    this.worker = undefined;
    this.handler = undefined;
  }

  // ---- Inside ----

  /**
   * Waits for a worker's close() at most CLOSE_DEADLINE_MS: BullMQ retries
   * for ever while Redis is out of reach (its connections need that), so its
   * close may never settle. Then forces it, and disconnects it regardless.
   */
  private async closeWorker(worker: BullMQ.Worker<{ jobId: string }>, closing: Promise<void>): Promise<void> {
    const closed = closing.catch((error: Error) => debug('redis worker close: %s', error.message));
    if (await settlesWithin(closed, CLOSE_DEADLINE_MS)) return;
    debug('redis worker close: Redis did not answer; forced and disconnected');
    const forced = Promise.all([
      worker.close(true).catch((error: Error) => debug('redis worker close: %s', error.message)),
      worker.disconnect().catch((error: Error) => debug('redis worker disconnect: %s', error.message)),
    ]);
    await settlesWithin(forced, CLOSE_DEADLINE_MS);
  }

  /** Ends the synchronous jobs past their deadline (in whatever instance they ran); 'ended' here for each. */
  private async sweep(): Promise<void> {
    if (this.client === undefined) return;
    let reply: string[];
    try {
      reply = (await this.run('sweep', Date.now())) as string[];
    } catch (error) {
      debug('redis sweep: %s', (error as Error).message);
      return;
    }
    for (let at = 0; at + 2 < reply.length; at += 3) {
      const job = JSON.parse(reply[at + 2]!) as SnapshotJob;
      debug('job %s: its process stopped before it finished; ended', job.Id);
      this.emit('ended', job, reply[at + 1]!);
    }
  }

  /** BullMQ's processor: claims our record, then runs it, holds it, or ends it. */
  private async process(bullJob: BullMQ.Job<{ jobId: string }>, token: string | undefined): Promise<void> {
    const { bullmq } = this.openModules();
    const jobId = bullJob.data.jobId;
    const handler = this.handler;
    if (this.stopping || handler === undefined) {
      await bullJob.moveToWait(token).catch((error: Error) => debug('job %s: back to the queue: %s', jobId, error.message));
      throw new bullmq.WaitingError();
    }
    const controller = new AbortController();
    let stopped!: () => void;
    const done = new Promise<void>((resolve) => (stopped = resolve));
    const running: Running = { bullId: bullJob.id ?? '', controller, done, decided: false };
    this.running.set(jobId, running);
    try {
      const reply = (await this.run('claim', jobId, bullJob.id ?? '', this.maxStalledCount)) as Reply[];
      switch (reply[0]) {
        case 'skip':
        case 'held':
          return;
        case 'wait':
          await this.waitForReleased(jobId, bullJob, token, reply.slice(1) as string[]);
          throw new bullmq.WaitingError();
        case 'cancel': {
          await this.endWaiting(jobId);
          return;
        }
        case 'stalled':
          await this.endWaiting(jobId, this.givenUp());
          return;
      }
      const attempt = Number(reply[1]);
      const job = compose(reply.slice(2) as Fields)!;
      const requestId = (reply[2 + FIELDS.indexOf('requestId')] as string | null) ?? '';
      try {
        await handler({ job, requestId, attempt, signal: controller.signal });
      } catch (error) {
        debug('job %s: the handler failed: %s', jobId, String(error));
      }
      const handedBack = controller.signal.reason === HAND_BACK;
      if (handedBack) {
        const requeued = await this.run('handBack', jobId, attempt).then(
          (reply) => reply === 1,
          (error: Error) => void debug('job %s: could not be handed back: %s', jobId, error.message),
        );
        if (requeued === true) {
          // At the head of the queue again, the same BullMQ job; the lock may be gone already (then the stalled check requeues it).
          await bullJob.moveToWait(token).catch((error: Error) => debug('job %s: back to the queue: %s', jobId, error.message));
          throw new bullmq.WaitingError();
        }
      }
      if (!running.decided) {
        // No outcome was stored here (finish() failed: Redis out of reach?), and none is known.
        // The BullMQ job stays active with its lock no longer renewed: once the lock runs out, the
        // stalled check queues it again (counted against maxStalledCount), as if this worker had
        // died; a claim skips it if it has its outcome by then.
        debug('job %s: stopped without an outcome; it runs again once its lock runs out', jobId);
        throw new bullmq.WaitingError();
      }
    } catch (error) {
      if (error instanceof bullmq.WaitingError) throw error;
      // Redis out of reach (or a write refused): not a reason to fail the job. It stays active
      // with its lock no longer renewed, and runs again once the lock runs out.
      debug('job %s: %s; it runs again once its lock runs out', jobId, (error as Error).message);
      throw new bullmq.WaitingError();
    } finally {
      if (this.running.get(jobId) === running) this.running.delete(jobId);
      stopped();
    }
  }

  /**
   * Ends a job that has not run to an outcome Fail, whatever its attempt:
   * with `reason`, or the reason cancel() stored. False when it was final
   * already (or another instance ended it first); when this write ended it,
   * 'ended' here, so this instance sends its completion message.
   */
  private async endWaiting(jobId: string, reason?: SnapshotError): Promise<boolean> {
    const [cancel, attempts, ...fields] = await this.commands().hmget(this.jobKey(jobId), 'cancel', 'attempts', ...FIELDS);
    const job = compose(fields);
    if (job === undefined || isFinal(job)) return false;
    let why = reason;
    if (why === undefined) {
      const stored = JSON.parse(cancel ?? '{}') as Partial<CancelMessage>;
      why = new SnapshotError(stored.code ?? ErrorCodes.Canceled, stored.message ?? 'the job was cancelled');
    }
    const failed = failedJob(job, why);
    const won = await this.finish(failed, Number(attempts));
    if (won) this.emit('ended', failed, fields[FIELDS.indexOf('requestId')] ?? '');
    return won;
  }

  /** The reason a job that lost its worker too often ends Fail. */
  private givenUp(): SnapshotError {
    return new SnapshotError(
      ErrorCodes.InternalError,
      `the job's worker died or lost its lock more than ${this.maxStalledCount} times while running it; it is not run again`,
    );
  }

  /**
   * A job fetched while held jobs submitted before it are on their way back
   * into the queue goes back to the queue's head, still Submitted, and this
   * process puts those jobs at the head too, on top of it: they run first,
   * and no later job overtakes it. (Not BullMQ's delayed set, which puts it
   * back at the tail behind later jobs; nor a wait here holding it: once
   * they were back, it would run first while they wait behind it.) The
   * process releasing them may be adding them too, or have died: a job
   * queued twice runs once (a claim skips all but its current BullMQ job).
   */
  private async waitForReleased(
    jobId: string,
    bullJob: BullMQ.Job<{ jobId: string }>,
    token: string | undefined,
    earlier: string[],
  ): Promise<void> {
    debug('job %s: goes after the %d held jobs before it', jobId, earlier.length);
    await bullJob.moveToWait(token).catch((error: Error) => debug('job %s: back to the queue: %s', jobId, error.message));
    await this.requeue(earlier).catch((error: Error) => debug('redis: queuing released jobs failed: %s', error.message));
  }

  /**
   * Puts held jobs of a resumed pipeline (or lost ones) back into BullMQ at
   * the head of the queue, in seq order, then clears them from P:releasing.
   * The head, not the tail: they were submitted before the jobs waiting now
   * (a held job was taken from the queue's head), among them later jobs of
   * their own pipeline, which must not run first. (A job of the pipeline
   * fetched in the moment between the resume and this add still can.)
   */
  private async requeue(ids: string[]): Promise<void> {
    const reply = (await this.run('requeue', ...ids)) as string[];
    const jobs: { name: string; data: { jobId: string }; opts: { jobId: string; lifo: true } }[] = [];
    for (let at = 0; at + 1 < reply.length; at += 2) {
      jobs.push({ name: 'job', data: { jobId: reply[at]! }, opts: { jobId: reply[at + 1]!, lifo: true } });
    }
    if (jobs.length === 0) return;
    // Each goes to the head in turn: the last added runs first, so add them newest first.
    await this.openQueue().addBulk(jobs.reverse());
    await this.commands().zrem(this.key('releasing'), ...jobs.map((job) => job.data.jobId));
  }

  /**
   * A consumer starting: jobs a process that died left out of BullMQ go back
   * into it (a job queued twice this way runs once: a claim skips every
   * BullMQ job but the job's current one).
   */
  private async recover(): Promise<void> {
    const lost = [...new Set((await this.run('lost')) as string[])];
    if (lost.length > 0) {
      debug('redis: %d waiting jobs had no BullMQ job; queued again', lost.length);
      await this.requeue(lost);
    }
  }

  /**
   * Runs a write that publishes an event and resolves once this instance has
   * emitted that event (as the memory store emits before it resolves), or
   * after OWN_EVENT_WAIT_MS if events cannot be read now.
   */
  private async publishing<T>(write: (event: string) => Promise<T>, published: (reply: T) => boolean): Promise<T> {
    const event = `${this.instanceId}:${++this.eventCount}`;
    let emitted!: () => void;
    const seen = new Promise<void>((resolve) => (emitted = resolve));
    this.ownEvents.set(event, emitted);
    try {
      const reply = await write(event);
      if (published(reply)) {
        const timer = setTimeout(emitted, OWN_EVENT_WAIT_MS);
        timer.unref();
        await seen;
        clearTimeout(timer);
      }
      return reply;
    } finally {
      this.ownEvents.delete(event);
    }
  }

  /** Reads P:events after `from` until close(), across lost connections, each entry once. */
  private async readEvents(reader: IORedis.Redis, from: string): Promise<void> {
    let last = from;
    while (this.reader === reader) {
      try {
        const reply = await reader.xread('BLOCK', EVENTS_BLOCK_MS, 'STREAMS', this.key('events'), last);
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            last = id;
            this.received(fields[1] ?? '');
          }
        }
      } catch (error) {
        if (this.reader !== reader) return;
        debug('redis events: %s', (error as Error).message);
        await new Promise((resolve) => setTimeout(resolve, 200).unref());
      }
    }
  }

  /** An entry of P:events: emitted, or for a cancel, the running job's signal aborted. */
  private received(text: string): void {
    let event: BackendEvent;
    try {
      event = JSON.parse(text) as BackendEvent;
    } catch {
      debug('redis: not an event: %s', text);
      return;
    }
    try {
      if (event.t === 'p') this.emit('progress', event.progress);
      else if (event.t === 'f') this.emit('finished', event.job);
      else if (event.t === 'n') this.emit('notified', event.jobId, event.result);
      else this.running.get(event.jobId)?.controller.abort(new SnapshotError(event.code, event.message));
    } finally {
      this.ownEvents.get(event.e)?.();
    }
  }

  private run(script: ScriptName, ...args: (string | number)[]): Promise<Reply> {
    const client = this.commands() as unknown as Record<ScriptName, (...args: (string | number)[]) => Promise<Reply>>;
    return client[script](this.prefix, ...args);
  }

  private commands(): IORedis.Redis {
    if (this.client === undefined) throw new SnapshotError(ErrorCodes.InternalError, 'the Redis job store is not open');
    return this.client;
  }

  private openQueue(): BullMQ.Queue<{ jobId: string }> {
    if (this.queue === undefined) throw new SnapshotError(ErrorCodes.InternalError, 'the Redis job store is not open');
    return this.queue;
  }

  private openModules(): Modules {
    if (this.modules === undefined) throw new SnapshotError(ErrorCodes.InternalError, 'the Redis job store is not open');
    return this.modules;
  }

  private key(name: string): string {
    return `${this.prefix}:${name}`;
  }

  private jobKey(id: string): string {
    return `${this.prefix}:job:${id}`;
  }
}
