/**
 * The SQLite back end (`database`): jobs, pipelines, the queue and the
 * history live in one database file that every process on this machine may
 * share, and survive restarts. better-sqlite3 is an optional peer, loaded
 * when this class is constructed.
 *
 * How processes share it:
 * - A consumer claims the oldest queued job of a pipeline that is not paused
 *   in one UPDATE statement, so two processes never claim the same job. The
 *   claim holds a lease (`leaseMs`) in the name of `host:pid:random`, renewed
 *   while the job runs. Jobs whose lease ran out, or whose process on this
 *   host is gone, are taken back: an asynchronous one is queued again in its
 *   old place, a synchronous one fails (its caller is gone).
 * - Every attempt of a job counts (`attempts`): an outcome is stored only for
 *   the current attempt, so a late run of an earlier one loses.
 * - Every write that other instances must hear of (progress, finished,
 *   notified) appends a row to `events`; each instance polls that table
 *   every `pollMs` and emits the rows of the others.
 * - A cancel of a job running in another process is written to the job's
 *   row; its consumer reads it at its next renewal (at most a second later).
 *
 * WAL with synchronous=NORMAL: a commit costs no fsync (the WAL is synced at
 * checkpoints), so a power loss may lose the last commits but never corrupts
 * the file. WAL needs a local file system: SQLite is for one machine.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';

import type BetterSqlite3 from 'better-sqlite3';

import { debug } from '../../core/debug.js';
import { ErrorCodes, SnapshotError, type SnapshotErrorJSON } from '../../core/errors.js';
import {
  HAND_BACK,
  type BackendEvents,
  type CancelOutcome,
  type ClaimedJob,
  type JobBackend,
  type JobEntry,
  type JobHandler,
  type MessageStore,
  type SyncStore,
} from './backend.js';
import { idsAnswer, pageAnswer, unknownPageToken, type JobQuery, type JobQueryAnswer } from './query.js';
import { DEFAULT_PIPELINE_NAME, failedJob, isFinal, newJobId, newPipeline, stopHandlers } from './records.js';
import type { JobProgress, MNSMessageResult, Pipeline, SnapshotJob } from '../types.js';

export interface SqliteBackendOptions {
  /** The database file; made when missing. */
  path: string;
  /** Jobs remembered at most; the oldest finished ones go first. */
  maxHistory: number;
  /** How often other processes' events and newly queued jobs are looked for (ms, default 100). */
  pollMs?: number;
  /**
   * How long a claim holds without renewal (ms, default 30 s); renewed every
   * third of it, at least every second. Longer than this process's event
   * loop may be blocked (submitSnapshotJobSync blocks it up to its deadline),
   * or another process takes its jobs back and runs them again.
   */
  leaseMs?: number;
}

type Database = BetterSqlite3.Database;
type DatabaseConstructor = typeof BetterSqlite3;

const SCHEMA_VERSION = 1;
const DEFAULT_POLL_MS = 100;
const DEFAULT_LEASE_MS = 30_000;
/** SQLite retries a locked database for this long before a write fails with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;
/** Events are read within a poll; older ones are only kept for an instance that was busy for a while. */
const EVENTS_KEPT_MS = 60_000;
const TRIM_EVERY_MS = 10_000;
const MISSING_PACKAGE = 'the database option needs the better-sqlite3 package (npm install better-sqlite3@12)';
/**
 * A synchronous job's lease: the longest it may run (the service's
 * syncTimeoutMs is at most an hour). submitSnapshotJobSync blocks this
 * process's event loop, so no timer renews anything while it runs; a
 * synchronous job is taken back earlier only when its process is gone.
 */
const SYNCHRONOUS_LEASE_MS = 3_600_000;
const DEAD_SYNCHRONOUS = 'the process running the synchronous job stopped before it finished';

/**
 * `owner` is not NULL exactly while a job is held: claimed by a consumer, or
 * a synchronous job of the process that added it. `attempts` counts claims
 * (a synchronous job has 1 from the start); `cancel` holds the reason of a
 * cancel of a held job, as SnapshotError JSON.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS pipelines (id TEXT PRIMARY KEY, state TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  pipeline_id TEXT NOT NULL,
  state TEXT NOT NULL,
  created TEXT NOT NULL,
  asynchronous INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  job TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  owner TEXT,
  lease_until INTEGER,
  cancel TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, seq);
CREATE INDEX IF NOT EXISTS jobs_held ON jobs (owner) WHERE owner IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (seq) WHERE state IN ('Success', 'Fail');
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  origin TEXT NOT NULL,
  kind TEXT NOT NULL,
  job_id TEXT NOT NULL,
  payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_time ON events (at);
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_queue ON messages (queue, seq);
`;

const requireModule = createRequire(import.meta.url);
let sqliteModule: DatabaseConstructor | undefined;

/** better-sqlite3, loaded once, when the first SQLite back end is made. */
function loadSqlite(): DatabaseConstructor {
  if (sqliteModule !== undefined) return sqliteModule;
  try {
    sqliteModule = requireModule('better-sqlite3') as DatabaseConstructor;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new SnapshotError(ErrorCodes.InvalidParameter, MISSING_PACKAGE, { cause: error });
    }
    throw new SnapshotError(ErrorCodes.InternalError, `cannot load better-sqlite3: ${reasonOf(error)}`, { cause: error });
  }
  return sqliteModule;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Row = Record<string, unknown>;
interface JobRow {
  job: string;
}
interface ClaimRow {
  id: string;
  request_id: string;
  attempts: number;
  job: string;
}
interface HeldRow {
  id: string;
  owner: string;
  lease_until: number;
  asynchronous: number;
  attempts: number;
  cancel: string | null;
  job: string;
}
interface CancelRow {
  state: string;
  asynchronous: number;
  job: string;
}
interface EventRow {
  id: number;
  origin: string;
  kind: keyof BackendEvents;
  payload: string;
}

/** Every statement, prepared once when the database opens. */
function prepareStatements(db: Database) {
  const statement = <Result = Row>(sql: string) => db.prepare<unknown[], Result>(sql);
  return {
    pipeline: statement<{ json: string }>('SELECT json FROM pipelines WHERE id = ?'),
    putPipeline: statement('INSERT OR REPLACE INTO pipelines (id, state, json) VALUES (?, ?, ?)'),
    allPipelines: statement<{ json: string }>('SELECT json FROM pipelines'),
    deletePipeline: statement('DELETE FROM pipelines WHERE id = ?'),
    queued: statement<{ n: number }>("SELECT count(*) AS n FROM jobs WHERE state = 'Submitted' AND asynchronous = 1"),
    insertJob: statement(
      'INSERT INTO jobs (id, pipeline_id, state, created, asynchronous, request_id, job, attempts, owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    jobCount: statement<{ n: number }>('SELECT count(*) AS n FROM jobs'),
    // The finished jobs' own index is in seq order: without it SQLite sorts every finished job on each add.
    dropOldest: statement(
      "DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs INDEXED BY jobs_finished WHERE state IN ('Success', 'Fail') ORDER BY seq LIMIT ?)",
    ),
    start: statement(
      "UPDATE jobs SET state = 'Snapshoting', job = json_set(job, '$.State', 'Snapshoting') WHERE id = ? AND state = 'Submitted' AND asynchronous = 0",
    ),
    // One statement: the pick and the claim cannot be split by another process.
    claim: statement<ClaimRow>(`
      UPDATE jobs SET state = 'Snapshoting', owner = ?, lease_until = ?, attempts = attempts + 1,
        job = CASE WHEN attempts >= 1 THEN json_set(job, '$.State', 'Snapshoting', '$.Attempts', attempts + 1)
                   ELSE json_set(job, '$.State', 'Snapshoting') END
      WHERE id = (SELECT id FROM jobs WHERE state = 'Submitted' AND asynchronous = 1
                  AND pipeline_id NOT IN (SELECT id FROM pipelines WHERE state = 'Paused') ORDER BY seq LIMIT 1)
      RETURNING id, request_id, attempts, job`),
    anyQueued: statement(`
      SELECT 1 FROM jobs WHERE state = 'Submitted' AND asynchronous = 1
        AND pipeline_id NOT IN (SELECT id FROM pipelines WHERE state = 'Paused') LIMIT 1`),
    // Only the current attempt's: a stale run (taken back, running elsewhere) changes nothing.
    progress: statement(
      "UPDATE jobs SET job = json_set(job, '$.Count', ?, '$.Percent', ?) WHERE id = ? AND state = 'Snapshoting' AND attempts = ?",
    ),
    // A never-claimed queued job (attempts 0) may end with any attempt: a cancel, or the service failing it.
    finish: statement(`
      UPDATE jobs SET state = ?, job = ?, owner = NULL, lease_until = NULL, cancel = NULL
      WHERE id = ? AND state IN ('Submitted', 'Snapshoting') AND (attempts = ? OR (state = 'Submitted' AND attempts = 0))`),
    cancelQueued: statement(`
      UPDATE jobs SET state = 'Fail', job = ?, owner = NULL, lease_until = NULL
      WHERE id = ? AND state = 'Submitted' AND asynchronous = 1`),
    setCancel: statement("UPDATE jobs SET cancel = ? WHERE id = ? AND state IN ('Submitted', 'Snapshoting')"),
    notified: statement("UPDATE jobs SET job = json_set(job, '$.MNSMessageResult', json(?)) WHERE id = ?"),
    requeue: statement(`
      UPDATE jobs SET state = 'Submitted', owner = NULL, lease_until = NULL,
        job = json_replace(job, '$.State', 'Submitted', '$.Count', '0', '$.Percent', 0)
      WHERE id = ? AND owner = ? AND attempts = ? AND state = 'Snapshoting'`),
    job: statement<JobRow>('SELECT job FROM jobs WHERE id = ?'),
    requestId: statement<{ request_id: string }>('SELECT request_id FROM jobs WHERE id = ?'),
    cancelRow: statement<CancelRow>('SELECT state, asynchronous, job FROM jobs WHERE id = ?'),
    ownedJob: statement<{ job: string; cancel: string | null }>(
      "SELECT job, cancel FROM jobs WHERE id = ? AND owner = ? AND attempts = ? AND state = 'Snapshoting'",
    ),
    seqOf: statement<{ seq: number }>('SELECT seq FROM jobs WHERE id = ?'),
    page: statement<JobRow>(`
      SELECT job FROM jobs WHERE seq <= @from
        AND (@state IS NULL OR state = @state) AND (@pipelineId IS NULL OR pipeline_id = @pipelineId)
        AND (@start IS NULL OR created >= @start) AND (@end IS NULL OR created <= @end)
      ORDER BY seq DESC LIMIT @limit`),
    // max(): a synchronous job's longer lease is not shortened.
    renew: statement('UPDATE jobs SET lease_until = max(lease_until, ?) WHERE owner = ?'),
    mine: statement<{ id: string; attempts: number; cancel: string | null }>(
      "SELECT id, attempts, cancel FROM jobs WHERE owner = ? AND state = 'Snapshoting'",
    ),
    others: statement<HeldRow>(
      'SELECT id, owner, lease_until, asynchronous, attempts, cancel, job FROM jobs WHERE owner IS NOT NULL AND owner <> ?',
    ),
    addEvent: statement('INSERT INTO events (at, origin, kind, job_id, payload) VALUES (?, ?, ?, ?, ?)'),
    lastEvent: statement<{ id: number | null }>('SELECT max(id) AS id FROM events'),
    events: statement<EventRow>('SELECT id, origin, kind, payload FROM events WHERE id > ? ORDER BY id'),
    trimEvents: statement('DELETE FROM events WHERE at < ?'),
    messageCount: statement<{ n: number }>('SELECT count(*) AS n FROM messages WHERE queue = ?'),
    pushMessage: statement('INSERT INTO messages (queue, id, body) VALUES (?, ?, ?)'),
    // One statement: two readers never take the same message.
    popMessage: statement<{ id: string; body: string }>(
      'DELETE FROM messages WHERE seq = (SELECT seq FROM messages WHERE queue = ? ORDER BY seq LIMIT 1) RETURNING id, body',
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

interface Running {
  controller: AbortController;
  attempt: number;
  done: Promise<void>;
}

/** An open database and what belongs to it. */
interface Open {
  db: Database;
  statements: Statements;
  defaultPipelineId: string;
  /** The id of the last event this instance has seen. */
  lastEvent: number;
  lastTrim: number;
  pollTimer: NodeJS.Timeout;
  tickTimer: NodeJS.Timeout;
}

export class SqliteBackend extends EventEmitter<BackendEvents> implements JobBackend {
  readonly kind = 'sqlite';
  readonly durable = true;
  private readonly sqlite: DatabaseConstructor;
  private readonly path: string;
  private readonly maxHistory: number;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  /** Who holds a claim: this host and process, and this instance among others in it. */
  private readonly owner: string;
  /** Which events are this instance's own (they were emitted when written). */
  private readonly origin: string;
  private readonly host = hostname();
  private opened: Open | undefined;
  private consumer: { concurrency: number; handler: JobHandler } | undefined;
  /** The claimed jobs this instance's consumer runs. */
  private readonly running = new Map<string, Running>();
  /** Synchronous jobs added here that have no outcome yet: their leases are renewed too. */
  private readonly synchronous = new Set<string>();

  constructor(options: SqliteBackendOptions) {
    super();
    this.sqlite = loadSqlite();
    this.path = options.path;
    this.maxHistory = options.maxHistory;
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.origin = randomBytes(8).toString('hex');
    this.owner = `${this.host}:${process.pid}:${this.origin}`;
  }

  readonly sync: SyncStore = {
    open: () => this.now(() => this.openDatabase()),
    pipeline: (id) => this.now(() => this.readPipeline(id)),
    add: (entry, maxQueue) => this.now(() => this.addJob(entry, maxQueue)),
  };

  /** The pipelines' message queues, in the database: any process reads what any other sent. */
  readonly messages: MessageStore = {
    push: (queueName, message, max) =>
      this.call(() => {
        const { db, statements } = this.current();
        return db
          .transaction(() => {
            if (statements.messageCount.get(queueName)!.n >= max) return false;
            statements.pushMessage.run(queueName, message.MessageId, message.MessageBody);
            return true;
          })
          .immediate();
      }),
    pop: (queueName) =>
      this.call(() => {
        const row = this.current().statements.popMessage.get(queueName);
        return row === undefined ? undefined : { MessageId: row.id, MessageBody: row.body };
      }),
  };

  open(): Promise<{ defaultPipelineId: string }> {
    return this.call(() => this.openDatabase());
  }

  close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    this.consumer = undefined;
    if (opened !== undefined) {
      clearInterval(opened.pollTimer);
      clearInterval(opened.tickTimer);
      opened.db.close();
    }
    return Promise.resolve();
  }

  // ---- Pipelines ----

  addPipeline(pipeline: Pipeline): Promise<void> {
    return this.call(() => {
      this.statements().putPipeline.run(pipeline.Id, pipeline.State, JSON.stringify(pipeline));
    });
  }

  updatePipeline(id: string, update: (pipeline: Pipeline) => Pipeline): Promise<Pipeline | undefined> {
    return this.call(() => {
      const statements = this.statements();
      // Immediate: no other process writes between the read and the write.
      const updated = this.database()
        .transaction(() => {
          const row = statements.pipeline.get(id);
          if (row === undefined) return undefined;
          const result = update(JSON.parse(row.json) as Pipeline);
          statements.putPipeline.run(id, result.State, JSON.stringify(result));
          return result;
        })
        .immediate();
      // A resumed pipeline's jobs may be claimed now.
      if (updated !== undefined) this.pump();
      return updated;
    });
  }

  pipelines(ids: readonly string[]): Promise<Pipeline[]> {
    return this.call(() => ids.flatMap((id) => this.readPipeline(id) ?? []));
  }

  allPipelines(): Promise<Pipeline[]> {
    return this.call(() =>
      this.statements()
        .allPipelines.all()
        .map((row) => JSON.parse(row.json) as Pipeline),
    );
  }

  deletePipeline(id: string): Promise<boolean> {
    return this.call(() => this.statements().deletePipeline.run(id).changes > 0);
  }

  // ---- Jobs ----

  add(entry: JobEntry, maxQueue: number): Promise<void> {
    return this.call(() => this.addJob(entry, maxQueue));
  }

  start(jobId: string): Promise<void> {
    return this.call(() => {
      this.statements().start.run(jobId);
    });
  }

  progress(progress: JobProgress, attempt: number): Promise<void> {
    return this.call(() => {
      const statements = this.statements();
      const changed = this.database()
        .transaction(() => {
          if (statements.progress.run(String(progress.Done), progress.Percent, progress.JobId, attempt).changes === 0) return false;
          this.appendEvent('progress', progress.JobId, progress);
          return true;
        })
        .immediate();
      if (changed) this.emit('progress', { ...progress });
    });
  }

  finish(job: SnapshotJob, attempt: number): Promise<boolean> {
    return this.call(() => this.finishJob(job, attempt));
  }

  notified(jobId: string, result: MNSMessageResult): Promise<void> {
    return this.call(() => {
      const statements = this.statements();
      this.database()
        .transaction(() => {
          statements.notified.run(JSON.stringify(result), jobId);
          this.appendEvent('notified', jobId, { jobId, result });
        })
        .immediate();
      this.emit('notified', jobId, { ...result });
    });
  }

  get(jobId: string): Promise<SnapshotJob | undefined> {
    return this.call(() => this.readJob(jobId));
  }

  requestIdOf(jobId: string): Promise<string | undefined> {
    return this.call(() => this.statements().requestId.get(jobId)?.request_id);
  }

  query(query: JobQuery): Promise<JobQueryAnswer> {
    return this.call(() => {
      if (query.kind === 'ids') {
        const found = new Map<string, SnapshotJob>();
        for (const id of query.ids) {
          const job = this.readJob(id);
          if (job !== undefined) found.set(id, job);
        }
        return idsAnswer(query.ids, found);
      }
      const statements = this.statements();
      let from = Number.MAX_SAFE_INTEGER;
      if (query.token !== undefined) {
        const row = statements.seqOf.get(query.token);
        if (row === undefined) throw unknownPageToken(query.token);
        from = row.seq;
      }
      const { state, pipelineId, start, end } = query.filter;
      // One row more than a page: its id is the next page's token.
      const rows = statements.page.all({
        from,
        state: state ?? null,
        pipelineId: pipelineId ?? null,
        start: start ?? null,
        end: end ?? null,
        limit: query.pageSize + 1,
      });
      return pageAnswer(
        rows.map((row) => JSON.parse(row.job) as SnapshotJob),
        query.filter,
        query.pageSize,
      );
    });
  }

  cancel(jobId: string, reason: SnapshotError): Promise<CancelOutcome> {
    return this.call(() => {
      const statements = this.statements();
      const outcome = this.database()
        .transaction((): CancelOutcome => {
          const row = statements.cancelRow.get(jobId);
          if (row === undefined) return { kind: 'missing' };
          const job = JSON.parse(row.job) as SnapshotJob;
          if (isFinal(job)) return { kind: 'final', job };
          if (row.state === 'Submitted' && row.asynchronous === 1) {
            const failed = failedJob(job, reason);
            statements.cancelQueued.run(JSON.stringify(failed), jobId);
            this.appendEvent('finished', jobId, failed);
            return { kind: 'cancelled', job: failed };
          }
          // Held: its consumer (or the process running the synchronous job) reads the reason.
          statements.setCancel.run(JSON.stringify(reason.toJSON()), jobId);
          return { kind: 'running', job };
        })
        .immediate();
      if (outcome.kind === 'cancelled') this.emit('finished', structuredClone(outcome.job));
      if (outcome.kind === 'running') this.running.get(jobId)?.controller.abort(reason);
      return outcome;
    });
  }

  // ---- The queue ----

  consume(concurrency: number, handler: JobHandler): void {
    this.consumer = { concurrency, handler };
    this.guarded('taking back jobs', () => this.takeBack());
    this.pump();
  }

  async stopConsuming(graceMs: number, _reason: SnapshotError, _queuedReason: SnapshotError): Promise<void> {
    // Queued jobs stay queued: they are durable, and the next consumer runs them.
    this.consumer = undefined;
    await stopHandlers(this.running, graceMs, HAND_BACK);
  }

  // ---- Inside ----

  /** Runs a step now, as a promise: its failure is a rejection. */
  private call<T>(step: () => T): Promise<T> {
    return new Promise<T>((resolve) => resolve(this.now(step)));
  }

  /** Runs a step; SQLite's errors (a database busy past its timeout, a full disk) leave as SnapshotErrors. */
  private now<T>(step: () => T): T {
    try {
      return step();
    } catch (error) {
      if (!(error instanceof Error) || error.name !== 'SqliteError') throw error;
      throw new SnapshotError(ErrorCodes.InternalError, `the job database ${this.path} failed: ${error.message}`, { cause: error });
    }
  }

  private current(): Open {
    if (this.opened === undefined) throw new SnapshotError(ErrorCodes.InternalError, `the job database ${this.path} is not open`);
    return this.opened;
  }

  private database(): Database {
    return this.current().db;
  }

  private statements(): Statements {
    return this.current().statements;
  }

  private openDatabase(): { defaultPipelineId: string } {
    if (this.opened !== undefined) return { defaultPipelineId: this.opened.defaultPipelineId };
    let db: Database | undefined;
    try {
      db = new this.sqlite(this.path, { timeout: BUSY_TIMEOUT_MS });
      // The first statement reads the file: a file that is not a database fails here.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      const defaultPipelineId = createSchema(db, this.path);
      const statements = prepareStatements(db);
      const now = Date.now();
      this.opened = {
        db,
        statements,
        defaultPipelineId,
        lastEvent: statements.lastEvent.get()?.id ?? 0,
        lastTrim: now,
        pollTimer: setInterval(() => this.poll(), this.pollMs).unref(),
        tickTimer: setInterval(() => this.tick(), Math.min(this.leaseMs / 3, 1000)).unref(),
      };
      return { defaultPipelineId };
    } catch (error) {
      db?.close();
      if (error instanceof SnapshotError) throw error;
      throw new SnapshotError(ErrorCodes.InvalidParameter, `cannot open the job database ${this.path}: ${reasonOf(error)}`, {
        cause: error,
      });
    }
  }

  private readPipeline(id: string): Pipeline | undefined {
    const row = this.statements().pipeline.get(id);
    return row === undefined ? undefined : (JSON.parse(row.json) as Pipeline);
  }

  private readJob(jobId: string): SnapshotJob | undefined {
    const row = this.statements().job.get(jobId);
    return row === undefined ? undefined : (JSON.parse(row.job) as SnapshotJob);
  }

  private addJob(entry: JobEntry, maxQueue: number): void {
    const statements = this.statements();
    const { job } = entry;
    this.database()
      .transaction(() => {
        if (entry.asynchronous && statements.queued.get()!.n >= maxQueue) {
          throw new SnapshotError(ErrorCodes.Throttling, `the job queue is full (${maxQueue} jobs waiting); retry later`);
        }
        // A synchronous job is held by this process from the start (attempt 1): if the process dies, it is failed.
        const held = !entry.asynchronous;
        statements.insertJob.run(
          job.Id,
          job.PipelineId,
          job.State,
          job.CreationTime,
          entry.asynchronous ? 1 : 0,
          entry.requestId,
          JSON.stringify(job),
          held ? 1 : 0,
          held ? this.owner : null,
          held ? Date.now() + Math.max(this.leaseMs, SYNCHRONOUS_LEASE_MS) : null,
        );
        const excess = statements.jobCount.get()!.n - this.maxHistory;
        if (excess > 0) statements.dropOldest.run(excess);
      })
      .immediate();
    if (entry.asynchronous) this.pump();
    else this.synchronous.add(job.Id);
  }

  /**
   * Stores an outcome for `attempt`; emits 'finished' when it won, and
   * 'ended' too when the store itself ended the job (`endedHere`): this
   * instance then sends its completion message.
   */
  private finishJob(job: SnapshotJob, attempt: number, endedHere = false): boolean {
    const statements = this.statements();
    const won = this.database()
      .transaction(() => {
        if (statements.finish.run(job.State, JSON.stringify(job), job.Id, attempt).changes === 0) return false;
        this.appendEvent('finished', job.Id, job);
        return true;
      })
      .immediate();
    this.synchronous.delete(job.Id);
    if (won) this.emit('finished', structuredClone(job));
    if (won && endedHere) this.emit('ended', structuredClone(job), statements.requestId.get(job.Id)?.request_id ?? '');
    return won;
  }

  private appendEvent(kind: keyof BackendEvents, jobId: string, payload: unknown): void {
    this.statements().addEvent.run(Date.now(), this.origin, kind, jobId, JSON.stringify(payload));
  }

  /** Claims queued jobs while the consumer has room. */
  private pump(): void {
    // Guarded: a claim that fails (the database busy past its timeout) is tried again at the next poll,
    // and must not fail the add() or updatePipeline() that asked for it after its own write.
    this.guarded('claiming jobs', () => this.claimWhileRoom());
  }

  private claimWhileRoom(): void {
    if (this.consumer === undefined || this.opened === undefined) return;
    const statements = this.opened.statements;
    // A read first: an idle poll then takes no write lock.
    if (this.running.size >= this.consumer.concurrency || statements.anyQueued.get() === undefined) return;
    while (this.consumer !== undefined && this.running.size < this.consumer.concurrency) {
      const row = statements.claim.get(this.owner, Date.now() + this.leaseMs);
      if (row === undefined) return;
      this.run(this.consumer.handler, row);
    }
  }

  private run(handler: JobHandler, row: ClaimRow): void {
    const controller = new AbortController();
    const running: Running = { controller, attempt: row.attempts, done: Promise.resolve() };
    this.running.set(row.id, running);
    const claimed: ClaimedJob = {
      job: JSON.parse(row.job) as SnapshotJob,
      requestId: row.request_id,
      attempt: row.attempts,
      signal: controller.signal,
    };
    running.done = Promise.resolve()
      .then(() => handler(claimed))
      .catch((error: unknown) => debug('job %s: its handler failed: %s', row.id, reasonOf(error)))
      .finally(() => {
        this.running.delete(row.id);
        this.guarded('releasing a job', () => this.release(row.id, running));
        this.pump();
      });
  }

  /**
   * After a handler returned: a job still held by this claim without an
   * outcome goes back to the queue (handed back), or ends Fail (cancelled,
   * or stopped without one, so that it cannot loop).
   */
  private release(jobId: string, running: Running): void {
    if (this.opened === undefined) return;
    const statements = this.opened.statements;
    const row = statements.ownedJob.get(jobId, this.owner, running.attempt);
    if (row === undefined) return;
    const reason: unknown = running.controller.signal.reason;
    // Handed back, or stopped without an outcome that could be stored (its
    // write failed): queued again, to run again from the start.
    if (row.cancel === null && !(reason instanceof SnapshotError)) {
      statements.requeue.run(jobId, this.owner, running.attempt);
      return;
    }
    const failure = row.cancel !== null ? SnapshotError.fromJSON(JSON.parse(row.cancel) as SnapshotErrorJSON) : (reason as SnapshotError);
    this.finishJob(failedJob(JSON.parse(row.job) as SnapshotJob, failure), running.attempt, true);
  }

  /** Every pollMs: other instances' events, and jobs queued by other processes. */
  private poll(): void {
    this.guarded('reading events', () => this.readEvents());
    this.pump();
  }

  private readEvents(): void {
    const opened = this.opened;
    if (opened === undefined) return;
    for (const event of opened.statements.events.all(opened.lastEvent)) {
      opened.lastEvent = event.id;
      if (event.origin === this.origin) continue;
      const payload: unknown = JSON.parse(event.payload);
      if (event.kind === 'progress') this.emit('progress', payload as JobProgress);
      else if (event.kind === 'finished') this.emit('finished', payload as SnapshotJob);
      else if (event.kind === 'notified') {
        const { jobId, result } = payload as { jobId: string; result: MNSMessageResult };
        this.emit('notified', jobId, result);
      }
    }
  }

  /** Every third of a lease, at least every second: renew, hear cancels, take back the dead's jobs. */
  private tick(): void {
    this.guarded('renewing leases', () => this.renew());
    this.guarded('taking back jobs', () => this.takeBack());
    const opened = this.opened;
    if (opened !== undefined && Date.now() - opened.lastTrim >= TRIM_EVERY_MS) {
      opened.lastTrim = Date.now();
      this.guarded('trimming events', () => opened.statements.trimEvents.run(Date.now() - EVENTS_KEPT_MS));
    }
  }

  private renew(): void {
    if (this.opened === undefined || (this.running.size === 0 && this.synchronous.size === 0)) return;
    const statements = this.opened.statements;
    statements.renew.run(Date.now() + this.leaseMs, this.owner);
    if (this.running.size === 0) return;
    const held = new Map(statements.mine.all(this.owner).map((row) => [row.id, row]));
    for (const [jobId, running] of this.running) {
      if (running.controller.signal.aborted) continue;
      const row = held.get(jobId);
      if (row === undefined || row.attempts !== running.attempt) {
        // Another process took the job back (this one stalled past its lease): stop; the outcome is no longer this run's.
        running.controller.abort(HAND_BACK);
      } else if (row.cancel !== null) {
        const { code, message } = JSON.parse(row.cancel) as SnapshotErrorJSON;
        running.controller.abort(new SnapshotError(code, message));
      }
    }
  }

  /**
   * Jobs held by others whose lease ran out, or whose process on this host
   * is gone: an asynchronous one is queued again in its old place (its seq),
   * a synchronous one fails (nobody waits for it any more), a cancelled one
   * ends with its cancel.
   */
  private takeBack(): void {
    if (this.opened === undefined) return;
    const statements = this.opened.statements;
    const now = Date.now();
    const alive = new Map<string, boolean>();
    for (const row of statements.others.all(this.owner)) {
      if (row.lease_until >= now) {
        let isAlive = alive.get(row.owner);
        if (isAlive === undefined) alive.set(row.owner, (isAlive = this.ownerAlive(row.owner)));
        if (isAlive) continue;
      }
      debug('job %s: taken back from %s (attempt %d)', row.id, row.owner, row.attempts);
      if (row.asynchronous === 1 && row.cancel === null) {
        statements.requeue.run(row.id, row.owner, row.attempts);
        continue;
      }
      const reason =
        row.cancel !== null
          ? SnapshotError.fromJSON(JSON.parse(row.cancel) as SnapshotErrorJSON)
          : new SnapshotError(ErrorCodes.InternalError, DEAD_SYNCHRONOUS);
      this.finishJob(failedJob(JSON.parse(row.job) as SnapshotJob, reason), row.attempts, true);
    }
  }

  /** Whether the owner's process may still run: on another host (or this process) only its lease tells. */
  private ownerAlive(owner: string): boolean {
    const parts = owner.split(':');
    const pid = Number(parts.at(-2));
    if (parts.slice(0, -2).join(':') !== this.host || !Number.isInteger(pid) || pid === process.pid) return true;
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code !== 'ESRCH';
    }
  }

  /** A timer's or a handler's step: a failure (a database busy past its timeout) is logged and tried again later. */
  private guarded(what: string, step: () => void): void {
    try {
      step();
    } catch (error) {
      debug('sqlite store %s: %s failed: %s', this.path, what, reasonOf(error));
    }
  }
}

/** Creates what is missing; returns the default pipeline's id, made once and kept. */
function createSchema(db: Database, path: string): string {
  return db
    .transaction(() => {
      db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      const meta = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
      const version = meta.get('schemaVersion')?.value;
      if (version !== undefined && version !== String(SCHEMA_VERSION)) {
        throw new SnapshotError(
          ErrorCodes.InvalidParameter,
          `the job database ${path} has schema version ${version}; this framesnap reads version ${SCHEMA_VERSION}`,
        );
      }
      db.exec(SCHEMA);
      const insert = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
      if (version === undefined) insert.run('schemaVersion', String(SCHEMA_VERSION));
      const id = meta.get('defaultPipelineId')?.value;
      if (id !== undefined) return id;
      const pipeline = newPipeline(DEFAULT_PIPELINE_NAME, undefined, newJobId());
      db.prepare('INSERT INTO pipelines (id, state, json) VALUES (?, ?, ?)').run(pipeline.Id, pipeline.State, JSON.stringify(pipeline));
      insert.run('defaultPipelineId', pipeline.Id);
      return pipeline.Id;
    })
    .immediate();
}
