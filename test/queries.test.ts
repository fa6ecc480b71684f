/**
 * querySnapshotJobList by filters (SPEC section 7): newest first, pages of
 * MaximumPageSize (1..100, default 10) chained by NextPageToken, filters
 * State, PipelineId and the inclusive CreationTime range, its refusals, and
 * answers that are copies; then the 'progress' events of an asynchronous
 * series and the Count / Percent of the job while and after it runs.
 *
 * Many jobs are needed for paging: they are held in a paused pipeline, so
 * they cost a validation each and no decoding.
 */
import { afterEach, describe, expect, test } from 'vitest';

import { ErrorCodes, type SnapshotJob, type SnapshotService } from '../dist/index.js';
import { jobRequest, queried, Recorder, refusedWithRequestId, runCleanups, setup, type Progress } from './helpers/pipeline-jobs.js';
import { UPPER_UUID } from './helpers/service-clips.js';

afterEach(runCleanups);

const QUERY_FIELDS =
  'SnapshotJobIds, State, PipelineId, StartOfJobCreatedTimeRange, EndOfJobCreatedTimeRange, MaximumPageSize, NextPageToken';

/** A paused pipeline holding `count` asynchronous jobs; their ids in submission order. */
async function heldJobs(service: SnapshotService, count: number): Promise<{ pipelineId: string; ids: string[] }> {
  const pipelineId = (await service.addPipeline({ Name: 'held' })).Pipeline.Id;
  await service.updatePipeline({ PipelineId: pipelineId, State: 'Paused' });
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push((await service.submitSnapshotJob(jobRequest({ pipelineId, userData: `held-${i}` }))).SnapshotJob.Id);
  return { pipelineId, ids };
}

const idsOf = (jobs: SnapshotJob[]) => jobs.map((job) => job.Id);

describe('paging', () => {
  test('25 jobs, newest first, in pages of 10, 10 and 5; each job exactly once', async () => {
    const { service } = await setup();
    const { ids } = await heldJobs(service, 25);
    const newestFirst = [...ids].reverse();

    const first = await service.querySnapshotJobList({});
    expect(first).toStrictEqual({
      RequestId: expect.stringMatching(UPPER_UUID),
      SnapshotJobList: { SnapshotJob: expect.any(Array) },
      NonExistSnapshotJobIds: { String: [] },
      NextPageToken: expect.any(String),
    });
    expect(idsOf(first.SnapshotJobList.SnapshotJob)).toEqual(newestFirst.slice(0, 10));
    expect(first.SnapshotJobList.SnapshotJob[0]).toMatchObject({ State: 'Submitted', UserData: 'held-24' });

    const second = await service.querySnapshotJobList({ NextPageToken: first.NextPageToken });
    expect(idsOf(second.SnapshotJobList.SnapshotJob)).toEqual(newestFirst.slice(10, 20));
    expect(second.NextPageToken).toEqual(expect.any(String));
    expect(second.RequestId).not.toBe(first.RequestId);

    const third = await service.querySnapshotJobList({ NextPageToken: second.NextPageToken, MaximumPageSize: 10 });
    expect(idsOf(third.SnapshotJobList.SnapshotJob)).toEqual(newestFirst.slice(20));
    expect('NextPageToken' in third).toBe(false);

    const seen = [first, second, third].flatMap((page) => idsOf(page.SnapshotJobList.SnapshotJob));
    expect(seen).toHaveLength(25);
    expect(new Set(seen)).toEqual(new Set(ids));
  });

  test('MaximumPageSize 1..100, as a number or a decimal string; a page that ends the list has no token', async () => {
    const { service } = await setup();
    const { ids } = await heldJobs(service, 12);
    const newestFirst = [...ids].reverse();
    const all = await service.querySnapshotJobList({ MaximumPageSize: 100 });
    expect(idsOf(all.SnapshotJobList.SnapshotJob)).toEqual(newestFirst);
    expect('NextPageToken' in all).toBe(false);
    const exact = await service.querySnapshotJobList({ MaximumPageSize: '12' });
    expect(idsOf(exact.SnapshotJobList.SnapshotJob)).toEqual(newestFirst);
    expect('NextPageToken' in exact).toBe(false);

    // Pages of one walk the whole list.
    const walked: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 20; page++) {
      const answer = await service.querySnapshotJobList({ MaximumPageSize: 1, ...(token === undefined ? {} : { NextPageToken: token }) });
      expect(answer.SnapshotJobList.SnapshotJob).toHaveLength(1);
      walked.push(answer.SnapshotJobList.SnapshotJob[0]!.Id);
      token = answer.NextPageToken;
      if (token === undefined) break;
    }
    expect(walked).toEqual(newestFirst);

    const sevens = [await service.querySnapshotJobList({ MaximumPageSize: '7' })];
    sevens.push(await service.querySnapshotJobList({ MaximumPageSize: '7', NextPageToken: sevens[0]!.NextPageToken }));
    expect(sevens.map((page) => page.SnapshotJobList.SnapshotJob.length)).toEqual([7, 5]);
    expect('NextPageToken' in sevens[1]!).toBe(false);
  });

  test('a job submitted between pages does not disturb the pages that follow', async () => {
    const { service } = await setup();
    const { pipelineId, ids } = await heldJobs(service, 6);
    const newestFirst = [...ids].reverse();
    const first = await service.querySnapshotJobList({ MaximumPageSize: 4 });
    expect(idsOf(first.SnapshotJobList.SnapshotJob)).toEqual(newestFirst.slice(0, 4));
    const newer = (await service.submitSnapshotJob(jobRequest({ pipelineId }))).SnapshotJob.Id;
    const second = await service.querySnapshotJobList({ MaximumPageSize: 4, NextPageToken: first.NextPageToken });
    expect(idsOf(second.SnapshotJobList.SnapshotJob)).toEqual(newestFirst.slice(4));
    expect('NextPageToken' in second).toBe(false);
    // A fresh first page starts with it.
    expect((await service.querySnapshotJobList({ MaximumPageSize: 1 })).SnapshotJobList.SnapshotJob[0]!.Id).toBe(newer);
  });

  test('an empty service answers an empty page', async () => {
    const { service } = await setup();
    expect(await service.querySnapshotJobList({})).toStrictEqual({
      RequestId: expect.stringMatching(UPPER_UUID),
      SnapshotJobList: { SnapshotJob: [] },
      NonExistSnapshotJobIds: { String: [] },
    });
  });
});

describe('filters', () => {
  test('State and PipelineId, alone, together and with paging', async () => {
    const { service } = await setup({ workers: 1 });
    const other = (await service.addPipeline({ Name: 'other' })).Pipeline.Id;
    // Done: two successes in the default pipeline, one failure in `other`, one success in `other`.
    const ok1 = (await service.submitSnapshotJob(jobRequest())).SnapshotJob.Id;
    const failed = (await service.submitSnapshotJob(jobRequest({ pipelineId: other, time: 10_000 }))).SnapshotJob.Id;
    const ok2 = (await service.submitSnapshotJob(jobRequest({ sync: true }))).SnapshotJob.Id;
    const ok3 = (await service.submitSnapshotJob(jobRequest({ pipelineId: other }))).SnapshotJob.Id;
    for (const id of [ok1, failed, ok2, ok3]) await service.waitForJob(id);
    // Held: three in a paused pipeline.
    const { pipelineId: held, ids: heldIds } = await heldJobs(service, 3);

    const ids = async (request: object) => idsOf((await service.querySnapshotJobList(request)).SnapshotJobList.SnapshotJob);
    expect(await ids({ State: 'Success' })).toEqual([ok3, ok2, ok1]);
    expect(await ids({ State: 'Fail' })).toEqual([failed]);
    expect(await ids({ State: 'Submitted' })).toEqual([...heldIds].reverse());
    expect(await ids({ State: 'Snapshoting' })).toEqual([]);
    expect(await ids({ PipelineId: service.defaultPipelineId })).toEqual([ok2, ok1]);
    expect(await ids({ PipelineId: other })).toEqual([ok3, failed]);
    expect(await ids({ PipelineId: held })).toEqual([...heldIds].reverse());
    expect(await ids({ PipelineId: other, State: 'Success' })).toEqual([ok3]);
    expect(await ids({ PipelineId: other, State: 'Submitted' })).toEqual([]);
    expect(await ids({ PipelineId: 'f'.repeat(32) })).toEqual([]);
    // An empty PipelineId is no filter.
    expect(await ids({ PipelineId: '' })).toHaveLength(7);
    expect(await ids({})).toEqual([...[...heldIds].reverse(), ok3, ok2, failed, ok1]);

    // Filtered pages: Success in pages of 2.
    const page1 = await service.querySnapshotJobList({ State: 'Success', MaximumPageSize: 2 });
    expect(idsOf(page1.SnapshotJobList.SnapshotJob)).toEqual([ok3, ok2]);
    expect(page1.NextPageToken).toEqual(expect.any(String));
    const page2 = await service.querySnapshotJobList({ State: 'Success', MaximumPageSize: 2, NextPageToken: page1.NextPageToken });
    expect(idsOf(page2.SnapshotJobList.SnapshotJob)).toEqual([ok1]);
    expect('NextPageToken' in page2).toBe(false);
  });

  test('StartOfJobCreatedTimeRange / EndOfJobCreatedTimeRange are inclusive, to the second', async () => {
    const { service } = await setup();
    const { pipelineId } = await heldJobs(service, 0);
    const a = (await service.submitSnapshotJob(jobRequest({ pipelineId }))).SnapshotJob;
    // The next job in a later second (a bounded wait for the clock).
    let b = a;
    for (let tries = 0; tries < 30 && b.CreationTime === a.CreationTime; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      b = (await service.submitSnapshotJob(jobRequest({ pipelineId }))).SnapshotJob;
    }
    expect(b.CreationTime > a.CreationTime).toBe(true);
    // Every job, newest first; nothing runs them (their pipeline is paused), so one listing serves every check.
    const listed = (await service.querySnapshotJobList({ MaximumPageSize: 100 })).SnapshotJobList.SnapshotJob;
    const all = idsOf(listed);
    const at = (time: string) => idsOf(listed.filter((j) => j.CreationTime === time));
    const ids = async (request: object) =>
      idsOf((await service.querySnapshotJobList({ MaximumPageSize: 100, ...request })).SnapshotJobList.SnapshotJob);

    // Both ends at a's second: every job of that second, and only those.
    expect(await ids({ StartOfJobCreatedTimeRange: a.CreationTime, EndOfJobCreatedTimeRange: a.CreationTime })).toEqual(at(a.CreationTime));
    expect(at(a.CreationTime)).toContain(a.Id);
    expect(await ids({ StartOfJobCreatedTimeRange: b.CreationTime })).toEqual(at(b.CreationTime));
    expect(await ids({ EndOfJobCreatedTimeRange: a.CreationTime })).toEqual(at(a.CreationTime));
    expect(await ids({ StartOfJobCreatedTimeRange: a.CreationTime, EndOfJobCreatedTimeRange: b.CreationTime })).toEqual(all);
    expect(await ids({ EndOfJobCreatedTimeRange: '2000-01-01T00:00:00Z' })).toEqual([]);
    expect(await ids({ StartOfJobCreatedTimeRange: '9999-12-31T23:59:59Z' })).toEqual([]);
    expect(await ids({ StartOfJobCreatedTimeRange: b.CreationTime, EndOfJobCreatedTimeRange: a.CreationTime })).toEqual([]);
    expect(await ids({ StartOfJobCreatedTimeRange: '', EndOfJobCreatedTimeRange: '' })).toEqual(all);
    // With the other filters.
    expect(await ids({ StartOfJobCreatedTimeRange: b.CreationTime, PipelineId: pipelineId, State: 'Submitted' })).toEqual(
      at(b.CreationTime),
    );
    expect(await ids({ StartOfJobCreatedTimeRange: b.CreationTime, State: 'Success' })).toEqual([]);
  });
});

describe('refusals', () => {
  test('MaximumPageSize out of 1..100, or not an integer', async () => {
    const { service } = await setup();
    const range = (value: string) => `Expected an integer between 1 and 100 for MaximumPageSize but received ${value}`;
    const cases: [unknown, string, string][] = [
      [0, ErrorCodes.OutOfRange, range('0')],
      [101, ErrorCodes.OutOfRange, range('101')],
      ['0', ErrorCodes.OutOfRange, range('0')],
      ['101', ErrorCodes.OutOfRange, range('101')],
      [-1, ErrorCodes.OutOfRange, range('-1')],
      [2.5, ErrorCodes.InvalidParameter, range('2.5')],
      ['ten', ErrorCodes.InvalidParameter, range('"ten"')],
      [null, ErrorCodes.InvalidParameter, range('null')],
    ];
    for (const [size, code, message] of cases) {
      const error = await refusedWithRequestId(() => service.querySnapshotJobList({ MaximumPageSize: size as never }));
      expect({ size, code: error.code, message: error.message }).toEqual({ size, code, message });
    }
  });

  test('bad time bounds, State, NextPageToken, unknown fields, and no request object', async () => {
    const { service } = await setup();
    await heldJobs(service, 2);
    const time = (name: string, value: string) => `Expected a UTC time like 2014-01-10T12:00:00Z for ${name} but received ${value}`;
    const cases: [unknown, string, string][] = [
      [
        { StartOfJobCreatedTimeRange: '2024-01-01 00:00:00' },
        ErrorCodes.InvalidParameter,
        time('StartOfJobCreatedTimeRange', '"2024-01-01 00:00:00"'),
      ],
      [
        { StartOfJobCreatedTimeRange: '2024-01-01T00:00:00.000Z' },
        ErrorCodes.InvalidParameter,
        time('StartOfJobCreatedTimeRange', '"2024-01-01T00:00:00.000Z"'),
      ],
      [
        { EndOfJobCreatedTimeRange: '2024-01-01T00:00:00+08:00' },
        ErrorCodes.InvalidParameter,
        time('EndOfJobCreatedTimeRange', '"2024-01-01T00:00:00+08:00"'),
      ],
      [{ EndOfJobCreatedTimeRange: '2024-01-01' }, ErrorCodes.InvalidParameter, time('EndOfJobCreatedTimeRange', '"2024-01-01"')],
      [
        { EndOfJobCreatedTimeRange: '2024-13-01T00:00:00Z' },
        ErrorCodes.InvalidParameter,
        time('EndOfJobCreatedTimeRange', '"2024-13-01T00:00:00Z"'),
      ],
      [{ StartOfJobCreatedTimeRange: 1704067200000 }, ErrorCodes.InvalidParameter, time('StartOfJobCreatedTimeRange', '1704067200000')],
      [
        { State: 'Done' },
        ErrorCodes.InvalidParameter,
        'Expected one of Submitted, Snapshoting, Success, Fail for State but received "Done"',
      ],
      [
        { State: 'Snapshotting' },
        ErrorCodes.InvalidParameter,
        'Expected one of Submitted, Snapshoting, Success, Fail for State but received "Snapshotting"',
      ],
      [
        { NextPageToken: 'not-a-token' },
        ErrorCodes.InvalidParameter,
        'Expected a NextPageToken from a previous answer for NextPageToken but received "not-a-token"',
      ],
      [
        { NextPageToken: '0'.repeat(32) },
        ErrorCodes.InvalidParameter,
        `Expected a NextPageToken from a previous answer for NextPageToken but received "${'0'.repeat(32)}"`,
      ],
      [{ PageSize: 5 }, ErrorCodes.InvalidParameter, `Unknown field "PageSize" for request: expected one of ${QUERY_FIELDS}`],
      [
        { State: 'Success', pipelineId: 'x' },
        ErrorCodes.InvalidParameter,
        'Unknown field "pipelineId" for request: did you mean "PipelineId"?',
      ],
      [null, ErrorCodes.InvalidParameter, 'Expected a request object for request but received null'],
      [[], ErrorCodes.InvalidParameter, 'Expected a request object for request but received an array'],
    ];
    for (const [request, code, message] of cases) {
      const error = await refusedWithRequestId(() => service.querySnapshotJobList(request as never));
      expect({ request, code: error.code, message: error.message }).toEqual({ request, code, message });
    }
  });
});

describe('answers are copies', () => {
  const outputObject = (job: SnapshotJob) => (job.SnapshotConfig['OutputFile'] as { Object: string }).Object;

  test('changing a query answer or a waitForJob answer changes nothing in the service', async () => {
    const { service } = await setup();
    const id = (await service.submitSnapshotJob(jobRequest({ userData: 'mine' }))).SnapshotJob.Id;
    const done = await service.waitForJob(id);
    expect(done).toMatchObject({ State: 'Success', Count: '2', UserData: 'mine' });
    const original = structuredClone(done);
    done.State = 'Fail';
    done.Count = '99';
    done.Input.Object = 'other.mp4';
    (done.SnapshotConfig['OutputFile'] as { Object: string }).Object = 'changed-by-waiter';

    const listed = await service.querySnapshotJobList({});
    const job = listed.SnapshotJobList.SnapshotJob[0]!;
    expect(job).toEqual(original);
    job.State = 'Submitted';
    job.UserData = 'changed';
    job.Input.Object = 'other.mp4';
    (job.SnapshotConfig['OutputFile'] as { Object: string }).Object = 'changed-by-query';
    listed.SnapshotJobList.SnapshotJob.length = 0;

    const byId = await service.querySnapshotJobList({ SnapshotJobIds: [id] });
    expect(byId.SnapshotJobList.SnapshotJob[0]).toEqual(original);
    byId.SnapshotJobList.SnapshotJob[0]!.SnapshotConfig['Num'] = '1000';

    expect(await queried(service, id)).toEqual(original);
    expect(await service.waitForJob(id)).toEqual(original);
    expect(idsOf((await service.querySnapshotJobList({})).SnapshotJobList.SnapshotJob)).toEqual([id]);
  });

  test('changing the answer of an asynchronous submit, even its nested echo, changes nothing in the service', async () => {
    const { service } = await setup();
    const { pipelineId } = await heldJobs(service, 0);
    for (const submit of [
      (request: ReturnType<typeof jobRequest>) => service.submitSnapshotJob(request),
      async (request: ReturnType<typeof jobRequest>) => service.submitSnapshotJobSync(request),
    ]) {
      const answer = await submit(jobRequest({ pipelineId, userData: 'mine' }));
      const original = structuredClone(answer.SnapshotJob);
      answer.SnapshotJob.UserData = 'changed';
      answer.SnapshotJob.State = 'Fail';
      answer.SnapshotJob.Input.Object = 'other.mp4';
      (answer.SnapshotJob.SnapshotConfig['OutputFile'] as { Object: string }).Object = 'changed';
      answer.SnapshotJob.SnapshotConfig['Num'] = '1000';
      expect(await queried(service, original.Id)).toEqual(original);
    }
  });

  test('changing the request object after submitting changes nothing in the service', async () => {
    const { service } = await setup();
    const { pipelineId } = await heldJobs(service, 0);
    const request = jobRequest({ pipelineId });
    const answer = await service.submitSnapshotJob(request);
    const original = structuredClone(answer.SnapshotJob);
    expect(outputObject(original)).toMatch(/\/\{Count\}\.jpg$/);
    (request.Input as { Object: string }).Object = 'other.mp4';
    ((request.SnapshotConfig as Record<string, unknown>)['OutputFile'] as { Object: string }).Object = 'changed';
    (request.SnapshotConfig as Record<string, unknown>)['Num'] = '1000';
    expect(await queried(service, original.Id)).toEqual(original);
  });
});

describe('progress', () => {
  test('an asynchronous series reports Done 1..N of N, and the job counts up while it runs', async () => {
    const { service } = await setup({ workers: 1 });
    const events = new Recorder(service);
    // Each event's query is asked as the event arrives; the answers are read once the job is done.
    const asked: { progress: Progress; job: Promise<SnapshotJob> }[] = [];
    service.on('progress', (progress: Progress) => asked.push({ progress, job: queried(service, progress.JobId) }));
    const submitted = await service.submitSnapshotJob(jobRequest({ num: 4 }));
    const id = submitted.SnapshotJob.Id;
    expect(submitted.SnapshotJob.Count).toBe('0');
    const done = await service.waitForJob(id);
    expect(done).toMatchObject({ State: 'Success', Count: '4', Percent: 100 });
    const seen = await Promise.all(asked.map(async ({ progress, job }) => ({ progress, job: await job })));

    expect(seen.map((s) => s.progress)).toStrictEqual([1, 2, 3, 4].map((n) => ({ JobId: id, Done: n, Expected: 4, Percent: n * 25 })));
    // While running, the queried job shows the images done so far.
    expect(seen.map((s) => [s.job.State, s.job.Count, s.job.Percent])).toEqual([
      ['Snapshoting', '1', 25],
      ['Snapshoting', '2', 50],
      ['Snapshoting', '3', 75],
      ['Snapshoting', '4', 100],
    ]);
    // Every progress event comes before the job's final event.
    expect(events.entries.map((entry) => entry.kind)).toEqual(['progress', 'progress', 'progress', 'progress', 'job']);
    expect(await queried(service, id)).toMatchObject({ State: 'Success', Count: '4', Percent: 100 });
  });

  test('a series cut short by the end of the video: Expected stays as asked, then Percent 100 with the real Count', async () => {
    const { service } = await setup({ workers: 1 });
    const events = new Recorder(service);
    // 0, 1, 2, 3 and 4 s asked of a 4 s clip whose last frame is at 3.96 s.
    const id = (await service.submitSnapshotJob(jobRequest({ num: 5 }))).SnapshotJob.Id;
    const done = await service.waitForJob(id);
    expect(done).toMatchObject({ State: 'Success', Count: '4', Percent: 100 });
    expect(events.progress).toStrictEqual([1, 2, 3, 4].map((n) => ({ JobId: id, Done: n, Expected: 5, Percent: n * 20 })));
  });

  test('jobs of a held pipeline report nothing until they run', async () => {
    const { service } = await setup({ workers: 1 });
    const events = new Recorder(service);
    const { pipelineId, ids } = await heldJobs(service, 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(events.progress).toEqual([]);
    for (const id of ids) expect(await queried(service, id)).toMatchObject({ State: 'Submitted', Count: '0' });
    await service.updatePipeline({ PipelineId: pipelineId, State: 'Active' });
    for (const id of ids) expect(await service.waitForJob(id)).toMatchObject({ State: 'Success', Count: '2', Percent: 100 });
    expect(events.progress.map((p) => [p.JobId, p.Done])).toEqual([
      [ids[0], 1],
      [ids[0], 2],
      [ids[1], 1],
      [ids[1], 2],
    ]);
  });
});
