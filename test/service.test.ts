/**
 * The job API (SPEC sections 2-4, 7, 8): SnapshotService's submitSnapshotJob,
 * submitSnapshotJobSync and querySnapshotJobList, wire-compatible with the
 * cloud SubmitSnapshotJob API (seed/SubmitSnapshotJob.md).
 *
 * Every test makes its own root folder with the seed's buckets
 * (`example-bucket` for input, `example-001` for output) and copies clips in.
 * The seed's examples run verbatim on a 200 s clip in FLV (keyframes every
 * 10 s); other tests use the 4 s h264 fixture (25 fps, a keyframe each
 * second, last frame at 3960 ms). Images are identified by pixels: against
 * the keyframes (or the full sequential decode) of the ffmpeg CLI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterEach, describe, expect, test } from 'vitest';

import {
  SnapshotError,
  SnapshotService,
  type ObjectLocation,
  type SnapshotJob,
  type SnapshotServiceOptions,
  type SubmitSnapshotJobRequest,
  type SubmitSnapshotJobResponse,
} from '../dist/index.js';
import { exactFrameIndex, fixture, referenceFrames } from './fixtures.js';
import {
  counted,
  CREATION_TIME,
  failureOf,
  files,
  JOB_ID,
  jsonError,
  keyframes,
  longClip,
  longFlv,
  UPPER_UUID,
  whichFrame,
  workspace,
  type Workspace,
} from './helpers/service-clips.js';
import { IN, LOCATION, OUT, SEED_ASYNC_CONFIG, SEED_INPUT, SEED_SYNC_CONFIG } from './helpers/seed.js';

const SEED_USER_DATA = 'testid-001';

/** The fields SPEC section 7 lists for a SnapshotJob; nothing else may appear. */
// SPEC section 7, and Percent: framesnap's own progress field on asynchronous jobs (README).
const JOB_FIELDS = [
  'Id',
  'State',
  'Code',
  'Message',
  'Count',
  'TileCount',
  'CreationTime',
  'PipelineId',
  'UserData',
  'Input',
  'SnapshotConfig',
  'MNSMessageResult',
  'Percent',
];

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  ws: Workspace;
  service: SnapshotService;
  /** The output bucket's folder. */
  out: string;
}

/** A root with the seed's two buckets and a service on it (2 workers); both go after the test. */
function setup(options: Partial<SnapshotServiceOptions> = {}): Setup {
  const ws = workspace([IN, OUT]);
  cleanups.push(() => ws.remove());
  const service = new SnapshotService({ root: ws.root, workers: 2, ...options });
  cleanups.push(() => service.close());
  return { ws, service, out: ws.bucket(OUT) };
}

/** The seed's example.flv in the input bucket. */
async function withExample(options: Partial<SnapshotServiceOptions> = {}): Promise<Setup> {
  const made = setup(options);
  made.ws.put(IN, 'example.flv', await longFlv());
  return made;
}

/** The 4 s h264 fixture as example-bucket/clip.mp4 (or `key`). */
async function withClip(key = 'clip.mp4', options: Partial<SnapshotServiceOptions> = {}): Promise<Setup> {
  const made = setup(options);
  made.ws.put(IN, key, await fixture('h264'));
  return made;
}

type Submit = (service: SnapshotService, request: SubmitSnapshotJobRequest) => Promise<SubmitSnapshotJobResponse>;

/** The Promise API and its blocking twin, run through the same tables. */
const TWINS: [string, Submit][] = [
  ['submitSnapshotJob', (service, request) => service.submitSnapshotJob(request)],
  [
    'submitSnapshotJobSync',
    async (service, request) => {
      const response = service.submitSnapshotJobSync(request);
      expect(response).not.toBeInstanceOf(Promise);
      return response;
    },
  ],
];

const input = (object: string, bucket = IN) => ({ Bucket: bucket, Location: LOCATION, Object: object });
const output = (object: string, bucket = OUT) => ({ Bucket: bucket, Location: LOCATION, Object: object });

/** Checks the job's fields against SPEC section 7 and `expected` exactly. */
function expectJob(job: SnapshotJob, expected: Record<string, unknown>): void {
  expect(Object.keys(job).filter((key) => !JOB_FIELDS.includes(key))).toEqual([]);
  const picked = Object.fromEntries(Object.keys(expected).map((key) => [key, (job as unknown as Record<string, unknown>)[key]]));
  expect(picked).toEqual(expected);
}

function expectCreationTime(value: string, before: number, after: number): void {
  expect(value).toMatch(CREATION_TIME);
  const at = Date.parse(value);
  expect(at).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
  expect(at).toBeLessThanOrEqual(after);
}

/** The request failed with a SnapshotError that carries a request id; returns it. */
async function refused(submit: Submit, service: SnapshotService, request: SubmitSnapshotJobRequest): Promise<SnapshotError> {
  const error = await failureOf(() => submit(service, request));
  expect(error).toBeInstanceOf(SnapshotError);
  expect(error.requestId).toMatch(UPPER_UUID);
  return error;
}

/** The one job with this id, as querySnapshotJobList shows it. */
async function queried(service: SnapshotService, id: string): Promise<SnapshotJob> {
  const answer = await service.querySnapshotJobList({ SnapshotJobIds: id });
  expect(answer.NonExistSnapshotJobIds.String).toEqual([]);
  expect(answer.SnapshotJobList.SnapshotJob).toHaveLength(1);
  return answer.SnapshotJobList.SnapshotJob[0]!;
}

describe.each(TWINS)('the seed examples through %s', (_name, submit) => {
  test('synchronous: one JPEG of the keyframe at or before 5 ms, the final state in the response', async () => {
    const { service, out } = await withExample();
    const before = Date.now();
    const response = await submit(service, { Input: SEED_INPUT, SnapshotConfig: SEED_SYNC_CONFIG, UserData: SEED_USER_DATA });
    const after = Date.now();
    expect(Object.keys(response).sort()).toEqual(['RequestId', 'SnapshotJob']);
    expect(response.RequestId).toMatch(UPPER_UUID);
    expectJob(response.SnapshotJob, {
      Id: expect.stringMatching(JOB_ID),
      State: 'Success',
      Code: '',
      Message: '',
      Count: '1',
      PipelineId: service.defaultPipelineId,
      UserData: 'testid-001',
      Input: { Bucket: 'example-bucket', Location: 'oss-cn-hangzhou', Object: 'example.flv' },
      SnapshotConfig: { OutputFile: { Bucket: 'example-001', Location: 'oss-cn-hangzhou', Object: 'example.jpg' }, Time: '5' },
    });
    expectCreationTime(response.SnapshotJob.CreationTime, before, after);
    expect(service.defaultPipelineId).toMatch(JOB_ID);

    expect(files(out)).toEqual(['example.jpg']);
    const jpeg = readFileSync(join(out, 'example.jpg'));
    expect(await sharp(jpeg).metadata()).toMatchObject({ format: 'jpeg', width: 320, height: 240 });
    const keys = await keyframes(await longFlv());
    expect(keys).toHaveLength(20);
    expect(await whichFrame(jpeg, keys)).toBe(0);

    // The job is remembered as answered.
    expect(await queried(service, response.SnapshotJob.Id)).toEqual(response.SnapshotJob);
  });

  test('asynchronous: Submitted, then 10 images 20 s apart from 5 ms, named {Count}', async () => {
    const { service, out } = await withExample();
    const before = Date.now();
    const response = await submit(service, { Input: SEED_INPUT, SnapshotConfig: SEED_ASYNC_CONFIG, UserData: SEED_USER_DATA });
    const after = Date.now();
    expect(response.RequestId).toMatch(UPPER_UUID);
    const echo = {
      PipelineId: service.defaultPipelineId,
      UserData: 'testid-001',
      Input: { Bucket: 'example-bucket', Location: 'oss-cn-hangzhou', Object: 'example.flv' },
      SnapshotConfig: {
        OutputFile: { Bucket: 'example-001', Location: 'oss-cn-hangzhou', Object: '{Count}.jpg' },
        Time: '5',
        Num: '10',
        Interval: '20',
      },
    };
    expectJob(response.SnapshotJob, { Id: expect.stringMatching(JOB_ID), State: 'Submitted', Code: '', Message: '', Count: '0', ...echo });
    expectCreationTime(response.SnapshotJob.CreationTime, before, after);

    const finished = await service.waitForJob(response.SnapshotJob.Id);
    expectJob(finished, {
      Id: response.SnapshotJob.Id,
      State: 'Success',
      Code: '',
      Message: '',
      Count: '10',
      CreationTime: response.SnapshotJob.CreationTime,
      ...echo,
    });
    expect(files(out)).toEqual(counted(10));
    const keys = await keyframes(await longFlv());
    const shown = [];
    for (const name of counted(10)) shown.push(await whichFrame(readFileSync(join(out, name)), keys));
    // 5 ms + 20 s * k: the keyframe at 20 s * k (keyframes are 10 s apart).
    expect(shown).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);

    const answer = await service.querySnapshotJobList({ SnapshotJobIds: response.SnapshotJob.Id });
    expect(answer).toEqual({
      RequestId: expect.stringMatching(UPPER_UUID),
      SnapshotJobList: { SnapshotJob: [finished] },
      NonExistSnapshotJobIds: { String: [] },
    });
    expect(answer.RequestId).not.toBe(response.RequestId);
  });
});

test('submitSnapshotJobSync blocks: the JPEG is on disk the moment it returns', async () => {
  const { service, out } = await withExample();
  const response = service.submitSnapshotJobSync({ Input: SEED_INPUT, SnapshotConfig: SEED_SYNC_CONFIG, UserData: SEED_USER_DATA });
  const present = files(out); // no await in between: nothing else ran
  // The first query made after it returns shows the job as answered.
  const listed = service.querySnapshotJobList({ SnapshotJobIds: response.SnapshotJob.Id });
  expect(response.SnapshotJob.State).toBe('Success');
  expect(present).toEqual(['example.jpg']);
  expect((await listed).SnapshotJobList.SnapshotJob).toEqual([response.SnapshotJob]);
  expect(await whichFrame(readFileSync(join(out, 'example.jpg')), await keyframes(await longFlv()))).toBe(0);
});

test('RequestId and Id are fresh for every call', async () => {
  const { service } = await withClip();
  const request = { Input: input('clip.mp4'), SnapshotConfig: { OutputFile: output('a.jpg'), Time: '0' } };
  const answers = [
    await service.submitSnapshotJob(request),
    service.submitSnapshotJobSync(request),
    await service.submitSnapshotJob(request),
  ];
  expect(new Set(answers.map((answer) => answer.RequestId)).size).toBe(3);
  expect(new Set(answers.map((answer) => answer.SnapshotJob.Id)).size).toBe(3);
  expect(answers.map((answer) => answer.SnapshotJob.UserData)).toEqual([undefined, undefined, undefined]);
  expect(answers.map((answer) => 'UserData' in answer.SnapshotJob)).toEqual([false, false, false]);
});

describe.each(TWINS)('request forms through %s', (_name, submit) => {
  test('Input and SnapshotConfig as objects, numbers as numbers: the same job as the wire form', async () => {
    const { service, out } = await withExample();
    const wire = await submit(service, {
      Input: SEED_INPUT,
      SnapshotConfig: JSON.stringify({ OutputFile: output('wire.jpg'), Time: '5' }),
    });
    const objects = await submit(service, {
      Input: { Bucket: IN, Location: LOCATION, Object: 'example.flv' },
      SnapshotConfig: { OutputFile: output('objects.jpg'), Time: 5 },
    });
    expectJob(objects.SnapshotJob, {
      State: 'Success',
      Count: '1',
      Input: { Bucket: IN, Location: LOCATION, Object: 'example.flv' },
      SnapshotConfig: { OutputFile: output('objects.jpg'), Time: 5 },
    });
    expect(wire.SnapshotJob.State).toBe('Success');
    expect(files(out)).toEqual(['objects.jpg', 'wire.jpg']);
    expect(readFileSync(join(out, 'objects.jpg')).equals(readFileSync(join(out, 'wire.jpg')))).toBe(true);

    const series = await submit(service, {
      Input: { Bucket: IN, Object: 'example.flv' },
      SnapshotConfig: { OutputFile: { Bucket: OUT, Object: 'series/{Count}.jpg' }, Time: 5, Num: 10, Interval: 20 },
    });
    expect(series.SnapshotJob.State).toBe('Submitted');
    expect(series.SnapshotJob.SnapshotConfig).toEqual({
      OutputFile: { Bucket: OUT, Object: 'series/{Count}.jpg' },
      Time: 5,
      Num: 10,
      Interval: 20,
    });
    expect(series.SnapshotJob.Input).toEqual({ Bucket: IN, Object: 'example.flv' });
    expect(await service.waitForJob(series.SnapshotJob.Id)).toMatchObject({ State: 'Success', Count: '10' });
    expect(files(join(out, 'series'))).toEqual(counted(10));
  });

  test('Width alone keeps the aspect ratio; Width and Height give the exact size; Action is accepted', async () => {
    const { service, out } = await withClip();
    await submit(service, {
      Action: 'SubmitSnapshotJob',
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: output('w.jpg'), Time: '1000', Width: '160' },
    });
    await submit(service, {
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: output('wh.jpg'), Time: 1000, Width: 100, Height: 50 },
    });
    await submit(service, { Input: input('clip.mp4'), SnapshotConfig: { OutputFile: output('h.jpg'), Time: 1000, Height: 60 } });
    const size = async (name: string) => {
      const { width, height } = await sharp(readFileSync(join(out, name))).metadata();
      return [width, height];
    };
    expect([await size('w.jpg'), await size('wh.jpg'), await size('h.jpg')]).toEqual([
      [160, 120],
      [100, 50],
      [80, 60],
    ]);
  });
});

describe('output names', () => {
  test('{ObjectPrefix}, {FileName}, {ExtName}, {Count} and {SnapshotTime} from a URL-encoded input key', async () => {
    const { service, out } = await withClip('videos/my clip.mp4');
    const response = await service.submitSnapshotJob({
      Input: input('videos/my%20clip.mp4'),
      SnapshotConfig: {
        OutputFile: output('{ObjectPrefix}{FileName}_{ExtName}/{Count}_{SnapshotTime}.jpg'),
        Time: '500',
        Interval: '1',
        Num: '3',
      },
    });
    expect(response.SnapshotJob.Input).toEqual(input('videos/my%20clip.mp4'));
    expect(await service.waitForJob(response.SnapshotJob.Id)).toMatchObject({ State: 'Success', Count: '3' });
    // Intra: 500, 1500, 2500 ms give the keyframes at 0, 1000, 2000 ms.
    expect(files(out)).toEqual([
      'videos/my clip_mp4/00001_0.jpg',
      'videos/my clip_mp4/00002_1000.jpg',
      'videos/my clip_mp4/00003_2000.jpg',
    ]);
  });

  test('a single image: {Count} is 00001, {SnapshotTime} is the exact frame time in whole ms', async () => {
    const { service, out } = await withClip();
    await service.submitSnapshotJob({
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: output('{FileName}-{Count}-{SnapshotTime}.{ExtName}.jpg'), Time: '1010', FrameType: 'normal' },
    });
    expect(files(out)).toEqual(['clip-00001-1040.mp4.jpg']);
  });

  test('an output key with folders creates them inside the bucket', async () => {
    const { service, out } = await withClip();
    await service.submitSnapshotJob({
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: output('a/b/c/d/{FileName}.jpg'), Time: '0' },
    });
    expect(files(out)).toEqual(['a/b/c/d/clip.jpg']);
  });

  test('keys are URL-decoded exactly once, input and output', async () => {
    const { ws, service, out } = await withClip('my%20video.mp4');
    ws.put(IN, 'my video.mp4', await fixture('h264'));
    // %2520 decodes to %20 (the file named with a literal %20), not to a space.
    await service.submitSnapshotJob({
      Input: input('my%2520video.mp4'),
      SnapshotConfig: { OutputFile: output('once/{FileName}.jpg'), Time: '0' },
    });
    await service.submitSnapshotJob({
      Input: input('my%20video.mp4'),
      SnapshotConfig: { OutputFile: output('space/{FileName}.jpg'), Time: '0' },
    });
    // The output key is decoded too: thumbs%2Fday%201%2F -> "thumbs/day 1/", and %2520 -> "%20".
    await service.submitSnapshotJob({
      Input: input('my%20video.mp4'),
      SnapshotConfig: { OutputFile: output('thumbs%2Fday%201%2F{Count}%2520.jpg'), Time: '0' },
    });
    // A key with no % is taken as is, spaces and all.
    await service.submitSnapshotJob({
      Input: input('my video.mp4'),
      SnapshotConfig: { OutputFile: output('plain/{FileName}.jpg'), Time: '0' },
    });
    expect(files(out)).toEqual(['once/my%20video.jpg', 'plain/my video.jpg', 'space/my video.jpg', 'thumbs/day 1/00001%20.jpg']);
  });
});

describe('series', () => {
  test.each(['intra', 'normal'] as const)('%s: Num larger than fits stops at the end with the real Count', async (frameType) => {
    const { service, out } = await withClip();
    const response = await service.submitSnapshotJob({
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: output('{Count}_{SnapshotTime}.jpg'), Time: '0', Interval: '1', Num: '10', FrameType: frameType },
    });
    expect(response.SnapshotJob.State).toBe('Submitted');
    expect(await service.waitForJob(response.SnapshotJob.Id)).toMatchObject({ State: 'Success', Code: '', Message: '', Count: '4' });
    expect(files(out)).toEqual(['00001_0.jpg', '00002_1000.jpg', '00003_2000.jpg', '00004_3000.jpg']);
  });

  test('Interval without Num runs to the end of the video', async () => {
    const { service, out } = await withClip();
    const response = await service.submitSnapshotJob({
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: output('{Count}_{SnapshotTime}.jpg'), Time: '0', Interval: '1.5', FrameType: 'normal' },
    });
    expect(await service.waitForJob(response.SnapshotJob.Id)).toMatchObject({ State: 'Success', Count: '3' });
    // 0, 1500, 3000 ms: the first frames at or after them (25 fps).
    expect(files(out)).toEqual(['00001_0.jpg', '00002_1520.jpg', '00003_3000.jpg']);
  });

  test('Interval without Num that would make more than 10000 images fails with OutOfRange, leaving nothing', async () => {
    const { service, out } = await withClip();
    const response = await service.submitSnapshotJob({
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: output('{Count}.jpg'), Time: '0', Interval: '0.0001' },
    });
    expect(await service.waitForJob(response.SnapshotJob.Id)).toMatchObject({
      State: 'Fail',
      Code: 'InvalidParameter.OutOfRange',
      Message: 'SnapshotConfig.Interval 0.0001 s over 4000 ms of video makes 40000 images; at most 10000 are allowed in one job',
      Count: '0',
    });
    expect(files(out)).toEqual([]);
  });

  test('Interval 0 spreads Num images evenly from Time to the end', async () => {
    const { service, out } = await withClip();
    const response = await service.submitSnapshotJob({
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: output('{Count}_{SnapshotTime}.jpg'), Time: '0', Interval: '0', Num: '5', FrameType: 'normal' },
    });
    expect(await service.waitForJob(response.SnapshotJob.Id)).toMatchObject({ State: 'Success', Count: '5' });
    expect(files(out)).toEqual(['00001_0.jpg', '00002_800.jpg', '00003_1600.jpg', '00004_2400.jpg', '00005_3200.jpg']);
  });

  test('intra: a single Time past the end gives the last keyframe; a 64-byte Location is accepted', async () => {
    const { service, out } = await withClip();
    const response = await service.submitSnapshotJob({
      Input: { ...input('clip.mp4'), Location: `oss-${'a'.repeat(60)}` },
      SnapshotConfig: { OutputFile: output('{SnapshotTime}.jpg'), Time: '60000' },
    });
    expect(response.SnapshotJob).toMatchObject({ State: 'Success', Count: '1' });
    expect(files(out)).toEqual(['3000.jpg']);
  });

  test('Num 1 needs no {Count} and is still asynchronous', async () => {
    const { service, out } = await withClip();
    const response = await service.submitSnapshotJob({
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: output('one.jpg'), Time: '2000', Num: '1' },
    });
    expect(response.SnapshotJob.State).toBe('Submitted');
    expect(await service.waitForJob(response.SnapshotJob.Id)).toMatchObject({ State: 'Success', Count: '1' });
    expect(files(out)).toEqual(['one.jpg']);
  });

  test('FrameType normal: each image is the first frame at or after its time, by pixels', async () => {
    const { service, out } = await withClip();
    const response = await service.submitSnapshotJob({
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: output('{Count}_{SnapshotTime}.jpg'), Time: '10', Interval: '1', Num: '3', FrameType: 'normal' },
    });
    expect(await service.waitForJob(response.SnapshotJob.Id)).toMatchObject({ State: 'Success', Count: '3' });
    expect(files(out)).toEqual(['00001_40.jpg', '00002_1040.jpg', '00003_2040.jpg']);
    const reference = await referenceFrames(await fixture('h264'), 320, 240);
    const problems: string[] = [];
    for (const [name, time] of [
      ['00001_40.jpg', 10],
      ['00002_1040.jpg', 1010],
      ['00003_2040.jpg', 2010],
    ] as const) {
      const index = exactFrameIndex(reference, time);
      const shown = await whichFrame(readFileSync(join(out, name)), [
        reference.frames[index - 1]!,
        reference.frames[index]!,
        reference.frames[index + 1]!,
      ]);
      if (shown !== 1) problems.push(`${name}: not frame ${index} (${reference.times[index]} ms); matched candidate ${shown}`);
    }
    expect(problems).toEqual([]);
  });
});

describe('querySnapshotJobList', () => {
  test('by ids, comma-separated or as an array; unknown ids in NonExistSnapshotJobIds; at most 10', async () => {
    const { service } = await withClip();
    const one = (await service.submitSnapshotJob({ Input: input('clip.mp4'), SnapshotConfig: { OutputFile: output('1.jpg'), Time: '0' } }))
      .SnapshotJob;
    const two = (
      await service.submitSnapshotJob({
        Input: input('clip.mp4'),
        SnapshotConfig: { OutputFile: output('2/{Count}.jpg'), Time: '0', Num: '2' },
      })
    ).SnapshotJob;
    const twoDone = await service.waitForJob(two.Id);
    const unknown = '0123456789abcdef0123456789abcdef';

    const byString = await service.querySnapshotJobList({ SnapshotJobIds: `${one.Id}, ${unknown} ,${two.Id}` });
    expect(byString).toEqual({
      RequestId: expect.stringMatching(UPPER_UUID),
      SnapshotJobList: { SnapshotJob: [one, twoDone] },
      NonExistSnapshotJobIds: { String: [unknown] },
    });
    const byArray = await service.querySnapshotJobList({ SnapshotJobIds: [two.Id, 'nope', one.Id] });
    expect(byArray.SnapshotJobList.SnapshotJob).toEqual([twoDone, one]);
    expect(byArray.NonExistSnapshotJobIds.String).toEqual(['nope']);
    expect(byArray.RequestId).not.toBe(byString.RequestId);

    const ten = [one.Id, ...Array.from({ length: 9 }, (_, i) => `missing${i}`)];
    const answer = await service.querySnapshotJobList({ SnapshotJobIds: ten.join(',') });
    expect(answer.SnapshotJobList.SnapshotJob).toEqual([one]);
    expect(answer.NonExistSnapshotJobIds.String).toEqual(ten.slice(1));

    for (const eleven of [[...ten, two.Id].join(','), [...ten, two.Id]]) {
      const error = await failureOf(() => service.querySnapshotJobList({ SnapshotJobIds: eleven }));
      expect([error.code, error.message]).toEqual(['InvalidParameter', 'SnapshotJobIds holds 11 ids; at most 10 are allowed']);
    }
    const empty = await failureOf(() => service.querySnapshotJobList({ SnapshotJobIds: '' }));
    expect([empty.code, empty.message]).toEqual([
      'InvalidParameter.NullValue',
      'Expected ids as strings for SnapshotJobIds but received ""',
    ]);
  });

  // SPEC section 8: every failed call's SnapshotError has a requestId.
  test('a refused query carries a requestId like every failed call', async () => {
    const { service } = setup();
    const errors = [
      await failureOf(() => service.querySnapshotJobList({ SnapshotJobIds: Array.from({ length: 11 }, (_, i) => `id${i}`) })),
      await failureOf(() => service.querySnapshotJobList({ SnapshotJobIds: '' })),
    ];
    expect(errors.map((error) => [error.code, typeof error.requestId === 'string' && UPPER_UUID.test(error.requestId)])).toEqual([
      ['InvalidParameter', true],
      ['InvalidParameter.NullValue', true],
    ]);
  });

  test('answers are copies: changing one does not change the job', async () => {
    const { service } = await withClip();
    const { SnapshotJob: job } = await service.submitSnapshotJob({
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: output('1.jpg'), Time: '0' },
    });
    (await service.querySnapshotJobList({ SnapshotJobIds: job.Id })).SnapshotJobList.SnapshotJob[0]!.State = 'Fail';
    job.Count = '99';
    expect(await queried(service, job.Id)).toMatchObject({ State: 'Success', Count: '1' });
  });
});

const CONFIG = { OutputFile: output('out.jpg'), Time: '1000' };
const withConfig = (changes: Record<string, unknown>) => ({ Input: input('clip.mp4'), SnapshotConfig: { ...CONFIG, ...changes } });
const BAD_INPUT_JSON = '{"Bucket":"example-bucket", "Object": "clip.mp4"';

/** Requests refused before any work: [label, request, code, message]. */
const REFUSED: [string, SubmitSnapshotJobRequest, string, string][] = [
  [
    'an unknown SnapshotConfig field',
    withConfig({ Tme: '5' }),
    'InvalidParameter',
    'Unknown field "Tme" for SnapshotConfig: did you mean "Time"?',
  ],
  [
    'an unknown request field',
    { ...withConfig({}), Bucket: IN } as SubmitSnapshotJobRequest,
    'InvalidParameter',
    'Unknown field "Bucket" for request: expected one of Input, SnapshotConfig, PipelineId, UserData, Action',
  ],
  [
    'an unknown Input field',
    { Input: { ...input('clip.mp4'), Key: 'x' } as ObjectLocation, SnapshotConfig: CONFIG },
    'InvalidParameter',
    'Unknown field "Key" for Input: expected one of Bucket, Location, Object',
  ],
  [
    'a series without {Count} (Num)',
    withConfig({ Num: '3', Interval: '1' }),
    'InvalidParameter',
    'SnapshotConfig.OutputFile.Object needs {Count} when the job can produce more than one image',
  ],
  [
    'a series without {Count} (Interval only)',
    withConfig({ Interval: '1' }),
    'InvalidParameter',
    'SnapshotConfig.OutputFile.Object needs {Count} when the job can produce more than one image',
  ],
  [
    'Width 5000',
    withConfig({ Width: 5000 }),
    'InvalidParameter.OutOfRange',
    'Expected an integer between 8 and 4096 for SnapshotConfig.Width but received 5000',
  ],
  [
    'Width "5000"',
    withConfig({ Width: '5000' }),
    'InvalidParameter.OutOfRange',
    'Expected an integer between 8 and 4096 for SnapshotConfig.Width but received "5000"',
  ],
  [
    'Height 7',
    withConfig({ Height: 7 }),
    'InvalidParameter.OutOfRange',
    'Expected an integer between 8 and 4096 for SnapshotConfig.Height but received 7',
  ],
  [
    'Time -1',
    withConfig({ Time: -1 }),
    'InvalidParameter.OutOfRange',
    'Expected a number between 0 and 1000000000000 for SnapshotConfig.Time but received -1',
  ],
  [
    'Time "5s"',
    withConfig({ Time: '5s' }),
    'InvalidParameter',
    'Expected a number between 0 and 1000000000000 for SnapshotConfig.Time but received "5s"',
  ],
  [
    'Num 0',
    withConfig({ OutputFile: output('{Count}.jpg'), Num: '0' }),
    'InvalidParameter.OutOfRange',
    'Expected an integer between 1 and 10000 for SnapshotConfig.Num but received "0"',
  ],
  [
    'Num 1.5',
    withConfig({ OutputFile: output('{Count}.jpg'), Num: 1.5 }),
    'InvalidParameter',
    'Expected an integer between 1 and 10000 for SnapshotConfig.Num but received 1.5',
  ],
  [
    'Interval 0 without Num',
    withConfig({ OutputFile: output('{Count}.jpg'), Interval: '0' }),
    'InvalidParameter',
    'SnapshotConfig.Interval 0 spreads Num images evenly and needs Num',
  ],
  [
    "FrameType 'exact'",
    withConfig({ FrameType: 'exact' }),
    'InvalidParameter',
    'Expected one of intra, normal for SnapshotConfig.FrameType but received "exact"',
  ],
  [
    'a Location not of the form oss-<region>',
    { Input: { ...input('clip.mp4'), Location: 'cn-hangzhou' }, SnapshotConfig: CONFIG },
    'InvalidParameter',
    'Expected a region of the form oss-<region>, at most 64 bytes for Input.Location but received "cn-hangzhou"',
  ],
  [
    'an output Location of 65 bytes',
    withConfig({ OutputFile: { ...output('out.jpg'), Location: `oss-${'a'.repeat(61)}` } }),
    'InvalidParameter',
    `Expected a region of the form oss-<region>, at most 64 bytes for SnapshotConfig.OutputFile.Location but received "oss-${'a'.repeat(61)}"`,
  ],
  [
    'Action other than SubmitSnapshotJob',
    { ...withConfig({}), Action: 'SubmitJobs' },
    'InvalidParameter',
    'Expected "SubmitSnapshotJob" for Action but received "SubmitJobs"',
  ],
  [
    'malformed Input JSON',
    { Input: BAD_INPUT_JSON, SnapshotConfig: CONFIG },
    'InvalidParameter.JsonFormatInvalid',
    `Input is not valid JSON: ${jsonError(BAD_INPUT_JSON)}`,
  ],
  [
    'SnapshotConfig JSON that is not an object',
    { Input: input('clip.mp4'), SnapshotConfig: '[1000]' },
    'InvalidParameter.JsonFormatInvalid',
    'Expected a JSON object for SnapshotConfig but received "[1000]"',
  ],
  [
    'a missing Time',
    { Input: input('clip.mp4'), SnapshotConfig: { OutputFile: output('out.jpg') } },
    'InvalidParameter.NullValue',
    'Expected a number between 0 and 1000000000000 for SnapshotConfig.Time but received undefined',
  ],
  [
    'a missing Input',
    { SnapshotConfig: CONFIG } as unknown as SubmitSnapshotJobRequest,
    'InvalidParameter.NullValue',
    'Expected a JSON object for Input but received undefined',
  ],
  [
    'a missing OutputFile',
    { Input: input('clip.mp4'), SnapshotConfig: { Time: '0' } },
    'InvalidParameter.NullValue',
    'Expected an object with Bucket, Location and Object for SnapshotConfig.OutputFile but received undefined',
  ],
  [
    'an empty Input.Object',
    { Input: input(''), SnapshotConfig: CONFIG },
    'InvalidParameter.NullValue',
    'Expected a non-empty string for Input.Object but received ""',
  ],
  [
    'UserData of 1025 bytes',
    { ...withConfig({}), UserData: `${'é'.repeat(512)}x` },
    'InvalidParameter',
    'UserData is 1025 bytes; at most 1024 are allowed',
  ],
  [
    'a missing input object',
    { Input: input('missing.mp4'), SnapshotConfig: CONFIG },
    'InvalidParameter.ResourceNotFound',
    'the object missing.mp4 does not exist',
  ],
  [
    'a missing input bucket',
    { Input: input('clip.mp4', 'no-such-bucket'), SnapshotConfig: CONFIG },
    'InvalidParameter.ResourceNotFound',
    'the bucket no-such-bucket does not exist',
  ],
  [
    'a missing output bucket',
    withConfig({ OutputFile: output('out.jpg', 'no-such-output') }),
    'InvalidParameter.ResourceNotFound',
    'the bucket no-such-output does not exist',
  ],
  [
    'an unknown PipelineId',
    { ...withConfig({}), PipelineId: '88c6ca184c0e47098a5b665e2a126797' },
    'InvalidParameter.ResourceNotFound',
    'the pipeline 88c6ca184c0e47098a5b665e2a126797 does not exist',
  ],
  [
    'an input key leading out of its bucket',
    { Input: input('../clip.mp4'), SnapshotConfig: CONFIG },
    'PermissionDenied.ResourceAccess',
    'Input.Object "../clip.mp4" leads out of its bucket',
  ],
];

describe.each(TWINS)('errors through %s', (_name, submit) => {
  test.each(REFUSED)('%s', async (_label, request, code, message) => {
    const { service, out } = await withClip();
    const error = await refused(submit, service, request);
    expect({ code: error.code, message: error.message, jobId: error.jobId }).toEqual({ code, message, jobId: undefined });
    expect(files(out)).toEqual([]);
  });

  test('UserData of exactly 1024 bytes is accepted and echoed', async () => {
    const { service, out } = await withClip();
    const userData = 'é'.repeat(512);
    expect(Buffer.byteLength(userData)).toBe(1024);
    const response = await submit(service, { ...withConfig({}), UserData: userData });
    expect(response.SnapshotJob).toMatchObject({ State: 'Success', UserData: userData });
    expect(files(out)).toEqual(['out.jpg']);
  });

  /** Sync jobs that fail while running: [label, key, fixture, config changes, code, message or undefined]. */
  const RUN_FAILURES: [string, string, Parameters<typeof fixture>[0], Record<string, unknown>, string, string | undefined][] = [
    ['a text file', 'notes.mp4', 'text', {}, 'InvalidParameter.ResourceContentBad', undefined],
    ['an empty file', 'empty.mp4', 'empty', {}, 'InvalidParameter.ResourceContentBad', undefined],
    ['a file without a video stream', 'audio.m4a', 'audioOnly', {}, 'InvalidParameter.ResourceContentBad', undefined],
    [
      'a normal-mode Time past the end',
      'clip.mp4',
      'h264',
      { Time: '5000', FrameType: 'normal' },
      'InvalidParameter.ResourceContentBad',
      'No frame at or after 5000 ms in clip.mp4: the time is past the last frame',
    ],
  ];
  test.each(RUN_FAILURES)(
    '%s: rejects with the job id; the job is queryable as Fail; no file',
    async (_label, key, name, changes, code, message) => {
      const { ws, service, out } = setup();
      ws.put(IN, key, await fixture(name));
      const error = await refused(submit, service, { Input: input(key), SnapshotConfig: { ...CONFIG, ...changes } });
      expect(error.code).toBe(code);
      if (message !== undefined) expect(error.message).toBe(message);
      else expect(error.message).toContain(key);
      expect(error.jobId).toMatch(JOB_ID);
      expectJob(await queried(service, error.jobId!), {
        Id: error.jobId,
        State: 'Fail',
        Code: code,
        Message: error.message,
        Count: '0',
        Input: input(key),
        SnapshotConfig: { ...CONFIG, ...changes },
      });
      expect(files(out)).toEqual([]);
    },
  );

  test('SnapshotTimeOut: a sync job past syncTimeoutMs fails, is cancelled, and leaves no file', async () => {
    const { ws, service, out } = setup({ syncTimeoutMs: 1 });
    ws.put(IN, 'long.mp4', await longClip());
    const error = await refused(submit, service, {
      Input: input('long.mp4'),
      SnapshotConfig: { OutputFile: output('late.jpg'), Time: '195000', FrameType: 'normal' },
    });
    expect([error.code, error.message]).toEqual(['SnapshotTimeOut', 'the synchronous job took longer than 1 ms']);
    expect(error.jobId).toMatch(JOB_ID);
    // Once the cancelled work has stopped, the job is Fail and nothing was left.
    expect(await service.waitForJob(error.jobId!)).toMatchObject({
      State: 'Fail',
      Code: 'SnapshotTimeOut',
      Message: 'the synchronous job took longer than 1 ms',
      Count: '0',
    });
    await service.close();
    expect(files(out)).toEqual([]);
  });

  test('asynchronous jobs that fail while running end in Fail with Code and Message, and leave no file', async () => {
    const { ws, service, out } = await withClip();
    ws.put(IN, 'notes.mp4', await fixture('text'));
    const text = await submit(service, {
      Input: input('notes.mp4'),
      SnapshotConfig: { OutputFile: output('text/{Count}.jpg'), Time: '0', Interval: '1', Num: '3' },
    });
    const late = await submit(service, {
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: output('late/{Count}.jpg'), Time: '5000', Interval: '1', Num: '3', FrameType: 'normal' },
    });
    expect([text.SnapshotJob.State, late.SnapshotJob.State]).toEqual(['Submitted', 'Submitted']);
    const textDone = await service.waitForJob(text.SnapshotJob.Id);
    expect(textDone).toMatchObject({ State: 'Fail', Code: 'InvalidParameter.ResourceContentBad', Count: '0' });
    expect(textDone.Message).toContain('notes.mp4');
    expect(await service.waitForJob(late.SnapshotJob.Id)).toMatchObject({
      State: 'Fail',
      Code: 'InvalidParameter.ResourceContentBad',
      Message: 'No frame at or after 5000 ms in clip.mp4: the time is past the last frame',
      Count: '0',
    });
    expect(await queried(service, text.SnapshotJob.Id)).toEqual(textDone);
    expect(files(out)).toEqual([]);
  });
});

test('the service refuses options it cannot use', async () => {
  const error = await failureOf(() => new SnapshotService({} as SnapshotServiceOptions));
  expect([error.code, error.message]).toEqual(['InvalidParameter', 'SnapshotService needs a root folder or a buckets map']);
  // workers: 0 leaves queued jobs to other processes, which only a shared store (database, redis) has.
  const workers = await failureOf(() => new SnapshotService({ root: '/nonexistent', workers: 0 }));
  expect([workers.code, workers.message]).toEqual([
    'InvalidParameter',
    'workers: 0 needs a shared store (database or redis) whose queued jobs other processes run',
  ]);
  for (const count of [-1, 257, 1.5]) {
    const outOfRange = await failureOf(() => new SnapshotService({ root: '/nonexistent', workers: count }));
    expect([outOfRange.code, outOfRange.message]).toEqual([
      Number.isInteger(count) ? 'InvalidParameter.OutOfRange' : 'InvalidParameter',
      `Expected an integer between 0 and 256 for workers but received ${count}`,
    ]);
  }
});

test('a buckets map names folders kept anywhere', async () => {
  const ws = workspace(['elsewhere-in', 'elsewhere-out']);
  cleanups.push(() => ws.remove());
  ws.put('elsewhere-in', 'clip.mp4', await fixture('h264'));
  const service = new SnapshotService({ buckets: { media: ws.bucket('elsewhere-in'), thumbs: ws.bucket('elsewhere-out') }, workers: 1 });
  cleanups.push(() => service.close());
  const response = await service.submitSnapshotJob({
    Input: { Bucket: 'media', Object: 'clip.mp4' },
    SnapshotConfig: { OutputFile: { Bucket: 'thumbs', Object: 'x.jpg' }, Time: '0' },
  });
  expect(response.SnapshotJob.State).toBe('Success');
  expect(files(ws.bucket('elsewhere-out'))).toEqual(['x.jpg']);
  const error = await failureOf(() =>
    service.submitSnapshotJob({
      Input: { Bucket: 'elsewhere-in', Object: 'clip.mp4' },
      SnapshotConfig: { OutputFile: { Bucket: 'thumbs', Object: 'x.jpg' }, Time: '0' },
    }),
  );
  expect([error.code, error.message]).toEqual(['InvalidParameter.ResourceNotFound', 'the bucket elsewhere-in does not exist']);
});

test('an output bucket that is a file, not a folder, does not exist', async () => {
  const { ws, service } = await withClip();
  writeFileSync(join(ws.root, 'flat-file'), 'x');
  const error = await failureOf(() => service.submitSnapshotJob(withConfig({ OutputFile: output('out.jpg', 'flat-file') })));
  expect([error.code, error.message]).toEqual(['InvalidParameter.ResourceNotFound', 'the bucket flat-file does not exist']);
});
