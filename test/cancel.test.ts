/**
 * cancelSnapshotJob on the memory store: a queued job ends Fail/Canceled at
 * once and never starts; a running asynchronous series stops and what it
 * wrote goes; a synchronous job's caller is answered Canceled; a finished
 * job comes back unchanged; ids that name no job are refused.
 *
 * Layout: in-bucket/clip.mp4 (the 4 s h264 clip), in-bucket/long.mp4 (200 s,
 * a keyframe every 10 s), in-bucket/slow.mp4 (20 s of 1080p, one keyframe).
 */
import { describe, expect, test } from 'vitest';

import { ErrorCodes, SnapshotError, type SnapshotJob, type SnapshotService, type SubmitSnapshotJobRequest } from '../dist/index.js';
import { fixture } from './fixtures.js';
import { failureOf, files, JOB_ID, longClip, serviceTests, UPPER_UUID } from './helpers/service-clips.js';
import { slowClip, SLOW_TIME_MS } from './helpers/slow-clip.js';

const IN = 'in-bucket';
const OUT = 'out-bucket';
const CANCELED = { Code: 'Canceled', Message: 'the job was cancelled (cancelSnapshotJob)' };

const { setup } = serviceTests(
  async () => ({ 'clip.mp4': await fixture('h264'), 'long.mp4': await longClip(), 'slow.mp4': await slowClip() }),
  { workers: 1 },
);

const input = (object: string) => ({ Bucket: IN, Object: object });
const outputFile = (object: string) => ({ Bucket: OUT, Object: object });

/** A small intra series on clip.mp4 into `folder`/, from `time` ms (past the clip's 4 s end, it fails). */
const series = (folder: string, pipelineId?: string, time = 0): SubmitSnapshotJobRequest => ({
  Input: input('clip.mp4'),
  SnapshotConfig: { OutputFile: outputFile(`${folder}/{Count}.jpg`), Time: time, Interval: 1, Num: 2, FrameType: 'intra' },
  ...(pipelineId === undefined ? {} : { PipelineId: pipelineId }),
});

async function queried(service: SnapshotService, id: string): Promise<SnapshotJob> {
  const answer = await service.querySnapshotJobList({ SnapshotJobIds: id });
  expect(answer.NonExistSnapshotJobIds.String).toEqual([]);
  return answer.SnapshotJobList.SnapshotJob[0]!;
}

/** Polls the job's state until `state` (a bounded wait, not a measurement). */
async function untilState(service: SnapshotService, id: string, state: SnapshotJob['State']): Promise<void> {
  for (let tries = 0; tries < 2_000; tries++) {
    if ((await queried(service, id)).State === state) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`the job ${id} never became ${state}`);
}

describe('cancelSnapshotJob', () => {
  test('a queued job (paused pipeline) ends Fail/Canceled at once and never starts', async () => {
    const { service, out } = await setup();
    const jobs: SnapshotJob[] = [];
    service.on('job', (job) => jobs.push(job));
    const { Pipeline: held } = await service.addPipeline({ Name: 'held' });
    await service.updatePipeline({ PipelineId: held.Id, State: 'Paused' });
    const { SnapshotJob: queued } = await service.submitSnapshotJob(series('cancelled', held.Id));

    const cancelled = await service.cancelSnapshotJob(queued.Id);
    expect(cancelled).toStrictEqual({ ...queued, State: 'Fail', ...CANCELED, Count: '0' });
    expect(await queried(service, queued.Id)).toStrictEqual(cancelled);
    expect(await service.waitForJob(queued.Id)).toStrictEqual(cancelled);
    expect(jobs).toStrictEqual([cancelled]);

    // Resumed, the pipeline runs the job after it, and never the cancelled one.
    const { SnapshotJob: next } = await service.submitSnapshotJob(series('next', held.Id));
    await service.updatePipeline({ PipelineId: held.Id, State: 'Active' });
    expect(await service.waitForJob(next.Id)).toMatchObject({ State: 'Success', Count: '2' });
    await service.close();
    expect(files(out)).toEqual(['next/00001.jpg', 'next/00002.jpg']);
    expect(await queried(service, queued.Id)).toStrictEqual(cancelled);
    expect(jobs.map((job) => [job.Id, job.State])).toEqual([
      [queued.Id, 'Fail'],
      [next.Id, 'Success'],
    ]);
  });

  test('a running asynchronous series stops: Fail/Canceled, and no image or temporary file stays', async () => {
    const { service, out } = await setup();
    const jobs: SnapshotJob[] = [];
    service.on('job', (job) => jobs.push(job));
    // Exact frames 3 s apart over most of the long clip: far longer than a cancel takes.
    const { SnapshotJob: running } = await service.submitSnapshotJob({
      Input: input('long.mp4'),
      SnapshotConfig: { OutputFile: outputFile('long/{Count}.jpg'), Time: '1000', Interval: '3', Num: '50', FrameType: 'normal' },
    });
    // Cancelled once it has written its first image.
    const firstImage = new Promise<void>((resolve) => {
      service.on('progress', (progress) => {
        if (progress.JobId === running.Id) resolve();
      });
    });
    await firstImage;
    const cancelled = await service.cancelSnapshotJob(running.Id);
    expect(cancelled).toMatchObject({ Id: running.Id, State: 'Fail', ...CANCELED, Count: '0' });
    expect(await queried(service, running.Id)).toStrictEqual(cancelled);
    expect(jobs).toStrictEqual([cancelled]);
    // What it wrote is gone by the time the cancel is answered, temporary files included.
    expect(files(out)).toEqual([]);
    // The pool is free for the next job.
    const { SnapshotJob: next } = await service.submitSnapshotJob(series('next'));
    expect(await service.waitForJob(next.Id)).toMatchObject({ State: 'Success', Count: '2' });
    await service.close();
    expect(files(out)).toEqual(['next/00001.jpg', 'next/00002.jpg']);
  });

  test('a synchronous job run by submitSnapshotJob: its caller is answered with a rejection of code Canceled', async () => {
    const { service, out } = await setup({ syncTimeoutMs: 120_000 });
    const answer = service.submitSnapshotJob({
      Input: input('slow.mp4'),
      SnapshotConfig: { OutputFile: outputFile('slow.jpg'), Time: SLOW_TIME_MS, FrameType: 'normal' },
    });
    const failure = failureOf(() => answer);
    // Its id, once the job is listed and running.
    let id: string | undefined;
    for (let tries = 0; tries < 2_000 && id === undefined; tries++) {
      id = (await service.querySnapshotJobList({})).SnapshotJobList.SnapshotJob[0]?.Id;
      if (id === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(id).toMatch(JOB_ID);
    await untilState(service, id!, 'Snapshoting');

    const cancelled = await service.cancelSnapshotJob(id!);
    expect(cancelled).toMatchObject({ Id: id, State: 'Fail', ...CANCELED, Count: '0' });
    const error = await failure;
    expect(error).toBeInstanceOf(SnapshotError);
    expect({ code: error.code, message: error.message, jobId: error.jobId }).toEqual({
      code: ErrorCodes.Canceled,
      message: CANCELED.Message,
      jobId: id,
    });
    expect(error.requestId).toMatch(UPPER_UUID);
    expect(await queried(service, id!)).toStrictEqual(cancelled);
    await service.close();
    expect(files(out)).toEqual([]);
  });

  test("a cancelled job's pipeline is told, as of any job that ends: queued and running alike", async () => {
    const { service } = await setup();
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'told', NotifyConfig: { QueueName: 'cancelled' } });
    const message = (JobId: string, RequestId: string) => ({
      JobId,
      RequestId,
      Type: 'Snapshot',
      State: 'Fail',
      UserData: '',
      ...CANCELED,
    });
    // Running: a long series in the pipeline, cancelled after its first image.
    const firstImage = new Promise<string>((resolve) => service.once('progress', (progress) => resolve(progress.JobId)));
    const running = await service.submitSnapshotJob({
      Input: input('long.mp4'),
      SnapshotConfig: { OutputFile: outputFile('long/{Count}.jpg'), Time: '1000', Interval: '3', Num: '50', FrameType: 'normal' },
      PipelineId: pipeline.Id,
    });
    expect(await firstImage).toBe(running.SnapshotJob.Id);
    await service.cancelSnapshotJob(running.SnapshotJob.Id);
    const first = await service.receiveMessage('cancelled', { waitSeconds: 10 });
    expect(JSON.parse(first?.MessageBody ?? 'null')).toStrictEqual(message(running.SnapshotJob.Id, running.RequestId));

    // Queued: held behind a paused pipeline.
    await service.updatePipeline({ PipelineId: pipeline.Id, State: 'Paused' });
    const queued = await service.submitSnapshotJob(series('queued', pipeline.Id));
    await service.cancelSnapshotJob(queued.SnapshotJob.Id);
    const second = await service.receiveMessage('cancelled', { waitSeconds: 3 });
    expect(JSON.parse(second?.MessageBody ?? 'null')).toStrictEqual(message(queued.SnapshotJob.Id, queued.RequestId));
    expect((await queried(service, queued.SnapshotJob.Id)).MNSMessageResult).toStrictEqual({ MessageId: second?.MessageId });
  });

  test('a finished job is returned unchanged, and nothing is emitted', async () => {
    const { service } = await setup();
    const { SnapshotJob: done } = await service.submitSnapshotJob({
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: outputFile('one.jpg'), Time: '0' },
    });
    expect(done).toMatchObject({ State: 'Success', Count: '1' });
    const { SnapshotJob: failed } = await service.submitSnapshotJob(series('late', undefined, 10_000));
    const failedDone = await service.waitForJob(failed.Id);
    expect(failedDone).toMatchObject({ State: 'Fail', Code: ErrorCodes.ResourceContentBad });
    const events: string[] = [];
    service.on('job', (job) => events.push(job.Id));
    expect(await service.cancelSnapshotJob(done.Id)).toStrictEqual(await queried(service, done.Id));
    expect(await service.cancelSnapshotJob(done.Id)).toStrictEqual(done);
    expect(await service.cancelSnapshotJob(failed.Id)).toStrictEqual(failedDone);
    expect(await queried(service, failed.Id)).toStrictEqual(failedDone);
    expect(events).toEqual([]);
  });

  test('an id that names no job is refused: ResourceNotFound; no id is NullValue, one that is not a string InvalidParameter', async () => {
    const { service } = await setup();
    const unknown = 'f'.repeat(32);
    const cases: [unknown, string, string][] = [
      [unknown, ErrorCodes.ResourceNotFound, `the job ${unknown} does not exist`],
      ['nope', ErrorCodes.ResourceNotFound, 'the job nope does not exist'],
      ['j'.repeat(100_000), ErrorCodes.ResourceNotFound, `the job ${'j'.repeat(60)}…${'j'.repeat(59)} does not exist`],
      ['', ErrorCodes.NullValue, 'Expected a job id for jobId but received ""'],
      [undefined, ErrorCodes.NullValue, 'Expected a job id for jobId but received undefined'],
      // As updatePipeline's PipelineId: a value of the wrong type is no missing value.
      [7, ErrorCodes.InvalidParameter, 'Expected a job id for jobId but received 7'],
    ];
    for (const [id, code, message] of cases) {
      const cancelling = service.cancelSnapshotJob(id as never);
      await expect(cancelling).rejects.toBeInstanceOf(SnapshotError);
      const error = await failureOf(() => cancelling);
      expect({ id: typeof id === 'string' ? id.slice(0, 40) : id, code: error.code, message: error.message }).toEqual({
        id: typeof id === 'string' ? id.slice(0, 40) : id,
        code,
        message,
      });
    }
  });
});
