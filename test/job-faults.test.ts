/**
 * Proof by fault (issue 11): `framesnap worker` processes SIGKILLed in the
 * middle of a job. With Redis: 300 jobs through 3 workers, one of them
 * killed twice mid-job and started again; every job ends Success exactly
 * once with the right Count, every image is there, no temporary file is
 * left. With SQLite: two workers; the one running a series is killed and
 * started again; the series runs again from the start (Attempts 2) and ends
 * whole. And a worker stopped with SIGTERM hands its job back for another.
 *
 * Which job a worker runs is read from its debug output (NODE_DEBUG=framesnap:
 * "job <id>: claimed (attempt n)"), so a kill lands while a job is in hand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createRequire } from 'node:module';

import { afterEach, describe, expect, it } from 'vitest';

import { SnapshotService, type SnapshotJob, type SubmitSnapshotJobRequest } from '../dist/index.js';
import { fixture } from './fixtures.js';
import { redisForFile } from './helpers/redis-server.js';
import { longClip } from './helpers/service-clips.js';
import { slowClip, SLOW_TIME_MS } from './helpers/slow-clip.js';
import { workspace, type Workspace } from './helpers/service-clips.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const IN = 'in-bucket';
const OUT = 'out-bucket';
const redis = redisForFile();

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A `framesnap worker` child, and what it says it is doing. */
class Worker {
  readonly child: ChildProcess;
  /** The job it claimed last and has not finished, if any. */
  current: string | undefined;
  private readonly claims: ((jobId: string) => void)[] = [];
  stderr = '';

  constructor(root: string, store: string[], concurrency = 1) {
    this.child = spawn(process.execPath, [CLI, 'worker', '--root', root, ...store, '--concurrency', String(concurrency), '--grace', '0'], {
      env: { ...process.env, NODE_DEBUG: 'framesnap' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let partial = '';
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const claimed = / job ([0-9a-f]{32}): claimed \(attempt \d+\)/.exec(line);
        if (claimed !== null) {
          this.current = claimed[1];
          for (const wake of this.claims.splice(0)) wake(claimed[1]!);
        }
        const ended = / job ([0-9a-f]{32}): (Success|Fail)/.exec(line);
        if (ended !== null && ended[1] === this.current) this.current = undefined;
      }
    });
    cleanups.push(() => this.kill('SIGKILL'));
  }

  /** Resolves with the id of the next job it claims. */
  nextClaim(): Promise<string> {
    return new Promise((resolve) => this.claims.push(resolve));
  }

  exited(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    await this.exited();
  }
}

/** Every file under a folder, as paths relative to it. */
function tree(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(folder, join(entry.parentPath, entry.name)))
    .sort();
}

/** A front service's 'job' events, counted by job id. */
function outcomes(service: SnapshotService): { byId: Map<string, SnapshotJob[]>; count: (n: number) => Promise<void> } {
  const byId = new Map<string, SnapshotJob[]>();
  let total = 0;
  const waiting: (() => void)[] = [];
  service.on('job', (job) => {
    byId.set(job.Id, [...(byId.get(job.Id) ?? []), job]);
    total += 1;
    for (const wake of waiting.splice(0)) wake();
  });
  const count = async (n: number): Promise<void> => {
    while (total < n) await new Promise<void>((resolve) => waiting.push(resolve));
  };
  return { byId, count };
}

async function frontOn(ws: Workspace, store: Record<string, unknown>): Promise<SnapshotService> {
  const front = new SnapshotService({ root: ws.root, workers: 0, maxQueue: 10_000, ...store });
  cleanups.push(() => front.close());
  await front.ready();
  return front;
}

describe('framesnap worker processes killed mid-job', () => {
  it('Redis: 300 jobs through 3 workers, one SIGKILLed twice mid-job: each job succeeds once, whole, nothing left over', async () => {
    const ws = workspace([IN, OUT]);
    cleanups.push(() => ws.remove());
    ws.put(IN, 'clip.mp4', await fixture('h264'));
    const store = ['--redis', redis().url, '--lock-duration', '2s'];
    // The workers use the default prefix; this file's server is its own.
    const front = await frontOn(ws, { redis: redis().url });
    const finished = outcomes(front);
    const request = (i: number): SubmitSnapshotJobRequest => ({
      Input: { Bucket: IN, Object: 'clip.mp4' },
      SnapshotConfig: {
        OutputFile: { Bucket: OUT, Object: `job-${i}/{Count}.jpg` },
        Time: '0',
        Interval: '1',
        Num: '3',
        FrameType: 'normal',
      },
    });
    const ids: string[] = [];
    for (let i = 0; i < 300; i += 1) ids.push((await front.submitSnapshotJob(request(i))).SnapshotJob.Id);
    const workers = [new Worker(ws.root, store), new Worker(ws.root, store), new Worker(ws.root, store)];
    const killed: string[] = [];
    for (const after of [40, 140]) {
      await finished.count(after);
      const victim = workers[0]!;
      const jobId = await victim.nextClaim();
      await victim.kill('SIGKILL');
      killed.push(jobId);
      workers[0] = new Worker(ws.root, store);
    }
    await finished.count(300);
    // Nothing more comes (a job finished twice would show here).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(finished.byId.size).toBe(300);
    for (const id of ids) {
      const events = finished.byId.get(id) ?? [];
      expect(events.map((job) => [job.State, job.Code, job.Count])).toEqual([['Success', '', '3']]);
    }
    for (const id of killed) expect(finished.byId.get(id)![0]!.Attempts).toBeGreaterThanOrEqual(2);
    const listed = [];
    for (let from = 0; from < ids.length; from += 10) {
      listed.push(...(await front.querySnapshotJobList({ SnapshotJobIds: ids.slice(from, from + 10) })).SnapshotJobList.SnapshotJob);
    }
    expect(listed.filter((job) => job.State !== 'Success' || job.Count !== '3')).toEqual([]);
    const expected = ids.flatMap((_, i) => [1, 2, 3].map((n) => join(`job-${i}`, `0000${n}.jpg`))).sort();
    expect(tree(ws.bucket(OUT))).toEqual(expected);
    for (const worker of workers) await worker.kill('SIGTERM');
  }, 240_000);

  it('SQLite: the worker running a series is SIGKILLed and started again; the series runs again whole (Attempts 2)', async () => {
    const ws = workspace([IN, OUT]);
    cleanups.push(() => ws.remove());
    ws.put(IN, 'long.mp4', await longClip());
    const database = join(ws.dir, 'jobs.db');
    const store = ['--database', database];
    const front = await frontOn(ws, { database, queue: { pollMs: 20 } });
    const finished = outcomes(front);
    const progress: number[] = [];
    const series = await front.submitSnapshotJob({
      Input: { Bucket: IN, Object: 'long.mp4' },
      SnapshotConfig: {
        OutputFile: { Bucket: OUT, Object: 'series/{Count}.jpg' },
        Time: '0',
        Interval: '5',
        Num: '30',
        FrameType: 'normal',
      },
    });
    const jobId = series.SnapshotJob.Id;
    front.on('progress', (event) => {
      if (event.JobId === jobId) progress.push(event.Done);
    });
    const first = new Worker(ws.root, store);
    const second = new Worker(ws.root, store);
    // Both wait for work; the one that claims the series is killed after its first images.
    const runner = await Promise.race([first.nextClaim().then(() => first), second.nextClaim().then(() => second)]);
    expect(runner.current).toBe(jobId);
    while (progress.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    await runner.kill('SIGKILL');
    const restarted = new Worker(ws.root, store);
    await finished.count(1);
    const [done] = finished.byId.get(jobId)!;
    expect(done).toMatchObject({ State: 'Success', Code: '', Count: '30', Percent: 100, Attempts: 2 });
    expect(tree(ws.bucket(OUT))).toEqual(Array.from({ length: 30 }, (_, i) => join('series', `${String(i + 1).padStart(5, '0')}.jpg`)));
    await Promise.all([first.kill('SIGTERM'), second.kill('SIGTERM'), restarted.kill('SIGTERM')]);
    expect(finished.byId.get(jobId)).toHaveLength(1);
  }, 120_000);

  it('SQLite: a worker stopped with SIGTERM hands its running job back; another worker runs it, and the first exits 0', async () => {
    const ws = workspace([IN, OUT]);
    cleanups.push(() => ws.remove());
    ws.put(IN, 'long.mp4', await longClip());
    const database = join(ws.dir, 'jobs.db');
    const front = await frontOn(ws, { database, queue: { pollMs: 20 } });
    const finished = outcomes(front);
    const series = await front.submitSnapshotJob({
      Input: { Bucket: IN, Object: 'long.mp4' },
      SnapshotConfig: {
        OutputFile: { Bucket: OUT, Object: 'series/{Count}.jpg' },
        Time: '0',
        Interval: '5',
        Num: '30',
        FrameType: 'normal',
      },
    });
    const first = new Worker(ws.root, ['--database', database]);
    expect(await first.nextClaim()).toBe(series.SnapshotJob.Id);
    first.child.kill('SIGTERM');
    expect(await first.exited()).toBe(0);
    expect(first.stderr).toContain('handing back the rest');
    const [handedBack] = (await front.querySnapshotJobList({ SnapshotJobIds: series.SnapshotJob.Id })).SnapshotJobList.SnapshotJob;
    expect(handedBack).toMatchObject({ State: 'Submitted', Count: '0' });
    const second = new Worker(ws.root, ['--database', database]);
    await finished.count(1);
    expect(finished.byId.get(series.SnapshotJob.Id)![0]).toMatchObject({ State: 'Success', Count: '30', Attempts: 2 });
    await second.kill('SIGTERM');
  }, 120_000);

  it('SQLite: a synchronous job whose process was SIGKILLed ends Fail, and its pipeline still gets the message', async () => {
    const ws = workspace([IN, OUT]);
    cleanups.push(() => ws.remove());
    ws.put(IN, 'slow.mp4', await slowClip());
    const database = join(ws.dir, 'jobs.db');
    const front = await frontOn(ws, { database, queue: { pollMs: 20 } });
    const { Pipeline: pipeline } = await front.addPipeline({ Name: 'told', NotifyConfig: { QueueName: 'dead-sync' } });
    // Another process runs a synchronous job: an exact frame deep in a 600-frame GOP takes seconds.
    const script = `
      import { SnapshotService } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const service = new SnapshotService({ root: ${JSON.stringify(ws.root)}, database: ${JSON.stringify(database)}, workers: 1, syncTimeoutMs: 120000 });
      service.submitSnapshotJob({ PipelineId: ${JSON.stringify(pipeline.Id)}, Input: { Bucket: '${IN}', Object: 'slow.mp4' },
        SnapshotConfig: { OutputFile: { Bucket: '${OUT}', Object: 'dead.jpg' }, Time: '${SLOW_TIME_MS}', FrameType: 'normal' } });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    cleanups.push(() => child.kill('SIGKILL'));
    let running: SnapshotJob | undefined;
    while (running === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      [running] = (await front.querySnapshotJobList({ State: 'Snapshoting' })).SnapshotJobList.SnapshotJob;
    }
    child.kill('SIGKILL');
    const ended = await front.waitForJob(running.Id);
    expect(ended).toMatchObject({
      State: 'Fail',
      Code: 'InternalError',
      Message: 'the process running the synchronous job stopped before it finished',
      Count: '0',
    });
    const message = await front.receiveMessage('dead-sync', { waitSeconds: 30 });
    expect(JSON.parse(message!.MessageBody)).toMatchObject({ JobId: running.Id, State: 'Fail', Code: 'InternalError' });
    expect(await front.receiveMessage('dead-sync', { waitSeconds: 0 })).toBeNull();
  }, 60_000);

  it('SQLite: a waitForJob whose finished event this instance missed is answered from the store', async () => {
    const ws = workspace([IN, OUT]);
    cleanups.push(() => ws.remove());
    ws.put(IN, 'clip.mp4', await fixture('h264'));
    const database = join(ws.dir, 'jobs.db');
    // This instance reads events once a minute: it misses the ones deleted before then.
    const front = await frontOn(ws, { database, queue: { pollMs: 60_000 } });
    const runner = await frontOn(ws, { database, workers: 1, queue: { pollMs: 20 } });
    const answer = await front.submitSnapshotJob({
      Input: { Bucket: IN, Object: 'clip.mp4' },
      SnapshotConfig: { OutputFile: { Bucket: OUT, Object: '{Count}.jpg' }, Time: '0', Num: '2', FrameType: 'intra' },
    });
    const waiting = front.waitForJob(answer.SnapshotJob.Id);
    const done = await runner.waitForJob(answer.SnapshotJob.Id);
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => {
      exec(sql: string): void;
      close(): void;
    };
    const raw = new Database(database);
    raw.exec('DELETE FROM events');
    raw.close();
    expect(await waiting).toEqual(done);
  }, 60_000);

  it("SQLite: a claimed job's lease outlasts the synchronous deadline (a blocking call stops the timer that renews it)", async () => {
    const ws = workspace([IN, OUT]);
    cleanups.push(() => ws.remove());
    ws.put(IN, 'long.mp4', await longClip());
    const database = join(ws.dir, 'jobs.db');
    const service = await frontOn(ws, { database, workers: 1, syncTimeoutMs: 120_000, queue: { pollMs: 20, lockDurationMs: 5_000 } });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    service.on('progress', () => started());
    const answer = await service.submitSnapshotJob({
      Input: { Bucket: IN, Object: 'long.mp4' },
      SnapshotConfig: {
        OutputFile: { Bucket: OUT, Object: 'lease/{Count}.jpg' },
        Time: '0',
        Interval: '5',
        Num: '30',
        FrameType: 'normal',
      },
    });
    await running;
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => {
      prepare(sql: string): { get(id: string): { lease_until: number } };
      close(): void;
    };
    const raw = new Database(database);
    const { lease_until: leaseUntil } = raw.prepare('SELECT lease_until FROM jobs WHERE id = ?').get(answer.SnapshotJob.Id);
    raw.close();
    // queue.lockDurationMs asked for 5 s; the deadline (120 s) plus 10 s wins.
    expect(leaseUntil - Date.now()).toBeGreaterThan(120_000);
    expect(leaseUntil - Date.now()).toBeLessThanOrEqual(130_000);
    await service.cancelSnapshotJob(answer.SnapshotJob.Id);
  }, 60_000);
});
