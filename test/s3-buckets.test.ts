/**
 * Buckets in S3-compatible object storage (SPEC section 2, issue 12 item 3,
 * docs/object-storage.md), against a real S3 server: OpenStack Swift with
 * its s3api middleware on loopback (test/helpers/swift-s3.ts), one for the
 * whole file. Inputs are read by the native reader through presigned URLs,
 * outputs uploaded with PutObject; every job is compared byte for byte with
 * the same job on local buckets. Errors are checked to their codes and
 * messages; none shows a presigned URL or a secret.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';

import {
  SnapshotError,
  SnapshotService,
  type SnapshotJob,
  type SnapshotServiceOptions,
  type SubmitSnapshotJobRequest,
  type SubmitSnapshotJobResponse,
} from '../dist/index.js';
import { fixture } from './fixtures.js';
import { counted, failureOf, files, longFlv, UPPER_UUID, workspace, type Workspace } from './helpers/service-clips.js';
import { startNginx } from './helpers/nginx-server.js';
import { freePort } from './helpers/server-process.js';
import { s3ClientConfig, swiftS3ForFile, type SwiftS3Server } from './helpers/swift-s3.js';
import { IN, LOCATION, OUT, SEED_ASYNC_CONFIG, SEED_INPUT, SEED_SYNC_CONFIG } from './helpers/seed.js';

// The SDK's warning that its 2027 releases will need Node 22 (read when a client is made, in every thread).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

const swift = swiftS3ForFile();

const SPRITES = 'sprite-bucket';

type Store = Exclude<NonNullable<SnapshotServiceOptions['buckets']>[string], string>;

/** The Swift server as a bucket entry of the service. */
function store(extra: Partial<Store> = {}): Store {
  const server: SwiftS3Server = swift();
  return {
    endpoint: server.endpoint,
    region: server.region,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    forcePathStyle: true,
    // Swift listens on loopback: the native reader refuses it otherwise.
    allowPrivateNetwork: true,
    ...extra,
  };
}

let admin: S3Client;
let local: Workspace;
let localService: SnapshotService;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  const server = swift();
  admin = new S3Client(s3ClientConfig(server));
  for (const bucket of [IN, OUT, SPRITES, 'failed-images', 'failed-sprites', 'twin-sync', 'twin-async']) {
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  const flv = readFileSync(await longFlv());
  const clip = readFileSync(await fixture('h264'));
  await admin.send(new PutObjectCommand({ Bucket: IN, Key: 'example.flv', Body: flv }));
  await admin.send(new PutObjectCommand({ Bucket: IN, Key: 'videos/clip.mp4', Body: clip }));
  // The same objects in local buckets, for the same jobs to compare with.
  local = workspace([IN, OUT, SPRITES]);
  local.put(IN, 'example.flv', await longFlv());
  local.put(IN, 'videos/clip.mp4', await fixture('h264'));
  localService = new SnapshotService({ root: local.root, workers: 2 });
});

afterAll(async () => {
  await localService?.close();
  local?.remove();
  admin?.destroy();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A service whose buckets are on Swift (or as `buckets` says); closed after the test. */
function service(buckets: SnapshotServiceOptions['buckets'] = { [IN]: store(), [OUT]: store(), [SPRITES]: store() }): SnapshotService {
  const made = new SnapshotService({ buckets, workers: 2 });
  cleanups.push(() => made.close());
  return made;
}

async function objectKeys(bucket: string): Promise<string[]> {
  const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((entry) => entry.Key!).sort();
}

async function objectOf(bucket: string, key: string): Promise<{ data: Buffer; type: string | undefined }> {
  const object = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { data: Buffer.from(await object.Body!.transformToByteArray()), type: object.ContentType };
}

async function emptyBucket(bucket: string): Promise<void> {
  for (const key of await objectKeys(bucket)) await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

/** Runs `request` on the local buckets; returns the job. */
async function localJob(request: SubmitSnapshotJobRequest): Promise<SnapshotJob> {
  const answer = await localService.submitSnapshotJob(request);
  return localService.waitForJob(answer.SnapshotJob.Id);
}

type Submit = (service: SnapshotService, request: SubmitSnapshotJobRequest) => Promise<SubmitSnapshotJobResponse>;

/** The Promise API and its blocking twin. */
const TWINS: [string, Submit][] = [
  ['submitSnapshotJob', (made, request) => made.submitSnapshotJob(request)],
  ['submitSnapshotJobSync', async (made, request) => made.submitSnapshotJobSync(request)],
];

/** The job's failure as SnapshotError; also that it shows no presigned URL or secret. */
async function refused(call: () => unknown): Promise<SnapshotError> {
  const error = await failureOf(call);
  expect(error.message).not.toMatch(/X-Amz|Signature=|testing|http:\/\//);
  return error;
}

describe.each(TWINS)('the seed examples with both buckets on Swift, through %s', (_name, submit) => {
  test('synchronous: example.jpg uploaded, the same bytes as on a local bucket', async () => {
    const made = service();
    await emptyBucket(OUT);
    const response = await submit(made, { Input: SEED_INPUT, SnapshotConfig: SEED_SYNC_CONFIG, UserData: 'testid-001' });
    expect(response.RequestId).toMatch(UPPER_UUID);
    expect(response.SnapshotJob).toMatchObject({ State: 'Success', Code: '', Message: '', Count: '1', UserData: 'testid-001' });
    expect(await objectKeys(OUT)).toEqual(['example.jpg']);
    const uploaded = await objectOf(OUT, 'example.jpg');
    expect(uploaded.type).toBe('image/jpeg');
    expect(await sharp(uploaded.data).metadata()).toMatchObject({ format: 'jpeg', width: 320, height: 240 });
    expect(await localJob({ Input: SEED_INPUT, SnapshotConfig: SEED_SYNC_CONFIG })).toMatchObject({ State: 'Success' });
    expect(uploaded.data.equals(readFileSync(join(local.bucket(OUT), 'example.jpg')))).toBe(true);
    // The job as kept holds no URL and no credential.
    const [kept] = (await made.querySnapshotJobList({ SnapshotJobIds: response.SnapshotJob.Id })).SnapshotJobList.SnapshotJob;
    expect(JSON.stringify(kept)).not.toMatch(/X-Amz|testing|127\.0\.0\.1/);
  });

  test('asynchronous: ten images 20 s apart uploaded as {Count}.jpg, the same bytes as on a local bucket', async () => {
    const made = service();
    await emptyBucket(OUT);
    const response = await submit(made, { Input: SEED_INPUT, SnapshotConfig: SEED_ASYNC_CONFIG, UserData: 'testid-001' });
    expect(response.SnapshotJob).toMatchObject({ State: 'Submitted', Count: '0' });
    const finished = await made.waitForJob(response.SnapshotJob.Id);
    expect(finished).toMatchObject({ State: 'Success', Code: '', Message: '', Count: '10' });
    expect(await objectKeys(OUT)).toEqual(counted(10));
    expect(await localJob({ Input: SEED_INPUT, SnapshotConfig: SEED_ASYNC_CONFIG })).toMatchObject({ State: 'Success', Count: '10' });
    for (const key of counted(10)) {
      const uploaded = await objectOf(OUT, key);
      expect(uploaded.type).toBe('image/jpeg');
      expect(uploaded.data.equals(readFileSync(join(local.bucket(OUT), key))), key).toBe(true);
    }
    expect(JSON.stringify(finished)).not.toMatch(/X-Amz|testing|127\.0\.0\.1/);
  });
});

test('sprites and a WebVTT track into them, uploaded to their own bucket: the same bytes as on local buckets', async () => {
  const made = service();
  await emptyBucket(OUT);
  await emptyBucket(SPRITES);
  const config = {
    Time: 0,
    Interval: 0.5,
    Num: 6,
    OutputFile: { Bucket: OUT, Location: LOCATION, Object: 'img/{Count}.jpg' },
    TileOut: { Lines: 2, Columns: 2, CellWidth: 80, CellHeight: 60, Margin: 4, Padding: 2 },
    TileOutputFile: { Bucket: SPRITES, Location: LOCATION, Object: 'sheets/{TileCount}.jpg' },
    Format: 'vtt' as const,
    SubOut: { IsSptFrag: 'true' as const },
  };
  const request = { Input: { Bucket: IN, Location: LOCATION, Object: 'videos/clip.mp4' }, SnapshotConfig: config };
  const answer = await made.submitSnapshotJob(request);
  expect(await made.waitForJob(answer.SnapshotJob.Id)).toMatchObject({ State: 'Success', Count: '6', TileCount: '2' });
  expect(await localJob(request)).toMatchObject({ State: 'Success', Count: '6', TileCount: '2' });
  expect(await objectKeys(OUT)).toEqual(counted(6, (count) => `img/${count}.jpg`));
  expect(await objectKeys(SPRITES)).toEqual(['sheets/00001.jpg', 'sheets/00002.jpg', 'sheets/clip.vtt']);
  expect(files(local.bucket(SPRITES))).toEqual(['sheets/00001.jpg', 'sheets/00002.jpg', 'sheets/clip.vtt']);
  for (const [bucket, key, type] of [
    [OUT, 'img/00001.jpg', 'image/jpeg'],
    [OUT, 'img/00006.jpg', 'image/jpeg'],
    [SPRITES, 'sheets/00001.jpg', 'image/jpeg'],
    [SPRITES, 'sheets/00002.jpg', 'image/jpeg'],
    [SPRITES, 'sheets/clip.vtt', 'text/vtt'],
  ] as const) {
    const uploaded = await objectOf(bucket, key);
    expect(uploaded.type, key).toBe(type);
    expect(uploaded.data.equals(readFileSync(join(local.bucket(bucket), key))), key).toBe(true);
  }
  expect((await objectOf(SPRITES, 'sheets/clip.vtt')).data.toString()).toContain('00001.jpg#xywh=4,4,80,60');
});

test('an input on Swift with the output on a local bucket, and the other way round', async () => {
  const ws = workspace([OUT, IN]);
  cleanups.push(() => ws.remove());
  ws.put(IN, 'example.flv', await longFlv());
  await emptyBucket(OUT);
  const fromSwift = service({ [IN]: store(), [OUT]: ws.bucket(OUT) });
  await fromSwift.submitSnapshotJob({ Input: SEED_INPUT, SnapshotConfig: SEED_SYNC_CONFIG });
  const toSwift = service({ [IN]: ws.bucket(IN), [OUT]: store() });
  await toSwift.submitSnapshotJob({ Input: SEED_INPUT, SnapshotConfig: SEED_SYNC_CONFIG });
  await localJob({ Input: SEED_INPUT, SnapshotConfig: SEED_SYNC_CONFIG });
  const expected = readFileSync(join(local.bucket(OUT), 'example.jpg'));
  expect(readFileSync(join(ws.bucket(OUT), 'example.jpg')).equals(expected)).toBe(true);
  expect((await objectOf(OUT, 'example.jpg')).data.equals(expected)).toBe(true);
});

test('a durable store (SQLite) keeps no presigned URL and no credential', async () => {
  const ws = workspace([]);
  cleanups.push(() => ws.remove());
  const database = join(ws.dir, 'jobs.db');
  const made = new SnapshotService({ buckets: { [IN]: store(), [OUT]: store() }, workers: 1, database });
  await emptyBucket(OUT);
  const answer = await made.submitSnapshotJob({ Input: SEED_INPUT, SnapshotConfig: SEED_ASYNC_CONFIG });
  expect(await made.waitForJob(answer.SnapshotJob.Id)).toMatchObject({ State: 'Success', Count: '10' });
  await made.close();
  const kept = readdirSync(ws.dir)
    .filter((name) => name.startsWith('jobs.db'))
    .map((name) => readFileSync(join(ws.dir, name)).toString('latin1'))
    .join('');
  expect(kept).toContain(answer.SnapshotJob.Id);
  expect(kept).not.toMatch(/X-Amz|test:tester|testing/);
});

test('with isolation "process", the child process reads and uploads: the same bytes as on a local bucket', async () => {
  const made = new SnapshotService({ buckets: { [IN]: store(), [OUT]: store() }, workers: 1, isolation: 'process' });
  cleanups.push(() => made.close());
  await emptyBucket(OUT);
  const answer = await made.submitSnapshotJob({ Input: SEED_INPUT, SnapshotConfig: SEED_ASYNC_CONFIG });
  expect(await made.waitForJob(answer.SnapshotJob.Id)).toMatchObject({ State: 'Success', Count: '10' });
  await localJob({ Input: SEED_INPUT, SnapshotConfig: SEED_ASYNC_CONFIG });
  expect(await objectKeys(OUT)).toEqual(counted(10));
  for (const key of counted(10)) {
    expect((await objectOf(OUT, key)).data.equals(readFileSync(join(local.bucket(OUT), key))), key).toBe(true);
  }
});

test('an https: endpoint whose certificate a private CA signed: trusted through caFile, refused without it', async () => {
  // nginx terminates TLS with a throwaway certificate and hands the requests, Host header and all
  // (SigV4 signs it), to Swift.
  const ws = workspace([]);
  cleanups.push(() => ws.remove());
  const web = await startNginx({
    root: ws.dir,
    https: true,
    locations: `location /example- {
      proxy_pass ${swift().endpoint};
      proxy_set_header Host $http_host;
      proxy_request_buffering off;
      client_max_body_size 0;
    }`,
  });
  cleanups.push(() => web.stop());
  const tls = store({ endpoint: web.httpsUrl!, caFile: web.caFile! });
  await emptyBucket(OUT);
  const made = service({ [IN]: tls, [OUT]: tls });
  const answer = await made.submitSnapshotJob({ Input: SEED_INPUT, SnapshotConfig: SEED_SYNC_CONFIG });
  expect(answer.SnapshotJob).toMatchObject({ State: 'Success', Count: '1' });
  await localJob({ Input: SEED_INPUT, SnapshotConfig: SEED_SYNC_CONFIG });
  expect((await objectOf(OUT, 'example.jpg')).data.equals(readFileSync(join(local.bucket(OUT), 'example.jpg')))).toBe(true);
  // The reader's requests went over TLS, by ranges.
  const reads = (await web.accessLog()).filter((entry) => entry.method === 'GET' && entry.uri.startsWith('/example-bucket/example.flv?'));
  expect(reads.length).toBeGreaterThan(0);
  expect(reads.every((entry) => entry.scheme === 'https' && entry.status === 206 && entry.range.startsWith('bytes='))).toBe(true);
  const untrusted = service({ [IN]: store({ endpoint: web.httpsUrl! }), [OUT]: tls });
  const failure = await refused(() => untrusted.submitSnapshotJob({ Input: SEED_INPUT, SnapshotConfig: SEED_SYNC_CONFIG }));
  expect(failure).toMatchObject({
    code: 'PermissionDenied.ResourceAccess',
    message:
      'the TLS certificate of the object store of the bucket example-bucket is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT): give its certificate authority in caFile',
  });
});

test('a bucket whose name in the store differs (bucket field)', async () => {
  await emptyBucket('twin-sync');
  const made = service({ 'videos-in': store({ bucket: IN }), 'thumbs-out': store({ bucket: 'twin-sync' }) });
  const answer = await made.submitSnapshotJob({
    Input: { Bucket: 'videos-in', Object: 'videos%2Fclip.mp4' },
    SnapshotConfig: { OutputFile: { Bucket: 'thumbs-out', Object: 'a%20b/{FileName}.png' }, Time: '1000' },
  });
  expect(answer.SnapshotJob).toMatchObject({ State: 'Success', Count: '1' });
  expect(await objectKeys('twin-sync')).toEqual(['a b/clip.png']);
  const uploaded = await objectOf('twin-sync', 'a b/clip.png');
  expect(uploaded.type).toBe('image/png');
  expect(await sharp(uploaded.data).metadata()).toMatchObject({ format: 'png', width: 320, height: 240 });
});

describe('refusals', () => {
  const sync = (input: string, outputBucket = OUT) => ({
    Input: { Bucket: IN, Location: LOCATION, Object: input },
    SnapshotConfig: { OutputFile: { Bucket: outputBucket, Location: LOCATION, Object: 'x.jpg' }, Time: '0' },
  });

  test.each(TWINS)('a missing object, a missing input or output bucket: InvalidParameter.ResourceNotFound (%s)', async (_name, submit) => {
    const made = service({ [IN]: store(), [OUT]: store(), 'no-such-bucket': store() });
    expect(await refused(() => submit(made, sync('missing.flv')))).toMatchObject({
      code: 'InvalidParameter.ResourceNotFound',
      message: 'the object missing.flv does not exist',
    });
    expect(
      await refused(() => submit(made, { ...sync('example.flv'), Input: { Bucket: 'no-such-bucket', Object: 'example.flv' } })),
    ).toMatchObject({ code: 'InvalidParameter.ResourceNotFound', message: 'the bucket no-such-bucket does not exist' });
    expect(await refused(() => submit(made, sync('example.flv', 'no-such-bucket')))).toMatchObject({
      code: 'InvalidParameter.ResourceNotFound',
      message: 'the bucket no-such-bucket does not exist',
    });
  });

  test.each(TWINS)('a wrong secret and an unknown access key: PermissionDenied.ResourceAccess (%s)', async (_name, submit) => {
    const wrongSecret = service({ [IN]: store({ secretAccessKey: 'not-the-secret' }), [OUT]: store() });
    expect(await refused(() => submit(wrongSecret, sync('example.flv')))).toMatchObject({
      code: 'PermissionDenied.ResourceAccess',
      message:
        'the object store refused the signature of the requests for the bucket example-bucket (SignatureDoesNotMatch): check its secretAccessKey',
    });
    const unknownKey = service({ [IN]: store({ accessKeyId: 'nobody:nobody' }), [OUT]: store() });
    // Swift's tempauth cannot tell an unknown key from a wrong signature (S3 itself answers InvalidAccessKeyId).
    expect(await refused(() => submit(unknownKey, sync('example.flv')))).toMatchObject({
      code: 'PermissionDenied.ResourceAccess',
      message:
        'the object store refused the signature of the requests for the bucket example-bucket (SignatureDoesNotMatch): check its secretAccessKey',
    });
  });

  test('a wrong secret for the output bucket fails the job at its upload: PermissionDenied.ResourceAccess', async () => {
    const made = service({ [IN]: store(), [OUT]: store({ secretAccessKey: 'not-the-secret' }) });
    expect(await refused(() => made.submitSnapshotJob(sync('example.flv')))).toMatchObject({
      code: 'PermissionDenied.ResourceAccess',
      message:
        'the object store refused the signature of the requests for the bucket example-001 (SignatureDoesNotMatch): check its secretAccessKey',
    });
  });

  test.each(TWINS)(
    'an expired presigned URL: the native reader is refused, PermissionDenied.ResourceAccess (%s)',
    async (_name, submit) => {
      // X-Amz-Expires 0: the URL has expired by the time it is read.
      const made = service({ [IN]: store({ presignExpiresSeconds: 0 }), [OUT]: store() });
      expect(await refused(() => submit(made, sync('example.flv')))).toMatchObject({
        code: 'PermissionDenied.ResourceAccess',
        message:
          "example.flv: the server refused access (HTTP 403): the object store refused the input's presigned URL (it expired, or the bucket's credentials changed)",
      });
    },
  );

  test('an output bucket deleted after it was found: the job fails at its upload, InvalidParameter.ResourceNotFound', async () => {
    await admin.send(new CreateBucketCommand({ Bucket: 'gone-soon' }));
    const made = service({ [IN]: store(), 'gone-soon': store() });
    expect(made.submitSnapshotJobSync(sync('videos/clip.mp4', 'gone-soon')).SnapshotJob.State).toBe('Success');
    await emptyBucket('gone-soon');
    await admin.send(new DeleteBucketCommand({ Bucket: 'gone-soon' }));
    // Found a moment ago, so not asked again at submission (the bench counts the requests): the upload tells.
    expect(await refused(() => made.submitSnapshotJobSync(sync('videos/clip.mp4', 'gone-soon')))).toMatchObject({
      code: 'InvalidParameter.ResourceNotFound',
      message: 'the bucket gone-soon does not exist',
    });
  });

  test('an input object deleted between submission and run: the job fails InvalidParameter.ResourceNotFound', async () => {
    const made = service();
    await admin.send(new PutObjectCommand({ Bucket: IN, Key: 'gone.mp4', Body: readFileSync(await fixture('h264')) }));
    const { Pipeline: paused } = await made.addPipeline({ Name: 'paused' });
    await made.updatePipeline({ PipelineId: paused.Id, State: 'Paused' });
    const { SnapshotJob: queued } = await made.submitSnapshotJob({
      Input: { Bucket: IN, Object: 'gone.mp4' },
      SnapshotConfig: { OutputFile: { Bucket: OUT, Object: 'gone-{Count}.jpg' }, Time: '0', Num: '2', Interval: '1' },
      PipelineId: paused.Id,
    });
    await admin.send(new DeleteObjectCommand({ Bucket: IN, Key: 'gone.mp4' }));
    await made.updatePipeline({ PipelineId: paused.Id, State: 'Active' });
    expect(await made.waitForJob(queued.Id)).toMatchObject({
      State: 'Fail',
      Code: 'InvalidParameter.ResourceNotFound',
      Message: 'the object gone.mp4 does not exist',
    });
  });

  test('an endpoint on a private address without allowPrivateNetwork: the native reader refuses it', async () => {
    const made = service({ [IN]: store({ allowPrivateNetwork: false }), [OUT]: store() });
    expect(await refused(() => made.submitSnapshotJob(sync('example.flv')))).toMatchObject({
      code: 'PermissionDenied.ResourceAccess',
      message:
        "example.flv: the URL's host is on a loopback, private or link-local network, which is refused unless allowPrivateNetwork is set",
    });
  });

  test('an endpoint nobody answers: TransientNetWorkError', async () => {
    const port = await freePort();
    const made = service({ [IN]: store({ endpoint: `http://127.0.0.1:${port}` }), [OUT]: store() });
    expect(await refused(() => made.submitSnapshotJob(sync('example.flv')))).toMatchObject({
      code: 'TransientNetWorkError',
      message: 'the object store of the bucket example-bucket could not be reached (ECONNREFUSED)',
    });
  });

  test.each(TWINS)('keys that leave their bucket are refused before any request (%s)', async (_name, submit) => {
    // Nothing listens there: a request would fail with TransientNetWorkError.
    const nowhere = store({ endpoint: `http://127.0.0.1:${await freePort()}` });
    const made = service({ [IN]: nowhere, [OUT]: nowhere });
    expect(await refused(() => submit(made, sync('a/../../b.flv')))).toMatchObject({
      code: 'PermissionDenied.ResourceAccess',
      message: 'Input.Object "a/../../b.flv" leads out of its bucket',
    });
    expect(await refused(() => submit(made, sync('%2Fetc%2Fpasswd')))).toMatchObject({
      code: 'PermissionDenied.ResourceAccess',
      message: 'Input.Object "/etc/passwd" is an absolute path',
    });
    expect(
      await refused(() =>
        submit(made, {
          ...sync('example.flv'),
          SnapshotConfig: { OutputFile: { Bucket: OUT, Object: '..%2Fx.jpg' }, Time: '0' },
        }),
      ),
    ).toMatchObject({
      code: 'PermissionDenied.ResourceAccess',
      message: 'SnapshotConfig.OutputFile.Object "../x.jpg" leads out of its bucket',
    });
  });

  test('a job that fails after uploading deletes every object it uploaded', async () => {
    await emptyBucket('failed-images');
    await emptyBucket('failed-sprites');
    const made = service({ [IN]: store(), 'failed-images': store(), 'failed-sprites': store() });
    // The track is written last, after the images and the sheet: its name is the sheet's.
    const answer = await made.submitSnapshotJob({
      Input: { Bucket: IN, Object: 'videos/clip.mp4' },
      SnapshotConfig: {
        Time: 0,
        Interval: 0.5,
        Num: 3,
        OutputFile: { Bucket: 'failed-images', Object: '{Count}.jpg' },
        TileOut: { Lines: 2, Columns: 2 },
        TileOutputFile: { Bucket: 'failed-sprites', Object: 'clip.vtt' },
        Format: 'vtt',
        SubOut: { IsSptFrag: 'true' },
      },
    });
    expect(await made.waitForJob(answer.SnapshotJob.Id)).toMatchObject({
      State: 'Fail',
      Code: 'InvalidParameter',
      Message: 'SnapshotConfig.Format names the object clip.vtt, which the job also writes for SnapshotConfig.TileOutputFile.Object',
    });
    expect(await objectKeys('failed-images')).toEqual([]);
    expect(await objectKeys('failed-sprites')).toEqual([]);
  });
});

describe('taking back', () => {
  test('a cancelled running job deletes what it uploaded', async () => {
    await emptyBucket('failed-images');
    const made = service({ [IN]: store(), 'failed-images': store() });
    // Exact frames 3 s apart over most of the clip: far longer than a cancel takes.
    const { SnapshotJob: running } = await made.submitSnapshotJob({
      Input: SEED_INPUT,
      SnapshotConfig: {
        OutputFile: { Bucket: 'failed-images', Object: 'long/{Count}.jpg' },
        Time: '1000',
        Interval: '3',
        Num: '50',
        FrameType: 'normal',
      },
    });
    // Cancelled once its first image is uploaded.
    await new Promise<void>((resolve) => {
      made.on('progress', (progress) => {
        if (progress.JobId === running.Id) resolve();
      });
    });
    expect(await made.cancelSnapshotJob(running.Id)).toMatchObject({
      State: 'Fail',
      Code: 'Canceled',
      Message: 'the job was cancelled (cancelSnapshotJob)',
    });
    expect(await objectKeys('failed-images')).toEqual([]);
  });

  test('a job whose child process dies after uploading deletes what it uploaded', async () => {
    await emptyBucket('failed-images');
    const made = new SnapshotService({ buckets: { [IN]: store(), 'failed-images': store() }, workers: 1, isolation: 'process' });
    cleanups.push(() => made.close());
    const { SnapshotJob: running } = await made.submitSnapshotJob({
      Input: SEED_INPUT,
      SnapshotConfig: {
        OutputFile: { Bucket: 'failed-images', Object: 'killed/{Count}.jpg' },
        Time: '1000',
        Interval: '3',
        Num: '50',
        FrameType: 'normal',
      },
    });
    // Killed once an image of it is in the bucket, with more uploads on their way.
    while ((await objectKeys('failed-images')).length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    // The pool's child (not the Swift servers, also children of this process).
    const { stdout } = await promisify(execFile)('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]);
    const workers = stdout
      .split('\n')
      .filter((line) => line.includes('process-worker'))
      .map((line) => Number.parseInt(line, 10));
    expect(workers).toHaveLength(1);
    process.kill(workers[0]!, 'SIGKILL');
    expect(await made.waitForJob(running.Id)).toMatchObject({ State: 'Fail', Code: 'InternalError' });
    expect(await objectKeys('failed-images')).toEqual([]);
  });

  test("an uploaded object is deleted only while it still carries its upload's owner token", async () => {
    const { deleteOwnedObject, putObject } = (await import('../dist/service/storage/object-store.js')) as {
      deleteOwnedObject(target: { name: string; store: Store }, key: string, owner: string): Promise<string | undefined>;
      putObject(target: { name: string; store: Store }, key: string, data: Uint8Array, owner: string): Promise<void>;
    };
    const target = { name: 'failed-images', store: store() };
    await emptyBucket('failed-images');
    await putObject(target, 'k.jpg', Buffer.from('same bytes'), 'first-upload');
    // A later job's object at the key, with the same bytes (so the same ETag): it stays.
    await putObject(target, 'k.jpg', Buffer.from('same bytes'), 'later-upload');
    expect(await deleteOwnedObject(target, 'k.jpg', 'first-upload')).toBeUndefined();
    expect((await objectOf('failed-images', 'k.jpg')).data.toString()).toBe('same bytes');
    // Anyone else's object (no token) stays too.
    await admin.send(new PutObjectCommand({ Bucket: 'failed-images', Key: 'k.jpg', Body: 'not a job' }));
    expect(await deleteOwnedObject(target, 'k.jpg', 'later-upload')).toBeUndefined();
    expect((await objectOf('failed-images', 'k.jpg')).data.toString()).toBe('not a job');
    await putObject(target, 'k.jpg', Buffer.from('its own'), 'own-upload');
    expect(await deleteOwnedObject(target, 'k.jpg', 'own-upload')).toBeUndefined();
    expect(await objectKeys('failed-images')).toEqual([]);
    // Already gone: nothing to do, no failure.
    expect(await deleteOwnedObject(target, 'k.jpg', 'own-upload')).toBeUndefined();
  });
});

describe('bucket configuration', () => {
  test.each([
    [
      { region: 'r', accessKeyId: 'a', secretAccessKey: 's' },
      'buckets["example-bucket"].endpoint must be a non-empty string, not undefined',
    ],
    [
      { endpoint: 'ftp://host', region: 'r', accessKeyId: 'a', secretAccessKey: 's' },
      'buckets["example-bucket"].endpoint must be an http: or https: URL without credentials, not "ftp://host"',
    ],
    [
      { endpoint: 'https://host', region: 'r', accessKeyId: 'a', secretAccessKey: 7 },
      'buckets["example-bucket"].secretAccessKey must be a non-empty string, not a value',
    ],
    [
      { endpoint: 'https://host', region: 'r', accessKeyId: 'a', secretAccessKey: 's', forcePathstyle: true },
      'buckets["example-bucket"] has an unknown field "forcePathstyle" (known: endpoint, region, accessKeyId, secretAccessKey, bucket, forcePathStyle, allowPrivateNetwork, caFile, presignExpiresSeconds)',
    ],
    [
      { endpoint: 'https://host', region: 'r', accessKeyId: 'a', secretAccessKey: 's', presignExpiresSeconds: 7200 },
      'buckets["example-bucket"].presignExpiresSeconds must be an integer 0..3600, not 7200',
    ],
    [
      { endpoint: 'https://host', region: 'r', accessKeyId: 'a', secretAccessKey: 's', caFile: '/no/such/ca.pem' },
      'buckets["example-bucket"].caFile cannot be read (ENOENT)',
    ],
    [
      { endpoint: 'https://host', region: 'r', accessKeyId: 'a', secretAccessKey: 's', bucket: 'No_Such' },
      'buckets["example-bucket"].bucket must be a bucket name (3-63 of a-z, 0-9, . and -), not "No_Such"',
    ],
  ])('%j is refused', (entry, message) => {
    expect(() => new SnapshotService({ buckets: { [IN]: entry as unknown as Store }, workers: 1 })).toThrow(
      expect.objectContaining({ code: 'InvalidParameter', message }),
    );
  });

  test('a name the store cannot take needs its bucket field', () => {
    expect(
      () =>
        new SnapshotService({
          buckets: { Videos: { endpoint: 'https://host', region: 'r', accessKeyId: 'a', secretAccessKey: 's' } },
          workers: 1,
        }),
    ).toThrow(
      expect.objectContaining({
        code: 'InvalidParameter',
        message:
          'buckets["Videos"]: the name is not a bucket name of the store (3-63 of a-z, 0-9, . and -); give the store\'s name in its bucket field',
      }),
    );
  });
});
