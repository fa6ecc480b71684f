/**
 * Completion notifications (SPEC section 7): one message per finished job of a
 * pipeline with a NotifyConfig, {JobId, RequestId, Type, State, UserData,
 * Code?, Message?}, pushed to a topic's subscribers (in-process functions or
 * HTTP endpoints, retried with backoff) or kept in a queue until
 * receiveMessage; the outcome in the job's MNSMessageResult and in the
 * 'notification' event. Delivery never holds a job up.
 *
 * The delivery policy is the service's notifyDelivery option (default 4
 * tries, 200 ms backoff doubling, 5 s per try); these tests keep the 4 tries
 * and wait 1 ms between them, so a subscriber that always fails costs
 * milliseconds, not the real backoff (1.4 s).
 */
import { afterEach, describe, expect, test } from 'vitest';

import { ErrorCodes, SnapshotService, type NotificationMessage, type SnapshotServiceOptions } from '../dist/index.js';
import {
  after,
  endpoint,
  gate,
  jobRequest,
  MESSAGE_ID,
  queried,
  Recorder,
  refusal,
  runCleanups,
  setup as setupWithDefaults,
} from './helpers/pipeline-jobs.js';

afterEach(runCleanups);

/** The default policy but 1 ms between tries. */
const QUICK = { firstBackoffMs: 1 };
const setup = (options: Partial<SnapshotServiceOptions> = {}) => setupWithDefaults({ notifyDelivery: QUICK, ...options });

/** The message SPEC section 7 describes for a job that succeeded. */
const success = (JobId: string, RequestId: string, UserData = '') => ({ JobId, RequestId, Type: 'Snapshot', State: 'Success', UserData });

const PAST_THE_END = 'No frame at or after 10000 ms in clip.mp4: the time is past the last frame';

describe('topics with function subscribers', () => {
  test('every subscriber gets one message per finished job, and unsubscribing stops delivery', async () => {
    const { service } = await setup({ workers: 1 });
    const events = new Recorder(service);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'notifying', NotifyConfig: '{"Topic":"jobs-done"}' });
    const first: NotificationMessage[] = [];
    const second: NotificationMessage[] = [];
    const other: NotificationMessage[] = [];
    const unsubscribeFirst = service.subscribe('jobs-done', (message) => void first.push(message));
    service.subscribe('jobs-done', (message) => void second.push(message));
    service.subscribe('other-topic', (message) => void other.push(message));

    const submitted = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id, userData: 'user-1' }));
    const done = await service.waitForJob(submitted.SnapshotJob.Id);
    expect(done.State).toBe('Success');
    const event = await events.notificationOf(done.Id);
    expect(event).toStrictEqual({ JobId: done.Id, MNSMessageResult: { MessageId: expect.stringMatching(MESSAGE_ID) } });
    const expected = success(done.Id, submitted.RequestId, 'user-1');
    expect(first).toStrictEqual([expected]);
    expect(second).toStrictEqual([expected]);
    expect(Object.keys(first[0]!)).toEqual(['JobId', 'RequestId', 'Type', 'State', 'UserData']);
    expect((await queried(service, done.Id)).MNSMessageResult).toStrictEqual(event.MNSMessageResult);
    // Each subscriber has its own copy.
    expect(first[0]).not.toBe(second[0]);

    unsubscribeFirst();
    const next = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id }));
    await service.waitForJob(next.SnapshotJob.Id);
    const nextEvent = await events.notificationOf(next.SnapshotJob.Id);
    expect(nextEvent.MNSMessageResult).toStrictEqual({ MessageId: expect.stringMatching(MESSAGE_ID) });
    expect(nextEvent.MNSMessageResult).not.toEqual(event.MNSMessageResult);
    // No UserData on the job: '' in the message.
    expect(second).toStrictEqual([expected, success(next.SnapshotJob.Id, next.RequestId)]);
    expect(first).toStrictEqual([expected]);
    expect(other).toEqual([]);
    // Exactly one notification event per job.
    await service.close();
    expect(events.notifications.map((n) => n.JobId)).toEqual([done.Id, next.SnapshotJob.Id]);
  });

  test('synchronous jobs notify too, with the RequestId of their answer (both twins)', async () => {
    const { service } = await setup();
    const events = new Recorder(service);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'p', NotifyConfig: { Topic: 'sync-done' } });
    const got: NotificationMessage[] = [];
    service.subscribe('sync-done', (message) => void got.push(message));
    const viaPromise = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id, sync: true, userData: 'p' }));
    const viaSync = service.submitSnapshotJobSync(jobRequest({ pipelineId: pipeline.Id, sync: true, userData: 's' }));
    await events.notificationOf(viaPromise.SnapshotJob.Id);
    await events.notificationOf(viaSync.SnapshotJob.Id);
    expect(got).toStrictEqual([
      success(viaPromise.SnapshotJob.Id, viaPromise.RequestId, 'p'),
      success(viaSync.SnapshotJob.Id, viaSync.RequestId, 's'),
    ]);
  });

  test('a failed job sends State Fail with its Code and Message', async () => {
    const { service } = await setup();
    const events = new Recorder(service);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'p', NotifyConfig: { Topic: 'fails' } });
    const got: NotificationMessage[] = [];
    service.subscribe('fails', (message) => void got.push(message));

    const submitted = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id, time: 10_000, userData: 'late' }));
    const failed = await service.waitForJob(submitted.SnapshotJob.Id);
    expect(failed).toMatchObject({ State: 'Fail', Code: ErrorCodes.ResourceContentBad, Message: PAST_THE_END });
    await events.notificationOf(failed.Id);

    // A synchronous one (exact frame past the end) rejects, and notifies.
    const request = jobRequest({ pipelineId: pipeline.Id, time: 10_000, sync: true });
    (request.SnapshotConfig as Record<string, unknown>)['FrameType'] = 'normal';
    const error = await refusal(() => service.submitSnapshotJob(request));
    expect(error.code).toBe(ErrorCodes.ResourceContentBad);
    await events.notificationOf(error.jobId!);

    expect(got).toStrictEqual([
      {
        JobId: failed.Id,
        RequestId: submitted.RequestId,
        Type: 'Snapshot',
        State: 'Fail',
        UserData: 'late',
        Code: ErrorCodes.ResourceContentBad,
        Message: PAST_THE_END,
      },
      {
        JobId: error.jobId,
        RequestId: error.requestId,
        Type: 'Snapshot',
        State: 'Fail',
        UserData: '',
        Code: ErrorCodes.ResourceContentBad,
        Message: PAST_THE_END,
      },
    ]);
    expect((await queried(service, failed.Id)).MNSMessageResult).toStrictEqual({ MessageId: expect.stringMatching(MESSAGE_ID) });
  });

  test('queued jobs that close() fails send State Fail too, before close() resolves', async () => {
    const { service } = await setup({ workers: 1 });
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'p', NotifyConfig: { Topic: 'closed' } });
    await service.updatePipeline({ PipelineId: pipeline.Id, State: 'Paused' });
    const got: NotificationMessage[] = [];
    service.subscribe('closed', (message) => void got.push(message));
    const submitted = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id, userData: 'held' }));
    await service.close();
    expect(await service.waitForJob(submitted.SnapshotJob.Id)).toMatchObject({
      State: 'Fail',
      Code: ErrorCodes.InternalError,
      Message: 'the service was closed before the job started',
    });
    expect(got).toStrictEqual([
      {
        JobId: submitted.SnapshotJob.Id,
        RequestId: submitted.RequestId,
        Type: 'Snapshot',
        State: 'Fail',
        UserData: 'held',
        Code: ErrorCodes.InternalError,
        Message: 'the service was closed before the job started',
      },
    ]);
  });

  test('a subscriber that throws is retried, then the job records NotificationFailed', async () => {
    const { service } = await setup();
    const events = new Recorder(service);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'p', NotifyConfig: { Topic: 'broken' } });
    let calls = 0;
    service.subscribe('broken', () => {
      calls += 1;
      throw new Error('subscriber exploded');
    });
    const submitted = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id }));
    const event = await events.notificationOf(submitted.SnapshotJob.Id);
    expect(event.MNSMessageResult).toStrictEqual({
      ErrorCode: 'NotificationFailed',
      ErrorMessage: '1 of 1 subscribers of broken did not take the message: subscriber exploded',
    });
    expect(calls).toBe(4);
    expect(await queried(service, submitted.SnapshotJob.Id)).toMatchObject({ State: 'Success', MNSMessageResult: event.MNSMessageResult });
  });

  test('a subscriber that never settles does not delay waitForJob', async () => {
    const { service } = await setup();
    const events = new Recorder(service);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'p', NotifyConfig: { Topic: 'slow' } });
    const release = gate();
    const called = gate<NotificationMessage>();
    service.subscribe('slow', (message) => {
      called.open(message);
      return release.promise;
    });
    const submitted = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id }));
    const done = await Promise.race([service.waitForJob(submitted.SnapshotJob.Id), after(15_000, undefined)]);
    expect(done?.State).toBe('Success');
    expect(await Promise.race([called.promise, after(5_000, undefined)])).toStrictEqual(
      success(submitted.SnapshotJob.Id, submitted.RequestId),
    );
    // Still under way: no result yet, on the event or the job.
    expect(events.notifications).toEqual([]);
    expect(await queried(service, submitted.SnapshotJob.Id)).toMatchObject({ State: 'Success' });
    expect((await queried(service, submitted.SnapshotJob.Id)).MNSMessageResult).toBeUndefined();
    // The job event came first.
    expect(events.jobs.map((job) => job.Id)).toEqual([submitted.SnapshotJob.Id]);
    release.open();
    const event = await events.notificationOf(submitted.SnapshotJob.Id);
    expect(event.MNSMessageResult).toStrictEqual({ MessageId: expect.stringMatching(MESSAGE_ID) });
  });

  test('a synchronous job is answered before its notification settles (Promise API)', async () => {
    const { service } = await setup();
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'p', NotifyConfig: { Topic: 'failing-sync' } });
    // Fails every try: the notification settles only after the 4 tries.
    service.subscribe('failing-sync', () => {
      throw new Error('not now');
    });
    const order: string[] = [];
    service.on('job', () => order.push('job'));
    service.on('notification', () => order.push('notification'));
    const answer = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id, sync: true }));
    order.push('answer');
    expect(answer.SnapshotJob.State).toBe('Success');
    await service.close();
    expect(order).toEqual(['job', 'answer', 'notification']);
    expect((await queried(service, answer.SnapshotJob.Id)).MNSMessageResult).toMatchObject({ ErrorCode: 'NotificationFailed' });
  });

  test('subscribe refuses bad topic names and subscribers', async () => {
    const { service } = await setup();
    const topicMessage = (value: string) =>
      `Expected a topic name of letters, digits and -, at most 256 characters for topic but received ${value}`;
    const cases: [() => unknown, string][] = [
      [() => service.subscribe('', () => undefined), topicMessage('""')],
      [() => service.subscribe('has space', () => undefined), topicMessage('"has space"')],
      [() => service.subscribe('t'.repeat(257), () => undefined), topicMessage(`"${'t'.repeat(60)}…${'t'.repeat(59)}"`)],
      [() => service.subscribe('ok', 'not a url'), 'Expected a function or an http(s) URL for subscriber but received "not a url"'],
      [
        () => service.subscribe('ok', 'ftp://127.0.0.1/x'),
        'Expected a function or an http(s) URL for subscriber but received "ftp://127.0.0.1/x"',
      ],
      [() => service.subscribe('ok', 42 as never), 'Expected a function or an http(s) URL for subscriber but received 42'],
    ];
    for (const [call, message] of cases) {
      const error = await refusal(call);
      expect({ code: error.code, message: error.message }).toEqual({ code: ErrorCodes.InvalidParameter, message });
    }
    // 256 characters is fine.
    expect(typeof service.subscribe('t'.repeat(256), () => undefined)).toBe('function');
  });
});

describe('topics with HTTP subscribers', () => {
  test('POSTs the message as JSON to the endpoint', async () => {
    const { service } = await setup();
    const events = new Recorder(service);
    const server = await endpoint(() => 200);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'http', NotifyConfig: { Topic: 'http-ok' } });
    service.subscribe('http-ok', server.url);
    const submitted = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id, userData: 'over http' }));
    const event = await events.notificationOf(submitted.SnapshotJob.Id);
    expect(event.MNSMessageResult).toStrictEqual({ MessageId: expect.stringMatching(MESSAGE_ID) });
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/notify');
    expect(request!.contentType).toBe('application/json');
    expect(JSON.parse(request!.body)).toStrictEqual(success(submitted.SnapshotJob.Id, submitted.RequestId, 'over http'));
    expect((await queried(service, submitted.SnapshotJob.Id)).MNSMessageResult).toStrictEqual(event.MNSMessageResult);
  });

  test('an endpoint failing twice with 500 gets the message on the third try, once', async () => {
    const { service } = await setup();
    const events = new Recorder(service);
    const server = await endpoint((n) => (n < 2 ? 500 : 200));
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'http', NotifyConfig: { Topic: 'http-flaky' } });
    service.subscribe('http-flaky', server.url);
    const submitted = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id }));
    const event = await events.notificationOf(submitted.SnapshotJob.Id);
    expect(event).toStrictEqual({ JobId: submitted.SnapshotJob.Id, MNSMessageResult: { MessageId: expect.stringMatching(MESSAGE_ID) } });
    expect(server.requests.map((r) => r.status)).toEqual([500, 500, 200]);
    const body = success(submitted.SnapshotJob.Id, submitted.RequestId);
    for (const request of server.requests) {
      expect(request.method).toBe('POST');
      expect(JSON.parse(request.body)).toStrictEqual(body);
    }
    await service.close();
    // Nothing more after the success.
    expect(server.requests).toHaveLength(3);
    expect((await queried(service, submitted.SnapshotJob.Id)).MNSMessageResult).toStrictEqual(event.MNSMessageResult);
  });

  test('an endpoint that always fails: NotificationFailed recorded, the job a Success answered first', async () => {
    const { service } = await setup();
    const events = new Recorder(service);
    const server = await endpoint(() => 500);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'http', NotifyConfig: { Topic: 'http-down' } });
    service.subscribe('http-down', server.url);
    const order: string[] = [];
    service.on('notification', () => order.push('notification'));
    const submitted = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id }));
    const done = await service.waitForJob(submitted.SnapshotJob.Id);
    order.push('waitForJob');
    expect(done.State).toBe('Success');
    const event = await events.notificationOf(submitted.SnapshotJob.Id);
    expect(event.MNSMessageResult).toStrictEqual({
      ErrorCode: 'NotificationFailed',
      ErrorMessage: `1 of 1 subscribers of http-down did not take the message: ${server.url} answered HTTP 500`,
    });
    expect(server.requests.map((r) => r.status)).toEqual([500, 500, 500, 500]);
    expect(order).toEqual(['waitForJob', 'notification']);
    expect(events.entries.map((entry) => entry.kind).filter((kind) => kind !== 'progress')).toEqual(['job', 'notification']);
    expect(await queried(service, submitted.SnapshotJob.Id)).toMatchObject({
      State: 'Success',
      Code: '',
      MNSMessageResult: event.MNSMessageResult,
    });
  });

  test('a function and a failing endpoint on one topic: the function gets it, the result names the failure', async () => {
    const { service } = await setup();
    const events = new Recorder(service);
    const server = await endpoint(() => 503);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'mixed', NotifyConfig: { Topic: 'mixed' } });
    const got: NotificationMessage[] = [];
    service.subscribe('mixed', (message) => void got.push(message));
    service.subscribe('mixed', server.url);
    const submitted = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id }));
    const event = await events.notificationOf(submitted.SnapshotJob.Id);
    expect(event.MNSMessageResult).toStrictEqual({
      ErrorCode: 'NotificationFailed',
      ErrorMessage: `1 of 2 subscribers of mixed did not take the message: ${server.url} answered HTTP 503`,
    });
    expect(got).toStrictEqual([success(submitted.SnapshotJob.Id, submitted.RequestId)]);
  });
});

describe('the notifyDelivery option', () => {
  test('attempts and firstBackoffMs: as many tries as asked, then NotificationFailed', async () => {
    const { service } = await setup({ notifyDelivery: { attempts: 2, firstBackoffMs: 0 } });
    const events = new Recorder(service);
    const server = await endpoint(() => 500);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'http', NotifyConfig: { Topic: 'twice' } });
    service.subscribe('twice', server.url);
    let calls = 0;
    service.subscribe('twice', () => {
      calls += 1;
      throw new Error('no');
    });
    const submitted = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id }));
    const event = await events.notificationOf(submitted.SnapshotJob.Id);
    expect(event.MNSMessageResult).toStrictEqual({
      ErrorCode: 'NotificationFailed',
      ErrorMessage: `2 of 2 subscribers of twice did not take the message: ${server.url} answered HTTP 500; no`,
    });
    expect(server.requests.map((r) => r.status)).toEqual([500, 500]);
    expect(calls).toBe(2);
  });

  test('attemptTimeoutMs: a try that takes longer fails, and the next try is made', async () => {
    const { service } = await setup({ notifyDelivery: { attempts: 2, firstBackoffMs: 0, attemptTimeoutMs: 20 } });
    const events = new Recorder(service);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'p', NotifyConfig: { Topic: 'hangs' } });
    let calls = 0;
    service.subscribe('hangs', () => {
      calls += 1;
      return new Promise(() => undefined); // never settles
    });
    const submitted = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id }));
    const event = await events.notificationOf(submitted.SnapshotJob.Id);
    expect(event.MNSMessageResult).toStrictEqual({
      ErrorCode: 'NotificationFailed',
      ErrorMessage: '1 of 1 subscribers of hangs did not take the message: the subscriber took longer than 20 ms',
    });
    expect(calls).toBe(2);
  });

  test('bad values are refused when the service is made', () => {
    const cases: [unknown, string, string][] = [
      [
        null,
        ErrorCodes.InvalidParameter,
        'Expected an object with attempts, firstBackoffMs, attemptTimeoutMs for notifyDelivery but received null',
      ],
      [
        3,
        ErrorCodes.InvalidParameter,
        'Expected an object with attempts, firstBackoffMs, attemptTimeoutMs for notifyDelivery but received 3',
      ],
      [{ attempts: 0 }, ErrorCodes.OutOfRange, 'Expected an integer between 1 and 10 for notifyDelivery.attempts but received 0'],
      [{ attempts: 11 }, ErrorCodes.OutOfRange, 'Expected an integer between 1 and 10 for notifyDelivery.attempts but received 11'],
      [{ attempts: '2' }, ErrorCodes.InvalidParameter, 'Expected an integer between 1 and 10 for notifyDelivery.attempts but received "2"'],
      [
        { firstBackoffMs: -1 },
        ErrorCodes.OutOfRange,
        'Expected an integer between 0 and 60000 for notifyDelivery.firstBackoffMs but received -1',
      ],
      [
        { firstBackoffMs: 1.5 },
        ErrorCodes.InvalidParameter,
        'Expected an integer between 0 and 60000 for notifyDelivery.firstBackoffMs but received 1.5',
      ],
      [
        { attemptTimeoutMs: 0 },
        ErrorCodes.OutOfRange,
        'Expected an integer between 1 and 600000 for notifyDelivery.attemptTimeoutMs but received 0',
      ],
      [{ attempt: 2 }, ErrorCodes.InvalidParameter, 'Unknown option "attempt" for notifyDelivery: did you mean "attempts"?'],
      [
        { retries: 2 },
        ErrorCodes.InvalidParameter,
        'Unknown option "retries" for notifyDelivery: expected one of attempts, firstBackoffMs, attemptTimeoutMs',
      ],
    ];
    for (const [notifyDelivery, code, message] of cases) {
      let caught: unknown;
      try {
        new SnapshotService({ root: '/tmp', notifyDelivery: notifyDelivery as never });
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(notifyDelivery)).toMatchObject({ code, message });
    }
  });
});

describe('queues', () => {
  test('messages wait in the queue until received, oldest first; null when empty', async () => {
    const { service } = await setup({ workers: 1 });
    const events = new Recorder(service);
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'queued', NotifyConfig: '{"QueueName":"done-queue"}' });
    const submitted = [];
    for (let i = 0; i < 3; i++) submitted.push(await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id, userData: `q${i}` })));
    for (const answer of submitted) await events.notificationOf(answer.SnapshotJob.Id);

    expect(await service.receiveMessage('other-queue')).toBeNull();
    for (const [i, answer] of submitted.entries()) {
      const received = await service.receiveMessage('done-queue');
      const job = await queried(service, answer.SnapshotJob.Id);
      expect(received).toStrictEqual({
        MessageId: (job.MNSMessageResult as { MessageId: string }).MessageId,
        MessageBody: expect.any(String),
      });
      expect(received!.MessageId).toMatch(MESSAGE_ID);
      const body = success(answer.SnapshotJob.Id, answer.RequestId, `q${i}`);
      expect(JSON.parse(received!.MessageBody)).toStrictEqual(body);
      expect(received!.MessageBody).toBe(JSON.stringify(body));
    }
    expect(await service.receiveMessage('done-queue')).toBeNull();
    expect(await service.receiveMessage('done-queue', { waitSeconds: 0 })).toBeNull();
  });

  test('receiveMessage with waitSeconds resolves when a message arrives, and with null when none does', async () => {
    const { service } = await setup();
    const { Pipeline: pipeline } = await service.addPipeline({ Name: 'queued', NotifyConfig: { QueueName: 'wait-queue' } });
    const waiting = service.receiveMessage('wait-queue', { waitSeconds: 20 });
    const submitted = await service.submitSnapshotJob(jobRequest({ pipelineId: pipeline.Id }));
    const received = await waiting;
    expect(received).not.toBeNull();
    expect(JSON.parse(received!.MessageBody)).toStrictEqual(success(submitted.SnapshotJob.Id, submitted.RequestId));
    // Handed to the waiter, not kept.
    expect(await service.receiveMessage('wait-queue')).toBeNull();
    // The job records the message it sent (the notification is recorded right after delivery).
    await service.close();
    expect((await queried(service, submitted.SnapshotJob.Id)).MNSMessageResult).toStrictEqual({ MessageId: received!.MessageId });

    expect(await service.receiveMessage('wait-queue', { waitSeconds: 0.3 })).toBeNull();
  });

  test('receiveMessage refuses bad queue names and waits', async () => {
    const { service } = await setup();
    const queueMessage = (value: string) =>
      `Expected a queue name of letters, digits and -, at most 256 characters for queueName but received ${value}`;
    const waitMessage = (value: string) => `Expected a number of seconds between 0 and 30 for waitSeconds but received ${value}`;
    const cases: [() => unknown, string][] = [
      [() => service.receiveMessage(''), queueMessage('""')],
      [() => service.receiveMessage('two words'), queueMessage('"two words"')],
      [() => service.receiveMessage('-first'), queueMessage('"-first"')],
      [() => service.receiveMessage('q'.repeat(257)), queueMessage(`"${'q'.repeat(60)}…${'q'.repeat(59)}"`)],
      [() => service.receiveMessage(7 as never), queueMessage('7')],
      [() => service.receiveMessage('ok', { waitSeconds: -1 }), waitMessage('-1')],
      [() => service.receiveMessage('ok', { waitSeconds: 31 }), waitMessage('31')],
      [() => service.receiveMessage('ok', { waitSeconds: Number.NaN }), waitMessage('NaN')],
      [() => service.receiveMessage('ok', { waitSeconds: '5' as never }), waitMessage('"5"')],
    ];
    for (const [call, message] of cases) {
      const error = await refusal(call);
      expect({ code: error.code, message: error.message }).toEqual({ code: ErrorCodes.InvalidParameter, message });
    }
  });
});

describe('pipelines without NotifyConfig', () => {
  test('send nothing, and their jobs carry no MNSMessageResult', async () => {
    const { service } = await setup();
    const events = new Recorder(service);
    const quiet = (await service.addPipeline({ Name: 'quiet' })).Pipeline;
    // One that had a topic and lost it.
    const cleared = (await service.addPipeline({ Name: 'cleared', NotifyConfig: { Topic: 'was-here' } })).Pipeline;
    await service.updatePipeline({ PipelineId: cleared.Id, NotifyConfig: '' });
    const got: NotificationMessage[] = [];
    service.subscribe('was-here', (message) => void got.push(message));

    const ids = [
      (await service.submitSnapshotJob(jobRequest())).SnapshotJob.Id,
      (await service.submitSnapshotJob(jobRequest({ sync: true }))).SnapshotJob.Id,
      (await service.submitSnapshotJob(jobRequest({ pipelineId: quiet.Id }))).SnapshotJob.Id,
      (await service.submitSnapshotJob(jobRequest({ pipelineId: cleared.Id }))).SnapshotJob.Id,
      (await service.submitSnapshotJob(jobRequest({ pipelineId: quiet.Id, time: 10_000 }))).SnapshotJob.Id,
    ];
    for (const id of ids) await service.waitForJob(id);
    // close() waits for deliveries under way: after it, nothing more can come.
    await service.close();
    expect(events.jobs).toHaveLength(5);
    expect(events.notifications).toEqual([]);
    expect(got).toEqual([]);
    for (const id of ids) expect('MNSMessageResult' in (await queried(service, id))).toBe(false);
    expect(await service.receiveMessage('was-here')).toBeNull();
  });
});
