/**
 * The SQLite job back end (stores/sqlite.ts) on real files: its schema and
 * default pipeline, the queue's order and pauses, Throttling, first outcome
 * wins, cancels (queued, running here, running in another process), jobs
 * taken back from a process that died, two processes claiming the same
 * queue, events across processes, query pages (the memory store's answers),
 * and the hand-back of stopConsuming.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, test } from 'vitest';

import { ErrorCodes, SnapshotError } from '../src/core/errors.js';
import { HAND_BACK, type ClaimedJob, type JobBackend } from '../src/service/stores/backend.js';
import { MemoryBackend } from '../src/service/stores/memory.js';
import type { JobQuery } from '../src/service/stores/query.js';
import { failedJob, newJobId, newPipeline } from '../src/service/stores/records.js';
import { SqliteBackend, type SqliteBackendOptions } from '../src/service/stores/sqlite.js';
import type { SnapshotJob } from '../src/service/types.js';

const CHILD = fileURLToPath(new URL('./helpers/sqlite-child.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist', import.meta.url));
const CANCELED = new SnapshotError(ErrorCodes.Canceled, 'the job was cancelled');
const STOPPED = new SnapshotError(ErrorCodes.Aborted, 'the service is closing');
const DEAD_SYNCHRONOUS = 'the process running the synchronous job stopped before it finished';

let folder: string;
const opened: SqliteBackend[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const backend of opened.splice(0)) await backend.close();
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
});

function databasePath(): string {
  folder = mkdtempSync(join(tmpdir(), 'framesnap-sqlite-'));
  return join(folder, 'jobs.db');
}

async function openStore(
  path: string,
  options: Partial<SqliteBackendOptions> = {},
): Promise<{ store: SqliteBackend; defaultPipelineId: string }> {
  const store = new SqliteBackend({ path, maxHistory: 10_000, pollMs: 20, ...options });
  opened.push(store);
  const { defaultPipelineId } = await store.open();
  return { store, defaultPipelineId };
}

function newJob(pipelineId: string, creationTime = '2026-01-01T00:00:00Z', id = newJobId()): SnapshotJob {
  return {
    Id: id,
    State: 'Submitted',
    Code: '',
    Message: '',
    Count: '0',
    CreationTime: creationTime,
    PipelineId: pipelineId,
    Input: { Bucket: 'in', Object: 'clip.mp4' },
    SnapshotConfig: { OutputFile: { Bucket: 'out', Object: '{Count}.jpg' }, Time: 0, Num: 2 },
  };
}

async function queue(store: JobBackend, pipelineId: string, count: number, maxQueue = 1000): Promise<SnapshotJob[]> {
  const jobs: SnapshotJob[] = [];
  for (let i = 0; i < count; i++) {
    const job = newJob(pipelineId);
    await store.add({ job, requestId: `REQUEST-${i}`, asynchronous: true }, maxQueue);
    jobs.push(job);
  }
  return jobs;
}

const success = (job: SnapshotJob): SnapshotJob => ({ ...job, State: 'Success', Count: '2' });

/** Waits (polling) until `condition` holds; fails after 20 s saying what it waited for. */
async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A consumer that finishes every job it claims with Success, recording the claims. */
function finishing(store: JobBackend): { claims: ClaimedJob[]; handler: (claimed: ClaimedJob) => Promise<void> } {
  const claims: ClaimedJob[] = [];
  return {
    claims,
    handler: async (claimed) => {
      claims.push(claimed);
      await store.finish(success(claimed.job), claimed.attempt);
    },
  };
}

/** A consumer whose jobs run until their signal is aborted. */
function holding(): { claims: ClaimedJob[]; handler: (claimed: ClaimedJob) => Promise<void> } {
  const claims: ClaimedJob[] = [];
  return {
    claims,
    handler: (claimed) => {
      claims.push(claimed);
      return new Promise((resolve) => claimed.signal.addEventListener('abort', () => resolve(), { once: true }));
    },
  };
}

interface Child {
  process: ChildProcess;
  lines: string[];
  line(prefix: string): Promise<string>;
  exited: Promise<void>;
}

function startChild(path: string, mode: string, jobId = ''): Child {
  const child = spawn(process.execPath, [CHILD, path, mode, jobId], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const lines: string[] = [];
  const waiting: { prefix: string; resolve: (line: string) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const wait of waiting.filter((wait) => line.startsWith(wait.prefix))) {
      waiting.splice(waiting.indexOf(wait), 1);
      wait.resolve(line);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    lines,
    exited,
    line: (prefix) => {
      const seen = lines.find((line) => line.startsWith(prefix));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiting.push({ prefix, resolve });
        void exited.then(() => reject(new Error(`the child (${mode}) exited before printing "${prefix}"`)));
      });
    },
  };
}

async function kill(child: Child): Promise<void> {
  child.process.kill('SIGKILL');
  await child.exited;
}

/** The database as another program sees it. */
function raw<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

describe('opening', () => {
  test('creates its schema in WAL mode with a schema version and a default pipeline', async () => {
    const path = databasePath();
    const { defaultPipelineId } = await openStore(path);
    expect(defaultPipelineId).toMatch(/^[0-9a-f]{32}$/);
    raw(path, (db) => {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all();
      expect(tables).toEqual([{ name: 'events' }, { name: 'jobs' }, { name: 'messages' }, { name: 'meta' }, { name: 'pipelines' }]);
      expect(db.prepare('SELECT key, value FROM meta ORDER BY key').all()).toEqual([
        { key: 'defaultPipelineId', value: defaultPipelineId },
        { key: 'schemaVersion', value: '1' },
      ]);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.prepare('SELECT id, state, json FROM pipelines').all()).toEqual([
        {
          id: defaultPipelineId,
          state: 'Active',
          json: JSON.stringify({ Id: defaultPipelineId, Name: 'default', State: 'Active', Speed: 'Standard', NotifyConfig: {} }),
        },
      ]);
    });
  });

  test('keeps the default pipeline id across close and reopen, and shares it with another instance', async () => {
    const path = databasePath();
    const first = await openStore(path);
    const other = await openStore(path);
    expect(other.defaultPipelineId).toBe(first.defaultPipelineId);
    await first.store.close();
    await other.store.close();
    const again = await openStore(path);
    expect(again.defaultPipelineId).toBe(first.defaultPipelineId);
    expect(again.store.sync.open()).toEqual({ defaultPipelineId: first.defaultPipelineId });
    expect(again.store.sync.pipeline(first.defaultPipelineId)?.Name).toBe('default');
  });

  test('refuses a file that is not a database, a missing folder and a newer schema, naming the path', async () => {
    const path = databasePath();
    writeFileSync(path, 'these are notes, not a database\n'.repeat(200));
    const store = new SqliteBackend({ path, maxHistory: 10 });
    opened.push(store);
    await expect(store.open()).rejects.toMatchObject({
      name: 'SnapshotError',
      code: ErrorCodes.InvalidParameter,
      message: `cannot open the job database ${path}: file is not a database`,
    });
    // Safe after a failed open.
    await store.close();

    const nowhere = join(folder, 'missing', 'jobs.db');
    await expect(new SqliteBackend({ path: nowhere, maxHistory: 10 }).open()).rejects.toMatchObject({
      code: ErrorCodes.InvalidParameter,
      message: `cannot open the job database ${nowhere}: Cannot open database because the directory does not exist`,
    });

    const newer = join(folder, 'newer.db');
    const db = new Database(newer);
    db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('schemaVersion', '2')");
    db.close();
    await expect(new SqliteBackend({ path: newer, maxHistory: 10 }).open()).rejects.toMatchObject({
      code: ErrorCodes.InvalidParameter,
      message: `the job database ${newer} has schema version 2; this framesnap reads version 1`,
    });
  });

  test('without better-sqlite3 installed, constructing one says which package to install', async () => {
    const path = databasePath();
    // The built store in a folder with no node_modules above it.
    for (const layer of ['core', 'service']) cpSync(join(DIST, layer), join(folder, 'dist', layer), { recursive: true });
    writeFileSync(join(folder, 'package.json'), '{"type":"module"}');
    const script = `
      const { SqliteBackend } = await import(${JSON.stringify(join(folder, 'dist/service/stores/sqlite.js'))});
      try { new SqliteBackend({ path: ${JSON.stringify(path)}, maxHistory: 10 }); } catch (error) {
        console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message }));
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: folder, env: { ...process.env, NODE_PATH: '' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    expect(JSON.parse(output)).toEqual({
      name: 'SnapshotError',
      code: 'InvalidParameter',
      message: 'the database option needs the better-sqlite3 package (npm install better-sqlite3@12)',
    });
  });
});

describe('the queue', () => {
  test('consumers claim jobs in submission order; a claim is Snapshoting, attempt 1', async () => {
    const { store, defaultPipelineId } = await openStore(databasePath());
    const jobs = await queue(store, defaultPipelineId, 3);
    const consumer = finishing(store);
    store.consume(1, consumer.handler);
    await until('three claims', () => consumer.claims.length === 3);
    expect(consumer.claims.map((claim) => claim.job.Id)).toEqual(jobs.map((job) => job.Id));
    expect(consumer.claims[0]).toMatchObject({ job: { ...jobs[0], State: 'Snapshoting' }, requestId: 'REQUEST-0', attempt: 1 });
    expect(consumer.claims[0]!.job.Attempts).toBeUndefined();
    await until('all finished', async () => (await store.get(jobs[2]!.Id))?.State === 'Success');
    expect(await store.get(jobs[0]!.Id)).toEqual(success(jobs[0]!));
    await store.stopConsuming(0, STOPPED, STOPPED);
  });

  test("progress counts only for the job's current attempt; a stale one changes nothing and tells nobody", async () => {
    const { store, defaultPipelineId } = await openStore(databasePath());
    const [job] = await queue(store, defaultPipelineId, 1);
    const told: number[] = [];
    store.on('progress', (progress) => told.push(progress.Done));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const claims: ClaimedJob[] = [];
    store.consume(1, async (claimed) => {
      claims.push(claimed);
      await held;
      await store.finish(success(claimed.job), claimed.attempt);
    });
    await until('the claim', () => claims.length === 1);
    await store.progress({ JobId: job!.Id, Done: 2, Expected: 2, Percent: 100 }, claims[0]!.attempt + 1);
    expect(await store.get(job!.Id)).toMatchObject({ State: 'Snapshoting', Count: '0' });
    await store.progress({ JobId: job!.Id, Done: 1, Expected: 2, Percent: 50 }, claims[0]!.attempt);
    expect(await store.get(job!.Id)).toMatchObject({ State: 'Snapshoting', Count: '1', Percent: 50 });
    expect(told).toEqual([1]);
    release();
    await until('finished', async () => (await store.get(job!.Id))?.State === 'Success');
    await store.stopConsuming(0, STOPPED, STOPPED);
  });

  test('a paused pipeline is skipped; resumed, its jobs run in their order', async () => {
    const { store, defaultPipelineId } = await openStore(databasePath());
    const paused = { ...newPipeline('slow', undefined), State: 'Paused' as const };
    await store.addPipeline(paused);
    const [p1] = await queue(store, paused.Id, 1);
    const [d1] = await queue(store, defaultPipelineId, 1);
    const [p2] = await queue(store, paused.Id, 1);
    const [d2] = await queue(store, defaultPipelineId, 1);
    const consumer = finishing(store);
    store.consume(1, consumer.handler);
    await until('the default pipeline’s jobs', () => consumer.claims.length === 2);
    expect(consumer.claims.map((claim) => claim.job.Id)).toEqual([d1!.Id, d2!.Id]);
    expect((await store.get(p1!.Id))?.State).toBe('Submitted');

    const resumed = await store.updatePipeline(paused.Id, (pipeline) => ({ ...pipeline, State: 'Active' }));
    expect(resumed).toEqual({ ...paused, State: 'Active' });
    expect(await store.pipelines([paused.Id, 'nope', defaultPipelineId])).toEqual([
      { ...paused, State: 'Active' },
      { Id: defaultPipelineId, Name: 'default', State: 'Active', Speed: 'Standard', NotifyConfig: {} },
    ]);
    await until('the resumed pipeline’s jobs', () => consumer.claims.length === 4);
    expect(consumer.claims.map((claim) => claim.job.Id)).toEqual([d1!.Id, d2!.Id, p1!.Id, p2!.Id]);
    expect(await store.updatePipeline('nope', (pipeline) => pipeline)).toBeUndefined();
    await store.stopConsuming(0, STOPPED, STOPPED);
  });

  test('refuses with Throttling when maxQueue asynchronous jobs wait; synchronous jobs are not counted', async () => {
    const { store, defaultPipelineId } = await openStore(databasePath());
    await queue(store, defaultPipelineId, 2, 2);
    const refused = { code: ErrorCodes.Throttling, message: 'the job queue is full (2 jobs waiting); retry later' };
    await expect(store.add({ job: newJob(defaultPipelineId), requestId: 'R', asynchronous: true }, 2)).rejects.toMatchObject(refused);
    expect(() => store.sync.add({ job: newJob(defaultPipelineId), requestId: 'R', asynchronous: true }, 2)).toThrow(
      expect.objectContaining(refused),
    );
    const synchronous = newJob(defaultPipelineId);
    store.sync.add({ job: synchronous, requestId: 'R', asynchronous: false }, 2);
    expect(await store.get(synchronous.Id)).toEqual(synchronous);
    expect(await store.requestIdOf(synchronous.Id)).toBe('R');
    expect(await store.requestIdOf('nope')).toBeUndefined();
  });

  test('keeps at most maxHistory jobs, dropping the oldest finished ones first', async () => {
    const { store, defaultPipelineId } = await openStore(databasePath(), { maxHistory: 3 });
    const [a, b, c] = [newJob(defaultPipelineId), newJob(defaultPipelineId), newJob(defaultPipelineId)];
    for (const job of [a!, b!, c!]) await store.add({ job, requestId: 'R', asynchronous: false }, 10);
    await store.finish(success(b!), 1);
    await store.finish(success(c!), 1);
    const d = newJob(defaultPipelineId);
    await store.add({ job: d, requestId: 'R', asynchronous: false }, 10);
    // a is older but not finished: b goes.
    expect(await store.get(b!.Id)).toBeUndefined();
    expect((await store.query({ kind: 'ids', ids: [a!.Id, b!.Id, c!.Id, d.Id] })).NonExistSnapshotJobIds.String).toEqual([b!.Id]);
  });
});

describe('outcomes', () => {
  test('the first outcome wins; finished is emitted once', async () => {
    const { store, defaultPipelineId } = await openStore(databasePath());
    const job = newJob(defaultPipelineId);
    const finished: SnapshotJob[] = [];
    store.on('finished', (done) => finished.push(done));
    await store.add({ job, requestId: 'R', asynchronous: false }, 10);
    await store.start(job.Id);
    expect(await store.get(job.Id)).toEqual({ ...job, State: 'Snapshoting' });
    expect(await store.finish(success({ ...job, State: 'Snapshoting' }), 1)).toBe(true);
    expect(await store.finish(failedJob(job, CANCELED), 1)).toBe(false);
    expect(await store.get(job.Id)).toEqual(success(job));
    expect(finished).toEqual([success(job)]);
  });

  test('a stale attempt is refused after the job was taken back and claimed again', async () => {
    const path = databasePath();
    const first = await openStore(path, { leaseMs: 300 });
    const [job] = await queue(first.store, first.defaultPipelineId, 1);
    const stalled = holding();
    first.store.consume(1, stalled.handler);
    await until('the first claim', () => stalled.claims.length === 1);
    // Its process goes on, but its store stops renewing: the lease runs out.
    await first.store.close();

    const second = await openStore(path, { leaseMs: 300 });
    const consumer = holding();
    second.store.consume(1, consumer.handler);
    await until('the second claim', () => consumer.claims.length === 1);
    expect(consumer.claims[0]).toMatchObject({ attempt: 2, job: { ...job, State: 'Snapshoting', Attempts: 2 } });
    expect(await second.store.get(job!.Id)).toEqual({ ...job, State: 'Snapshoting', Attempts: 2 });
    expect(await second.store.finish(success(stalled.claims[0]!.job), 1)).toBe(false);
    expect(await second.store.finish(success(consumer.claims[0]!.job), 2)).toBe(true);
    expect(await second.store.get(job!.Id)).toEqual({ ...success(job!), Attempts: 2 });
    await second.store.stopConsuming(0, STOPPED, STOPPED);
  });
});

describe('cancelling', () => {
  test('a queued job ends Fail with the reason and never starts', async () => {
    const { store, defaultPipelineId } = await openStore(databasePath());
    const [job] = await queue(store, defaultPipelineId, 1);
    const finished: SnapshotJob[] = [];
    store.on('finished', (done) => finished.push(done));
    const failed = { ...job!, State: 'Fail', Code: 'Canceled', Message: 'the job was cancelled', Count: '0' };
    expect(await store.cancel(job!.Id, CANCELED)).toEqual({ kind: 'cancelled', job: failed });
    expect(await store.get(job!.Id)).toEqual(failed);
    expect(finished).toEqual([failed]);
    expect(await store.cancel(job!.Id, CANCELED)).toEqual({ kind: 'final', job: failed });
    expect(await store.cancel('nope', CANCELED)).toEqual({ kind: 'missing' });
    const consumer = finishing(store);
    store.consume(1, consumer.handler);
    await queue(store, defaultPipelineId, 1);
    await until('the next job', () => consumer.claims.length === 1);
    expect(consumer.claims[0]!.job.Id).not.toBe(job!.Id);
    await store.stopConsuming(0, STOPPED, STOPPED);
  });

  test('a job running here has its signal aborted with the reason at once', async () => {
    const { store, defaultPipelineId } = await openStore(databasePath());
    const [job] = await queue(store, defaultPipelineId, 1);
    const consumer = holding();
    store.consume(1, consumer.handler);
    await until('the claim', () => consumer.claims.length === 1);
    expect(await store.cancel(job!.Id, CANCELED)).toEqual({ kind: 'running', job: { ...job, State: 'Snapshoting' } });
    const { signal, attempt } = consumer.claims[0]!;
    expect(signal.reason).toBe(CANCELED);
    await store.finish(failedJob(consumer.claims[0]!.job, signal.reason as SnapshotError), attempt);
    expect(await store.get(job!.Id)).toEqual({ ...job, State: 'Fail', Code: 'Canceled', Message: 'the job was cancelled', Count: '0' });
    await store.stopConsuming(0, STOPPED, STOPPED);
  });

  test('a job running in another process is stopped by its consumer there with the reason', async () => {
    const path = databasePath();
    const { store, defaultPipelineId } = await openStore(path);
    const [job] = await queue(store, defaultPipelineId, 1);
    const finished: SnapshotJob[] = [];
    store.on('finished', (done) => finished.push(done));
    const child = startChild(path, 'cancel');
    await child.line('claimed');
    expect(await store.cancel(job!.Id, CANCELED)).toEqual({ kind: 'running', job: { ...job, State: 'Snapshoting' } });
    expect(await child.line('aborted')).toBe('aborted Canceled the job was cancelled');
    await child.line('finished');
    const failed = { ...job, State: 'Fail', Code: 'Canceled', Message: 'the job was cancelled', Count: '0' };
    expect(await store.get(job!.Id)).toEqual(failed);
    await until('the finished event from the other process', () => finished.length === 1);
    expect(finished).toEqual([failed]);
  });
});

describe('processes that die', () => {
  test('a job claimed by a process that was SIGKILLed runs again first, with Attempts 2', async () => {
    const path = databasePath();
    const { store, defaultPipelineId } = await openStore(path);
    const [first, second] = await queue(store, defaultPipelineId, 2);
    const child = startChild(path, 'hold');
    expect(await child.line('claimed')).toBe(`claimed ${first!.Id} 1`);
    await kill(child);
    const consumer = finishing(store);
    store.consume(1, consumer.handler);
    await until('both jobs', () => consumer.claims.length === 2);
    expect(consumer.claims.map((claim) => [claim.job.Id, claim.attempt, claim.job.Attempts])).toEqual([
      [first!.Id, 2, 2],
      [second!.Id, 1, undefined],
    ]);
    await until('both finished', async () => (await store.get(second!.Id))?.State === 'Success');
    expect(await store.get(first!.Id)).toEqual({ ...success(first!), Attempts: 2 });
    await store.stopConsuming(0, STOPPED, STOPPED);
  });

  test('a synchronous job of a process that died ends Fail with InternalError', async () => {
    const path = databasePath();
    const { store } = await openStore(path);
    const finished: SnapshotJob[] = [];
    store.on('finished', (done) => finished.push(done));
    const jobId = newJobId();
    const child = startChild(path, 'sync', jobId);
    await child.line('started');
    expect((await store.get(jobId))?.State).toBe('Snapshoting');
    await kill(child);
    await until('the job to fail', async () => (await store.get(jobId))?.State === 'Fail');
    expect(await store.get(jobId)).toMatchObject({ State: 'Fail', Code: ErrorCodes.InternalError, Message: DEAD_SYNCHRONOUS, Count: '0' });
    expect(finished).toEqual([await store.get(jobId)]);
  });
  test('a cancelled job of a process that died ends Fail with the cancel instead of running again', async () => {
    const path = databasePath();
    const { store, defaultPipelineId } = await openStore(path);
    const [job] = await queue(store, defaultPipelineId, 1);
    const child = startChild(path, 'hold');
    await child.line('claimed');
    expect((await store.cancel(job!.Id, CANCELED)).kind).toBe('running');
    await kill(child);
    const consumer = finishing(store);
    store.consume(1, consumer.handler);
    await until('the job to fail', async () => (await store.get(job!.Id))?.State === 'Fail');
    expect(await store.get(job!.Id)).toEqual({ ...job, State: 'Fail', Code: 'Canceled', Message: 'the job was cancelled', Count: '0' });
    expect(consumer.claims).toEqual([]);
    await store.stopConsuming(0, STOPPED, STOPPED);
  });

  test('a synchronous job is not taken back on a short lease while its process lives (its wait blocks the timers)', async () => {
    const path = databasePath();
    const blocked = await openStore(path, { leaseMs: 90 });
    const job = newJob(blocked.defaultPipelineId);
    blocked.store.sync.add({ job, requestId: 'R', asynchronous: false }, 10);
    await blocked.store.start(job.Id);
    // No renewals from here on, as while submitSnapshotJobSync blocks.
    await blocked.store.close();
    const other = await openStore(path, { leaseMs: 90 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await other.store.get(job.Id))?.State).toBe('Snapshoting');
  });
});

describe('several processes', () => {
  test('two processes claiming 200 jobs at once claim each exactly once', async () => {
    const path = databasePath();
    const { store, defaultPipelineId } = await openStore(path);
    const workers = [startChild(path, 'drain'), startChild(path, 'drain')];
    await Promise.all(workers.map((worker) => worker.line('ready')));
    const jobs = await queue(store, defaultPipelineId, 200);
    const count = (state: string): number =>
      raw(path, (db) => db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM jobs WHERE state = ?').get(state)!.n);
    await until('200 successes', () => count('Success') === 200);
    for (const worker of workers) worker.process.stdin!.write('stop\n');
    await Promise.all(workers.map((worker) => worker.exited));
    const claimed = workers.flatMap((worker) => worker.lines.filter((line) => line.startsWith('claimed ')).map((line) => line.slice(8)));
    expect(claimed.length).toBe(200);
    expect(new Set(claimed)).toEqual(new Set(jobs.map((job) => job.Id)));
    expect(raw(path, (db) => db.prepare('SELECT DISTINCT attempts, owner FROM jobs').all())).toEqual([{ attempts: 1, owner: null }]);
  });

  test('progress, finished and notified from another process arrive as events', async () => {
    const path = databasePath();
    const { store, defaultPipelineId } = await openStore(path);
    const [job] = await queue(store, defaultPipelineId, 1);
    const events: unknown[] = [];
    store.on('progress', (progress) => events.push(['progress', progress]));
    store.on('finished', (done) => events.push(['finished', done]));
    store.on('notified', (jobId, result) => events.push(['notified', jobId, result]));
    const child = startChild(path, 'events');
    await child.line('done');
    await until('three events', () => events.length === 3);
    const done = { ...job, State: 'Success', Count: '1' };
    expect(events).toEqual([
      ['progress', { JobId: job!.Id, Done: 1, Expected: 2, Percent: 50 }],
      ['finished', done],
      ['notified', job!.Id, { MessageId: 'message-1' }],
    ]);
    expect(await store.get(job!.Id)).toEqual({ ...done, MNSMessageResult: { MessageId: 'message-1' } });
  });
});

describe('queries', () => {
  test('pages, tokens and filters answer as the memory store does', async () => {
    const { store } = await openStore(databasePath());
    const memory = new MemoryBackend(10_000);
    await memory.open();
    const red = newPipeline('red', undefined, 'a'.repeat(32));
    const blue = newPipeline('blue', undefined, 'b'.repeat(32));
    const jobs: SnapshotJob[] = [];
    for (const backend of [store, memory] as JobBackend[]) {
      await backend.addPipeline(red);
      await backend.addPipeline(blue);
      for (let i = 0; i < 25; i++) {
        const minute = String(i).padStart(2, '0');
        const job = newJob(i % 3 === 0 ? blue.Id : red.Id, `2026-01-01T10:${minute}:00Z`, i.toString(16).padStart(32, '0'));
        await backend.add({ job, requestId: 'R', asynchronous: false }, 10);
        if (i % 4 === 1) await backend.start(job.Id);
        if (i % 4 === 2) await backend.finish(success(job), 1);
        if (i % 4 === 3) await backend.finish(failedJob(job, CANCELED), 1);
        if (backend === store) jobs.push(job);
      }
    }
    const newestFirst = jobs.map((job) => job.Id).reverse();
    const first = await store.query({ kind: 'page', filter: {}, pageSize: 10 });
    expect(first.SnapshotJobList.SnapshotJob.map((job) => job.Id)).toEqual(newestFirst.slice(0, 10));
    expect(first.NextPageToken).toBe(newestFirst[10]);
    const last = await store.query({ kind: 'page', filter: {}, pageSize: 10, token: newestFirst[20]! });
    expect(last.SnapshotJobList.SnapshotJob.map((job) => job.Id)).toEqual(newestFirst.slice(20));
    expect(last.NextPageToken).toBeUndefined();

    const queries: JobQuery[] = [
      { kind: 'page', filter: {}, pageSize: 10 },
      { kind: 'page', filter: {}, pageSize: 10, token: newestFirst[10]! },
      { kind: 'page', filter: {}, pageSize: 100 },
      { kind: 'page', filter: { state: 'Success' }, pageSize: 2 },
      { kind: 'page', filter: { state: 'Snapshoting' }, pageSize: 10 },
      { kind: 'page', filter: { pipelineId: blue.Id }, pageSize: 3, token: jobs[15]!.Id },
      { kind: 'page', filter: { start: '2026-01-01T10:05:00Z', end: '2026-01-01T10:12:00Z' }, pageSize: 5 },
      { kind: 'page', filter: { state: 'Fail', pipelineId: red.Id, end: '2026-01-01T10:20:00Z' }, pageSize: 10 },
      { kind: 'ids', ids: [jobs[3]!.Id, 'f'.repeat(32), jobs[0]!.Id] },
    ];
    for (const query of queries) expect(await store.query(query)).toEqual(await memory.query(query));
    const unknown = 'e'.repeat(32);
    const refusal = await memory.query({ kind: 'page', filter: {}, pageSize: 10, token: unknown }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(SnapshotError);
    await expect(store.query({ kind: 'page', filter: {}, pageSize: 10, token: unknown })).rejects.toEqual(refusal);
  });
});

describe('stopping', () => {
  test('stopConsuming hands running jobs back to the queue in their place; queued jobs stay', async () => {
    const path = databasePath();
    const { store, defaultPipelineId } = await openStore(path);
    const jobs = await queue(store, defaultPipelineId, 3);
    const consumer = holding();
    store.consume(2, consumer.handler);
    await until('two claims', () => consumer.claims.length === 2);
    await store.stopConsuming(10, STOPPED, STOPPED);
    expect(consumer.claims.map((claim) => claim.signal.reason)).toEqual([HAND_BACK, HAND_BACK]);
    expect(raw(path, (db) => db.prepare('SELECT id, state, attempts, owner, lease_until FROM jobs ORDER BY seq').all())).toEqual([
      { id: jobs[0]!.Id, state: 'Submitted', attempts: 1, owner: null, lease_until: null },
      { id: jobs[1]!.Id, state: 'Submitted', attempts: 1, owner: null, lease_until: null },
      { id: jobs[2]!.Id, state: 'Submitted', attempts: 0, owner: null, lease_until: null },
    ]);
    expect(await store.get(jobs[0]!.Id)).toEqual(jobs[0]);

    const next = finishing(store);
    store.consume(3, next.handler);
    await until('three claims', () => next.claims.length === 3);
    expect(next.claims.map((claim) => [claim.job.Id, claim.attempt])).toEqual([
      [jobs[0]!.Id, 2],
      [jobs[1]!.Id, 2],
      [jobs[2]!.Id, 1],
    ]);
    await store.stopConsuming(0, STOPPED, STOPPED);
  });

  test('stopConsuming lets a handler that finishes within the grace keep its outcome', async () => {
    const { store, defaultPipelineId } = await openStore(databasePath());
    const [job] = await queue(store, defaultPipelineId, 1);
    let claimed: ClaimedJob | undefined;
    store.consume(1, async (claim) => {
      claimed = claim;
      await new Promise((resolve) => setTimeout(resolve, 50));
      await store.finish(success(claim.job), claim.attempt);
    });
    await until('the claim', () => claimed !== undefined);
    await store.stopConsuming(10_000, STOPPED, STOPPED);
    expect(claimed!.signal.aborted).toBe(false);
    expect(await store.get(job!.Id)).toEqual(success(job!));
  });
});
