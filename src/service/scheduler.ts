/**
 * Runs jobs on a piscina pool of worker threads: a bounded queue in
 * submission order, at most one job per worker at a time, pipelines that hold
 * their jobs while paused, and a dead worker's files taken back.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

import { Piscina } from 'piscina';

import { ErrorCodes, SnapshotError } from '../errors.js';
import type { JobOutcome, JobTask, ProgressMessage } from './execute.js';
import type { SnapshotJob } from './job.js';
import type { PoolReply } from './pool-worker.js';
import { removeQuietly } from './storage.js';

export interface SchedulerHooks {
  /** Whether jobs of this pipeline may start now. */
  mayStart(pipelineId: string): boolean;
  /** A job reported images done of expected. */
  progress(job: SnapshotJob, done: number, expected: number): void;
}

interface QueuedJob {
  job: SnapshotJob;
  task: JobTask;
  /** A synchronous job: not held by a paused pipeline. */
  urgent: boolean;
  resolve: (outcome: JobOutcome) => void;
  reject: (error: SnapshotError) => void;
}

/**
 * Hands every message already posted to `port` to `handle`, synchronously
 * (a dead worker's last messages are in the port's queue even when their
 * event has not fired yet), then stops listening.
 */
function drain(port: MessagePort, handle: (message: ProgressMessage) => void): void {
  port.removeAllListeners('message');
  for (let received = receiveMessageOnPort(port); received !== undefined; received = receiveMessageOnPort(port)) {
    handle(received.message as ProgressMessage);
  }
}

export class Scheduler {
  private readonly queue: QueuedJob[] = [];
  private readonly running = new Set<Promise<void>>();
  private pool: Piscina | undefined;

  constructor(
    private readonly workers: number,
    private readonly maxQueue: number,
    private readonly hooks: SchedulerHooks,
  ) {}

  get waiting(): number {
    return this.queue.length;
  }

  /** The worker threads, for tests that kill one. */
  get threads(): readonly unknown[] {
    return this.pool?.threads ?? [];
  }

  /** Throws Throttling when the queue is full. */
  checkRoom(): void {
    if (this.queue.length >= this.maxQueue) {
      throw new SnapshotError(ErrorCodes.Throttling, `the job queue is full (${this.maxQueue} jobs waiting); retry later`);
    }
  }

  /** Queues a job; resolves with its outcome, rejects with its failure. */
  run(job: SnapshotJob, task: JobTask, urgent: boolean): Promise<JobOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, task, urgent, resolve, reject });
      this.pump();
    });
  }

  /** Takes a job out of the queue if it has not started; false when it has. */
  withdraw(job: SnapshotJob, reason: SnapshotError): boolean {
    const index = this.queue.findIndex((queued) => queued.job === job);
    if (index < 0) return false;
    this.queue.splice(index, 1)[0]!.reject(reason);
    return true;
  }

  /** Starts queued jobs while workers are free: the first startable in submission order. */
  pump(): void {
    while (this.running.size < this.workers) {
      const index = this.queue.findIndex((queued) => queued.urgent || this.hooks.mayStart(queued.job.PipelineId));
      if (index < 0) return;
      const [queued] = this.queue.splice(index, 1);
      // Frame threads help a lone exact decode; a keyframe, or a decoder with
      // company, gets one thread.
      const alone = this.running.size === 0 && this.queue.length === 0;
      queued!.task.threads = alone && queued!.task.frameType === 'normal' ? 0 : 1;
      queued!.job.State = 'Snapshoting';
      const started = this.start(queued!).finally(() => {
        this.running.delete(started);
        this.pump();
      });
      this.running.add(started);
    }
  }

  /** Fails every queued job with `reason`, lets running ones finish, frees the pool. */
  async close(reason: SnapshotError): Promise<void> {
    for (const queued of this.queue.splice(0)) queued.reject(reason);
    while (this.running.size > 0) await Promise.all(this.running);
    await this.pool?.destroy();
    this.pool = undefined;
  }

  private async start(queued: QueuedJob): Promise<void> {
    this.pool ??= new Piscina({
      filename: new URL('./pool-worker.js', import.meta.url).href,
      minThreads: 1,
      maxThreads: this.workers,
      idleTimeout: 60_000,
    });
    // Temporary files the job is writing and objects it has written: taken
    // back if its worker dies.
    const announced: string[] = [];
    const { port1, port2 } = new MessageChannel();
    const handle = (message: ProgressMessage): void => {
      if (message.type === 'writing') announced.push(message.temporary, ...(message.creates === undefined ? [] : [message.creates]));
      else if (message.type === 'written') announced.push(message.path);
      else this.hooks.progress(queued.job, message.done, message.expected);
    };
    port1.on('message', handle);
    try {
      const reply = (await this.pool.run({ ...queued.task, progress: port2 }, { transferList: [port2] })) as PoolReply;
      drain(port1, handle);
      if (reply.ok) queued.resolve(reply.outcome);
      else queued.reject(SnapshotError.fromJSON(reply.error));
    } catch (error) {
      // The worker itself died (the pool replaces it).
      drain(port1, handle);
      await removeQuietly(announced);
      const message = error instanceof Error ? error.message : String(error);
      queued.reject(new SnapshotError(ErrorCodes.InternalError, `the worker running the job stopped: ${message}`));
    } finally {
      port1.close();
    }
  }
}
