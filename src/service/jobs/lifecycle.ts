/**
 * The one owner of a job's state (SPEC section 7). Every change of a job
 * goes through here, in these transitions only:
 *
 *   submit            -> Submitted
 *   start             Submitted -> Snapshoting
 *   progress          Snapshoting (asynchronous jobs): Count, Percent
 *   succeed / fail    Submitted | Snapshoting -> Success | Fail
 *   notified          Success | Fail: MNSMessageResult
 *
 * The first outcome wins: a job answered SnapshotTimeOut stays so when its
 * worker finishes after, and the caller learns that the late outcome lost
 * (its files must go). After each change the job is saved to the store, the
 * seam where a durable store (SQLite, Redis) plugs in; the scheduler and the
 * service report events and never write job fields themselves.
 */
import { debug } from '../../core/debug.js';
import type { SnapshotError } from '../../core/errors.js';
import type { JobStore } from './job-store.js';
import type { JobProgress, MNSMessageResult, SnapshotJob } from '../types.js';

/** What the lifecycle tells the service (which turns them into its events). */
export interface LifecycleListener {
  progress(progress: JobProgress): void;
  finished(job: SnapshotJob): void;
  notified(jobId: string, result: MNSMessageResult): void;
}

/** What a job's outcome says about it. */
export interface JobResult {
  /** Images taken. */
  count: number;
  /** Sprite sheets written. */
  sheets: number;
}

interface LiveJob {
  job: SnapshotJob;
  requestId: string;
  /** Interval or Num given: the job reports progress. */
  asynchronous: boolean;
  finished: Promise<void>;
  markFinished: () => void;
}

const isFinal = (job: SnapshotJob): boolean => job.State === 'Success' || job.State === 'Fail';

export class JobLifecycle {
  /** Jobs not finished yet. */
  private readonly live = new Map<string, LiveJob>();
  /** Finished jobs whose notification is still under way. */
  private readonly notifying = new Map<string, SnapshotJob>();

  constructor(
    private readonly store: JobStore,
    private readonly listener: LifecycleListener,
  ) {}

  /** Records a new job, Submitted. */
  submit(job: SnapshotJob, requestId: string, asynchronous: boolean): void {
    if (job.State !== 'Submitted') throw new Error(`a new job must be Submitted, not ${job.State}`);
    let markFinished = (): void => undefined;
    const finished = new Promise<void>((resolve) => (markFinished = resolve));
    this.live.set(job.Id, { job, requestId, asynchronous, finished, markFinished });
    this.store.add(job);
    debug('job %s: submitted (%s, request %s)', job.Id, asynchronous ? 'asynchronous' : 'synchronous', requestId);
  }

  /** A worker took the job. */
  start(jobId: string): void {
    const live = this.live.get(jobId);
    if (live === undefined || live.job.State !== 'Submitted') return;
    live.job.State = 'Snapshoting';
    this.store.save(live.job);
    debug('job %s: started', jobId);
  }

  /** `done` of the `expected` images are taken; only asynchronous jobs report progress. */
  progress(jobId: string, done: number, expected: number): void {
    const live = this.live.get(jobId);
    if (live === undefined || !live.asynchronous || live.job.State !== 'Snapshoting') return;
    const percent = expected > 0 ? Math.min(100, Math.floor((done * 100) / expected)) : 0;
    live.job.Count = String(done);
    live.job.Percent = percent;
    this.store.save(live.job);
    this.listener.progress({ JobId: jobId, Done: done, Expected: expected, Percent: percent });
  }

  /** The job succeeded; false when it already had its outcome (the caller removes what this late one wrote). */
  succeed(jobId: string, result: JobResult): boolean {
    return this.end(jobId, (job) => {
      job.State = 'Success';
      job.Count = String(result.count);
      if (job.TileCount !== undefined) job.TileCount = String(result.sheets);
      if (job.Percent !== undefined) job.Percent = 100;
    });
  }

  /** The job failed; false when it already had its outcome. */
  fail(jobId: string, error: SnapshotError): boolean {
    return this.end(jobId, (job) => {
      job.State = 'Fail';
      job.Code = error.code;
      job.Message = error.message;
      job.Count = '0';
      if (job.TileCount !== undefined) job.TileCount = '0';
    });
  }

  /** The finished job's completion message was delivered or given up. */
  notified(jobId: string, result: MNSMessageResult): void {
    const job = this.notifying.get(jobId);
    if (job === undefined) return;
    this.notifying.delete(jobId);
    job.MNSMessageResult = result;
    this.store.save(job);
    debug('job %s: notification %j', jobId, result);
    this.listener.notified(jobId, result);
  }

  /** A finished job's notification will follow: notified() records its outcome. */
  expectNotification(job: SnapshotJob): void {
    if (isFinal(job)) this.notifying.set(job.Id, job);
  }

  /** A copy of the job as it is now. */
  view(jobId: string): SnapshotJob | undefined {
    const job = this.live.get(jobId)?.job ?? this.store.get(jobId);
    return job === undefined ? undefined : structuredClone(job);
  }

  requestIdOf(jobId: string): string | undefined {
    return this.live.get(jobId)?.requestId;
  }

  /** Resolves once the job has its outcome (at once when it has). */
  async whenFinished(jobId: string): Promise<void> {
    await this.live.get(jobId)?.finished;
  }

  /** Resolves once every job has its outcome. */
  async allFinished(): Promise<void> {
    await Promise.all([...this.live.values()].map((live) => live.finished));
  }

  private end(jobId: string, apply: (job: SnapshotJob) => void): boolean {
    const live = this.live.get(jobId);
    if (live === undefined || isFinal(live.job)) {
      debug('job %s: a later outcome is refused, the job has its own', jobId);
      return false;
    }
    apply(live.job);
    debug('job %s: %s%s', jobId, live.job.State, live.job.Code === '' ? '' : ` (${live.job.Code})`);
    this.live.delete(jobId);
    this.store.save(live.job);
    live.markFinished();
    this.listener.finished(structuredClone(live.job));
    return true;
  }
}
