/**
 * SnapshotService: the cloud SubmitSnapshotJob API, run locally and embedded
 * in a Node process (SPEC sections 1-4, 7, 8). Requests are validated here, on
 * the caller's thread; decoding runs on a pool of worker threads or, with
 * isolation 'process', child processes (see scheduler.ts); for
 * submitSnapshotJobSync, on the blocking helper thread (or its child process).
 * A synchronous job is answered at its deadline whatever its worker is doing;
 * the work is cancelled and takes back what it wrote.
 *
 * Events: 'progress' ({JobId, Done, Expected, Percent}) while a job writes
 * images, 'job' (the job) when one finishes, 'notification' ({JobId,
 * MNSMessageResult}) when its completion message has been delivered or given up.
 */
import { EventEmitter } from 'node:events';
import { existsSync, realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve, sep } from 'node:path';

import { callerStack, ErrorCodes, shortenSubject, SnapshotError, toSnapshotError, withCallerStack } from '../core/errors.js';
import { resolveLimits, type Limits } from '../core/limits.js';
import { callSync } from '../core/sync.js';
import { expectFields, expectInteger, invalid, ownFields } from '../core/validate.js';
import { DEFAULT_STALE_TEMPORARY_MS, removeOwned, Sweeper } from './storage/cleanup.js';
import { outcomeFiles } from './worker/execute.js';
import { jobFeatures } from './request/plan.js';
import { creationTime, newJobId, newRequestId } from './stores/records.js';
import { JobLifecycle } from './jobs/lifecycle.js';
import { debug } from '../core/debug.js';
import { HAND_BACK, type ClaimedJob, type JobBackend, type JobEntry } from './stores/backend.js';
import { MemoryBackend } from './stores/memory.js';
import { parseJobQuery } from './stores/query.js';
import { isFinal } from './stores/records.js';
import { nameContext, renderName } from './request/names.js';
import { Notifier, resolveDeliveryPolicy } from './jobs/notifications.js';
import { applyPipelineUpdate, parseAddPipeline, parseDeletePipeline, parseSearchPipeline } from './jobs/pipelines.js';
import { parseIdList } from './request/ids.js';
import { parseSubmitRequest, type ParsedRequest } from './request/request.js';
import { Scheduler } from './jobs/scheduler.js';
import { RedisBackend } from './stores/redis.js';
import { SqliteBackend } from './stores/sqlite.js';
import { bucketFolder, checkKey, decodeKey, resolveInputObject, type BucketConfig } from './storage/storage.js';
import {
  isObjectStore,
  loadObjectStoreSdk,
  needsObjectStore,
  parseObjectStoreBucket,
  prepareObjectStores,
  type PreparedInput,
  type PrepareSteps,
} from './storage/object-store.js';
import type {
  AddPipelineRequest,
  DeletePipelineRequest,
  DeletePipelineResponse,
  Isolation,
  JobOutcome,
  JobTask,
  NotifyDeliveryOptions,
  ObjectStoreBucket,
  PipelineResponse,
  QueryPipelineListRequest,
  QueryPipelineListResponse,
  QuerySnapshotJobListRequest,
  QuerySnapshotJobListResponse,
  ReceivedMessage,
  SearchPipelineRequest,
  SearchPipelineResponse,
  SnapshotJob,
  SnapshotServiceEvents,
  SubmitSnapshotJobRequest,
  SubmitSnapshotJobResponse,
  Subscriber,
  UpdatePipelineRequest,
} from './types.js';

export interface SnapshotServiceOptions extends BucketConfig, Partial<Limits> {
  /**
   * Pool workers; default os.availableParallelism(). 0 (with `database` or
   * `redis`): this instance runs no queued job, it submits and queries
   * (synchronous jobs still run here, one at a time).
   */
  workers?: number;
  /**
   * A SQLite file (created when missing) that keeps jobs, pipelines and the
   * queue: queued jobs survive restarts, a job whose process died runs again,
   * and other processes on this machine using the same file share the work
   * (README, "Deploying"). Needs the better-sqlite3 package (12.x).
   */
  database?: string;
  /**
   * A Redis URL (redis://host:port): jobs are queued in BullMQ and run by any
   * service instance or `framesnap worker` on any machine that shares the
   * buckets' storage. Needs the bullmq and ioredis packages.
   */
  redis?: string;
  /**
   * Tuning of the durable stores: how long a claimed job stays its worker's
   * without a sign of life (lease or BullMQ lock, default 30000 ms), how often
   * SQLite is polled for jobs and other processes' events (default 100 ms),
   * and the key prefix in Redis (default 'framesnap').
   */
  queue?: { lockDurationMs?: number; pollMs?: number; prefix?: string };
  /**
   * 'thread' (default): the pool is worker threads in this process.
   * 'process': child processes, so a crash or an out-of-memory kill while
   * decoding a hostile file fails that one job (InternalError) and the
   * service lives on -- the choice for untrusted uploads.
   */
  isolation?: Isolation;
  /**
   * Deadline of a synchronous job, in ms from its submission: SnapshotTimeOut
   * is answered then, whatever the worker is doing, and the work is
   * cancelled. Default 5000.
   */
  syncTimeoutMs?: number;
  /**
   * Age (ms) past which a temporary file (.framesnap-<pid>-<random>.tmp) or
   * a job journal of framesnap's is taken for a leftover of a killed process
   * and removed, when the service first writes in its folder. Default 3600000 (1 h).
   */
  staleTemporaryMs?: number;
  /** Jobs waiting for a worker beyond which submissions are refused; default 1000. */
  maxQueue?: number;
  /** Finished jobs remembered for querySnapshotJobList; default 10000, oldest dropped first. */
  maxJobHistory?: number;
  /**
   * The retry policy of a pipeline's topic subscribers that are URLs: attempts,
   * the first backoff (doubled after each failure) and each attempt's timeout.
   * Default { attempts: 4, firstBackoffMs: 200, attemptTimeoutMs: 5000 }.
   */
  notifyDelivery?: NotifyDeliveryOptions;
}

const JOB_SYNC_WORKER = new URL('./worker/job-sync-worker.js', import.meta.url);
/** The helper thread that checks a synchronous job's buckets in object storage while submitSnapshotJobSync blocks. */
const OBJECT_STORE_SYNC_WORKER = new URL('./storage/object-store-sync-worker.js', import.meta.url);
/**
 * A synchronous job's deadline unless syncTimeoutMs says otherwise: the
 * cloud API's 5 s (SPEC section 8). Not the low-level blocking calls'
 * default, which bounds a whole snapshotsSync() series.
 */
const DEFAULT_SYNC_JOB_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_QUEUE = 1_000;
const DEFAULT_MAX_JOB_HISTORY = 10_000;
const JPEG_QUALITY = 90;
const MAX_QUERY_IDS = 10;
/** A claimed job's lease (SQLite) or lock (Redis) unless queue.lockDurationMs says otherwise. */
const DEFAULT_LEASE_MS = 30_000;
/** How much longer than the synchronous deadline a SQLite lease is at least. */
const LEASE_MARGIN_MS = 10_000;
/** How long past its deadline a synchronous job whose process died is given up by a store that cannot see processes (Redis). */
const SYNC_DEADLINE_MARGIN_MS = 30_000;
/** How often waitForJob() callers' jobs are read again from the store, in case their event was missed (a store's event log is bounded). */
const WAITER_RECHECK_MS = 5_000;
/** The longest grace close() gives running jobs: one day. */
const MAX_CLOSE_GRACE_MS = 86_400_000;

/** Runs `work`; a failure leaves as a SnapshotError carrying the request id. */
function withRequestId<T>(requestId: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    const failure = toSnapshotError(error);
    failure.requestId = requestId;
    throw failure;
  }
}

/** Runs `work`; a failure leaves as a SnapshotError carrying the request id. */
async function withRequestIdAsync<T>(requestId: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const failure = toSnapshotError(error);
    failure.requestId = requestId;
    throw failure;
  }
}

/** The request a job record holds: what a consumer plans the job from, in any process. */
function requestOf(job: SnapshotJob): SubmitSnapshotJobRequest {
  return {
    Input: job.Input,
    SnapshotConfig: job.SnapshotConfig,
    PipelineId: job.PipelineId,
    ...(job.UserData === undefined ? {} : { UserData: job.UserData }),
  };
}

function createBackend(options: SnapshotServiceOptions, maxHistory: number, syncTimeoutMs: number): JobBackend {
  if (options.database !== undefined && options.redis !== undefined) {
    throw new SnapshotError(ErrorCodes.InvalidParameter, 'give either database or redis, not both');
  }
  // Checked whatever the store, so a mistake never waits for the day a store is added.
  const tuning = queueTuning(options.queue);
  if (options.database !== undefined) {
    if (typeof options.database !== 'string' || options.database === '') throw invalid('a file path', 'database', options.database);
    const { leaseMs, pollMs } = tuning;
    return new SqliteBackend({
      path: options.database,
      maxHistory,
      // submitSnapshotJobSync blocks this process's event loop, and with it
      // the timer that renews its leases, for up to syncTimeoutMs: a lease
      // shorter than that would let other processes take back its jobs.
      leaseMs: Math.max(leaseMs ?? DEFAULT_LEASE_MS, syncTimeoutMs + LEASE_MARGIN_MS),
      ...(pollMs === undefined ? {} : { pollMs }),
    });
  }
  if (options.redis !== undefined) {
    // The store checks the URL itself, and never shows its password.
    const { lockDurationMs, prefix } = tuning;
    return new RedisBackend({
      url: options.redis,
      maxHistory,
      ...(lockDurationMs === undefined ? {} : { lockDurationMs }),
      ...(prefix === undefined ? {} : { prefix }),
    });
  }
  return new MemoryBackend(maxHistory);
}

/**
 * The buckets option: name -> folder, or name -> a bucket in S3-compatible
 * object storage (checked, copied; the SDK packages are loaded now, so a
 * missing one is said at once).
 */
function parseBuckets(given: unknown): Record<string, string | ObjectStoreBucket> | undefined {
  if (given === undefined) return undefined;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) throw invalid('a map of bucket names', 'buckets', given);
  const buckets: Record<string, string | ObjectStoreBucket> = {};
  let objectStores = false;
  for (const [name, entry] of Object.entries(given as Record<string, unknown>)) {
    if (typeof entry === 'string') buckets[name] = entry;
    else if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) {
      buckets[name] = parseObjectStoreBucket(name, entry);
      objectStores = true;
    } else throw invalid('a folder path or an object store', `buckets[${JSON.stringify(name)}]`, entry);
  }
  if (objectStores) loadObjectStoreSdk();
  return buckets;
}

function queueTuning(given: unknown): { lockDurationMs?: number; leaseMs?: number; pollMs?: number; prefix?: string } {
  if (given === undefined) return {};
  const fields = expectFields('queue', given, ['lockDurationMs', 'pollMs', 'prefix'], { kind: 'option', expected: 'an options object' });
  const tuning: { lockDurationMs?: number; leaseMs?: number; pollMs?: number; prefix?: string } = {};
  if (fields['lockDurationMs'] !== undefined) {
    tuning.lockDurationMs = expectInteger('queue.lockDurationMs', fields['lockDurationMs'], 1_000, 3_600_000);
    tuning.leaseMs = tuning.lockDurationMs;
  }
  if (fields['pollMs'] !== undefined) tuning.pollMs = expectInteger('queue.pollMs', fields['pollMs'], 5, 60_000);
  if (fields['prefix'] !== undefined) {
    if (typeof fields['prefix'] !== 'string' || !/^[\w.-]{1,64}$/.test(fields['prefix'])) {
      throw invalid('a key prefix of letters, digits, "_", "." or "-"', 'queue.prefix', fields['prefix']);
    }
    tuning.prefix = fields['prefix'];
  }
  return tuning;
}

export class SnapshotService extends EventEmitter<SnapshotServiceEvents> {
  private readonly buckets: BucketConfig;
  private readonly syncTimeoutMs: number;
  private readonly maxQueue: number;
  private readonly backend: JobBackend;
  private readonly lifecycle: JobLifecycle;
  /** Resolves once the store is open (at once for memory and SQLite). */
  private readonly opened: Promise<void>;
  private openedDefaultPipelineId: string | undefined;
  /** waitForJob() callers, by job id. */
  private readonly waiters = new Map<string, Set<{ resolve: (job: SnapshotJob) => void; reject: (error: SnapshotError) => void }>>();
  /** The timer of recheckWaiters(), while there are waiters. */
  private waiterTimer: NodeJS.Timeout | undefined;
  /** Completion messages under way. */
  private readonly notifying = new Set<Promise<void>>();
  private readonly notifier: Notifier;
  private readonly scheduler: Scheduler;
  private readonly isolation: Isolation;
  private readonly limits: Limits;
  private readonly sweeper: Sweeper;
  private closed = false;
  /** close() has finished its work: no outcome reaches this instance any more. */
  private closedDown = false;
  private closing: Promise<void> | undefined;

  constructor(given: SnapshotServiceOptions) {
    super();
    if (given === null || typeof given !== 'object') throw invalid('an options object', 'options', given);
    // Only the options object's own properties count, never inherited ones.
    const options = ownFields(given) as SnapshotServiceOptions;
    if (options.root === undefined && options.buckets === undefined) {
      throw new SnapshotError(ErrorCodes.InvalidParameter, 'SnapshotService needs a root folder or a buckets map');
    }
    if (options.root !== undefined && typeof options.root !== 'string') throw invalid('a folder path', 'root', options.root);
    this.buckets = { root: options.root, buckets: parseBuckets(options.buckets) };
    const workers = options.workers === undefined ? availableParallelism() : expectInteger('workers', options.workers, 0, 256);
    if (workers === 0 && options.database === undefined && options.redis === undefined) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        'workers: 0 needs a shared store (database or redis) whose queued jobs other processes run',
      );
    }
    this.syncTimeoutMs =
      options.syncTimeoutMs === undefined
        ? DEFAULT_SYNC_JOB_TIMEOUT_MS
        : expectInteger('syncTimeoutMs', options.syncTimeoutMs, 1, 3_600_000);
    this.maxQueue = options.maxQueue === undefined ? DEFAULT_MAX_QUEUE : expectInteger('maxQueue', options.maxQueue, 0, 1_000_000);
    if (options.isolation !== undefined && options.isolation !== 'thread' && options.isolation !== 'process') {
      throw invalid('"thread" or "process"', 'isolation', options.isolation);
    }
    this.isolation = options.isolation ?? 'thread';
    this.limits = resolveLimits(options);
    this.sweeper = new Sweeper(
      options.staleTemporaryMs === undefined
        ? DEFAULT_STALE_TEMPORARY_MS
        : expectInteger('staleTemporaryMs', options.staleTemporaryMs, 1_000, 365 * 24 * 3_600_000),
    );
    const maxHistory =
      options.maxJobHistory === undefined ? DEFAULT_MAX_JOB_HISTORY : expectInteger('maxJobHistory', options.maxJobHistory, 1, 10_000_000);
    this.backend = createBackend(options, maxHistory, this.syncTimeoutMs);
    this.notifier = new Notifier(resolveDeliveryPolicy(options.notifyDelivery), this.backend.messages);
    this.lifecycle = new JobLifecycle(this.backend);
    this.backend.on('progress', (progress) => this.tell('progress', progress));
    this.backend.on('finished', (job) => this.finished(job));
    this.backend.on('notified', (jobId, result) => this.tell('notification', { JobId: jobId, MNSMessageResult: result }));
    this.backend.on('ended', (job, requestId) => this.notifyEnded(job, requestId));
    this.scheduler = new Scheduler(
      Math.max(workers, 1),
      {
        started: (jobId) => this.lifecycle.start(jobId),
        progress: (jobId, done, expected) => this.lifecycle.progress(jobId, done, expected),
        writesIn: (folder) => this.sweeper.visit(folder),
      },
      this.isolation,
    );
    const consume = (): void => {
      if (workers > 0) this.backend.consume(workers, (claimed) => this.runClaimed(claimed));
    };
    if (this.backend.sync !== undefined) {
      // Memory and SQLite open here: the service is ready when constructed.
      this.openedDefaultPipelineId = this.backend.sync.open().defaultPipelineId;
      this.opened = Promise.resolve();
      consume();
    } else {
      this.opened = this.backend.open().then(({ defaultPipelineId }) => {
        this.openedDefaultPipelineId = defaultPipelineId;
        if (!this.closed) consume();
      });
      // Every call awaits it and reports its failure; none goes unhandled.
      this.opened.catch(() => undefined);
    }
  }

  /** The default pipeline's id: kept by a durable store, shared by every instance using it. */
  get defaultPipelineId(): string {
    if (this.openedDefaultPipelineId === undefined) {
      throw new SnapshotError(ErrorCodes.InternalError, 'the job store is not open yet: await service.ready() first');
    }
    return this.openedDefaultPipelineId;
  }

  /** Resolves once the job store is open (at once for memory and SQLite); rejects when it cannot be opened. */
  async ready(): Promise<void> {
    await this.opened;
  }

  // ---- Jobs ----------------------------------------------------------------

  /**
   * Submits a job. A synchronous job (no Interval, no Num) resolves with its
   * final state and the JPEG on disk, or rejects with a SnapshotError; an
   * asynchronous one resolves at once with State "Submitted" and runs in its
   * pipeline.
   */
  async submitSnapshotJob(request: SubmitSnapshotJobRequest): Promise<SubmitSnapshotJobResponse> {
    // A failure found by a worker has no frame of the caller's code: it gets the caller's stack.
    // The method itself names the frame the caller's stack starts below; it is not called.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const caller = callerStack(this.submitSnapshotJob);
    try {
      return await this.submit(request);
    } catch (error) {
      throw withCallerStack(error, caller);
    }
  }

  /**
   * Submits a job and blocks until a synchronous job has finished (the work
   * runs on a helper thread; this thread waits with Atomics.wait). An
   * asynchronous job is queued in its pipeline and answered "Submitted".
   */
  submitSnapshotJobSync(request: SubmitSnapshotJobRequest): SubmitSnapshotJobResponse {
    // The method itself names the frame the caller's stack starts below; it is not called.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const caller = callerStack(this.submitSnapshotJobSync);
    try {
      return this.submitSync(request);
    } catch (error) {
      throw withCallerStack(error, caller);
    }
  }

  private async submit(request: SubmitSnapshotJobRequest): Promise<SubmitSnapshotJobResponse> {
    const requestId = newRequestId();
    await withRequestIdAsync(requestId, () => this.opened);
    const { entry, task } = await withRequestIdAsync(requestId, async () => {
      const prepared = this.prepare(request, requestId);
      // An asynchronous job's input URL is made when it runs (runClaimed).
      if (needsObjectStore(prepared.task)) {
        Object.assign(prepared.task, await prepareObjectStores(prepared.task, { check: true, presign: !prepared.entry.asynchronous }));
      }
      const pipelineId = prepared.entry.job.PipelineId;
      this.checkPipeline(pipelineId, (await this.backend.pipelines([pipelineId])).length > 0);
      await this.lifecycle.submit(prepared.entry, this.maxQueue);
      return prepared;
    });
    const job = entry.job;
    if (entry.asynchronous) return { RequestId: requestId, SnapshotJob: structuredClone(job) };
    const timedOut = this.timedOut();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<SnapshotError>((resolve) => {
      timer = setTimeout(() => resolve(timedOut), this.syncTimeoutMs);
    });
    const work = this.scheduler.run({ id: job.Id }, task, true).then(
      (result) => result,
      (error: SnapshotError) => error,
    );
    // Answered at the deadline, whatever the worker is doing.
    const first = await Promise.race([work, deadline]);
    clearTimeout(timer);
    if (first === timedOut) {
      // Still queued: it never starts. Running: cancelled; it puts nothing
      // more in place, and what it wrote goes (see finish).
      if (!this.scheduler.withdraw(job.Id, timedOut)) this.scheduler.cancel(job.Id);
      void work.then((late) => this.finish(job.Id, late));
    }
    // Another outcome may have come first (cancelSnapshotJob): the store has it.
    const final = (await this.finish(job.Id, this.asAnswered(first))) ?? (await this.backend.get(job.Id));
    return this.respond(final, requestId);
  }

  private submitSync(request: SubmitSnapshotJobRequest): SubmitSnapshotJobResponse {
    const requestId = newRequestId();
    const { entry, task } = withRequestId(requestId, () => {
      const sync = this.backend.sync;
      if (sync === undefined) {
        throw new SnapshotError(
          ErrorCodes.InvalidParameter,
          `submitSnapshotJobSync cannot block on the ${this.backend.kind} store; use submitSnapshotJob`,
        );
      }
      const prepared = this.prepare(request, requestId);
      this.prepareObjectStoresSync(prepared.task, { check: true, presign: !prepared.entry.asynchronous });
      this.checkPipeline(prepared.entry.job.PipelineId, sync.pipeline(prepared.entry.job.PipelineId) !== undefined);
      this.lifecycle.submitNow(prepared.entry, this.maxQueue);
      return prepared;
    });
    const job = entry.job;
    if (entry.asynchronous) return { RequestId: requestId, SnapshotJob: structuredClone(job) };
    this.lifecycle.start(job.Id);
    let outcome: JobOutcome | SnapshotError;
    try {
      // Blocks until the job ends or its deadline: then the helper thread is
      // given up on (it stops and takes back what it wrote by itself).
      outcome = callSync<JobOutcome>(JOB_SYNC_WORKER, 'job', { task, isolation: this.isolation }, this.syncTimeoutMs, task.abort);
    } catch (error) {
      outcome = this.asAnswered(toSnapshotError(error));
    }
    // The outcome is applied to the job in hand before finish() first waits (on the store's write).
    void this.finish(job.Id, outcome);
    return this.respond(this.lifecycle.inHand(job.Id), requestId);
  }

  /** Resolves with the job once it has its final state (Success or Fail), wherever it runs. */
  async waitForJob(jobId: string): Promise<SnapshotJob> {
    // The method itself names the frame the caller's stack starts below; it is not called.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const caller = callerStack(this.waitForJob);
    try {
      await this.opened;
      if (typeof jobId !== 'string' || jobId === '') throw invalid('a job id', 'jobId', jobId);
      // A closed durable store is disconnected (its jobs run on elsewhere); a closed memory store still answers.
      if (this.closedDown && this.backend.durable) {
        throw new SnapshotError(ErrorCodes.InternalError, 'the service is closed: its job store is disconnected');
      }
      // Listening before looking: an outcome between the two is not missed.
      let waiter!: { resolve: (job: SnapshotJob) => void; reject: (error: SnapshotError) => void };
      const finished = new Promise<SnapshotJob>((resolve, reject) => (waiter = { resolve, reject }));
      const waiting = this.waiters.get(jobId) ?? new Set();
      waiting.add(waiter);
      this.waiters.set(jobId, waiting);
      this.recheckWaiters();
      const job = this.lifecycle.inHand(jobId) ?? (await this.backend.get(jobId));
      if (job === undefined || isFinal(job)) {
        waiting.delete(waiter);
        if (waiting.size === 0) this.waiters.delete(jobId);
        if (job === undefined) throw new SnapshotError(ErrorCodes.ResourceNotFound, `the job ${shortenSubject(jobId)} does not exist`);
        return job;
      }
      return await finished;
    } catch (error) {
      throw withCallerStack(error, caller);
    }
  }

  /**
   * Cancels a job (framesnap's own; the cloud API has none for snapshots): a
   * queued one never starts; a running one, in this process or any other
   * sharing the store, stops at its next image and what it wrote is removed.
   * Resolves with the job once final: Fail with code Canceled, or its own
   * outcome when it had one first.
   */
  async cancelSnapshotJob(jobId: string): Promise<SnapshotJob> {
    // The method itself names the frame the caller's stack starts below; it is not called.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const caller = callerStack(this.cancelSnapshotJob);
    try {
      await this.opened;
      if (jobId === undefined || jobId === null || jobId === '') throw invalid('a job id', 'jobId', jobId, ErrorCodes.NullValue);
      if (typeof jobId !== 'string') throw invalid('a job id', 'jobId', jobId);
      const reason = new SnapshotError(ErrorCodes.Canceled, 'the job was cancelled (cancelSnapshotJob)');
      const inHand = this.lifecycle.inHand(jobId);
      if (inHand !== undefined && !isFinal(inHand) && this.lifecycle.isSynchronous(jobId)) {
        // A synchronous job of this process: its caller is answered Canceled.
        if (!this.scheduler.withdraw(jobId, reason)) this.scheduler.cancel(jobId);
        await this.finish(jobId, reason);
        return await this.waitForJob(jobId);
      }
      const outcome = await this.backend.cancel(jobId, reason);
      debug('job %s: cancel found it %s', jobId, outcome.kind);
      if (outcome.kind === 'cancelled') this.notifyEnded(outcome.job, await this.backend.requestIdOf(jobId));
      if (outcome.kind === 'missing')
        throw new SnapshotError(ErrorCodes.ResourceNotFound, `the job ${shortenSubject(jobId)} does not exist`);
      if (outcome.kind === 'running') return await this.waitForJob(jobId);
      return outcome.job;
    } catch (error) {
      throw withCallerStack(error, caller);
    }
  }

  async querySnapshotJobList(request: QuerySnapshotJobListRequest): Promise<QuerySnapshotJobListResponse> {
    const requestId = newRequestId();
    return withRequestIdAsync(requestId, async () => {
      await this.opened;
      return { RequestId: requestId, ...(await this.backend.query(parseJobQuery(request))) };
    });
  }

  // ---- Pipelines -------------------------------------------------------------

  async addPipeline(request: AddPipelineRequest): Promise<PipelineResponse> {
    const requestId = newRequestId();
    return withRequestIdAsync(requestId, async () => {
      await this.opened;
      const pipeline = parseAddPipeline(request);
      await this.backend.addPipeline(pipeline);
      return { RequestId: requestId, Pipeline: structuredClone(pipeline) };
    });
  }

  /** Sets a pipeline's Name, State (Active/Paused) or NotifyConfig. Resuming starts its queued jobs. */
  async updatePipeline(request: UpdatePipelineRequest): Promise<PipelineResponse> {
    const requestId = newRequestId();
    return withRequestIdAsync(requestId, async () => {
      await this.opened;
      const id = request !== null && typeof request === 'object' ? ownFields(request)['PipelineId'] : undefined;
      if (id === undefined || id === '') throw invalid('a pipeline id', 'PipelineId', id, ErrorCodes.NullValue);
      if (typeof id !== 'string') throw invalid('a pipeline id', 'PipelineId', id);
      // Checked before the store is touched: a bad update changes nothing.
      const [current] = await this.backend.pipelines([id]);
      if (current === undefined) throw new SnapshotError(ErrorCodes.ResourceNotFound, `the pipeline ${shortenSubject(id)} does not exist`);
      applyPipelineUpdate(current, request);
      const updated = await this.backend.updatePipeline(id, (pipeline) => applyPipelineUpdate(pipeline, request));
      if (updated === undefined) throw new SnapshotError(ErrorCodes.ResourceNotFound, `the pipeline ${shortenSubject(id)} does not exist`);
      return { RequestId: requestId, Pipeline: structuredClone(updated) };
    });
  }

  async queryPipelineList(request: QueryPipelineListRequest): Promise<QueryPipelineListResponse> {
    const requestId = newRequestId();
    return withRequestIdAsync(requestId, async () => {
      await this.opened;
      const ids = parseIdList(
        'PipelineIds',
        request !== null && typeof request === 'object' ? ownFields(request)['PipelineIds'] : undefined,
        MAX_QUERY_IDS,
      );
      const found = await this.backend.pipelines(ids);
      const missing = ids.filter((id) => !found.some((pipeline) => pipeline.Id === id));
      return { RequestId: requestId, PipelineList: { Pipeline: found }, NonExistPids: { String: missing } };
    });
  }

  /** Pipelines by State (Active, Paused, or All by default), a page at a time, ordered by Name, then Id. */
  async searchPipeline(request: SearchPipelineRequest = {}): Promise<SearchPipelineResponse> {
    const requestId = newRequestId();
    return withRequestIdAsync(requestId, async () => {
      await this.opened;
      const { state, pageNumber, pageSize } = parseSearchPipeline(request);
      const matching = (await this.backend.allPipelines())
        .filter((pipeline) => state === undefined || pipeline.State === state)
        .sort((a, b) => (a.Name === b.Name ? (a.Id < b.Id ? -1 : 1) : a.Name < b.Name ? -1 : 1));
      const start = (pageNumber - 1) * pageSize;
      return {
        RequestId: requestId,
        TotalCount: matching.length,
        PageNumber: pageNumber,
        PageSize: pageSize,
        PipelineList: { Pipeline: matching.slice(start, start + pageSize) },
      };
    });
  }

  /**
   * Removes a pipeline. Refused for the default pipeline and for one with
   * jobs not yet finished (Submitted or Snapshoting); its finished jobs stay
   * queryable.
   */
  async deletePipeline(request: DeletePipelineRequest): Promise<DeletePipelineResponse> {
    const requestId = newRequestId();
    return withRequestIdAsync(requestId, async () => {
      await this.opened;
      const id = parseDeletePipeline(request);
      if (id === this.defaultPipelineId) throw new SnapshotError(ErrorCodes.InvalidParameter, 'the default pipeline cannot be deleted');
      const [pipeline] = await this.backend.pipelines([id]);
      if (pipeline === undefined) throw new SnapshotError(ErrorCodes.ResourceNotFound, `the pipeline ${shortenSubject(id)} does not exist`);
      for (const state of ['Submitted', 'Snapshoting'] as const) {
        const unfinished = await this.backend.query({ kind: 'page', filter: { state, pipelineId: id }, pageSize: 1 });
        if (unfinished.SnapshotJobList.SnapshotJob.length > 0) {
          throw new SnapshotError(
            ErrorCodes.InvalidParameter,
            `the pipeline ${id} still has ${state} jobs: let them finish or cancel them before deleting it`,
          );
        }
      }
      if (!(await this.backend.deletePipeline(id))) {
        throw new SnapshotError(ErrorCodes.ResourceNotFound, `the pipeline ${shortenSubject(id)} does not exist`);
      }
      return { RequestId: requestId, PipelineId: id };
    });
  }

  // ---- Notifications -----------------------------------------------------------

  /**
   * Subscribes to a topic named in a pipeline's NotifyConfig: a function is
   * called with each message, a URL gets an HTTP POST with the JSON body
   * (retried with backoff). Returns the function that unsubscribes.
   */
  subscribe(topic: string, subscriber: Subscriber): () => void {
    return this.notifier.subscribe(topic, subscriber);
  }

  /** The oldest message of a queue, waiting up to waitSeconds (0..30) for one; null when none. */
  receiveMessage(queueName: string, options: { waitSeconds?: number } = {}): Promise<ReceivedMessage | null> {
    return this.notifier.receiveMessage(queueName, options);
  }

  // ---- Life cycle ----------------------------------------------------------------

  /**
   * Refuses new jobs. Running jobs get `graceMs` (default 0) to finish.
   * With the memory store, the queued jobs fail (InternalError) and those
   * still running after the grace are cancelled: they stop at their next
   * frame, end in Fail with code Aborted, and what they wrote is removed.
   * With a durable store (database, redis) nothing is lost: queued jobs stay
   * queued, and those still running after the grace are stopped and handed
   * back, to run again from the start in the next process. Synchronous jobs
   * still running then end Aborted. Then waits for notifications under way
   * and frees the pool. Calling it again waits for the same close.
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    let graceMs: number;
    try {
      const given = expectFields('options', options, ['graceMs'], { where: 'close()', kind: 'option', expected: 'an options object' });
      graceMs = given['graceMs'] === undefined ? 0 : expectInteger('graceMs', given['graceMs'], 0, MAX_CLOSE_GRACE_MS);
    } catch (error) {
      return Promise.reject(toSnapshotError(error));
    }
    this.closed = true;
    // Set before any of its work runs: a 'job' listener that calls close()
    // while this one cancels gets this same close.
    this.closing = Promise.resolve().then(async () => {
      const closed = new SnapshotError(ErrorCodes.Aborted, 'the service was closed while the job ran');
      const notStarted = new SnapshotError(ErrorCodes.InternalError, 'the service was closed before the job started');
      const deadline = Date.now() + graceMs;
      const opened = await this.opened.then(
        () => true,
        () => false,
      );
      // Synchronous jobs still waiting for a worker never start.
      this.scheduler.withdrawSynchronous(notStarted);
      if (opened) await this.backend.stopConsuming(graceMs, closed, notStarted);
      // Synchronous jobs, which got the same grace meanwhile.
      await this.scheduler.close(notStarted, Math.max(0, deadline - Date.now()), (jobId) => void this.finish(jobId, closed));
      await this.lifecycle.settled();
      while (this.notifying.size > 0) await Promise.all(this.notifying);
      await this.notifier.settled();
      await this.sweeper.settled();
      this.closedDown = true;
      clearTimeout(this.waiterTimer);
      for (const waiting of this.waiters.values()) for (const waiter of waiting) waiter.reject(this.closedBeforeFinished());
      this.waiters.clear();
      await this.backend.close();
    });
    return this.closing;
  }

  /** The pool's worker threads (for tests that kill one). @internal */
  get poolThreads(): readonly unknown[] {
    return this.scheduler.threads;
  }

  /** With isolation 'process', the pool's child process ids (for tests that kill one). @internal */
  get poolProcessIds(): number[] {
    return this.scheduler.processIds;
  }

  // ---- Internals -------------------------------------------------------------------

  /** Validates a request, makes its job and plans its task; throws SnapshotError. */
  private prepare(request: SubmitSnapshotJobRequest, requestId: string): { entry: JobEntry; task: JobTask } {
    if (this.closed) throw new SnapshotError(ErrorCodes.InternalError, 'the service is closed and takes no new jobs');
    const parsed = parseSubmitRequest(request);
    const jobId = newJobId();
    const task = this.plan(parsed, jobId);
    const job: SnapshotJob = {
      Id: jobId,
      State: 'Submitted',
      Code: '',
      Message: '',
      Count: '0',
      ...(parsed.tiles === undefined ? {} : { TileCount: '0' }),
      CreationTime: creationTime(new Date()),
      PipelineId: parsed.pipelineId ?? this.defaultPipelineId,
      ...(parsed.userData === undefined ? {} : { UserData: parsed.userData }),
      // Copies: the caller may change its request objects afterwards.
      Input: structuredClone(parsed.echo.Input),
      SnapshotConfig: structuredClone(parsed.echo.SnapshotConfig),
    };
    const entry: JobEntry = { job, requestId, asynchronous: parsed.asynchronous };
    // A store that cannot see this process die ends the job after this.
    if (!parsed.asynchronous) entry.syncDeadlineMs = Date.now() + this.syncTimeoutMs + SYNC_DEADLINE_MARGIN_MS;
    return { entry, task };
  }

  private checkPipeline(pipelineId: string, exists: boolean): void {
    if (!exists) throw new SnapshotError(ErrorCodes.ResourceNotFound, `the pipeline ${shortenSubject(pipelineId)} does not exist`);
  }

  /**
   * Resolves a parsed request's objects in their buckets and plans what the
   * worker does. Keys are checked here, before any request to an object
   * store; buckets in object storage are checked over the network after
   * (prepareObjectStores), and the input's presigned URL made then.
   */
  private plan(parsed: ParsedRequest, jobId: string): JobTask {
    const inputBucket = bucketFolder(this.buckets, parsed.input.Bucket, 'Input');
    const inputKey = decodeKey(parsed.input.Object, 'Input.Object');
    const inputPath = isObjectStore(inputBucket) ? '' : resolveInputObject(inputBucket, inputKey, 'Input.Object');
    const outputBucket = bucketFolder(this.buckets, parsed.output.Bucket, 'SnapshotConfig.OutputFile');
    const outputTemplate = decodeKey(parsed.output.Object, 'SnapshotConfig.OutputFile.Object');
    // The names the template makes must stay in the bucket too.
    const firstKey = checkKey(renderName(outputTemplate, nameContext(inputKey), 1, 0), 'SnapshotConfig.OutputFile.Object');
    const features = jobFeatures(parsed, this.buckets, inputKey, this.limits.limitSpritePixels);
    if (!isObjectStore(outputBucket)) this.sweepBefore(outputBucket, firstKey);
    return {
      jobId,
      inputPath,
      inputKey,
      ...(isObjectStore(inputBucket) ? { inputStore: inputBucket } : {}),
      outputBucketDir: outputBucket,
      outputTemplate,
      times: parsed.times,
      frameType: parsed.frameType,
      width: parsed.width,
      height: parsed.height,
      quality: JPEG_QUALITY,
      threads: 1,
      timeoutMs: parsed.asynchronous ? 0 : this.syncTimeoutMs,
      abort: new Int32Array(new SharedArrayBuffer(4)),
      limits: this.limits,
      ...features,
    };
  }

  /**
   * prepareObjectStores for submitSnapshotJobSync, which must not return to
   * the event loop: the requests run on a helper thread while this one
   * waits, bounded by the synchronous deadline.
   */
  private prepareObjectStoresSync(task: JobTask, steps: PrepareSteps): void {
    if (!needsObjectStore(task)) return;
    const { inputStore, inputKey, outputBucketDir, sprites, timeoutMs } = task;
    const prepared = callSync<PreparedInput | undefined>(
      OBJECT_STORE_SYNC_WORKER,
      'prepare',
      { task: { inputStore, inputKey, outputBucketDir, sprites, timeoutMs }, steps },
      this.syncTimeoutMs,
      new Int32Array(new SharedArrayBuffer(4)),
    );
    Object.assign(task, prepared);
  }

  /**
   * Runs a queued job this process's consumer claimed: planned again from
   * its record (it may have been submitted by another process, or before a
   * restart), run on the pool, ended with its outcome -- or, when its signal
   * says so, cancelled (Fail with the signal's reason) or handed back (no
   * outcome: the store queues it again).
   */
  private async runClaimed(claimed: ClaimedJob): Promise<void> {
    const jobId = claimed.job.Id;
    this.lifecycle.claimed(claimed);
    let outcome: JobOutcome | SnapshotError;
    if (claimed.signal.aborted) {
      outcome = new SnapshotError(ErrorCodes.Aborted, 'the job was stopped before it started');
    } else {
      let task: JobTask;
      try {
        task = this.plan(parseSubmitRequest(requestOf(claimed.job)), jobId);
        // The input's URL is made now, for this run: it never waits in a queue.
        // The objects were checked at submission; one gone since fails the
        // job when it is read (execute.ts), without a request more per job.
        if (needsObjectStore(task)) Object.assign(task, await prepareObjectStores(task, { check: false, presign: true }));
      } catch (error) {
        await this.finish(jobId, toSnapshotError(error));
        return;
      }
      const stop = (): void => {
        if (!this.scheduler.withdraw(jobId, new SnapshotError(ErrorCodes.Aborted, 'the job was stopped'))) this.scheduler.cancel(jobId);
      };
      claimed.signal.addEventListener('abort', stop, { once: true });
      outcome = await this.scheduler.run({ id: jobId }, task, false).then(
        (result) => result,
        (error: SnapshotError) => error,
      );
      claimed.signal.removeEventListener('abort', stop);
    }
    // A job that finished before its stop took effect keeps its outcome.
    if (outcome instanceof SnapshotError && claimed.signal.aborted) {
      const reason: unknown = claimed.signal.reason;
      if (reason === HAND_BACK) {
        this.lifecycle.handedBack(jobId);
        return;
      }
      if (reason instanceof SnapshotError) outcome = reason;
    }
    await this.finish(jobId, outcome);
  }

  /** A job finished, here or in another process: 'job' event, and its waiters answered. */
  private finished(job: SnapshotJob): void {
    const waiting = this.waiters.get(job.Id);
    this.waiters.delete(job.Id);
    for (const waiter of waiting ?? []) waiter.resolve(structuredClone(job));
    this.tell('job', job);
  }

  /**
   * Emits one of the service's events. A listener that throws must not break
   * the store's write that caused the event (a job half-finished, a close()
   * that rejects): its error is thrown on its own, after, as an uncaught
   * exception of the listener's, the way Node reports one.
   */
  private tell<K extends keyof SnapshotServiceEvents>(event: K, ...args: SnapshotServiceEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: SnapshotServiceEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }

  /**
   * Reads the jobs waitForJob() callers wait for again, every
   * WAITER_RECHECK_MS while there are any: an outcome whose event this
   * instance missed (its event loop was blocked past what a store keeps of
   * its event log) still reaches them.
   */
  private recheckWaiters(): void {
    if (this.waiterTimer !== undefined || this.waiters.size === 0) return;
    this.waiterTimer = setTimeout(() => {
      this.waiterTimer = undefined;
      void Promise.all(
        [...this.waiters.keys()].map(async (jobId) => {
          const job = await this.backend.get(jobId).catch(() => undefined);
          if (job !== undefined && isFinal(job) && this.waiters.has(jobId)) {
            debug('job %s: its outcome found by reading the store (its event was missed)', jobId);
            const waiting = this.waiters.get(jobId)!;
            this.waiters.delete(jobId);
            for (const waiter of waiting) waiter.resolve(job);
          }
        }),
      ).finally(() => {
        if (!this.closedDown) this.recheckWaiters();
      });
    }, WAITER_RECHECK_MS);
    this.waiterTimer.unref();
  }

  /**
   * Gives the job its outcome (the first one wins: a job timed out stays
   * timed out even if its worker finishes after, and what that late worker
   * wrote goes), then sends its pipeline's notification in the background.
   * Resolves with the final job, or undefined when another outcome came first.
   */
  private async finish(jobId: string, outcome: JobOutcome | SnapshotError): Promise<SnapshotJob | undefined> {
    const requestId = this.lifecycle.requestIdOf(jobId) ?? '';
    let final: SnapshotJob | undefined;
    try {
      final =
        outcome instanceof SnapshotError
          ? await this.lifecycle.fail(jobId, outcome)
          : await this.lifecycle.succeed(jobId, { count: outcome.count, sheets: outcome.sprites.length });
    } catch (error) {
      // The store could not be written: a durable one runs the job again once
      // its lease runs out, so its images stay.
      debug('job %s: its outcome could not be stored: %s', jobId, String(error));
      return undefined;
    }
    if (final === undefined) {
      if (!(outcome instanceof SnapshotError)) {
        // A late success of a job that succeeded (a stale attempt whose
        // worker was taken for dead) wrote the same images under the same
        // names, maybe over the winner's: they stay. Otherwise they go, while
        // they are still the files it wrote (never a later job's).
        const winner = this.lifecycle.inHand(jobId) ?? (await this.backend.get(jobId).catch(() => undefined));
        if (winner?.State !== 'Success') for (const file of outcomeFiles(outcome)) await removeOwned(file);
      }
      return undefined;
    }
    this.notifyEnded(final, requestId);
    return final;
  }

  /** Sends the completion message of a job this process ended, in the background (close() waits for it). */
  private notifyEnded(job: SnapshotJob, requestId: string | undefined): void {
    const notifying = this.notify(job, requestId ?? '').finally(() => this.notifying.delete(notifying));
    this.notifying.add(notifying);
  }

  /** One message to the job's pipeline's topic or queue; the outcome lands in MNSMessageResult. */
  private async notify(job: SnapshotJob, requestId: string): Promise<void> {
    try {
      const [pipeline] = await this.backend.pipelines([job.PipelineId]);
      const config = pipeline?.NotifyConfig;
      if (config === undefined || (config.Topic === undefined && config.QueueName === undefined)) return;
      const result = await this.notifier.publish(config, {
        JobId: job.Id,
        RequestId: requestId,
        Type: 'Snapshot',
        State: job.State,
        UserData: job.UserData ?? '',
        ...(job.State === 'Fail' && job.Code !== '' ? { Code: job.Code, Message: job.Message } : {}),
      });
      await this.lifecycle.notified(job.Id, result);
    } catch (error) {
      debug('job %s: the notification failed: %s', job.Id, String(error));
    }
  }

  private closedBeforeFinished(): SnapshotError {
    return new SnapshotError(ErrorCodes.InternalError, 'the service was closed before the job finished');
  }

  private timedOut(): SnapshotError {
    return new SnapshotError(ErrorCodes.SnapshotTimeOut, `the synchronous job took longer than ${this.syncTimeoutMs} ms`);
  }

  /** A synchronous job's deadline, however it was met (here, in the helper thread, in native code), reads one way. */
  private asAnswered(outcome: JobOutcome | SnapshotError): JobOutcome | SnapshotError {
    return outcome instanceof SnapshotError && outcome.code === ErrorCodes.SnapshotTimeOut ? this.timedOut() : outcome;
  }

  /**
   * Sweeps the folder a job's first object goes to, when it exists and is
   * inside its bucket (the blocking path announces nothing while it runs).
   */
  private sweepBefore(bucketDir: string, key: string): void {
    const folder = dirname(resolve(bucketDir, key));
    if (folder !== bucketDir && !folder.startsWith(bucketDir + sep)) return;
    if (!existsSync(folder)) return;
    try {
      const real = realpathSync(folder);
      if (real === bucketDir || real.startsWith(bucketDir + sep)) this.sweeper.visit(real);
    } catch {
      // Gone meanwhile: nothing to sweep.
    }
  }

  /** The answer of a synchronous job: its final state, or its failure thrown. */
  private respond(job: SnapshotJob | undefined, requestId: string): SubmitSnapshotJobResponse {
    if (job === undefined) throw new SnapshotError(ErrorCodes.InternalError, 'the job vanished');
    // Its outcome could not be stored (the store failed the write): never an answer that is not final.
    if (!isFinal(job)) {
      throw new SnapshotError(ErrorCodes.InternalError, 'the job ran, but its outcome could not be stored', { requestId, jobId: job.Id });
    }
    if (job.State === 'Fail') {
      throw new SnapshotError(job.Code === '' ? ErrorCodes.InternalError : job.Code, job.Message, { requestId, jobId: job.Id });
    }
    return { RequestId: requestId, SnapshotJob: job };
  }
}
