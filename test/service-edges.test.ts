/**
 * The job API on hostile input (issue 8): the file system's failures as the
 * codes a user expects, with messages that name keys (shortened) and never a
 * server folder; keys with control characters refused; unknown placeholders
 * refused, naming them; only own properties of request objects count; the
 * worker side's debug lines (NODE_DEBUG=framesnap) name keys too.
 *
 * Layout: root/in-bucket/clip.mp4 (the 4 s h264 clip), root/in-bucket/folder.mp4/
 * (a folder), root/in-bucket/loop.mp4 -> loop.mp4 (a link to itself).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, test } from 'vitest';

import { SnapshotService, type SubmitSnapshotJobRequest, type SubmitSnapshotJobResponse } from '../dist/index.js';
import { fixture } from './fixtures.js';
import { failureOf, files, serviceTests, tree, UPPER_UUID, workspace } from './helpers/service-clips.js';

const IN = 'in-bucket';
const OUT = 'out-bucket';

const { setup, cleanup } = serviceTests(async () => ({ 'clip.mp4': await fixture('h264') }), { workers: 1 });

interface Layout {
  dir: string;
  root: string;
  service: SnapshotService;
}

async function layout(): Promise<Layout> {
  const { ws, service } = await setup();
  mkdirSync(join(ws.bucket(IN), 'folder.mp4'));
  symlinkSync('loop.mp4', join(ws.bucket(IN), 'loop.mp4'));
  return { dir: ws.dir, root: ws.root, service };
}

type Submit = (service: SnapshotService, request: SubmitSnapshotJobRequest) => Promise<SubmitSnapshotJobResponse>;
const TWINS: [string, Submit][] = [
  ['submitSnapshotJob', (service, request) => service.submitSnapshotJob(request)],
  ['submitSnapshotJobSync', async (service, request) => service.submitSnapshotJobSync(request)],
];

const input = (object: string) => ({ Bucket: IN, Location: 'oss-cn-hangzhou', Object: object });
const output = (object: string, bucket = OUT) => ({ Bucket: bucket, Location: 'oss-cn-hangzhou', Object: object });
const config = (object: string, extra: Record<string, unknown> = {}) => ({ OutputFile: output(object), Time: '1000', ...extra });

/** Refused with a request id, no job, nothing written anywhere; the message holds no server folder. */
async function expectRefused(at: Layout, submit: Submit, request: SubmitSnapshotJobRequest, code: string, message: string): Promise<void> {
  const before = tree(at.dir);
  const error = await failureOf(() => submit(at.service, request));
  expect({ code: error.code, message: error.message, jobId: error.jobId }).toEqual({ code, message, jobId: undefined });
  expect(error.requestId).toMatch(UPPER_UUID);
  expect(error.message).not.toContain(at.root);
  expect(error.message.length).toBeLessThan(1000);
  expect(tree(at.dir)).toEqual(before);
}

const LONG_NAME = `${'n'.repeat(300)}.mp4`;
const HUGE_KEY = `${'k'.repeat(1_000_000)}.mp4`;
/** A key as messages quote it: JSON, shortened in the middle past 120 characters. */
const quotedKey = (key: string): string => JSON.stringify(key.length <= 120 ? key : `${key.slice(0, 60)}…${key.slice(-59)}`);
/** A key as messages name it: control characters escaped, shortened in the middle past 120 characters. */
const namedKey = (key: string): string => (key.length <= 120 ? key : `${key.slice(0, 60)}…${key.slice(-59)}`);

describe.each(TWINS)('through %s', (_name, submit) => {
  test.each([
    [
      'a name too long for the file system',
      LONG_NAME,
      'InvalidParameter',
      `the object ${namedKey(LONG_NAME)}: the name is too long (ENAMETOOLONG)`,
    ],
    ['a 1 MB key', HUGE_KEY, 'InvalidParameter', `the object ${namedKey(HUGE_KEY)}: the name is too long (ENAMETOOLONG)`],
    ['a folder', 'folder.mp4', 'InvalidParameter', 'the object folder.mp4 is a folder, not a file'],
    ['a link to itself (a loop)', 'loop.mp4', 'PermissionDenied.ResourceAccess', 'the object loop.mp4 goes through too many links (ELOOP)'],
    ['a path through a file', 'clip.mp4/inner.mp4', 'InvalidParameter.ResourceNotFound', 'the object clip.mp4/inner.mp4 does not exist'],
  ])('input key: %s', async (_label, key, code, message) => {
    const at = await layout();
    await expectRefused(at, submit, { Input: input(key), SnapshotConfig: config('out.jpg') }, code, message);
  });

  test('output keys: a folder in the way, and names too long, are InvalidParameter naming the key', async () => {
    const at = await layout();
    mkdirSync(join(at.root, OUT, 'taken.jpg'));
    const longName = `${'x'.repeat(300)}.jpg`;
    const longFolder = `a/${'y'.repeat(300)}/b.jpg`;
    const cases: [string, string][] = [
      ['taken.jpg', 'the object taken.jpg is a folder, not a file'],
      [longName, `the object ${namedKey(longName)}: the name is too long (ENAMETOOLONG)`],
      [longFolder, `the folder of ${namedKey(longFolder)}: the name is too long (ENAMETOOLONG)`],
    ];
    for (const [key, message] of cases) {
      const error = await failureOf(() => submit(at.service, { Input: input('clip.mp4'), SnapshotConfig: config(key) }));
      expect({ code: error.code, message: error.message }).toEqual({ code: 'InvalidParameter', message });
      expect(error.message).not.toContain(at.root);
    }
    expect(files(join(at.root, OUT))).toEqual([]);
  });

  test.each([
    ['a newline', 'a\nb.mp4', '\\x0a'],
    ['a carriage return', 'a\rb.mp4', '\\x0d'],
    ['an escape', 'a\u001bb.mp4', '\\x1b'],
    ['DEL', 'a\u007fb.mp4', '\\x7f'],
    ['an encoded newline', 'a%0Ab.mp4', '\\x0a'],
  ])('an input key with %s is refused', async (_label, key, shown) => {
    const at = await layout();
    const decoded = decodeURIComponent(key);
    await expectRefused(
      at,
      submit,
      { Input: input(key), SnapshotConfig: config('out.jpg') },
      'InvalidParameter',
      `Input.Object ${quotedKey(decoded)} contains a control character (${shown}); keys may not`,
    );
  });

  test('an output key with a newline is refused', async () => {
    const at = await layout();
    await expectRefused(
      at,
      submit,
      { Input: input('clip.mp4'), SnapshotConfig: config('out\n.jpg') },
      'InvalidParameter',
      `SnapshotConfig.OutputFile.Object "out\\n.jpg" contains a control character (\\x0a); keys may not`,
    );
  });

  test.each([
    ['{Foo}.jpg', 'uses the unknown placeholder {Foo}'],
    ['{count}.jpg', 'uses the unknown placeholder {count}'],
    ['{FileName}-{Time}.jpg', 'uses the unknown placeholder {Time}'],
    ['%7BFoo%7D.jpg', 'uses the unknown placeholder {Foo}'],
  ])('an unknown placeholder in OutputFile.Object (%s) is refused, naming it', async (template, says) => {
    const at = await layout();
    await expectRefused(
      at,
      submit,
      { Input: input('clip.mp4'), SnapshotConfig: config(template) },
      'InvalidParameter',
      `SnapshotConfig.OutputFile.Object ${says}; the placeholders are {ObjectPrefix}, {FileName}, {ExtName}, {Count}, {SnapshotTime}`,
    );
  });

  test('{TileCount} in OutputFile.Object without sprites is refused', async () => {
    const at = await layout();
    await expectRefused(
      at,
      submit,
      { Input: input('clip.mp4'), SnapshotConfig: config('{TileCount}.jpg') },
      'InvalidParameter',
      'SnapshotConfig.OutputFile.Object cannot use {TileCount}, which numbers the sprites; images are numbered by {Count}',
    );
  });

  test('an unknown placeholder in TileOutputFile.Object is refused, naming it', async () => {
    const at = await layout();
    await expectRefused(
      at,
      submit,
      {
        Input: input('clip.mp4'),
        SnapshotConfig: config('{Count}.jpg', {
          Num: '2',
          Interval: '1',
          TileOut: { Lines: 1, Columns: 2 },
          TileOutputFile: output('{Sheet}.jpg'),
        }),
      },
      'InvalidParameter',
      'SnapshotConfig.TileOutputFile.Object uses the unknown placeholder {Sheet}; the placeholders are {ObjectPrefix}, {FileName}, {ExtName}, {TileCount}, {SnapshotTime}',
    );
  });

  test('braces that are no placeholder stay in the name', async () => {
    const at = await layout();
    const response = await submit(at.service, { Input: input('clip.mp4'), SnapshotConfig: config('a{}{ b }.jpg') });
    expect(response.SnapshotJob.State).toBe('Success');
    expect(files(join(at.root, OUT))).toEqual(['a{}{ b }.jpg']);
  });

  test('only own properties of a request count: inherited ones are ignored', async () => {
    const at = await layout();
    const inherited = { Input: input('clip.mp4'), SnapshotConfig: config('inherited.jpg') };
    await expectRefused(
      at,
      submit,
      Object.create(inherited) as SubmitSnapshotJobRequest,
      'InvalidParameter.NullValue',
      'Expected a JSON object for Input but received undefined',
    );
    // A config object whose prototype says Width 5 (out of range) and FrameType "bogus": ignored.
    const snapshotConfig = Object.assign(Object.create({ Width: 5, FrameType: 'bogus', Num: '3' }) as object, config('own.jpg'));
    const location = Object.assign(Object.create({ Location: 'bogus' }) as object, input('clip.mp4'));
    const response = await submit(at.service, { Input: location as never, SnapshotConfig: snapshotConfig as never });
    const job = await at.service.waitForJob(response.SnapshotJob.Id);
    expect(job).toMatchObject({ State: 'Success', Count: '1' });
    expect(files(join(at.root, OUT))).toEqual(['own.jpg']);
  });
});

describe('pipelines, queries and notifications count own properties only', () => {
  test('addPipeline and updatePipeline ignore inherited fields', async () => {
    const at = await layout();
    const error = await failureOf(() => at.service.addPipeline(Object.create({ Name: 'inherited' }) as never));
    expect([error.code, error.message]).toEqual([
      'InvalidParameter.NullValue',
      'Expected a name of at most 128 bytes for Name but received undefined',
    ]);
    const added = await at.service.addPipeline(
      Object.assign(Object.create({ Speed: 'Bogus', NotifyConfig: { Topic: 'inherited' } }) as object, { Name: 'own' }) as never,
    );
    expect(added.Pipeline).toMatchObject({ Name: 'own', Speed: 'Standard', NotifyConfig: {} });
    const notify = Object.assign(Object.create({ QueueName: 'inherited' }) as object, { Topic: 'own-topic' });
    const updated = await at.service.updatePipeline({ PipelineId: added.Pipeline.Id, NotifyConfig: notify as never });
    expect(updated.Pipeline.NotifyConfig).toEqual({ Topic: 'own-topic' });
  });

  test('querySnapshotJobList ignores inherited filters', async () => {
    const at = await layout();
    const response = await at.service.submitSnapshotJob({ Input: input('clip.mp4'), SnapshotConfig: config('q.jpg') });
    const answer = await at.service.querySnapshotJobList(Object.create({ State: 'Bogus', SnapshotJobIds: 'nope' }) as never);
    expect(answer.SnapshotJobList.SnapshotJob.map((job) => job.Id)).toEqual([response.SnapshotJob.Id]);
  });

  test('a 1 MB unknown field name is shortened in the message', async () => {
    const at = await layout();
    const error = await failureOf(() => at.service.querySnapshotJobList({ ['f'.repeat(1_000_000)]: 1 } as never));
    expect(error.code).toBe('InvalidParameter');
    expect(error.message).toBe(
      `Unknown field "${'f'.repeat(30)}…${'f'.repeat(29)}" for request: expected one of SnapshotJobIds, State, PipelineId, StartOfJobCreatedTimeRange, EndOfJobCreatedTimeRange, MaximumPageSize, NextPageToken`,
    );
  });
});

describe('the service options and pipeline ids count own properties only', () => {
  test('inherited service options are ignored: a prototype saying workers 0 or root elsewhere changes nothing', async () => {
    const ws = workspace([IN, OUT]);
    cleanup(() => ws.remove());
    ws.put(IN, 'clip.mp4', await fixture('h264'));
    // Inherited only: "needs a root folder or a buckets map", as if nothing were given.
    const onlyInherited = Object.create({ root: ws.root }) as never;
    const refused = await failureOf(() => new SnapshotService(onlyInherited));
    expect([refused.code, refused.message]).toEqual(['InvalidParameter', 'SnapshotService needs a root folder or a buckets map']);
    // Own root, inherited out-of-range workers and limits: ignored, the defaults apply.
    const options = Object.assign(Object.create({ workers: 0, limitInputPixels: 1, syncTimeoutMs: -5 }) as object, { root: ws.root });
    const service = new SnapshotService(options as never);
    cleanup(() => service.close());
    const response = await service.submitSnapshotJob({
      Input: { Bucket: IN, Object: 'clip.mp4' },
      SnapshotConfig: { OutputFile: { Bucket: OUT, Object: 'own.jpg' }, Time: '0' },
    });
    expect(response.SnapshotJob.State).toBe('Success');
    expect(files(join(ws.root, OUT))).toEqual(['own.jpg']);
  });

  test('updatePipeline ignores an inherited PipelineId; an unknown long id is shortened in the message', async () => {
    const at = await layout();
    const inherited = await failureOf(() =>
      at.service.updatePipeline(Object.create({ PipelineId: at.service.defaultPipelineId }) as never),
    );
    expect([inherited.code, inherited.message]).toEqual([
      'InvalidParameter.NullValue',
      'Expected a pipeline id for PipelineId but received undefined',
    ]);
    const long = await failureOf(() => at.service.updatePipeline({ PipelineId: 'p'.repeat(100_000), State: 'Paused' }));
    expect([long.code, long.message]).toEqual([
      'InvalidParameter.ResourceNotFound',
      `the pipeline ${'p'.repeat(60)}…${'p'.repeat(59)} does not exist`,
    ]);
    const query = await failureOf(() =>
      at.service.queryPipelineList(Object.create({ PipelineIds: at.service.defaultPipelineId }) as never),
    );
    expect([query.code, query.message]).toEqual([
      'InvalidParameter.NullValue',
      'Expected ids as strings for PipelineIds but received undefined',
    ]);
  });
});

describe('NODE_DEBUG=framesnap', () => {
  const INDEX = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  const location = (Object: string, Bucket = OUT) => ({ Bucket, Object });
  /**
   * A job with images and a sprite sheet, then one past the end of the clip,
   * in a child process; their ids on stdout. The jobs run with isolation
   * 'process': the pool child writes its inherited stderr synchronously,
   * whereas a pool thread's lines reach it through an asynchronous stream
   * that the close() right after the last job may cut short.
   */
  const debugRun = async (root: string, env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> =>
    promisify(execFile)(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { SnapshotService } from ${JSON.stringify(INDEX)};
         const service = new SnapshotService({ root: ${JSON.stringify(root)}, workers: 1, isolation: 'process' });
         const Input = ${JSON.stringify(location('clip.mp4', IN))};
         const ids = [];
         for (const SnapshotConfig of ${JSON.stringify([
           {
             Time: 0,
             Interval: 1,
             Num: 2,
             FrameType: 'normal',
             OutputFile: location('d/{Count}.png'),
             TileOut: { Lines: 1, Columns: 2, CellWidth: 80, CellHeight: 60 },
             TileOutputFile: location('d/sheet.webp'),
           },
           { Time: 10_000, Interval: 1, Num: 1, OutputFile: location('late/{Count}.jpg') },
         ])}) {
           const answer = await service.submitSnapshotJob({ Input, SnapshotConfig });
           ids.push((await service.waitForJob(answer.SnapshotJob.Id)).Id);
         }
         await service.close();
         console.log(JSON.stringify(ids));`,
      ],
      { env, timeout: 60_000 },
    );

  test("traces each job's plan, decodes, writes and outcome by keys, never by the server's folders", async () => {
    const at = await layout();
    const { stdout, stderr } = await debugRun(at.root, { ...process.env, NODE_DEBUG: 'framesnap' });
    const [done, failed] = JSON.parse(stdout) as [string, string];
    const lines = stderr.split('\n').map((line) => line.replace(/^FRAMESNAP \d+: /, ''));
    expect(lines).toEqual(
      expect.arrayContaining([
        `job ${done}: 2 time(s) in clip.mp4, normal frames, png images`,
        `job ${done}: decoded [0,1000] ms for [0,1000] ms`,
        `job ${done}: wrote d/00001.png`,
        `job ${done}: wrote d/00002.png`,
        'wrote sprite sheet d/sheet.webp (160x60, 2 cell(s))',
        `job ${done}: done, 2 image(s) taken, 1 sprite sheet(s)`,
        `job ${failed}: 1 time(s) in clip.mp4, intra frames, jpeg images`,
        `job ${failed}: decoded [] ms for [10000] ms`,
        `job ${failed}: failed (InvalidParameter.ResourceContentBad: No frame at or after 10000 ms in clip.mp4: the time is past the last frame); removed what it wrote`,
        // The job lifecycle, in the service's process: a queued job starts when the store's consumer claims it.
        expect.stringMatching(new RegExp(`^job ${done}: submitted \\(asynchronous, request [0-9A-F-]{36}\\)$`)),
        `job ${done}: claimed (attempt 1)`,
        `job ${done}: Success`,
        `job ${failed}: claimed (attempt 1)`,
        `job ${failed}: Fail (InvalidParameter.ResourceContentBad)`,
      ]),
    );
    expect(stderr).not.toContain(at.dir);
  });

  test('prints nothing without it', async () => {
    const at = await layout();
    const env = { ...process.env };
    delete env['NODE_DEBUG'];
    expect((await debugRun(at.root, env)).stderr).toBe('');
  });
});
