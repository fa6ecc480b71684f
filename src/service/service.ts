/**
 * SnapshotService: the cloud SubmitSnapshotJob API, run locally and embedded
 * in a Node process (SPEC sections 1-4, 7, 8). Requests are validated here, on
 * the caller's thread; decoding runs on a piscina pool of worker threads
 * (asynchronous jobs, and synchronous jobs submitted with the Promise API) or
 * on the blocking helper thread (submitSnapshotJobSync).
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort } from 'node:worker_threads';

import { Piscina } from 'piscina';

import { ErrorCodes, SnapshotError, type ErrorCode } from '../errors.js';
import { callSync } from '../sync.js';
import { expectInteger, invalid } from '../validate.js';
import type { JobOutcome, JobTask, ProgressMessage } from './execute.js';
import { creationTime, newJobId, newRequestId, type SnapshotJob, type SubmitSnapshotJobResponse } from './job.js';
import { nameContext, renderName } from './names.js';
import type { PoolReply } from './pool-worker.js';
import { parseSubmitRequest, type SubmitSnapshotJobRequest } from './request.js';
import { bucketFolder, checkKey, decodeKey, removeQuietly, resolveInputObject, type BucketConfig } from './storage.js';

export interface SnapshotServiceOptions extends BucketConfig {
  /** Pool worker threads; default os.availableParallelism(). */
  workers?: number;
  /** Limit for a synchronous job, in ms (SnapshotTimeOut past it); default 5000. */
  syncTimeoutMs?: number;
  /** Jobs waiting for a worker beyond which submissions are refused; default 1000. */
  maxQueue?: number;
  /** Finished jobs remembered for querySnapshotJobList; default 10000, oldest dropped first. */
  maxJobHistory?: number;
}

export interface QuerySnapshotJobListRequest {
  /** Up to 10 ids, comma-separated or as an array. */
  SnapshotJobIds: string | string[];
}

export interface QuerySnapshotJobListResponse {
  RequestId: string;
  SnapshotJobList: { SnapshotJob: SnapshotJob[] };
  NonExistSnapshotJobIds: { String: string[] };
}

interface QueuedJob {
  job: SnapshotJob;
  task: JobTask;
  settle: (outcome: JobOutcome | SnapshotError) => void;
}

const DEFAULT_SYNC_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_QUEUE = 1_000;
const DEFAULT_MAX_JOB_HISTORY = 10_000;
const JPEG_QUALITY = 90;
const MAX_QUERY_IDS = 10;

/** Lets messages already posted to `port` arrive. */
function drain(port: MessagePort): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve)).then(() => {
    port.removeAllListeners('message');
  });
}

/** Runs `work`; a failure leaves as a SnapshotError carrying the request id. */
function withRequestId<T>(requestId: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    const failure = error instanceof SnapshotError ? error : new SnapshotError(ErrorCodes.InternalError, String(error));
    failure.requestId = requestId;
    throw failure;
  }
}

export class SnapshotService {
  readonly defaultPipelineId = newJobId();
  private readonly buckets: BucketConfig;
  private readonly workers: number;
  private readonly syncTimeoutMs: number;
  private readonly maxQueue: number;
  private readonly maxJobHistory: number;
  private readonly jobs = new Map<string, SnapshotJob>();
  private readonly finished = new Map<string, Promise<void>>();
  private readonly queue: QueuedJob[] = [];
  private readonly running = new Set<Promise<void>>();
  private pool: Piscina | undefined;
  private closed = false;

  constructor(options: SnapshotServiceOptions) {
    if (options === null || typeof options !== 'object') throw invalid('an options object', 'options', options);
    if (options.root === undefined && options.buckets === undefined) {
      throw new SnapshotError(ErrorCodes.InvalidParameter, 'SnapshotService needs a root folder or a buckets map');
    }
    if (options.root !== undefined && typeof options.root !== 'string') throw invalid('a folder path', 'root', options.root);
    this.buckets = { root: options.root, buckets: options.buckets === undefined ? undefined : { ...options.buckets } };
    this.workers = options.workers === undefined ? availableParallelism() : expectInteger('workers', options.workers, 1, 256);
    this.syncTimeoutMs =
      options.syncTimeoutMs === undefined ? DEFAULT_SYNC_TIMEOUT_MS : expectInteger('syncTimeoutMs', options.syncTimeoutMs, 1, 3_600_000);
    this.maxQueue = options.maxQueue === undefined ? DEFAULT_MAX_QUEUE : expectInteger('maxQueue', options.maxQueue, 0, 1_000_000);
    this.maxJobHistory =
      options.maxJobHistory === undefined ? DEFAULT_MAX_JOB_HISTORY : expectInteger('maxJobHistory', options.maxJobHistory, 1, 10_000_000);
  }

  /**
   * Submits a job. A synchronous job (no Interval, no Num) resolves with its
   * final state and the JPEG on disk, or rejects with a SnapshotError; an
   * asynchronous one resolves at once with State "Submitted" and runs on.
   */
  async submitSnapshotJob(request: SubmitSnapshotJobRequest): Promise<SubmitSnapshotJobResponse> {
    const requestId = newRequestId();
    const { job, task, asynchronous } = this.prepare(request, requestId);
    if (asynchronous) {
      const answer = { RequestId: requestId, SnapshotJob: { ...job } };
      this.enqueue(job, task, () => undefined);
      return answer;
    }
    const outcome = await new Promise<JobOutcome | SnapshotError>((settle) => {
      const timer = setTimeout(() => {
        Atomics.store(task.abort, 0, 1);
        const timedOut = this.fail(job, new SnapshotError(ErrorCodes.SnapshotTimeOut, `the synchronous job took longer than ${this.syncTimeoutMs} ms`));
        const waiting = this.queue.findIndex((queued) => queued.job === job);
        if (waiting >= 0) this.queue.splice(waiting, 1)[0]!.settle(timedOut);
        else settle(timedOut); // running: the worker stops at its next check
      }, this.syncTimeoutMs);
      this.enqueue(job, task, (result) => {
        clearTimeout(timer);
        settle(result);
      });
    });
    return this.respond(requestId, job, outcome);
  }

  /**
   * Submits a job and blocks until a synchronous job has finished (the work
   * runs on a helper thread; this thread waits with Atomics.wait). An
   * asynchronous job is queued on the pool and answered "Submitted".
   */
  submitSnapshotJobSync(request: SubmitSnapshotJobRequest): SubmitSnapshotJobResponse {
    const requestId = newRequestId();
    const { job, task, asynchronous } = this.prepare(request, requestId);
    if (asynchronous) {
      const answer = { RequestId: requestId, SnapshotJob: { ...job } };
      this.enqueue(job, task, () => undefined);
      return answer;
    }
    job.State = 'Snapshoting';
    let outcome: JobOutcome | SnapshotError;
    try {
      outcome = this.succeed(job, callSync<JobOutcome>('job', task, this.syncTimeoutMs, task.abort));
    } catch (error) {
      const failure =
        error instanceof SnapshotError && error.code === ErrorCodes.SnapshotTimeOut
          ? new SnapshotError(ErrorCodes.SnapshotTimeOut, `the synchronous job took longer than ${this.syncTimeoutMs} ms`)
          : error;
      outcome = this.fail(job, failure);
    }
    return this.respond(requestId, job, outcome);
  }

  /** Resolves with the job once it has finished (Success or Fail). */
  async waitForJob(jobId: string): Promise<SnapshotJob> {
    const job = this.jobs.get(jobId);
    if (job === undefined) throw new SnapshotError(ErrorCodes.ResourceNotFound, `the job ${jobId} does not exist`);
    await this.finished.get(jobId);
    return { ...job };
  }

  querySnapshotJobList(request: QuerySnapshotJobListRequest): QuerySnapshotJobListResponse {
    const requestId = newRequestId();
    return withRequestId(requestId, () => {
      if (request === null || typeof request !== 'object') throw invalid('a request object with SnapshotJobIds', 'request', request);
      const given = request.SnapshotJobIds;
      if (given === undefined || given === '') throw new SnapshotError(ErrorCodes.NullValue, 'SnapshotJobIds is required');
      const ids = (Array.isArray(given) ? given : typeof given === 'string' ? given.split(',') : [given]).map((id) =>
        typeof id === 'string' ? id.trim() : id,
      );
      if (ids.some((id) => typeof id !== 'string' || id === '')) throw invalid('job ids as strings', 'SnapshotJobIds', given);
      if (ids.length > MAX_QUERY_IDS) {
        throw new SnapshotError(ErrorCodes.InvalidParameter, `SnapshotJobIds holds ${ids.length} ids; at most ${MAX_QUERY_IDS} are allowed`);
      }
      const found: SnapshotJob[] = [];
      const missing: string[] = [];
      for (const id of ids as string[]) {
        const job = this.jobs.get(id);
        if (job === undefined) missing.push(id);
        else found.push({ ...job });
      }
      return { RequestId: requestId, SnapshotJobList: { SnapshotJob: found }, NonExistSnapshotJobIds: { String: missing } };
    });
  }

  /**
   * Refuses new jobs, fails the queued ones (InternalError), lets running
   * ones finish, then frees the pool.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const queued of this.queue.splice(0)) {
      queued.settle(this.fail(queued.job, new SnapshotError(ErrorCodes.InternalError, 'the service was closed before the job started')));
    }
    await Promise.all(this.running);
    await this.pool?.destroy();
    this.pool = undefined;
  }

  /** Validates a request and resolves its objects; throws SnapshotError carrying the request id. */
  private prepare(request: SubmitSnapshotJobRequest, requestId: string): { job: SnapshotJob; task: JobTask; asynchronous: boolean } {
    return withRequestId(requestId, () => {
      if (this.closed) throw new SnapshotError(ErrorCodes.InternalError, 'the service is closed and takes no new jobs');
      const parsed = parseSubmitRequest(request);
      const pipelineId = parsed.pipelineId ?? this.defaultPipelineId;
      if (pipelineId !== this.defaultPipelineId) {
        throw new SnapshotError(ErrorCodes.ResourceNotFound, `the pipeline ${pipelineId} does not exist`);
      }
      const inputDir = bucketFolder(this.buckets, parsed.input.Bucket, 'Input');
      const inputKey = decodeKey(parsed.input.Object, 'Input.Object');
      const inputPath = resolveInputObject(inputDir, inputKey, 'Input.Object');
      const outputDir = bucketFolder(this.buckets, parsed.output.Bucket, 'SnapshotConfig.OutputFile');
      const outputTemplate = decodeKey(parsed.output.Object, 'SnapshotConfig.OutputFile.Object');
      // The names the template makes must stay in the bucket too.
      checkKey(renderName(outputTemplate, nameContext(inputKey), 1, 0), 'SnapshotConfig.OutputFile.Object');
      if (parsed.asynchronous && this.queue.length >= this.maxQueue) {
        throw new SnapshotError(ErrorCodes.Throttling, `the job queue is full (${this.maxQueue} jobs waiting); retry later`);
      }
      const job: SnapshotJob = {
        Id: newJobId(),
        State: 'Submitted',
        Code: '',
        Message: '',
        Count: '0',
        CreationTime: creationTime(new Date()),
        PipelineId: pipelineId,
        ...(parsed.userData === undefined ? {} : { UserData: parsed.userData }),
        Input: parsed.echo.Input,
        SnapshotConfig: parsed.echo.SnapshotConfig,
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
        threads: 0,
        timeoutMs: parsed.asynchronous ? 0 : this.syncTimeoutMs,
        abort: new Int32Array(new SharedArrayBuffer(4)),
      };
      this.remember(job);
      return { job, task, asynchronous: parsed.asynchronous };
    });
  }

  private remember(job: SnapshotJob): void {
    this.jobs.set(job.Id, job);
    if (this.jobs.size <= this.maxJobHistory) return;
    for (const [id, old] of this.jobs) {
      if (old.State === 'Success' || old.State === 'Fail') {
        this.jobs.delete(id);
        return;
      }
    }
  }

  private enqueue(job: SnapshotJob, task: JobTask, settle: (outcome: JobOutcome | SnapshotError) => void): void {
    let markFinished = (): void => undefined;
    this.finished.set(job.Id, new Promise((resolve) => (markFinished = resolve)));
    this.queue.push({
      job,
      task,
      settle: (outcome) => {
        this.finished.delete(job.Id);
        markFinished();
        settle(outcome);
      },
    });
    this.pump();
  }

  /** Starts queued jobs, in submission order, while workers are free. */
  private pump(): void {
    while (this.running.size < this.workers && this.queue.length > 0) {
      const queued = this.queue.shift()!;
      // Frame threads help a lone exact decode; a keyframe, or a decoder with
      // company, gets one thread.
      const alone = this.running.size === 0 && this.queue.length === 0;
      queued.task.threads = alone && queued.task.frameType === 'normal' ? 0 : 1;
      queued.job.State = 'Snapshoting';
      const run = this.runOnPool(queued).finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async runOnPool(queued: QueuedJob): Promise<void> {
    this.pool ??= new Piscina({
      filename: new URL('./pool-worker.js', import.meta.url).href,
      minThreads: 1,
      maxThreads: this.workers,
      idleTimeout: 60_000,
    });
    // Temporary files the job is writing and objects it has written: removed if its worker dies.
    const announced: string[] = [];
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (message: ProgressMessage) => announced.push(message.type === 'writing' ? message.temporary : message.path));
    let outcome: JobOutcome | SnapshotError;
    try {
      const reply = (await this.pool.run({ ...queued.task, progress: port2 }, { transferList: [port2] })) as PoolReply;
      if (reply.ok && queued.job.State === 'Fail') {
        // It finished just as it was timed out or cancelled: the failure stands.
        await removeQuietly(reply.outcome.images.map((image) => image.path));
      }
      outcome = reply.ok ? this.succeed(queued.job, reply.outcome) : this.fail(queued.job, SnapshotError.fromJSON(reply.error));
    } catch (error) {
      // The worker itself died (it is replaced by the pool): take back what it wrote.
      await drain(port1);
      await removeQuietly(announced);
      const message = error instanceof Error ? error.message : String(error);
      outcome = this.fail(queued.job, new SnapshotError(ErrorCodes.InternalError, `the worker running the job stopped: ${message}`));
    }
    port1.close();
    queued.settle(outcome);
  }

  private succeed(job: SnapshotJob, outcome: JobOutcome): JobOutcome {
    if (job.State !== 'Fail') {
      job.State = 'Success';
      job.Count = String(outcome.images.length);
    }
    return outcome;
  }

  /** Records a failure on the job (the first one wins) and returns it as a SnapshotError. */
  private fail(job: SnapshotJob, error: unknown): SnapshotError {
    const failure = error instanceof SnapshotError ? error : new SnapshotError(ErrorCodes.InternalError, String(error));
    if (job.State !== 'Fail') {
      job.State = 'Fail';
      job.Code = failure.code;
      job.Message = failure.message;
      job.Count = '0';
    }
    return new SnapshotError(job.Code as ErrorCode, job.Message, { jobId: job.Id });
  }

  private respond(requestId: string, job: SnapshotJob, outcome: JobOutcome | SnapshotError): SubmitSnapshotJobResponse {
    if (outcome instanceof SnapshotError) {
      outcome.requestId = requestId;
      throw outcome;
    }
    return { RequestId: requestId, SnapshotJob: { ...job } };
  }
}
