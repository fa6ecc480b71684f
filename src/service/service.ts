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
import { creationTime, DEFAULT_PIPELINE_NAME, newJobId, newPipeline, newRequestId } from './stores/records.js';
import { JobStore } from './jobs/job-store.js';
import { JobLifecycle } from './jobs/lifecycle.js';
import { nameContext, renderName } from './request/names.js';
import { Notifier, resolveDeliveryPolicy } from './jobs/notifications.js';
import { applyPipelineUpdate, parseAddPipeline } from './jobs/pipelines.js';
import { parseIdList } from './request/ids.js';
import { parseSubmitRequest } from './request/request.js';
import { Scheduler } from './jobs/scheduler.js';
import { bucketFolder, checkKey, decodeKey, resolveInputObject, type BucketConfig } from './storage/storage.js';
import type {
  AddPipelineRequest,
  Isolation,
  JobOutcome,
  JobTask,
  MNSMessageResult,
  NotifyDeliveryOptions,
  Pipeline,
  PipelineResponse,
  QueryPipelineListRequest,
  QueryPipelineListResponse,
  QuerySnapshotJobListRequest,
  QuerySnapshotJobListResponse,
  ReceivedMessage,
  SnapshotJob,
  SnapshotServiceEvents,
  SubmitSnapshotJobRequest,
  SubmitSnapshotJobResponse,
  Subscriber,
  UpdatePipelineRequest,
} from './types.js';

export interface SnapshotServiceOptions extends BucketConfig, Partial<Limits> {
  /** Pool workers; default os.availableParallelism(). */
  workers?: number;
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

export class SnapshotService extends EventEmitter<SnapshotServiceEvents> {
  readonly defaultPipelineId = newJobId();
  private readonly buckets: BucketConfig;
  private readonly syncTimeoutMs: number;
  private readonly store: JobStore;
  private readonly lifecycle: JobLifecycle;
  private readonly pipelines = new Map<string, Pipeline>();
  private readonly notifier: Notifier;
  private readonly scheduler: Scheduler;
  private readonly isolation: Isolation;
  private readonly limits: Limits;
  private readonly sweeper: Sweeper;
  private closed = false;
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
    this.buckets = { root: options.root, buckets: options.buckets === undefined ? undefined : { ...options.buckets } };
    const workers = options.workers === undefined ? availableParallelism() : expectInteger('workers', options.workers, 1, 256);
    this.syncTimeoutMs =
      options.syncTimeoutMs === undefined
        ? DEFAULT_SYNC_JOB_TIMEOUT_MS
        : expectInteger('syncTimeoutMs', options.syncTimeoutMs, 1, 3_600_000);
    const maxQueue = options.maxQueue === undefined ? DEFAULT_MAX_QUEUE : expectInteger('maxQueue', options.maxQueue, 0, 1_000_000);
    if (options.isolation !== undefined && options.isolation !== 'thread' && options.isolation !== 'process') {
      throw invalid('"thread" or "process"', 'isolation', options.isolation);
    }
    this.isolation = options.isolation ?? 'thread';
    this.notifier = new Notifier(resolveDeliveryPolicy(options.notifyDelivery));
    this.limits = resolveLimits(options);
    this.sweeper = new Sweeper(
      options.staleTemporaryMs === undefined
        ? DEFAULT_STALE_TEMPORARY_MS
        : expectInteger('staleTemporaryMs', options.staleTemporaryMs, 1_000, 365 * 24 * 3_600_000),
    );
    this.store = new JobStore(
      options.maxJobHistory === undefined ? DEFAULT_MAX_JOB_HISTORY : expectInteger('maxJobHistory', options.maxJobHistory, 1, 10_000_000),
    );
    this.lifecycle = new JobLifecycle(this.store, {
      progress: (progress) => this.emit('progress', progress),
      finished: (job) => this.emit('job', job),
      notified: (jobId, result) => this.emit('notification', { JobId: jobId, MNSMessageResult: result }),
    });
    this.pipelines.set(this.defaultPipelineId, newPipeline(DEFAULT_PIPELINE_NAME, undefined, this.defaultPipelineId));
    this.scheduler = new Scheduler(
      workers,
      maxQueue,
      {
        mayStart: (pipelineId) => this.pipelines.get(pipelineId)?.State !== 'Paused',
        started: (jobId) => this.lifecycle.start(jobId),
        progress: (jobId, done, expected) => this.lifecycle.progress(jobId, done, expected),
        writesIn: (folder) => this.sweeper.visit(folder),
      },
      this.isolation,
    );
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
    const { job, task, asynchronous } = this.prepare(request, requestId);
    if (asynchronous) return this.queue(job, task, requestId);
    const timedOut = this.timedOut();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<SnapshotError>((resolve) => {
      timer = setTimeout(() => resolve(timedOut), this.syncTimeoutMs);
    });
    const work = this.scheduler.run({ id: job.Id, pipelineId: job.PipelineId }, task, true).then(
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
    await this.finish(job.Id, this.asAnswered(first));
    return this.respond(job.Id, requestId);
  }

  private submitSync(request: SubmitSnapshotJobRequest): SubmitSnapshotJobResponse {
    const requestId = newRequestId();
    const { job, task, asynchronous } = this.prepare(request, requestId);
    if (asynchronous) return this.queue(job, task, requestId);
    this.lifecycle.start(job.Id);
    let outcome: JobOutcome | SnapshotError;
    try {
      // Blocks until the job ends or its deadline: then the helper thread is
      // given up on (it stops and takes back what it wrote by itself).
      outcome = callSync<JobOutcome>(JOB_SYNC_WORKER, 'job', { task, isolation: this.isolation }, this.syncTimeoutMs, task.abort);
    } catch (error) {
      outcome = this.asAnswered(toSnapshotError(error));
    }
    void this.finish(job.Id, outcome);
    return this.respond(job.Id, requestId);
  }

  /** Resolves with the job once it has its final state (Success or Fail). */
  async waitForJob(jobId: string): Promise<SnapshotJob> {
    // The method itself names the frame the caller's stack starts below; it is not called.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const caller = callerStack(this.waitForJob);
    await this.lifecycle.whenFinished(jobId);
    const job = this.lifecycle.view(jobId);
    if (job === undefined) {
      throw withCallerStack(
        new SnapshotError(ErrorCodes.ResourceNotFound, `the job ${shortenSubject(String(jobId))} does not exist`),
        caller,
      );
    }
    return job;
  }

  querySnapshotJobList(request: QuerySnapshotJobListRequest): QuerySnapshotJobListResponse {
    const requestId = newRequestId();
    return withRequestId(requestId, () => ({ RequestId: requestId, ...this.store.query(request) }));
  }

  // ---- Pipelines -------------------------------------------------------------

  addPipeline(request: AddPipelineRequest): PipelineResponse {
    const requestId = newRequestId();
    return withRequestId(requestId, () => {
      const pipeline = parseAddPipeline(request);
      this.pipelines.set(pipeline.Id, pipeline);
      return { RequestId: requestId, Pipeline: structuredClone(pipeline) };
    });
  }

  /** Sets a pipeline's Name, State (Active/Paused) or NotifyConfig. Resuming starts its queued jobs. */
  updatePipeline(request: UpdatePipelineRequest): PipelineResponse {
    const requestId = newRequestId();
    return withRequestId(requestId, () => {
      const id = request !== null && typeof request === 'object' ? ownFields(request)['PipelineId'] : undefined;
      if (id === undefined || id === '') throw invalid('a pipeline id', 'PipelineId', id, ErrorCodes.NullValue);
      if (typeof id !== 'string') throw invalid('a pipeline id', 'PipelineId', id);
      const pipeline = this.pipelines.get(id);
      if (pipeline === undefined) throw new SnapshotError(ErrorCodes.ResourceNotFound, `the pipeline ${shortenSubject(id)} does not exist`);
      const updated = applyPipelineUpdate(pipeline, request);
      this.pipelines.set(updated.Id, updated);
      this.scheduler.pump();
      return { RequestId: requestId, Pipeline: structuredClone(updated) };
    });
  }

  queryPipelineList(request: QueryPipelineListRequest): QueryPipelineListResponse {
    const requestId = newRequestId();
    return withRequestId(requestId, () => {
      const ids = parseIdList(
        'PipelineIds',
        request !== null && typeof request === 'object' ? ownFields(request)['PipelineIds'] : undefined,
        MAX_QUERY_IDS,
      );
      const found = ids.flatMap((id) => {
        const pipeline = this.pipelines.get(id);
        return pipeline === undefined ? [] : [structuredClone(pipeline)];
      });
      const missing = ids.filter((id) => !this.pipelines.has(id));
      return { RequestId: requestId, PipelineList: { Pipeline: found }, NonExistPids: { String: missing } };
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
   * Refuses new jobs and fails the queued ones (InternalError). Running jobs
   * get `graceMs` (default 0) to finish; those still running then are
   * cancelled: they stop at their next frame, end in Fail with code Aborted,
   * and what they wrote is removed. Then waits for notifications under way
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
      await this.scheduler.close(
        new SnapshotError(ErrorCodes.InternalError, 'the service was closed before the job started'),
        graceMs,
        (jobId) => void this.finish(jobId, closed),
      );
      await this.lifecycle.allFinished();
      await this.notifier.settled();
      await this.sweeper.settled();
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

  /** Validates a request and resolves its objects; throws SnapshotError carrying the request id. */
  private prepare(request: SubmitSnapshotJobRequest, requestId: string): { job: SnapshotJob; task: JobTask; asynchronous: boolean } {
    return withRequestId(requestId, () => {
      if (this.closed) throw new SnapshotError(ErrorCodes.InternalError, 'the service is closed and takes no new jobs');
      const parsed = parseSubmitRequest(request);
      const pipelineId = parsed.pipelineId ?? this.defaultPipelineId;
      if (!this.pipelines.has(pipelineId)) {
        throw new SnapshotError(ErrorCodes.ResourceNotFound, `the pipeline ${shortenSubject(pipelineId)} does not exist`);
      }
      const inputDir = bucketFolder(this.buckets, parsed.input.Bucket, 'Input');
      const inputKey = decodeKey(parsed.input.Object, 'Input.Object');
      const inputPath = resolveInputObject(inputDir, inputKey, 'Input.Object');
      const outputDir = bucketFolder(this.buckets, parsed.output.Bucket, 'SnapshotConfig.OutputFile');
      const outputTemplate = decodeKey(parsed.output.Object, 'SnapshotConfig.OutputFile.Object');
      // The names the template makes must stay in the bucket too.
      const firstKey = checkKey(renderName(outputTemplate, nameContext(inputKey), 1, 0), 'SnapshotConfig.OutputFile.Object');
      const features = jobFeatures(parsed, this.buckets, inputKey, this.limits.limitSpritePixels);
      if (parsed.asynchronous) this.scheduler.checkRoom();
      const job: SnapshotJob = {
        Id: newJobId(),
        State: 'Submitted',
        Code: '',
        Message: '',
        Count: '0',
        ...(parsed.tiles === undefined ? {} : { TileCount: '0' }),
        CreationTime: creationTime(new Date()),
        PipelineId: pipelineId,
        ...(parsed.userData === undefined ? {} : { UserData: parsed.userData }),
        // Copies: the caller may change its request objects afterwards.
        Input: structuredClone(parsed.echo.Input),
        SnapshotConfig: structuredClone(parsed.echo.SnapshotConfig),
      };
      const task: JobTask = {
        jobId: job.Id,
        inputPath,
        inputKey,
        outputBucketDir: outputDir,
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
      this.sweepBefore(outputDir, firstKey);
      this.lifecycle.submit(job, requestId, parsed.asynchronous);
      return { job, task, asynchronous: parsed.asynchronous };
    });
  }

  /** Queues an asynchronous job in its pipeline; answers it Submitted. */
  private queue(job: SnapshotJob, task: JobTask, requestId: string): SubmitSnapshotJobResponse {
    const answer = { RequestId: requestId, SnapshotJob: structuredClone(job) };
    this.scheduler.run({ id: job.Id, pipelineId: job.PipelineId }, task, false).then(
      (outcome) => this.finish(job.Id, outcome),
      (error: SnapshotError) => this.finish(job.Id, error),
    );
    return answer;
  }

  /**
   * Gives the job its outcome (the first one wins: a job timed out stays
   * timed out even if its worker finishes after, and what that late worker
   * wrote goes), then sends its pipeline's notification in the background.
   */
  private async finish(jobId: string, outcome: JobOutcome | SnapshotError): Promise<void> {
    const requestId = this.lifecycle.requestIdOf(jobId) ?? '';
    const won =
      outcome instanceof SnapshotError
        ? this.lifecycle.fail(jobId, outcome)
        : this.lifecycle.succeed(jobId, { count: outcome.count, sheets: outcome.sprites.length });
    if (!won) {
      // Removed only while they are still the files it wrote (never a later job's).
      if (!(outcome instanceof SnapshotError)) for (const file of outcomeFiles(outcome)) await removeOwned(file);
      return;
    }
    void this.notify(jobId, requestId);
  }

  /** One message to the job's pipeline's topic or queue; the outcome lands in MNSMessageResult. */
  private async notify(jobId: string, requestId: string): Promise<void> {
    const job = this.lifecycle.view(jobId);
    if (job === undefined || (job.State !== 'Success' && job.State !== 'Fail')) return;
    const config = this.pipelines.get(job.PipelineId)?.NotifyConfig;
    if (config === undefined || (config.Topic === undefined && config.QueueName === undefined)) return;
    this.lifecycle.expectNotification(job);
    const result: MNSMessageResult = await this.notifier.publish(config, {
      JobId: job.Id,
      RequestId: requestId,
      Type: 'Snapshot',
      State: job.State,
      UserData: job.UserData ?? '',
      ...(job.State === 'Fail' && job.Code !== '' ? { Code: job.Code, Message: job.Message } : {}),
    });
    this.lifecycle.notified(jobId, result);
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
  private respond(jobId: string, requestId: string): SubmitSnapshotJobResponse {
    const job = this.lifecycle.view(jobId);
    if (job === undefined) throw new SnapshotError(ErrorCodes.InternalError, `the job ${jobId} vanished`);
    if (job.State === 'Fail') {
      throw new SnapshotError(job.Code === '' ? ErrorCodes.InternalError : job.Code, job.Message, { requestId, jobId });
    }
    return { RequestId: requestId, SnapshotJob: job };
  }
}
