/**
 * Runs jobs on a pool: piscina worker threads (isolation 'thread') or child
 * processes (isolation 'process', see process-pool.ts). Jobs wait for a free
 * worker in the order they came, except that synchronous jobs go ahead of
 * claimed asynchronous ones (the queue of jobs not yet claimed, and
 * pipelines' pauses, are the store's: stores/); at most one job per worker at
 * a time; a running job cancelled on request; and a dead worker's files
 * taken back (only those still the files it wrote).
 */
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

import { Piscina } from 'piscina';

import { debug } from '../../core/debug.js';
import { ErrorCodes, SnapshotError } from '../../core/errors.js';
import { removeEmptyFolders, removeOwned, removeOwnName } from '../storage/cleanup.js';
import type { PoolReply } from '../worker/pool-worker.js';
import { ProcessPool, WorkerProcessDied } from '../worker/process-pool.js';
import type { Isolation, JobOutcome, JobTask, OwnedFile, ProgressMessage } from '../types.js';

/**
 * Decoder threads for a lone exact job: what FFmpeg would choose (one more
 * than the cores), but at most 4. Each frame thread holds frames of its own:
 * measured on the 1080p benchmark clip, 16 threads (FFmpeg's choice on a
 * 16-core machine) took the pool's peak RSS from 188 to 265 MiB, and the
 * worker keeps that decoder open between jobs.
 */
const LONE_DECODER_THREADS = availableParallelism() > 1 ? Math.min(availableParallelism() + 1, 4) : 1;

export interface SchedulerHooks {
  /** A worker took the job. */
  started(jobId: string): void;
  /** A job reported images done of expected. */
  progress(jobId: string, done: number, expected: number): void;
  /** A job is about to write in this folder (the service sweeps it once). */
  writesIn(folder: string): void;
}

interface RunningJob {
  task: JobTask;
  /** With isolation 'process': tells the child to stop (and kills it if it does not). */
  cancelInChild?: () => void;
  stopped: Promise<void>;
}

/** A job as the scheduler sees it: it reports what happens to it and never changes it. */
export interface ScheduledJob {
  id: string;
}

interface QueuedJob {
  job: ScheduledJob;
  task: JobTask;
  /** A synchronous job: started first. */
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

/** What a running job has announced: taken back if its worker dies. */
class Announced {
  readonly temporaries = new Set<string>();
  readonly objects = new Map<string, OwnedFile>();
  readonly folders: string[] = [];

  constructor(
    private readonly hooks: SchedulerHooks,
    private readonly jobId: string,
  ) {}

  handle = (message: ProgressMessage): void => {
    if (message.type === 'writing') {
      this.temporaries.add(message.temporary);
      this.hooks.writesIn(dirname(message.temporary));
    } else if (message.type === 'placing') {
      // `stored`: an upload to object storage, deleted while its ETag is still the job's.
      const { path, dev, ino, stored } = message;
      this.objects.set(path, { path, dev, ino, ...(stored === undefined ? {} : { stored }) });
    } else if (message.type === 'folder') this.folders.push(message.path);
    else if (message.type === 'progress') this.hooks.progress(this.jobId, message.done, message.expected);
  };

  async takeBack(): Promise<void> {
    for (const temporary of this.temporaries) await removeOwnName(temporary);
    for (const file of this.objects.values()) await removeOwned(file);
    await removeEmptyFolders(this.folders);
  }
}

export class Scheduler {
  private readonly queue: QueuedJob[] = [];
  /** Running jobs by id: the task (whose flag cancels it), the child process's cancel, and the promise that settles when it has stopped. */
  private readonly running = new Map<string, RunningJob>();
  private pool: Piscina | undefined;
  private processes: ProcessPool | undefined;
  /** Set by close(): the failure of any job run() is given after it. */
  private closedWith: SnapshotError | undefined;

  constructor(
    private readonly workers: number,
    private readonly hooks: SchedulerHooks,
    private readonly isolation: Isolation = 'thread',
  ) {}

  get waiting(): number {
    return this.queue.length;
  }

  /** The worker threads, for tests that kill one. */
  get threads(): readonly unknown[] {
    return this.pool?.threads ?? [];
  }

  /** The worker processes' ids, for tests that kill one. */
  get processIds(): number[] {
    return this.processes?.pids ?? [];
  }

  /** Queues a job; resolves with its outcome, rejects with its failure. */
  run(job: ScheduledJob, task: JobTask, urgent: boolean): Promise<JobOutcome> {
    return new Promise((resolve, reject) => {
      // A submission that was under way when close() began starts nothing (and no new pool).
      if (this.closedWith !== undefined) {
        reject(this.closedWith);
        return;
      }
      this.queue.push({ job, task, urgent, resolve, reject });
      this.pump();
    });
  }

  /** Takes a job out of the queue if it has not started; false when it has. */
  withdraw(jobId: string, reason: SnapshotError): boolean {
    const index = this.queue.findIndex((queued) => queued.job.id === jobId);
    if (index < 0) return false;
    debug('job %s: taken out of the queue (%s)', jobId, reason.code);
    this.queue.splice(index, 1)[0]!.reject(reason);
    return true;
  }

  /** Takes the waiting synchronous jobs out of the queue, failing them with `reason`. */
  withdrawSynchronous(reason: SnapshotError): void {
    for (const queued of this.queue.filter((waiting) => waiting.urgent)) {
      this.queue.splice(this.queue.indexOf(queued), 1);
      queued.reject(reason);
    }
  }

  /**
   * Cancels a running job: its flag is raised (a worker thread sees it at
   * once; a worker process is sent a message and killed if it does not stop
   * within the grace). It then writes nothing more and takes back what it wrote.
   */
  cancel(jobId: string): void {
    const running = this.running.get(jobId);
    if (running === undefined) return;
    debug('job %s: cancelling the running work', jobId);
    Atomics.store(running.task.abort, 0, 1);
    Atomics.notify(running.task.abort, 0);
    running.cancelInChild?.();
  }

  /** Starts waiting jobs while workers are free: the first synchronous one, else the first that came. */
  private pump(): void {
    while (this.running.size < this.workers && this.queue.length > 0) {
      const urgent = this.queue.findIndex((queued) => queued.urgent);
      const index = urgent < 0 ? 0 : urgent;
      const [queued] = this.queue.splice(index, 1);
      // Frame threads help a lone exact decode; a keyframe, or a decoder with
      // company, gets one thread.
      const alone = this.running.size === 0 && this.queue.length === 0;
      queued!.task.threads = alone && queued!.task.frameType === 'normal' ? LONE_DECODER_THREADS : 1;
      this.hooks.started(queued!.job.id);
      const running: RunningJob = { task: queued!.task, stopped: Promise.resolve() };
      this.running.set(queued!.job.id, running);
      running.stopped = this.start(queued!, running).finally(() => {
        this.running.delete(queued!.job.id);
        this.pump();
      });
    }
  }

  /**
   * Fails every queued job with `reason`; gives running ones `graceMs` to
   * finish, then cancels those still running (telling `cancelling` first, so
   * their outcome can be decided before the worker's); waits for them to
   * stop, and frees the pool.
   */
  async close(reason: SnapshotError, graceMs: number, cancelling: (jobId: string) => void): Promise<void> {
    this.closedWith = reason;
    for (const queued of this.queue.splice(0)) queued.reject(reason);
    if (this.running.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.allStopped(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    for (const jobId of [...this.running.keys()]) {
      cancelling(jobId);
      this.cancel(jobId);
    }
    while (this.running.size > 0) await this.allStopped();
    await this.pool?.destroy();
    this.pool = undefined;
    await this.processes?.destroy();
    this.processes = undefined;
  }

  private allStopped(): Promise<unknown> {
    return Promise.all([...this.running.values()].map((running) => running.stopped));
  }

  private start(queued: QueuedJob, running: RunningJob): Promise<void> {
    return this.isolation === 'process' ? this.startInProcess(queued, running) : this.startInThread(queued);
  }

  private async startInThread(queued: QueuedJob): Promise<void> {
    this.pool ??= new Piscina({
      filename: new URL('../worker/pool-worker.js', import.meta.url).href,
      minThreads: 1,
      maxThreads: this.workers,
      idleTimeout: 60_000,
      // Not 'sync', which blocks an idle thread in Atomics.wait: its timers
      // must run, so that it drops its kept-open file once idle (pool-worker.ts).
      atomics: 'async',
    });
    const announced = new Announced(this.hooks, queued.job.id);
    const { port1, port2 } = new MessageChannel();
    port1.on('message', announced.handle);
    try {
      const reply = (await this.pool.run({ ...queued.task, progress: port2 }, { transferList: [port2] })) as PoolReply;
      drain(port1, announced.handle);
      settle(queued, reply);
    } catch (error) {
      // The worker itself died (the pool replaces it).
      drain(port1, announced.handle);
      await announced.takeBack();
      const message = error instanceof Error ? error.message : String(error);
      queued.reject(new SnapshotError(ErrorCodes.InternalError, `the worker running the job stopped: ${message}`));
    } finally {
      port1.close();
    }
  }

  private async startInProcess(queued: QueuedJob, running: RunningJob): Promise<void> {
    this.processes ??= new ProcessPool(this.workers);
    const announced = new Announced(this.hooks, queued.job.id);
    try {
      const { reply, cancel } = this.processes.run(queued.task, announced.handle);
      running.cancelInChild = cancel;
      // Cancelled before it started in the child.
      if (Atomics.load(queued.task.abort, 0) !== 0) cancel();
      settle(queued, await reply);
    } catch (error) {
      await announced.takeBack();
      const message = error instanceof WorkerProcessDied || error instanceof Error ? error.message : String(error);
      queued.reject(new SnapshotError(ErrorCodes.InternalError, message));
    }
  }
}

function settle(queued: QueuedJob, reply: PoolReply): void {
  if (reply.ok) queued.resolve(reply.outcome);
  else queued.reject(SnapshotError.fromJSON(reply.error));
}
