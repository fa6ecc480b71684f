/**
 * The job API's contract on each of its three stores (issue 11): memory,
 * SQLite (`database`) and Redis through BullMQ (`redis`, on a redis-server
 * this file starts). The same tests, the same exact answers: states and
 * their order, progress, ordering within a pipeline, pause and resume,
 * filtered and paged queries with stable NextPageTokens, one notification
 * per finished job, cancelling, Throttling; and, for the durable stores,
 * what survives close() and a new service on the same store.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { SnapshotService, type SnapshotJob, type SnapshotServiceOptions, type SubmitSnapshotJobRequest } from '../dist/index.js';
import { fixture } from './fixtures.js';
import { redisForFile } from './helpers/redis-server.js';
import { longClip, workspace, type Workspace } from './helpers/service-clips.js';

const IN = 'in-bucket';
const OUT = 'out-bucket';
const redis = redisForFile();

type StoreKind = 'memory' | 'sqlite' | 'redis';
const STORES: StoreKind[] = ['memory', 'sqlite', 'redis'];

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let prefixes = 0;

interface Setup {
  ws: Workspace;
  service: SnapshotService;
  /** Options of the store, for another service on the same one. */
  store: Partial<SnapshotServiceOptions>;
  open: (options?: Partial<SnapshotServiceOptions>) => Promise<SnapshotService>;
}

async function setup(kind: StoreKind, options: Partial<SnapshotServiceOptions> = {}): Promise<Setup> {
  const ws = workspace([IN, OUT]);
  cleanups.push(() => ws.remove());
  ws.put(IN, 'clip.mp4', await fixture('h264'));
  prefixes += 1;
  const store: Partial<SnapshotServiceOptions> =
    kind === 'sqlite'
      ? { database: join(ws.dir, 'jobs.db'), queue: { pollMs: 20 } }
      : kind === 'redis'
        ? { redis: redis().url, queue: { prefix: `contract-${process.pid}-${prefixes}` } }
        : {};
  const open = async (more: Partial<SnapshotServiceOptions> = {}): Promise<SnapshotService> => {
    const service = new SnapshotService({ root: ws.root, workers: 1, ...store, ...options, ...more });
    cleanups.push(() => service.close());
    await service.ready();
    return service;
  };
  return { ws, service: await open(), store, open };
}

let outputs = 0;

/** A small intra series of `num` images 1 s apart (asynchronous), or one image (synchronous). */
function request(options: { num?: number; pipelineId?: string; userData?: string; sync?: boolean } = {}): SubmitSnapshotJobRequest {
  outputs += 1;
  const config = options.sync
    ? { OutputFile: { Bucket: OUT, Object: `sync-${outputs}.jpg` }, Time: '1000', FrameType: 'intra' as const }
    : {
        OutputFile: { Bucket: OUT, Object: `job-${outputs}/{Count}.jpg` },
        Time: '0',
        Interval: '1',
        Num: String(options.num ?? 2),
        FrameType: 'intra' as const,
      };
  return {
    Input: { Bucket: IN, Object: 'clip.mp4' },
    SnapshotConfig: config,
    ...(options.pipelineId === undefined ? {} : { PipelineId: options.pipelineId }),
    ...(options.userData === undefined ? {} : { UserData: options.userData }),
  };
}

/** The 'job' events of a service, in order, and a wait for n of them. */
function finishedJobs(service: SnapshotService): { jobs: SnapshotJob[]; count: (n: number) => Promise<SnapshotJob[]> } {
  const jobs: SnapshotJob[] = [];
  const waiting: (() => void)[] = [];
  service.on('job', (job) => {
    jobs.push(job);
    for (const wake of waiting.splice(0)) wake();
  });
  const count = async (n: number): Promise<SnapshotJob[]> => {
    while (jobs.length < n) await new Promise<void>((resolve) => waiting.push(resolve));
    return jobs.slice(0, n);
  };
  return { jobs, count };
}

function imagesIn(ws: Workspace, folder: string): string[] {
  const path = join(ws.bucket(OUT), folder);
  return existsSync(path) ? readdirSync(path).sort() : [];
}

describe.each(STORES)('the job API on the %s store', (kind) => {
  it('runs a synchronous job and keeps its record as answered', async () => {
    const { service } = await setup(kind);
    const answer = await service.submitSnapshotJob(request({ sync: true, userData: 'u1' }));
    expect(answer.SnapshotJob).toMatchObject({ State: 'Success', Code: '', Message: '', Count: '1', UserData: 'u1' });
    expect(answer.SnapshotJob.PipelineId).toBe(service.defaultPipelineId);
    const listed = await service.querySnapshotJobList({ SnapshotJobIds: answer.SnapshotJob.Id });
    expect(listed.SnapshotJobList.SnapshotJob).toEqual([answer.SnapshotJob]);
    expect(listed.NonExistSnapshotJobIds.String).toEqual([]);
  });

  it('queues an asynchronous job, reports its progress, and finishes it once', async () => {
    const { ws, service } = await setup(kind);
    const finished = finishedJobs(service);
    const progress: number[] = [];
    service.on('progress', (event) => progress.push(event.Done));
    const answer = await service.submitSnapshotJob(request({ num: 3 }));
    expect(answer.SnapshotJob).toMatchObject({ State: 'Submitted', Count: '0' });
    const done = await service.waitForJob(answer.SnapshotJob.Id);
    expect(done).toMatchObject({ Id: answer.SnapshotJob.Id, State: 'Success', Code: '', Count: '3', Percent: 100 });
    expect(done.Attempts).toBeUndefined();
    expect(progress).toEqual([1, 2, 3]);
    const [event] = await finished.count(1);
    expect(event).toEqual(done);
    expect(imagesIn(ws, `job-${outputs}`)).toEqual(['00001.jpg', '00002.jpg', '00003.jpg']);
    // Nothing more comes.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(finished.jobs).toHaveLength(1);
  });

  it('starts the jobs of a pipeline in submission order, holds them while it is paused, and resumes them in order', async () => {
    const { service } = await setup(kind);
    const finished = finishedJobs(service);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'ordered' });
    await service.updatePipeline({ PipelineId: pipeline.Id, State: 'Paused' });
    const held = [];
    for (let i = 0; i < 3; i += 1) held.push((await service.submitSnapshotJob(request({ pipelineId: pipeline.Id }))).SnapshotJob.Id);
    // A job of another pipeline runs meanwhile: the worker is free, the pipeline holds its jobs.
    const other = await service.submitSnapshotJob(request());
    await service.waitForJob(other.SnapshotJob.Id);
    const waiting = await service.querySnapshotJobList({ PipelineId: pipeline.Id, State: 'Submitted' });
    expect(waiting.SnapshotJobList.SnapshotJob.map((job) => job.Id)).toEqual([...held].reverse());
    const resumed = await service.updatePipeline({ PipelineId: pipeline.Id, State: 'Active' });
    expect(resumed.Pipeline.State).toBe('Active');
    const events = await finished.count(4);
    expect(events.map((job) => job.Id)).toEqual([other.SnapshotJob.Id, ...held]);
    expect(events.every((job) => job.State === 'Success')).toBe(true);
  });

  it('answers filtered queries newest first, in pages whose tokens stay valid while jobs arrive', async () => {
    const { service } = await setup(kind);
    const { Pipeline: other } = await service.addPipeline({ Name: 'other' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const pipelineId = i % 2 === 0 ? service.defaultPipelineId : other.Id;
      ids.push((await service.submitSnapshotJob(request({ sync: true, pipelineId }))).SnapshotJob.Id);
    }
    const first = await service.querySnapshotJobList({ MaximumPageSize: 2 });
    expect(first.SnapshotJobList.SnapshotJob.map((job) => job.Id)).toEqual([ids[4], ids[3]]);
    expect(first.NextPageToken).toBe(ids[2]);
    // A newer job does not move the next page.
    await service.submitSnapshotJob(request({ sync: true }));
    const second = await service.querySnapshotJobList({ MaximumPageSize: 2, NextPageToken: first.NextPageToken! });
    expect(second.SnapshotJobList.SnapshotJob.map((job) => job.Id)).toEqual([ids[2], ids[1]]);
    expect(second.NextPageToken).toBe(ids[0]);
    const last = await service.querySnapshotJobList({ MaximumPageSize: 2, NextPageToken: second.NextPageToken! });
    expect(last.SnapshotJobList.SnapshotJob.map((job) => job.Id)).toEqual([ids[0]]);
    expect(last.NextPageToken).toBeUndefined();
    const inOther = await service.querySnapshotJobList({ PipelineId: other.Id, State: 'Success' });
    expect(inOther.SnapshotJobList.SnapshotJob.map((job) => job.Id)).toEqual([ids[3], ids[1]]);
    const none = await service.querySnapshotJobList({ PipelineId: other.Id, State: 'Fail' });
    expect(none.SnapshotJobList.SnapshotJob).toEqual([]);
    const missing = 'f'.repeat(32);
    const byIds = await service.querySnapshotJobList({ SnapshotJobIds: `${ids[1]},${missing},${ids[0]}` });
    expect(byIds.SnapshotJobList.SnapshotJob.map((job) => job.Id)).toEqual([ids[1], ids[0]]);
    expect(byIds.NonExistSnapshotJobIds.String).toEqual([missing]);
    await expect(service.querySnapshotJobList({ NextPageToken: missing })).rejects.toMatchObject({
      code: 'InvalidParameter',
      message: `Expected a NextPageToken from a previous answer for NextPageToken but received "${missing}"`,
    });
  });

  it('sends one completion message per finished job and records its outcome', async () => {
    const { service } = await setup(kind);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'told', NotifyConfig: { QueueName: `done-${kind}` } });
    const notifications: string[] = [];
    service.on('notification', (event) => notifications.push(event.JobId));
    const ids = [];
    for (let i = 0; i < 3; i += 1)
      ids.push((await service.submitSnapshotJob(request({ pipelineId: pipeline.Id, userData: `n${i}` }))).SnapshotJob.Id);
    const bodies = [];
    for (let i = 0; i < 3; i += 1) {
      const message = await service.receiveMessage(`done-${kind}`, { waitSeconds: 30 });
      bodies.push(JSON.parse(message!.MessageBody) as { JobId: string; State: string; UserData: string });
    }
    expect(bodies.map((body) => [body.JobId, body.State, body.UserData])).toEqual(ids.map((id, i) => [id, 'Success', `n${i}`]));
    expect(await service.receiveMessage(`done-${kind}`, { waitSeconds: 0 })).toBeNull();
    while (notifications.length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    expect([...notifications].sort()).toEqual([...ids].sort());
    const listed = await service.querySnapshotJobList({ SnapshotJobIds: ids });
    expect(listed.SnapshotJobList.SnapshotJob.map((job) => job.MNSMessageResult)).toEqual([
      { MessageId: expect.stringMatching(/^[0-9A-F]{32}$/) as unknown },
      { MessageId: expect.stringMatching(/^[0-9A-F]{32}$/) as unknown },
      { MessageId: expect.stringMatching(/^[0-9A-F]{32}$/) as unknown },
    ]);
  });

  it('cancels a queued job: it ends Fail with code Canceled and never starts', async () => {
    const { ws, service } = await setup(kind);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'held' });
    await service.updatePipeline({ PipelineId: pipeline.Id, State: 'Paused' });
    const queued = await service.submitSnapshotJob(request({ pipelineId: pipeline.Id }));
    const folder = `job-${outputs}`;
    const cancelled = await service.cancelSnapshotJob(queued.SnapshotJob.Id);
    expect(cancelled).toMatchObject({ State: 'Fail', Code: 'Canceled', Message: 'the job was cancelled (cancelSnapshotJob)', Count: '0' });
    await service.updatePipeline({ PipelineId: pipeline.Id, State: 'Active' });
    const after = await service.submitSnapshotJob(request({ pipelineId: pipeline.Id }));
    await service.waitForJob(after.SnapshotJob.Id);
    expect(imagesIn(ws, folder)).toEqual([]);
    expect(await service.waitForJob(queued.SnapshotJob.Id)).toEqual(cancelled);
    // A finished job is returned as it is.
    expect(await service.cancelSnapshotJob(queued.SnapshotJob.Id)).toEqual(cancelled);
    const missing = '0'.repeat(32);
    await expect(service.cancelSnapshotJob(missing)).rejects.toMatchObject({
      code: 'InvalidParameter.ResourceNotFound',
      message: `the job ${missing} does not exist`,
    });
  });

  it('refuses an asynchronous job with Throttling when maxQueue jobs wait', async () => {
    const { service } = await setup(kind, { maxQueue: 1 });
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'full' });
    await service.updatePipeline({ PipelineId: pipeline.Id, State: 'Paused' });
    await service.submitSnapshotJob(request({ pipelineId: pipeline.Id }));
    await expect(service.submitSnapshotJob(request({ pipelineId: pipeline.Id }))).rejects.toMatchObject({
      code: 'Throttling',
      message: 'the job queue is full (1 jobs waiting); retry later',
    });
  });
});

describe('choosing a store', () => {
  it('refuses bad store options, whatever the store', () => {
    const root = '/nonexistent-root';
    const refusal = (options: Record<string, unknown>): unknown => {
      try {
        new SnapshotService({ root, ...options } as SnapshotServiceOptions);
      } catch (error) {
        return { code: (error as { code: string }).code, message: (error as Error).message };
      }
      return 'accepted';
    };
    expect(refusal({ queue: { pollMs: 'x' } })).toEqual({
      code: 'InvalidParameter',
      message: 'Expected an integer between 5 and 60000 for queue.pollMs but received "x"',
    });
    expect(refusal({ queue: { bogus: 1 } })).toEqual({
      code: 'InvalidParameter',
      message: 'Unknown option "bogus" for queue: expected one of lockDurationMs, pollMs, prefix',
    });
    expect(refusal({ database: 'a.db', redis: 'redis://127.0.0.1:1' })).toEqual({
      code: 'InvalidParameter',
      message: 'give either database or redis, not both',
    });
    expect(refusal({ database: 123 })).toEqual({ code: 'InvalidParameter', message: 'Expected a file path for database but received 123' });
    expect(refusal({ redis: 'http://x' })).toEqual({
      code: 'InvalidParameter',
      message: 'Expected a redis:// or rediss:// URL for redis but received "http://x"',
    });
  });
});

describe.each(['sqlite', 'redis'] as const)('what the %s store keeps across close() and a new service', (kind) => {
  it('keeps the default pipeline, paused pipelines, queued jobs and finished history; the queued jobs run after', async () => {
    const first = await setup(kind);
    const { service } = first;
    const defaultId = service.defaultPipelineId;
    const done = await service.submitSnapshotJob(request({ sync: true }));
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'kept', NotifyConfig: { QueueName: 'kept-queue' } });
    await service.updatePipeline({ PipelineId: pipeline.Id, State: 'Paused' });
    const queued = [];
    for (let i = 0; i < 2; i += 1) queued.push((await service.submitSnapshotJob(request({ pipelineId: pipeline.Id }))).SnapshotJob.Id);
    await service.close();
    await expect(service.waitForJob(queued[0]!)).rejects.toMatchObject({
      code: 'InternalError',
      message: 'the service is closed: its job store is disconnected',
    });

    const again = await first.open();
    expect(again.defaultPipelineId).toBe(defaultId);
    const pipelines = await again.queryPipelineList({ PipelineIds: [pipeline.Id] });
    expect(pipelines.PipelineList.Pipeline).toEqual([{ ...pipeline, State: 'Paused' }]);
    const history = await again.querySnapshotJobList({ SnapshotJobIds: [done.SnapshotJob.Id, ...queued] });
    expect(history.SnapshotJobList.SnapshotJob.map((job) => job.State)).toEqual(['Success', 'Submitted', 'Submitted']);
    expect(history.SnapshotJobList.SnapshotJob[0]).toEqual(done.SnapshotJob);
    const finished = finishedJobs(again);
    await again.updatePipeline({ PipelineId: pipeline.Id, State: 'Active' });
    const events = await finished.count(2);
    expect(events.map((job) => [job.Id, job.State, job.Count])).toEqual(queued.map((id) => [id, 'Success', '2']));
    expect(events.every((job) => job.Attempts === undefined)).toBe(true);
  });

  it('a service with workers: 0 submits and queries; another runs its jobs and both hear the outcome', async () => {
    const { open } = await setup(kind, { workers: 0 });
    const front = await open({ workers: 0 });
    const progress: number[] = [];
    front.on('progress', (event) => progress.push(event.Done));
    const answer = await front.submitSnapshotJob(request({ num: 3 }));
    const runner = await open({ workers: 1 });
    const [byFront, byRunner] = await Promise.all([front.waitForJob(answer.SnapshotJob.Id), runner.waitForJob(answer.SnapshotJob.Id)]);
    expect(byFront).toMatchObject({ State: 'Success', Count: '3', Percent: 100 });
    expect(byRunner).toEqual(byFront);
    expect(progress).toEqual([1, 2, 3]);
  });

  it('cancels a job running in another instance: it stops, ends Fail with code Canceled, and what it wrote is removed', async () => {
    const { ws, open } = await setup(kind, { workers: 0 });
    ws.put(IN, 'long.mp4', await longClip());
    const front = await open({ workers: 0 });
    const runner = await open({ workers: 1 });
    let started!: () => void;
    const firstImage = new Promise<void>((resolve) => (started = resolve));
    front.on('progress', () => started());
    const answer = await front.submitSnapshotJob({
      Input: { Bucket: IN, Object: 'long.mp4' },
      SnapshotConfig: { OutputFile: { Bucket: OUT, Object: 'long/{Count}.jpg' }, Time: '0', Interval: '2', Num: '90', FrameType: 'normal' },
    });
    await firstImage;
    const cancelled = await front.cancelSnapshotJob(answer.SnapshotJob.Id);
    expect(cancelled).toMatchObject({ State: 'Fail', Code: 'Canceled', Message: 'the job was cancelled (cancelSnapshotJob)', Count: '0' });
    expect(await runner.waitForJob(answer.SnapshotJob.Id)).toEqual(cancelled);
    expect(imagesIn(ws, 'long')).toEqual([]);
  });

  it('a completion message sent by the instance that ran the job is read once, by another instance', async () => {
    const { open } = await setup(kind, { workers: 0 });
    const front = await open({ workers: 0 });
    const { Pipeline: pipeline } = await front.addPipeline({ Name: 'told', NotifyConfig: { QueueName: 'shared-queue' } });
    const answer = await front.submitSnapshotJob(request({ pipelineId: pipeline.Id, userData: 'across' }));
    const runner = await open({ workers: 1 });
    const message = await front.receiveMessage('shared-queue', { waitSeconds: 30 });
    expect(JSON.parse(message!.MessageBody)).toEqual({
      JobId: answer.SnapshotJob.Id,
      RequestId: answer.RequestId,
      Type: 'Snapshot',
      State: 'Success',
      UserData: 'across',
    });
    expect(await runner.receiveMessage('shared-queue', { waitSeconds: 0 })).toBeNull();
    expect(await front.receiveMessage('shared-queue', { waitSeconds: 0 })).toBeNull();
    const [job] = (await front.querySnapshotJobList({ SnapshotJobIds: answer.SnapshotJob.Id })).SnapshotJobList.SnapshotJob;
    expect(job!.MNSMessageResult).toEqual({ MessageId: message!.MessageId });
  });
});
