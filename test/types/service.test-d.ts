/**
 * The job API's public types as users see them in dist/: SnapshotConfig and
 * its parts take the documented wire forms (numbers as numbers or decimal
 * strings, flags as booleans or "true"/"false", the whole config as JSON
 * text) and refuse typos; a job's Code is an error code or ''; events are
 * typed per name; the README's examples compile as they are written there.
 */
import { describe, expectTypeOf, test } from 'vitest';

import { jobs as readmeJobs, lowLevel as readmeLowLevel } from '../consumer/readme-examples.js';

import {
  SnapshotService,
  type ErrorCode,
  type JobNotification,
  type JobProgress,
  type NotificationMessage,
  type NotifyConfig,
  type NotifyDeliveryOptions,
  type PipelineResponse,
  type QueryPipelineListResponse,
  type QuerySnapshotJobListResponse,
  type SnapshotConfig,
  type SnapshotJob,
  type SnapshotServiceEvents,
  type SubmitSnapshotJobRequest,
  type SubmitSnapshotJobResponse,
  type SubOut,
  type TileOut,
} from '../../dist/index.js';

const OutputFile = { Bucket: 'example-001', Location: 'oss-cn-hangzhou', Object: '{Count}.jpg' };

describe('SnapshotConfig', () => {
  test('takes numbers as numbers or decimal strings, and the JSON text form', () => {
    const wire: SnapshotConfig = { OutputFile, Time: '5', Num: '10', Interval: '0.5', Width: '160', Height: '90' };
    const numbers: SnapshotConfig = { OutputFile, Time: 5, Num: 10, Interval: 0.5, Width: 160, Height: 90 };
    const filtered: SnapshotConfig = { OutputFile, Time: 0, Num: 3, BlackLevel: '90', PixelBlackThreshold: 16, FrameType: 'normal' };
    const asText: SubmitSnapshotJobRequest = { Input: '{"Bucket":"b","Object":"a.mp4"}', SnapshotConfig: '{"Tme":5}' };
    void [wire, numbers, filtered, asText];
    expectTypeOf<SnapshotConfig['Time']>().toEqualTypeOf<number | `${number}`>();
    expectTypeOf<SnapshotConfig['FrameType']>().toEqualTypeOf<'intra' | 'normal' | undefined>();
    expectTypeOf<SnapshotJob['SnapshotConfig']>().toEqualTypeOf<SnapshotConfig>();
    expectTypeOf<Exclude<SubmitSnapshotJobRequest['SnapshotConfig'], string>>().toEqualTypeOf<SnapshotConfig>();
    expectTypeOf<SnapshotConfig['TileOut']>().toEqualTypeOf<TileOut | undefined>();
    expectTypeOf<SnapshotConfig['SubOut']>().toEqualTypeOf<SubOut | undefined>();
  });

  test('refuses typos, missing fields and values of the wrong form', () => {
    // @ts-expect-error: Tme is not a field (Time is)
    const typo: SnapshotConfig = { OutputFile, Tme: 5 };
    // @ts-expect-error: Time is required
    const noTime: SnapshotConfig = { OutputFile };
    // @ts-expect-error: OutputFile is required
    const noOutput: SnapshotConfig = { Time: 5 };
    // @ts-expect-error: a time is milliseconds, not "5s"
    const withUnit: SnapshotConfig = { OutputFile, Time: '5s' };
    // @ts-expect-error: FrameType is intra or normal
    const frameType: SnapshotConfig = { OutputFile, Time: 5, FrameType: 'exact' };
    // @ts-expect-error: the only Format is vtt
    const format: SnapshotConfig = { OutputFile, Time: 5, Format: 'srt' };
    // @ts-expect-error: OutputFile.Objekt is a typo
    const location: SnapshotConfig = { OutputFile: { Bucket: 'b', Objekt: 'a.jpg' }, Time: 5 };
    void [typo, noTime, noOutput, withUnit, frameType, format, location];
  });

  test('a request refuses a SnapshotConfig object with a typo', () => {
    const request: SubmitSnapshotJobRequest = {
      Input: { Bucket: 'example-bucket', Object: 'example.flv' },
      // @ts-expect-error: Tme is not a field of SnapshotConfig
      SnapshotConfig: { OutputFile, Tme: 5 },
    };
    void request;
  });
});

describe('TileOut and SubOut', () => {
  test('take numbers, flags and colours in their documented forms', () => {
    const tiles: TileOut = {
      Lines: '10',
      Columns: 10,
      CellWidth: 160,
      CellHeight: '90',
      Margin: 4,
      Padding: '2',
      Color: '#102030',
      IsKeepCellPic: 'false',
      CellSelStep: 2,
    };
    const flags: TileOut = { IsKeepCellPic: true };
    const sub: SubOut = { IsSptFrag: 'true' };
    const subFlag: SubOut = { IsSptFrag: false };
    void [tiles, flags, sub, subFlag];
    expectTypeOf<TileOut['IsKeepCellPic']>().toEqualTypeOf<boolean | 'true' | 'false' | undefined>();
  });

  test('refuse typos and flags that are not true or false', () => {
    // @ts-expect-error: Colour is not a field (Color is)
    const colour: TileOut = { Colour: 'black' };
    // @ts-expect-error: a flag is true or false
    const yes: TileOut = { IsKeepCellPic: 'yes' };
    // @ts-expect-error: Lines is a number
    const lines: TileOut = { Lines: 'ten' };
    // @ts-expect-error: IsSptFrg is a typo
    const sub: SubOut = { IsSptFrg: 'true' };
    void [colour, yes, lines, sub];
  });
});

describe('jobs, notifications', () => {
  test("a job's Code is an error code, or '' when it has none", () => {
    expectTypeOf<SnapshotJob['Code']>().toEqualTypeOf<ErrorCode | ''>();
    const none: SnapshotJob['Code'] = '';
    // @ts-expect-error: not an error code
    const typo: SnapshotJob['Code'] = 'InvalidParamter';
    void [none, typo];
  });

  test('NotifyConfig names a Topic or a QueueName and refuses typos', () => {
    const topic: NotifyConfig = { Topic: 'snapshot-done' };
    const queue: NotifyConfig = { QueueName: 'snapshots' };
    // @ts-expect-error: Topik is a typo
    const typo: NotifyConfig = { Topik: 'snapshot-done' };
    void [topic, queue, typo];
    expectTypeOf<NotificationMessage['Code']>().toEqualTypeOf<ErrorCode | undefined>();
  });
});

describe('SnapshotService methods', () => {
  test('queries, pipelines and cancelling answer with promises; the default pipeline id is a string', () => {
    const service = new SnapshotService({ root: '/srv/media' });
    expectTypeOf(service.querySnapshotJobList).returns.toEqualTypeOf<Promise<QuerySnapshotJobListResponse>>();
    expectTypeOf(service.addPipeline).returns.toEqualTypeOf<Promise<PipelineResponse>>();
    expectTypeOf(service.updatePipeline).returns.toEqualTypeOf<Promise<PipelineResponse>>();
    expectTypeOf(service.queryPipelineList).returns.toEqualTypeOf<Promise<QueryPipelineListResponse>>();
    expectTypeOf(service.cancelSnapshotJob).parameters.toEqualTypeOf<[jobId: string]>();
    expectTypeOf(service.cancelSnapshotJob).returns.toEqualTypeOf<Promise<SnapshotJob>>();
    expectTypeOf(service.ready).returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf(service.defaultPipelineId).toEqualTypeOf<string>();
    // The blocking twin stays synchronous.
    expectTypeOf(service.submitSnapshotJobSync).returns.toEqualTypeOf<SubmitSnapshotJobResponse>();
  });

  test('refuse answers read as if they were not promises', async () => {
    const service = new SnapshotService({ root: '/srv/media' });
    // @ts-expect-error: the answer is a promise; await it first
    const list = service.querySnapshotJobList({}).SnapshotJobList;
    // @ts-expect-error: the answer is a promise; await it first
    const id = service.addPipeline({ Name: 'p' }).Pipeline.Id;
    const awaited = (await service.addPipeline({ Name: 'p' })).Pipeline.Id;
    void [list, id, awaited];
  });
});

describe('SnapshotService events', () => {
  test('listeners get the payload of their event', () => {
    expectTypeOf<SnapshotServiceEvents>().toEqualTypeOf<{
      progress: [progress: JobProgress];
      job: [job: SnapshotJob];
      notification: [notification: JobNotification];
    }>();
    const service = new SnapshotService({ root: '/srv/media' });
    service.on('progress', (progress) => expectTypeOf(progress).toEqualTypeOf<JobProgress>());
    service.once('job', (job) => expectTypeOf(job.Code).toEqualTypeOf<ErrorCode | ''>());
    service.on('notification', ({ JobId, MNSMessageResult }) => void [JobId, MNSMessageResult]);
  });

  test('refuse event names with typos and listeners of the wrong payload', () => {
    const service = new SnapshotService({ root: '/srv/media' });
    // @ts-expect-error: progres is not an event (progress is)
    service.on('progres', () => undefined);
    // @ts-expect-error: notifications is not an event (notification is)
    service.once('notifications', () => undefined);
    // @ts-expect-error: a progress listener gets a JobProgress, not a job
    service.on('progress', (job: SnapshotJob) => void job);
  });

  test('notifyDelivery takes the retry policy, every field optional', () => {
    const quick: NotifyDeliveryOptions = { attempts: 2, firstBackoffMs: 1, attemptTimeoutMs: 100 };
    const service = new SnapshotService({ root: '/srv/media', notifyDelivery: quick });
    // @ts-expect-error: retries is not a field (attempts is)
    const typo: NotifyDeliveryOptions = { retries: 2 };
    void [service, typo];
  });
});

describe("the README's examples", () => {
  // test/consumer/readme-examples.ts holds them as the README writes them (the
  // consumer test also checks it against the packed tarball); importing it
  // here type-checks it on every run: an error in it fails the run.
  test('compile against the published types', () => {
    expectTypeOf(readmeJobs).toEqualTypeOf<() => Promise<void>>();
    expectTypeOf(readmeLowLevel).toEqualTypeOf<() => Promise<void>>();
  });
});
