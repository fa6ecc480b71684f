/**
 * Pipelines (SPEC section 7): the default pipeline, addPipeline /
 * updatePipeline / queryPipelineList with their exact answers and refusals,
 * jobs of one pipeline starting (and, with one worker, finishing) in
 * submission order, a paused pipeline holding its queued jobs while another
 * pipeline's jobs run, resuming in order, and synchronous jobs not held.
 *
 * Jobs are small intra series on the 4 s h264 fixture, one worker.
 */
import { afterEach, describe, expect, test } from 'vitest';

import { ErrorCodes, type SnapshotService } from '../dist/index.js';
import { jobRequest, queried, Recorder, refusedWithRequestId, runCleanups, setup } from './helpers/pipeline-jobs.js';
import { JOB_ID, jsonError, UPPER_UUID } from './helpers/service-clips.js';

afterEach(runCleanups);

/** The pipeline as queryPipelineList shows it. */
async function pipelineOf(service: SnapshotService, id: string) {
  const answer = await service.queryPipelineList({ PipelineIds: id });
  expect(answer.NonExistPids.String).toEqual([]);
  expect(answer.PipelineList.Pipeline).toHaveLength(1);
  return answer.PipelineList.Pipeline[0]!;
}

describe('the default pipeline', () => {
  test('exists, Active and Standard with no NotifyConfig, and takes jobs that name no pipeline', async () => {
    const { service } = await setup();
    expect(service.defaultPipelineId).toMatch(JOB_ID);
    const answer = await service.queryPipelineList({ PipelineIds: service.defaultPipelineId });
    expect(answer).toStrictEqual({
      RequestId: expect.stringMatching(UPPER_UUID),
      PipelineList: {
        Pipeline: [{ Id: service.defaultPipelineId, Name: 'default', State: 'Active', Speed: 'Standard', NotifyConfig: {} }],
      },
      NonExistPids: { String: [] },
    });
    const submitted = await service.submitSnapshotJob(jobRequest());
    expect(submitted.SnapshotJob.PipelineId).toBe(service.defaultPipelineId);
    const done = await service.waitForJob(submitted.SnapshotJob.Id);
    expect(done).toMatchObject({ State: 'Success', Count: '2', PipelineId: service.defaultPipelineId });
    // An empty PipelineId is no PipelineId.
    const sync = await service.submitSnapshotJob({ ...jobRequest({ sync: true }), PipelineId: '' });
    expect(sync.SnapshotJob).toMatchObject({ State: 'Success', PipelineId: service.defaultPipelineId });
  });

  test('two services have different default pipelines', async () => {
    const { service: one } = await setup();
    const { service: two } = await setup();
    expect(one.defaultPipelineId).not.toBe(two.defaultPipelineId);
    expect((await one.queryPipelineList({ PipelineIds: two.defaultPipelineId })).NonExistPids.String).toEqual([two.defaultPipelineId]);
  });
});

describe('addPipeline', () => {
  test('NotifyConfig as JSON text, as an object, or none; every answer has a fresh RequestId and Id', async () => {
    const { service } = await setup();
    const text = await service.addPipeline({ Name: 'with-topic', NotifyConfig: '{"Topic": "done-topic"}' });
    expect(text).toStrictEqual({
      RequestId: expect.stringMatching(UPPER_UUID),
      Pipeline: {
        Id: expect.stringMatching(JOB_ID),
        Name: 'with-topic',
        State: 'Active',
        Speed: 'Standard',
        NotifyConfig: { Topic: 'done-topic' },
      },
    });
    const object = await service.addPipeline({ Name: 'with-queue', Speed: 'Standard', NotifyConfig: { QueueName: 'done-queue' } });
    expect(object.Pipeline).toStrictEqual({
      Id: expect.stringMatching(JOB_ID),
      Name: 'with-queue',
      State: 'Active',
      Speed: 'Standard',
      NotifyConfig: { QueueName: 'done-queue' },
    });
    const none = await service.addPipeline({ Name: 'quiet' });
    expect(none.Pipeline.NotifyConfig).toStrictEqual({});
    const emptyText = await service.addPipeline({ Name: 'quiet-too', NotifyConfig: '' });
    expect(emptyText.Pipeline.NotifyConfig).toStrictEqual({});
    const emptyObject = await service.addPipeline({ Name: 'quiet-three', NotifyConfig: '{}' });
    expect(emptyObject.Pipeline.NotifyConfig).toStrictEqual({});

    const ids = [text, object, none, emptyText, emptyObject].map((answer) => answer.Pipeline.Id);
    expect(new Set([...ids, service.defaultPipelineId]).size).toBe(6);
    expect(new Set([text, object, none].map((answer) => answer.RequestId)).size).toBe(3);

    // queryPipelineList shows them as added.
    expect(await pipelineOf(service, text.Pipeline.Id)).toStrictEqual(text.Pipeline);
    expect(await pipelineOf(service, object.Pipeline.Id)).toStrictEqual(object.Pipeline);
    expect(await pipelineOf(service, none.Pipeline.Id)).toStrictEqual(none.Pipeline);

    // The answer is a copy: changing it changes nothing in the service.
    text.Pipeline.State = 'Paused';
    text.Pipeline.NotifyConfig.Topic = 'other';
    expect(await pipelineOf(service, text.Pipeline.Id)).toMatchObject({ State: 'Active', NotifyConfig: { Topic: 'done-topic' } });
  });

  const longName = 'n'.repeat(129);
  const refusals: [string, unknown, string, string][] = [
    ['no Name', {}, ErrorCodes.NullValue, 'Expected a name of at most 128 bytes for Name but received undefined'],
    ['an empty Name', { Name: '' }, ErrorCodes.NullValue, 'Expected a name of at most 128 bytes for Name but received ""'],
    [
      'a Name that is not a string',
      { Name: 7 },
      ErrorCodes.InvalidParameter,
      'Expected a name of at most 128 bytes for Name but received 7',
    ],
    // A value over 120 characters is quoted shortened in the middle.
    [
      'a Name over 128 bytes',
      { Name: longName },
      ErrorCodes.InvalidParameter,
      `Expected a name of at most 128 bytes for Name but received "${'n'.repeat(60)}…${'n'.repeat(59)}"`,
    ],
    [
      'an unknown field',
      { Name: 'p', Colour: 'red' },
      ErrorCodes.InvalidParameter,
      'Unknown field "Colour" for request: expected one of Name, Speed, NotifyConfig',
    ],
    [
      'a near miss',
      { Name: 'p', NotifyConfg: '' },
      ErrorCodes.InvalidParameter,
      'Unknown field "NotifyConfg" for request: did you mean "NotifyConfig"?',
    ],
    ['a bad Speed', { Name: 'p', Speed: 'Boost' }, ErrorCodes.InvalidParameter, 'Expected "Standard" for Speed but received "Boost"'],
    [
      'a NotifyConfig with both Topic and QueueName (object)',
      { Name: 'p', NotifyConfig: { Topic: 't', QueueName: 'q' } },
      ErrorCodes.InvalidParameter,
      'NotifyConfig takes a Topic or a QueueName, not both',
    ],
    [
      'a NotifyConfig with both Topic and QueueName (JSON text)',
      { Name: 'p', NotifyConfig: '{"Topic":"t","QueueName":"q"}' },
      ErrorCodes.InvalidParameter,
      'NotifyConfig takes a Topic or a QueueName, not both',
    ],
    [
      'malformed NotifyConfig JSON',
      { Name: 'p', NotifyConfig: '{"Topic": ' },
      ErrorCodes.JsonFormatInvalid,
      `NotifyConfig is not valid JSON: ${jsonError('{"Topic": ')}`,
    ],
    [
      'NotifyConfig JSON that is not an object',
      { Name: 'p', NotifyConfig: '["t"]' },
      ErrorCodes.JsonFormatInvalid,
      `Expected a JSON object for NotifyConfig but received ${JSON.stringify('["t"]')}`,
    ],
    [
      'an unknown NotifyConfig field',
      { Name: 'p', NotifyConfig: { Topic: 't', Endpoint: 'x' } },
      ErrorCodes.InvalidParameter,
      'Unknown field "Endpoint" for NotifyConfig: expected one of Topic, QueueName',
    ],
    [
      'a near miss in NotifyConfig',
      { Name: 'p', NotifyConfig: '{"topic":"t"}' },
      ErrorCodes.InvalidParameter,
      'Unknown field "topic" for NotifyConfig: did you mean "Topic"?',
    ],
    [
      'a bad topic name',
      { Name: 'p', NotifyConfig: { Topic: 'no spaces' } },
      ErrorCodes.InvalidParameter,
      'Expected a name of letters, digits and -, at most 256 characters for NotifyConfig.Topic but received "no spaces"',
    ],
    [
      'a bad queue name',
      { Name: 'p', NotifyConfig: '{"QueueName":"-dash-first"}' },
      ErrorCodes.InvalidParameter,
      'Expected a name of letters, digits and -, at most 256 characters for NotifyConfig.QueueName but received "-dash-first"',
    ],
    ['no request object', null, ErrorCodes.InvalidParameter, 'Expected a request object for request but received null'],
  ];
  test.each(refusals)('refuses %s', async (_what, request, code, message) => {
    const { service } = await setup();
    const error = await refusedWithRequestId(() => service.addPipeline(request as never));
    expect({ code: error.code, message: error.message }).toEqual({ code, message });
  });
});

describe('updatePipeline', () => {
  test('pauses and resumes, renames and sets NotifyConfig; the answer is the updated pipeline', async () => {
    const { service } = await setup();
    const { Pipeline: added } = await service.addPipeline({ Name: 'p' });

    const paused = await service.updatePipeline({ PipelineId: added.Id, State: 'Paused' });
    expect(paused).toStrictEqual({ RequestId: expect.stringMatching(UPPER_UUID), Pipeline: { ...added, State: 'Paused' } });
    expect(await pipelineOf(service, added.Id)).toStrictEqual({ ...added, State: 'Paused' });

    const renamed = await service.updatePipeline({ PipelineId: added.Id, Name: 'renamed', NotifyConfig: '{"QueueName":"q1"}' });
    expect(renamed.Pipeline).toStrictEqual({ ...added, Name: 'renamed', State: 'Paused', NotifyConfig: { QueueName: 'q1' } });

    const resumed = await service.updatePipeline({ PipelineId: added.Id, State: 'Active', NotifyConfig: { Topic: 't1' } });
    expect(resumed.Pipeline).toStrictEqual({ ...added, Name: 'renamed', State: 'Active', NotifyConfig: { Topic: 't1' } });

    // An empty NotifyConfig removes it.
    const cleared = await service.updatePipeline({ PipelineId: added.Id, NotifyConfig: '' });
    expect(cleared.Pipeline.NotifyConfig).toStrictEqual({});
    expect(await pipelineOf(service, added.Id)).toStrictEqual({ ...added, Name: 'renamed' });

    // The default pipeline can be paused too.
    expect((await service.updatePipeline({ PipelineId: service.defaultPipelineId, State: 'Paused' })).Pipeline.State).toBe('Paused');
    expect((await pipelineOf(service, service.defaultPipelineId)).State).toBe('Paused');
    await service.updatePipeline({ PipelineId: service.defaultPipelineId, State: 'Active' });

    // The answer is a copy.
    resumed.Pipeline.State = 'Paused';
    expect((await pipelineOf(service, added.Id)).State).toBe('Active');
  });

  test('refusals, each with a request id, leave the pipeline as it was', async () => {
    const { service } = await setup();
    const { Pipeline: added } = await service.addPipeline({ Name: 'p', NotifyConfig: { Topic: 't' } });
    const unknownId = 'f'.repeat(32);
    const cases: [unknown, string, string][] = [
      [{ PipelineId: unknownId, State: 'Paused' }, ErrorCodes.ResourceNotFound, `the pipeline ${unknownId} does not exist`],
      [{ State: 'Paused' }, ErrorCodes.NullValue, 'Expected a pipeline id for PipelineId but received undefined'],
      [{ PipelineId: '', State: 'Paused' }, ErrorCodes.NullValue, 'Expected a pipeline id for PipelineId but received ""'],
      [
        { PipelineId: added.Id, State: 'Stopped' },
        ErrorCodes.InvalidParameter,
        'Expected one of Active, Paused for State but received "Stopped"',
      ],
      [
        { PipelineId: added.Id, State: 'paused' },
        ErrorCodes.InvalidParameter,
        'Expected one of Active, Paused for State but received "paused"',
      ],
      [
        { PipelineId: added.Id, State: 'Paused', Speed: 'Standard' },
        ErrorCodes.InvalidParameter,
        'Unknown field "Speed" for request: expected one of PipelineId, Name, State, NotifyConfig',
      ],
      [
        { PipelineId: added.Id, State: 'Paused', NotifyConfig: '{"Topic"' },
        ErrorCodes.JsonFormatInvalid,
        `NotifyConfig is not valid JSON: ${jsonError('{"Topic"')}`,
      ],
      [
        { PipelineId: added.Id, State: 'Paused', Name: '' },
        ErrorCodes.NullValue,
        'Expected a name of at most 128 bytes for Name but received ""',
      ],
    ];
    for (const [request, code, message] of cases) {
      const error = await refusedWithRequestId(() => service.updatePipeline(request as never));
      expect({ request, code: error.code, message: error.message }).toEqual({ request, code, message });
    }
    expect(await pipelineOf(service, added.Id)).toStrictEqual(added);
  });
});

describe('queryPipelineList', () => {
  test('ids comma-separated or as an array, in the order asked; unknown ids in NonExistPids', async () => {
    const { service } = await setup();
    const a = (await service.addPipeline({ Name: 'a' })).Pipeline;
    const b = (await service.addPipeline({ Name: 'b', NotifyConfig: { QueueName: 'qb' } })).Pipeline;
    const missing1 = '0'.repeat(32);
    const missing2 = 'nope';

    const byText = await service.queryPipelineList({ PipelineIds: `${b.Id},${missing1}, ${a.Id} ,${missing2}` });
    expect(byText).toStrictEqual({
      RequestId: expect.stringMatching(UPPER_UUID),
      PipelineList: { Pipeline: [b, a] },
      NonExistPids: { String: [missing1, missing2] },
    });
    const byArray = await service.queryPipelineList({ PipelineIds: [a.Id, service.defaultPipelineId, missing2] });
    expect(byArray.PipelineList.Pipeline.map((p) => p.Name)).toEqual(['a', 'default']);
    expect(byArray.NonExistPids.String).toEqual([missing2]);
    expect(byArray.RequestId).not.toBe(byText.RequestId);

    const none = await service.queryPipelineList({ PipelineIds: missing1 });
    expect(none.PipelineList.Pipeline).toEqual([]);
    expect(none.NonExistPids.String).toEqual([missing1]);

    // Copies.
    byArray.PipelineList.Pipeline[0]!.Name = 'changed';
    expect((await pipelineOf(service, a.Id)).Name).toBe('a');
  });

  test('refuses no ids, more than 10 and non-string or empty ids, with a request id', async () => {
    const { service } = await setup();
    const eleven = Array.from({ length: 11 }, (_, i) => String(i).padStart(32, '0'));
    const cases: [unknown, string, string][] = [
      [{}, ErrorCodes.NullValue, 'Expected ids as strings for PipelineIds but received undefined'],
      [{ PipelineIds: '' }, ErrorCodes.NullValue, 'Expected ids as strings for PipelineIds but received ""'],
      [{ PipelineIds: eleven }, ErrorCodes.InvalidParameter, 'PipelineIds holds 11 ids; at most 10 are allowed'],
      [{ PipelineIds: eleven.join(',') }, ErrorCodes.InvalidParameter, 'PipelineIds holds 11 ids; at most 10 are allowed'],
      [
        { PipelineIds: [service.defaultPipelineId, 5] },
        ErrorCodes.InvalidParameter,
        'Expected ids as strings for PipelineIds but received an array',
      ],
      [{ PipelineIds: 'a,,b' }, ErrorCodes.InvalidParameter, 'Expected ids as strings for PipelineIds but received "a,,b"'],
    ];
    for (const [request, code, message] of cases) {
      const error = await refusedWithRequestId(() => service.queryPipelineList(request as never));
      expect({ request, code: error.code, message: error.message }).toEqual({ request, code, message });
    }
    // Ten are fine.
    expect((await service.queryPipelineList({ PipelineIds: eleven.slice(0, 10) })).NonExistPids.String).toHaveLength(10);
  });
});

describe('jobs in pipelines', () => {
  test('jobs of one pipeline start and (one worker) finish in submission order', async () => {
    const { service } = await setup({ workers: 1 });
    const events = new Recorder(service);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'ordered' });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id, num: 2, userData: `job-${i}` }));
      expect(answer.SnapshotJob).toMatchObject({ State: 'Submitted', PipelineId: pipeline.Id });
      ids.push(answer.SnapshotJob.Id);
    }
    const finished = await Promise.all(ids.map((id) => service.waitForJob(id)));
    expect(finished.map((job) => [job.State, job.Count, job.UserData])).toEqual(ids.map((_, i) => ['Success', '2', `job-${i}`]));
    expect(events.jobs.map((job) => job.Id)).toEqual(ids);
    // The order they started in: each job's first progress event.
    const firstProgress = [...new Set(events.progress.map((p) => p.JobId))];
    expect(firstProgress).toEqual(ids);
    // One worker: no job reports progress after the next one has begun.
    const runs = events.progress.map((p) => p.JobId).filter((id, i, all) => i === 0 || all[i - 1] !== id);
    expect(runs).toEqual(ids);
  });

  test('a paused pipeline holds its queued jobs while another pipeline runs; resuming releases them in order', async () => {
    const { service } = await setup({ workers: 1 });
    const events = new Recorder(service);
    const held = (await service.addPipeline({ Name: 'held' })).Pipeline;
    const busy = (await service.addPipeline({ Name: 'busy' })).Pipeline;
    expect((await service.updatePipeline({ PipelineId: held.Id, State: 'Paused' })).Pipeline.State).toBe('Paused');

    const heldIds: string[] = [];
    for (let i = 0; i < 3; i++) heldIds.push((await service.submitSnapshotJob(jobRequest({ pipelineId: held.Id, num: 2 }))).SnapshotJob.Id);
    const busyIds: string[] = [];
    for (let i = 0; i < 2; i++) busyIds.push((await service.submitSnapshotJob(jobRequest({ pipelineId: busy.Id, num: 2 }))).SnapshotJob.Id);

    // The other pipeline's jobs, submitted later, run and finish.
    for (const id of busyIds) expect(await service.waitForJob(id)).toMatchObject({ State: 'Success', Count: '2' });
    expect(events.jobs.map((job) => job.Id)).toEqual(busyIds);
    // The worker is free now, yet the held jobs stay Submitted.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const id of heldIds) expect(await queried(service, id)).toMatchObject({ State: 'Submitted', Count: '0', PipelineId: held.Id });
    expect(events.progress.filter((p) => heldIds.includes(p.JobId))).toEqual([]);
    expect(
      (await service.querySnapshotJobList({ PipelineId: held.Id, State: 'Submitted' })).SnapshotJobList.SnapshotJob.map((j) => j.Id),
    ).toEqual([...heldIds].reverse());

    // Resuming starts them, in submission order.
    expect((await service.updatePipeline({ PipelineId: held.Id, State: 'Active' })).Pipeline.State).toBe('Active');
    const done = await Promise.all(heldIds.map((id) => service.waitForJob(id)));
    expect(done.map((job) => job.State)).toEqual(['Success', 'Success', 'Success']);
    expect(events.jobs.map((job) => job.Id)).toEqual([...busyIds, ...heldIds]);
  });

  test('pausing while a job runs lets it finish and holds the next one', async () => {
    const { service } = await setup({ workers: 1 });
    const events = new Recorder(service);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'p' });
    const first = (await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id, num: 4 }))).SnapshotJob.Id;
    const second = (await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id, num: 2 }))).SnapshotJob.Id;
    let pausedAt: string | undefined;
    let pausing: Promise<unknown> | undefined;
    service.on('progress', (progress: { JobId: string }) => {
      if (pausedAt !== undefined) return;
      pausedAt = progress.JobId;
      pausing = service.updatePipeline({ PipelineId: pipeline.Id, State: 'Paused' });
    });
    expect(await service.waitForJob(first)).toMatchObject({ State: 'Success', Count: '4' });
    expect(pausedAt).toBe(first);
    expect(await pausing).toMatchObject({ Pipeline: { State: 'Paused' } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await queried(service, second)).State).toBe('Submitted');
    expect(events.jobs.map((job) => job.Id)).toEqual([first]);
    await service.updatePipeline({ PipelineId: pipeline.Id, State: 'Active' });
    expect(await service.waitForJob(second)).toMatchObject({ State: 'Success', Count: '2' });
  });

  test('a synchronous job in a paused pipeline is not held (Promise API and blocking twin)', async () => {
    const { service } = await setup({ workers: 1 });
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'p' });
    await service.updatePipeline({ PipelineId: pipeline.Id, State: 'Paused' });
    const heldId = (await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id }))).SnapshotJob.Id;

    const viaPromise = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id, sync: true }));
    expect(viaPromise.SnapshotJob).toMatchObject({ State: 'Success', Count: '1', PipelineId: pipeline.Id });
    const viaSync = service.submitSnapshotJobSync(jobRequest({ pipelineId: pipeline.Id, sync: true }));
    expect(viaSync.SnapshotJob).toMatchObject({ State: 'Success', Count: '1', PipelineId: pipeline.Id });

    // The asynchronous one submitted before them still waits.
    expect((await queried(service, heldId)).State).toBe('Submitted');
    await service.updatePipeline({ PipelineId: pipeline.Id, State: 'Active' });
    expect((await service.waitForJob(heldId)).State).toBe('Success');
  });

  test('an unknown PipelineId is refused with ResourceNotFound and queues nothing', async () => {
    const { service } = await setup();
    const unknown = 'a'.repeat(32);
    for (const request of [jobRequest({ pipelineId: unknown }), jobRequest({ pipelineId: unknown, sync: true })]) {
      const viaPromise = await refusedWithRequestId(() => service.submitSnapshotJob(request));
      expect({ code: viaPromise.code, message: viaPromise.message }).toEqual({
        code: ErrorCodes.ResourceNotFound,
        message: `the pipeline ${unknown} does not exist`,
      });
      const viaSync = await refusedWithRequestId(() => service.submitSnapshotJobSync(request));
      expect({ code: viaSync.code, message: viaSync.message }).toEqual({
        code: ErrorCodes.ResourceNotFound,
        message: `the pipeline ${unknown} does not exist`,
      });
      expect(viaSync.requestId).not.toBe(viaPromise.requestId);
    }
    expect((await service.querySnapshotJobList({})).SnapshotJobList.SnapshotJob).toEqual([]);
  });
});
