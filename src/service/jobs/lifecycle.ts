/**
 * The one owner of the state of the jobs this process has in hand (SPEC
 * section 7): those it submitted and those it runs. Every change of a job
 * goes through here, in these transitions only:
 *
 *   submit            -> Submitted
 *   start / claimed   Submitted -> Snapshoting
 *   progress          Snapshoting (asynchronous jobs): Count, Percent
 *   succeed / fail    Submitted | Snapshoting -> Success | Fail
 *   notified          Success | Fail: MNSMessageResult
 *
 * Each change is applied to the local copy at once and written to the back
 * end (stores/) in order, one write after the other per job. The first
 * outcome wins: locally (a job answered SnapshotTimeOut stays so when its
 * worker finishes after) and in the back end (across processes, and against
 * a stale attempt of a job that was taken back and runs elsewhere). The
 * caller learns that a late outcome lost: its files must go.
 */
import { debug } from '../../core/debug.js';
import type { SnapshotError } from '../../core/errors.js';
import type { ClaimedJob, JobBackend, JobEntry } from '../stores/backend.js';
import { failedJob, isFinal } from '../stores/records.js';
import type { MNSMessageResult, SnapshotJob } from '../types.js';

/** What a job's outcome says about it. */
/** When an outcome the store failed to take is tried again: about 15 s in all. */
const FINISH_RETRIES_MS = [500, 1_000, 2_000, 4_000, 8_000];

export interface JobResult {
  /** Images taken. */
  count: number;
  /** Sprite sheets written. */
  sheets: number;
}

interface LocalJob {
  job: SnapshotJob;
  requestId: string;
  /** Interval or Num given: the job reports progress. */
  asynchronous: boolean;
  /** The attempt this process runs (1 for a job it submitted itself). */
  attempt: number;
  /** The last write of this job to the back end. */
  written: Promise<unknown>;
}

export class JobLifecycle {
  /** Jobs in hand and not finished here yet. */
  private readonly local = new Map<string, LocalJob>();
  /** Outcomes the store failed to take, being tried again. */
  private readonly retrying = new Set<Promise<void>>();

  constructor(private readonly backend: JobBackend) {}

  /** Records a new job, Submitted; an asynchronous one is queued. Throws Throttling when the queue is full. */
  async submit(entry: JobEntry, maxQueue: number): Promise<void> {
    this.check(entry.job);
    debug('job %s: submitted (%s, request %s)', entry.job.Id, entry.asynchronous ? 'asynchronous' : 'synchronous', entry.requestId);
    // A queued job is in hand only once a consumer (maybe this process's) claims it.
    if (entry.asynchronous) return this.backend.add(structuredClone(entry), maxQueue);
    this.hold(entry);
    try {
      await this.write(entry.job.Id, () => this.backend.add(structuredClone(entry), maxQueue));
    } catch (error) {
      this.local.delete(entry.job.Id);
      throw error;
    }
  }

  /** submit() for the blocking API, on a store that writes synchronously (memory, SQLite). */
  submitNow(entry: JobEntry, maxQueue: number): void {
    const sync = this.backend.sync;
    if (sync === undefined) throw new Error(`the ${this.backend.kind} store cannot write synchronously`);
    this.check(entry.job);
    sync.add(structuredClone(entry), maxQueue);
    if (!entry.asynchronous) this.hold(entry);
    debug('job %s: submitted (%s, request %s)', entry.job.Id, entry.asynchronous ? 'asynchronous' : 'synchronous', entry.requestId);
  }

  /** A synchronous job of this process started. */
  start(jobId: string): void {
    const local = this.local.get(jobId);
    if (local === undefined || local.job.State !== 'Submitted') return;
    local.job.State = 'Snapshoting';
    void this.write(jobId, () => this.backend.start(jobId));
    debug('job %s: started', jobId);
  }

  /** This process's consumer claimed a queued job: it is in hand until it finishes or is handed back. */
  claimed(claimed: ClaimedJob): void {
    this.local.set(claimed.job.Id, {
      job: structuredClone(claimed.job),
      requestId: claimed.requestId,
      asynchronous: true,
      attempt: claimed.attempt,
      written: Promise.resolve(),
    });
    debug('job %s: claimed (attempt %d)', claimed.job.Id, claimed.attempt);
  }

  /** A claimed job was handed back without an outcome (it runs again elsewhere or later). */
  handedBack(jobId: string): void {
    this.local.delete(jobId);
    debug('job %s: handed back', jobId);
  }

  /** `done` of the `expected` images are taken; only asynchronous jobs report progress. */
  progress(jobId: string, done: number, expected: number): void {
    const local = this.local.get(jobId);
    if (local === undefined || !local.asynchronous || local.job.State !== 'Snapshoting') return;
    const percent = expected > 0 ? Math.min(100, Math.floor((done * 100) / expected)) : 0;
    local.job.Count = String(done);
    local.job.Percent = percent;
    void this.write(jobId, () => this.backend.progress({ JobId: jobId, Done: done, Expected: expected, Percent: percent }, local.attempt));
  }

  /** The job succeeded: its final record, or undefined when another outcome came first (the caller removes what this late one wrote). */
  succeed(jobId: string, result: JobResult): Promise<SnapshotJob | undefined> {
    return this.end(jobId, (job) => {
      const done: SnapshotJob = { ...job, State: 'Success', Count: String(result.count) };
      if (done.TileCount !== undefined) done.TileCount = String(result.sheets);
      if (done.Percent !== undefined) done.Percent = 100;
      return done;
    });
  }

  /** The job failed: its final record, or undefined when another outcome came first. */
  fail(jobId: string, error: SnapshotError): Promise<SnapshotJob | undefined> {
    return this.end(jobId, (job) => failedJob(job, error));
  }

  /** The finished job's completion message was delivered or given up. */
  async notified(jobId: string, result: MNSMessageResult): Promise<void> {
    debug('job %s: notification %j', jobId, result);
    await this.backend.notified(jobId, result);
  }

  /** The job as this process has it, if in hand. */
  inHand(jobId: string): SnapshotJob | undefined {
    const local = this.local.get(jobId);
    return local === undefined ? undefined : structuredClone(local.job);
  }

  /** Whether a job in hand is a synchronous one (submitted and run here, its caller waiting). */
  isSynchronous(jobId: string): boolean {
    return this.local.get(jobId)?.asynchronous === false;
  }

  requestIdOf(jobId: string): string | undefined {
    return this.local.get(jobId)?.requestId;
  }

  /** Resolves once every write of jobs in hand has been made, and every retried outcome tried. */
  async settled(): Promise<void> {
    await Promise.all([...this.local.values()].map((local) => local.written));
    await Promise.all(this.retrying);
  }

  /** Writes an outcome the store failed to take, again, FINISH_RETRIES_MS apart; settled() waits for it. */
  private retryFinish(job: SnapshotJob, attempt: number): void {
    const retrying = (async () => {
      for (const delayMs of FINISH_RETRIES_MS) {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        try {
          const won = await this.backend.finish(structuredClone(job), attempt);
          debug('job %s: its outcome was stored on a later try (%s)', job.Id, won ? 'taken' : 'another came first');
          return;
        } catch (error) {
          debug('job %s: storing its outcome failed again: %s', job.Id, String(error));
        }
      }
    })();
    this.retrying.add(retrying);
    void retrying.finally(() => this.retrying.delete(retrying));
  }

  private check(job: SnapshotJob): void {
    if (job.State !== 'Submitted') throw new Error(`a new job must be Submitted, not ${job.State}`);
  }

  private hold(entry: JobEntry): void {
    this.local.set(entry.job.Id, {
      job: structuredClone(entry.job),
      requestId: entry.requestId,
      asynchronous: entry.asynchronous,
      attempt: 1,
      written: Promise.resolve(),
    });
  }

  /**
   * Writes a change of the job to the store. A store that writes
   * synchronously (memory, SQLite) applies it now, so call order is write
   * order, and the blocking API's answer is in the store when it returns.
   * Others get one write after the other per job. A failed write is logged
   * and does not stop later ones.
   */
  private write<T>(jobId: string, make: () => Promise<T>): Promise<T> {
    const local = this.local.get(jobId);
    let written: Promise<T>;
    if (this.backend.sync !== undefined) {
      try {
        written = make();
      } catch (error) {
        written = Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    } else {
      written = (local?.written ?? Promise.resolve()).then(make);
    }
    if (local !== undefined) {
      local.written = written.catch((error: unknown) => debug('job %s: a write to the store failed: %s', jobId, String(error)));
    }
    return written;
  }

  private async end(jobId: string, apply: (job: SnapshotJob) => SnapshotJob): Promise<SnapshotJob | undefined> {
    const local = this.local.get(jobId);
    if (local === undefined || isFinal(local.job)) {
      debug('job %s: a later outcome is refused, the job has its own', jobId);
      return undefined;
    }
    const done = apply(local.job);
    local.job = done;
    let won: boolean;
    try {
      won = await this.write(jobId, () => this.backend.finish(structuredClone(done), local.attempt));
    } catch (error) {
      // The store failed the write (SQLite busy past its timeout, Redis out
      // of reach): the outcome is tried again in the background, so the job
      // is not left Snapshoting; this caller learns of the failure.
      this.retryFinish(done, local.attempt);
      throw error;
    } finally {
      // In hand no more, whether or not the store took the outcome.
      this.local.delete(jobId);
    }
    if (!won) {
      debug('job %s: the store had another outcome first', jobId);
      return undefined;
    }
    debug('job %s: %s%s', jobId, done.State, done.Code === '' ? '' : ` (${done.Code})`);
    return structuredClone(done);
  }
}
