/**
 * Keys are confined to their buckets (SPEC section 2): a key that resolves
 * outside its bucket (`..`, encoded or not, absolute paths, NUL bytes,
 * symlinks leading out) is refused with PermissionDenied.ResourceAccess, and
 * nothing is read or written outside the bucket's folder, ever. Bucket names
 * that are not bucket names ('..', 'a/b') are InvalidParameter.
 *
 * The layout of every test's temporary folder:
 *   root/in-bucket/clip.mp4            the 4 s h264 clip
 *   root/in-bucket/inner.mp4 -> clip.mp4            (a link that stays inside)
 *   root/in-bucket/link.mp4  -> <dir>/outside/secret.mp4
 *   root/in-bucket/rel.mp4   -> ../secret.mp4
 *   root/in-bucket/sub/up    -> <dir>           (a folder link leading out)
 *   root/secret.mp4                    a clip next to the buckets
 *   root/out-bucket/escape   -> <dir>/outside  (a folder link leading out)
 *   root/out-bucket/victim.jpg -> <dir>/outside/victim.jpg
 *   outside/secret.mp4, outside/victim.jpg
 * Every refused request leaves the whole tree exactly as it was (names,
 * sizes, modification times, link targets).
 */
import { lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { describe, expect, test } from 'vitest';

import { SnapshotError, SnapshotService, type SubmitSnapshotJobRequest, type SubmitSnapshotJobResponse } from '../dist/index.js';
import { fixture } from './fixtures.js';
import { failureOf, files, JOB_ID, serviceTests, tree, UPPER_UUID } from './helpers/service-clips.js';

const IN = 'in-bucket';
const OUT = 'out-bucket';
const VICTIM = 'not a JPEG: the file outside the bucket that a link points to\n';

const { setup } = serviceTests(async () => ({ 'clip.mp4': await fixture('h264') }), { workers: 2 });

interface Layout {
  dir: string;
  root: string;
  outside: string;
  service: SnapshotService;
}

async function layout(): Promise<Layout> {
  const { ws, service } = await setup();
  const clip = await fixture('h264');
  const outside = join(ws.dir, 'outside');
  mkdirSync(outside);
  ws.put('.', 'secret.mp4', clip);
  ws.put('../outside', 'secret.mp4', clip);
  writeFileSync(join(outside, 'victim.jpg'), VICTIM);
  const inBucket = ws.bucket(IN);
  const outBucket = ws.bucket(OUT);
  symlinkSync('clip.mp4', join(inBucket, 'inner.mp4'));
  symlinkSync(join(outside, 'secret.mp4'), join(inBucket, 'link.mp4'));
  symlinkSync('../secret.mp4', join(inBucket, 'rel.mp4'));
  mkdirSync(join(inBucket, 'sub'));
  symlinkSync(ws.dir, join(inBucket, 'sub', 'up'));
  symlinkSync(outside, join(outBucket, 'escape'));
  symlinkSync(join(outside, 'victim.jpg'), join(outBucket, 'victim.jpg'));
  return { dir: ws.dir, root: ws.root, outside, service };
}

type Submit = (service: SnapshotService, request: SubmitSnapshotJobRequest) => Promise<SubmitSnapshotJobResponse>;
const TWINS: [string, Submit][] = [
  ['submitSnapshotJob', (service, request) => service.submitSnapshotJob(request)],
  ['submitSnapshotJobSync', async (service, request) => service.submitSnapshotJobSync(request)],
];

const input = (object: string, bucket = IN) => ({ Bucket: bucket, Location: 'oss-cn-hangzhou', Object: object });
const config = (object: string, bucket = OUT, extra: Record<string, unknown> = {}) => ({
  OutputFile: { Bucket: bucket, Location: 'oss-cn-hangzhou', Object: object },
  Time: '1000',
  ...extra,
});

const leadsOut = (where: string, key: string) => `${where} ${JSON.stringify(key)} leads out of its bucket`;
const absolute = (where: string, key: string) => `${where} ${JSON.stringify(key)} is an absolute path`;
const linkOut = (key: string) => `Input.Object ${JSON.stringify(key)} is a link that leads out of its bucket`;
const OUTPUT = 'SnapshotConfig.OutputFile.Object';

/** Input keys that must be refused: [key (may use the layout), message]. */
const INPUT_KEYS: [string, (at: Layout) => string, (at: Layout) => string][] = [
  ['../secret.mp4', () => '../secret.mp4', () => leadsOut('Input.Object', '../secret.mp4')],
  ['%2e%2e%2fsecret.mp4', () => '%2e%2e%2fsecret.mp4', () => leadsOut('Input.Object', '../secret.mp4')],
  ['..%2F..%2Foutside%2Fsecret.mp4', () => '..%2F..%2Foutside%2Fsecret.mp4', () => leadsOut('Input.Object', '../../outside/secret.mp4')],
  ['sub/../../secret.mp4', () => 'sub/../../secret.mp4', () => leadsOut('Input.Object', 'sub/../../secret.mp4')],
  ['..\\secret.mp4', () => '..\\secret.mp4', () => leadsOut('Input.Object', '..\\secret.mp4')],
  ['/etc/passwd', () => '/etc/passwd', () => absolute('Input.Object', '/etc/passwd')],
  ['%2Fetc%2Fpasswd', () => '%2Fetc%2Fpasswd', () => absolute('Input.Object', '/etc/passwd')],
  [
    'the absolute path of the bucket clip',
    (at) => join(at.root, IN, 'clip.mp4'),
    (at) => absolute('Input.Object', join(at.root, IN, 'clip.mp4')),
  ],
  [
    'the absolute path of a clip outside',
    (at) => join(at.outside, 'secret.mp4'),
    (at) => absolute('Input.Object', join(at.outside, 'secret.mp4')),
  ],
  ['a symlink to a clip outside (absolute target)', () => 'link.mp4', () => linkOut('link.mp4')],
  ['a symlink to a clip outside (relative target)', () => 'rel.mp4', () => linkOut('rel.mp4')],
  ['a path through a folder symlink leading out', () => 'sub/up/outside/secret.mp4', () => linkOut('sub/up/outside/secret.mp4')],
  ['a NUL byte', () => 'clip.mp4\0.txt', () => 'Input.Object contains a NUL byte'],
  ['an encoded NUL byte', () => 'clip.mp4%00.txt', () => 'Input.Object contains a NUL byte'],
];

/** Output keys that must be refused before any work: [key, message]. */
const OUTPUT_KEYS: [string, Record<string, unknown>, string][] = [
  ['../out.jpg', {}, leadsOut(OUTPUT, '../out.jpg')],
  ['%2e%2e/out.jpg', {}, leadsOut(OUTPUT, '../out.jpg')],
  ['%2E%2E%2F%2E%2E%2Fout.jpg', {}, leadsOut(OUTPUT, '../../out.jpg')],
  ['sub/../../out.jpg', {}, leadsOut(OUTPUT, 'sub/../../out.jpg')],
  ['{FileName}/../../{FileName}.jpg', {}, leadsOut(OUTPUT, '{FileName}/../../{FileName}.jpg')],
  ['../{Count}.jpg', { Num: '3', Interval: '1' }, leadsOut(OUTPUT, '../{Count}.jpg')],
  ['/tmp/out.jpg', {}, absolute(OUTPUT, '/tmp/out.jpg')],
  ['out.jpg\0', {}, `${OUTPUT} contains a NUL byte`],
];

const BUCKETS: [string, string, string][] = [
  ['..', 'in', 'Input.Bucket'],
  ['.', 'in', 'Input.Bucket'],
  ['a/b', 'in', 'Input.Bucket'],
  ['../root', 'in', 'Input.Bucket'],
  ['/etc', 'in', 'Input.Bucket'],
  ['..', 'out', 'SnapshotConfig.OutputFile.Bucket'],
  ['a/b', 'out', 'SnapshotConfig.OutputFile.Bucket'],
  ['out-bucket/escape', 'out', 'SnapshotConfig.OutputFile.Bucket'],
];

/** The refusal of `request`: a SnapshotError with a request id; the tree under `dir` is untouched. */
async function expectRefused(at: Layout, submit: Submit, request: SubmitSnapshotJobRequest): Promise<SnapshotError> {
  const before = tree(at.dir);
  const error = await failureOf(() => submit(at.service, request));
  expect(error.requestId).toMatch(UPPER_UUID);
  if (error.jobId !== undefined) await at.service.waitForJob(error.jobId);
  expect(tree(at.dir)).toEqual(before);
  return error;
}

describe.each(TWINS)('through %s', (_name, submit) => {
  test('the layout works: a clip in the bucket, and a link that stays inside, are read', async () => {
    const at = await layout();
    await submit(at.service, { Input: input('clip.mp4'), SnapshotConfig: config('a.jpg') });
    await submit(at.service, { Input: input('inner.mp4'), SnapshotConfig: config('b.jpg') });
    expect(files(join(at.root, OUT))).toEqual(['a.jpg', 'b.jpg', 'escape', 'victim.jpg']);
  });

  test.each(INPUT_KEYS)('input key: %s is refused with PermissionDenied.ResourceAccess', async (_label, key, message) => {
    const at = await layout();
    const error = await expectRefused(at, submit, { Input: input(key(at)), SnapshotConfig: config('out.jpg') });
    expect({ code: error.code, message: error.message, jobId: error.jobId }).toEqual({
      code: 'PermissionDenied.ResourceAccess',
      message: message(at),
      jobId: undefined,
    });
  });

  test.each(OUTPUT_KEYS)('output key: %s is refused with PermissionDenied.ResourceAccess', async (key, extra, message) => {
    const at = await layout();
    const error = await expectRefused(at, submit, { Input: input('clip.mp4'), SnapshotConfig: config(key, OUT, extra) });
    expect({ code: error.code, message: error.message, jobId: error.jobId }).toEqual({
      code: 'PermissionDenied.ResourceAccess',
      message,
      jobId: undefined,
    });
  });

  test.each(BUCKETS)('bucket name %j (%s) is InvalidParameter', async (bucket, side, where) => {
    const at = await layout();
    const request =
      side === 'in'
        ? { Input: input('clip.mp4', bucket), SnapshotConfig: config('out.jpg') }
        : { Input: input('clip.mp4'), SnapshotConfig: config('out.jpg', bucket) };
    const error = await expectRefused(at, submit, request);
    expect([error.code, error.message]).toEqual([
      'InvalidParameter',
      `${where} ${JSON.stringify(bucket)} is not a valid bucket name (3-63 of a-z, 0-9 and -)`,
    ]);
  });

  test('an output folder that is a symlink leading out: refused, nothing written outside', async () => {
    const at = await layout();
    const error = await expectRefused(at, submit, { Input: input('clip.mp4'), SnapshotConfig: config('escape/out.jpg') });
    expect([error.code, error.message]).toEqual([
      'PermissionDenied.ResourceAccess',
      `${OUTPUT} "escape/out.jpg" goes through a link that leads out of its bucket`,
    ]);
    // Refused while running: the job exists and failed.
    expect(error.jobId).toMatch(JOB_ID);
    expect(await at.service.waitForJob(error.jobId!)).toMatchObject({ State: 'Fail', Code: 'PermissionDenied.ResourceAccess', Count: '0' });
  });

  test('an output key with new folders under a symlink leading out: refused, no folder made outside', async () => {
    const at = await layout();
    const error = await expectRefused(at, submit, { Input: input('clip.mp4'), SnapshotConfig: config('escape/made/here/out.jpg') });
    expect([error.code, error.message]).toEqual([
      'PermissionDenied.ResourceAccess',
      `${OUTPUT} "escape/made/here/out.jpg" goes through a link that leads out of its bucket`,
    ]);
  });

  test('an output file that is a symlink to a file outside: the link is replaced, the file outside is untouched', async () => {
    const at = await layout();
    const outsideBefore = tree(at.outside);
    const response = await submit(at.service, { Input: input('clip.mp4'), SnapshotConfig: config('victim.jpg') });
    expect(response.SnapshotJob.State).toBe('Success');
    expect(tree(at.outside)).toEqual(outsideBefore);
    expect(readFileSync(join(at.outside, 'victim.jpg'), 'utf8')).toBe(VICTIM);
    const written = join(at.root, OUT, 'victim.jpg');
    expect(lstatSync(written).isFile()).toBe(true);
    expect((await sharp(readFileSync(written)).metadata()).format).toBe('jpeg');
  });
});

test('an asynchronous series into a folder link leading out: Fail with PermissionDenied, nothing outside', async () => {
  const at = await layout();
  const before = tree(at.outside);
  const response = await at.service.submitSnapshotJob({
    Input: input('clip.mp4'),
    SnapshotConfig: config('escape/{Count}.jpg', OUT, { Num: '3', Interval: '1' }),
  });
  expect(response.SnapshotJob.State).toBe('Submitted');
  expect(await at.service.waitForJob(response.SnapshotJob.Id)).toMatchObject({
    State: 'Fail',
    Code: 'PermissionDenied.ResourceAccess',
    Message: `${OUTPUT} "escape/00001.jpg" goes through a link that leads out of its bucket`,
    Count: '0',
  });
  expect(tree(at.outside)).toEqual(before);
});
