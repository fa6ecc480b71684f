/**
 * Where a service keeps its jobs, pipelines and queue: the seam between the
 * job API and its three back ends (README, "Deploying"):
 *
 *   memory   (memory.ts)  one process; nothing survives it (the default)
 *   SQLite   (sqlite.ts)  one machine; jobs survive restarts (`database`)
 *   Redis    (redis.ts)   many processes on many machines, through BullMQ (`redis`)
 *
 * Every method is asynchronous (Redis needs it). A back end is the one judge
 * of a job's state across processes: it claims queued jobs for exactly one
 * consumer, lets the first outcome of an attempt win, and tells every
 * service instance that shares it what happened (its events).
 *
 * The job record holds the request as it was given (Input, SnapshotConfig,
 * PipelineId, UserData), which is all a consumer in another process, or the
 * same one after a restart, needs to plan the job again. No credentials are
 * ever part of it.
 */
import type { EventEmitter } from 'node:events';

import type { SnapshotError } from '../../core/errors.js';
import type { JobProgress, MNSMessageResult, Pipeline, ReceivedMessage, SnapshotJob } from '../types.js';
import type { JobQuery, JobQueryAnswer } from './query.js';

/** A job as a back end keeps it. */
export interface JobEntry {
  /** The record as querySnapshotJobList shows it (State Submitted for a new one). */
  job: SnapshotJob;
  /** The RequestId of the submission, for the completion message. */
  requestId: string;
  /**
   * Interval or Num given: queued, run by a consumer, re-run after a crash.
   * A synchronous job is run by the process that took it (its caller waits
   * for it) and is never queued.
   */
  asynchronous: boolean;
  /**
   * A synchronous job: when (ms since the epoch) it has its outcome at the
   * latest, unless the process running it died (its deadline plus a margin).
   * A store that cannot see a process die (Redis) ends it Fail
   * InternalError after this.
   */
  syncDeadlineMs?: number;
}

/** A queued job a consumer has claimed: it is Snapshoting now, held by this consumer alone. */
export interface ClaimedJob {
  /** The record, State Snapshoting; `Attempts` is set from the second attempt on. */
  job: SnapshotJob;
  requestId: string;
  /** 1 for the first run; more when the job runs again after its process died or handed it back. */
  attempt: number;
  /**
   * Aborted when the job must stop: with a SnapshotError as its reason
   * (code Canceled after cancel(), Aborted when a memory store closes) the
   * consumer ends the job Fail with it; with HAND_BACK the consumer stops
   * without an outcome and the back end queues the job again.
   */
  signal: AbortSignal;
}

/** The reason of a claimed job's signal when it is handed back, not failed. */
export const HAND_BACK = 'framesnap: the job is handed back to the queue';

/**
 * Runs one claimed job to its end: reports progress, then finish() with the
 * claim's attempt. Resolves when the job has stopped (finished or, after
 * HAND_BACK, stopped without an outcome).
 */
export type JobHandler = (claimed: ClaimedJob) => Promise<void>;

/** What a back end tells every service instance that shares it. */
export interface BackendEvents {
  /** A running asynchronous job took another image (in any process). */
  progress: [progress: JobProgress];
  /** A job has its final state (in any process); a copy. */
  finished: [job: SnapshotJob];
  /** A finished job's completion message went out or was given up (in any process). */
  notified: [jobId: string, result: MNSMessageResult];
  /**
   * The store itself ended a job in this instance, not through finish():
   * a job whose process died, a cancel that reached a job between attempts,
   * a job BullMQ gave up. Emitted once, in the one instance whose write ended
   * it (besides 'finished' in every instance): that instance sends the
   * job's completion message.
   */
  ended: [job: SnapshotJob, requestId: string];
}

/** What cancel() found. */
export type CancelOutcome =
  /** Queued: it is Fail with the reason now and never starts. */
  | { kind: 'cancelled'; job: SnapshotJob }
  /** Running: its consumer is told (in whatever process) and ends it Fail with the reason. */
  | { kind: 'running'; job: SnapshotJob }
  /** It had its outcome already; unchanged. */
  | { kind: 'final'; job: SnapshotJob }
  | { kind: 'missing' };

/**
 * What a store that writes synchronously (memory, SQLite) also offers: for
 * the blocking API (submitSnapshotJobSync) and for a service that is ready
 * as soon as it is constructed. Its other writes (start, progress, finish)
 * are made when called, before their promise settles.
 */
export interface SyncStore {
  /** open(), done before it returns. */
  open(): { defaultPipelineId: string };
  /** The pipeline of this id, if any. */
  pipeline(id: string): Pipeline | undefined;
  /** add(), done before it returns; throws Throttling. */
  add(entry: JobEntry, maxQueue: number): void;
}

/**
 * The pipelines' message queues (NotifyConfig.QueueName) of a durable store:
 * shared by every instance, so a message a worker process sends is read by
 * any service's receiveMessage. Each message is taken by one reader.
 */
export interface MessageStore {
  /** Appends a message; false when the queue already holds `max` unread ones. */
  push(queueName: string, message: ReceivedMessage, max: number): Promise<boolean>;
  /** Takes the oldest message, if any. */
  pop(queueName: string): Promise<ReceivedMessage | undefined>;
}

export interface JobBackend extends EventEmitter<BackendEvents> {
  /** 'memory', 'sqlite' or 'redis'. */
  readonly kind: string;
  /** Whether jobs survive the process (they run again after a restart). */
  readonly durable: boolean;
  /** Present on stores that write synchronously (memory, SQLite); absent on Redis. */
  readonly sync?: SyncStore;
  /** Present on durable stores: the message queues live there, not in a process. */
  readonly messages?: MessageStore;

  /**
   * Connects, creates what is missing, and returns the default pipeline's id:
   * made once and kept by a durable store, so every instance and every
   * restart shares it.
   */
  open(): Promise<{ defaultPipelineId: string }>;
  /** Disconnects. Call stopConsuming() first. Safe to call when open() failed or never ran. */
  close(): Promise<void>;

  // ---- Pipelines ----
  addPipeline(pipeline: Pipeline): Promise<void>;
  /**
   * Applies `update` to the stored pipeline and stores its result, atomically
   * where the store shares state; undefined when there is no such pipeline.
   * Resuming a pipeline lets consumers claim its queued jobs again, in order.
   */
  updatePipeline(id: string, update: (pipeline: Pipeline) => Pipeline): Promise<Pipeline | undefined>;
  /** The pipelines of these ids that exist, in the order asked. */
  pipelines(ids: readonly string[]): Promise<Pipeline[]>;
  /** Every pipeline (SearchPipeline), in no particular order. */
  allPipelines(): Promise<Pipeline[]>;
  /** Removes a pipeline; false when there is none of this id. Its jobs are left as they are. */
  deletePipeline(id: string): Promise<boolean>;

  // ---- Jobs ----
  /**
   * Stores a new job (Submitted). An asynchronous one is queued: consumers
   * claim it in submission order, after the jobs before it in its pipeline,
   * and not while its pipeline is Paused. Refuses with Throttling when
   * `maxQueue` asynchronous jobs are queued already.
   */
  add(entry: JobEntry, maxQueue: number): Promise<void>;
  /** A synchronous job, run by this process, started: Submitted -> Snapshoting. */
  start(jobId: string): Promise<void>;
  /**
   * A running job's progress: Count and Percent, and the 'progress' event;
   * ignored when `attempt` is no longer the job's current attempt (a stale
   * run whose job was taken back and runs elsewhere).
   */
  progress(progress: JobProgress, attempt: number): Promise<void>;
  /**
   * Stores a job's outcome (State Success or Fail with its fields) when it
   * has none yet and, for a claimed job, when `attempt` is still its current
   * attempt; emits 'finished'. False when another outcome came first: the
   * caller removes what its late run wrote.
   */
  finish(job: SnapshotJob, attempt: number): Promise<boolean>;
  /** Records a finished job's MNSMessageResult; emits 'notified'. */
  notified(jobId: string, result: MNSMessageResult): Promise<void>;
  /** A copy of the job as it is now. */
  get(jobId: string): Promise<SnapshotJob | undefined>;
  /** The RequestId the job was submitted with. */
  requestIdOf(jobId: string): Promise<string | undefined>;
  /** querySnapshotJobList over every job the store remembers (query.ts parsed it). */
  query(query: JobQuery): Promise<JobQueryAnswer>;
  /**
   * Cancels a job with `reason` (code Canceled): a queued one ends Fail at
   * once and never starts; a running one's consumer is told, wherever it
   * runs, and ends it.
   */
  cancel(jobId: string, reason: SnapshotError): Promise<CancelOutcome>;

  // ---- The queue ----
  /**
   * Claims queued asynchronous jobs and hands each to `handler`, at most
   * `concurrency` at a time, until stopConsuming(). A durable store first
   * takes back the jobs of consumers that died (their lease ran out, or on
   * SQLite their process is gone) and queues them again, in their place.
   */
  consume(concurrency: number, handler: JobHandler): void;
  /**
   * Claims no more jobs; gives running handlers `graceMs` to finish, then
   * aborts their signals: a durable store hands them back (HAND_BACK) to be
   * run again, the memory store fails them with `reason` (Aborted), having
   * failed the queued ones with `queuedReason` (each also 'ended', so their
   * completion messages go out). Resolves when all handlers have returned.
   */
  stopConsuming(graceMs: number, reason: SnapshotError, queuedReason: SnapshotError): Promise<void>;
}
