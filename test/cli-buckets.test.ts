/**
 * `--buckets FILE` of framesnap submit, worker and serve: buckets in object
 * storage (a real S3 server, Swift's s3api on loopback) or in other folders,
 * from a JSON file; and what a bad file gets.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { fixture } from './fixtures.js';
import { cli } from './helpers/cli.js';
import { workspace, type Workspace } from './helpers/service-clips.js';
import { s3ClientConfig, swiftS3ForFile } from './helpers/swift-s3.js';

const swift = swiftS3ForFile();
// The SDK's warning that its 2027 releases will need Node 22 (the commands inherit this).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';

let admin: S3Client;
let local: Workspace;
let bucketsFile: string;

beforeAll(async () => {
  const server = swift();
  const store = {
    endpoint: server.endpoint,
    region: server.region,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    forcePathStyle: true,
    allowPrivateNetwork: true,
  };
  admin = new S3Client(s3ClientConfig(server));
  for (const bucket of ['cli-in', 'cli-out']) await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  await admin.send(new PutObjectCommand({ Bucket: 'cli-in', Key: 'clip.mp4', Body: readFileSync(await fixture('h264')) }));
  local = workspace(['local-out']);
  bucketsFile = join(local.root, 'buckets.json');
  writeFileSync(bucketsFile, JSON.stringify({ 'cli-in': store, 'cli-out': store }), { mode: 0o600 });
});

afterAll(() => {
  admin?.destroy();
  local?.remove();
});

const INPUT = JSON.stringify({ Bucket: 'cli-in', Object: 'clip.mp4' });
const config = (bucket: string): string => JSON.stringify({ OutputFile: { Bucket: bucket, Object: 'frame.jpg' }, Time: '1000' });

describe('framesnap submit --buckets FILE', () => {
  test('reads the input from an S3 bucket and uploads the image to one, or writes it to a folder of --root', async () => {
    const toS3 = await cli(['submit', '--root', local.root, '--buckets', bucketsFile, '--input', INPUT, '--config', config('cli-out')]);
    expect(toS3.status).toBe(0);
    expect(JSON.parse(toS3.stdout)).toMatchObject({ SnapshotJob: { State: 'Success', Count: '1' } });
    const uploaded = await admin.send(new GetObjectCommand({ Bucket: 'cli-out', Key: 'frame.jpg' }));
    const bytes = Buffer.from(await uploaded.Body!.transformToByteArray());
    expect(uploaded.ContentType).toBe('image/jpeg');

    const toFolder = await cli([
      'submit',
      '--root',
      local.root,
      '--buckets',
      bucketsFile,
      '--input',
      INPUT,
      '--config',
      config('local-out'),
    ]);
    expect(toFolder.status).toBe(0);
    expect(readFileSync(join(local.bucket('local-out'), 'frame.jpg')).equals(bytes)).toBe(true);
  });

  test('a missing file, a file that is not JSON or not an object, and a bad entry are refused', async () => {
    const missing = join(local.root, 'no-such.json');
    expect(
      await cli(['submit', '--root', local.root, '--buckets', missing, '--input', INPUT, '--config', config('cli-out')]),
    ).toMatchObject({
      status: 2,
      stderr: `framesnap: InvalidParameter.ResourceNotFound: the --buckets file ${missing} does not exist\n`,
    });
    const notJson = join(local.root, 'not.json');
    writeFileSync(notJson, '{"cli-in": ');
    const refusal = await cli(['submit', '--root', local.root, '--buckets', notJson, '--input', INPUT, '--config', config('cli-out')]);
    expect(refusal.status).toBe(2);
    expect(refusal.stderr).toMatch(
      new RegExp(`^framesnap: InvalidParameter: the --buckets file ${notJson} is not JSON \\(.+\\) \\(see framesnap submit --help\\)\\n$`),
    );
    const list = join(local.root, 'list.json');
    writeFileSync(list, '["cli-in"]');
    expect(await cli(['worker', '--root', local.root, '--database', join(local.root, 'jobs.db'), '--buckets', list])).toMatchObject({
      status: 2,
      stderr: `framesnap: InvalidParameter: the --buckets file ${list} holds no JSON object of bucket names (see framesnap worker --help)\n`,
    });
    expect(await cli(['serve', '--root', local.root, '--insecure-no-auth', '--port', '0', '--buckets', list])).toMatchObject({
      status: 2,
      stderr: `framesnap: InvalidParameter: the --buckets file ${list} holds no JSON object of bucket names (see framesnap serve --help)\n`,
    });
    const badEntry = join(local.root, 'bad-entry.json');
    writeFileSync(
      badEntry,
      JSON.stringify({ 'cli-in': { endpoint: 'ftp://x', region: 'r', accessKeyId: 'a', secretAccessKey: 'secret-value' } }),
    );
    const bad = await cli(['submit', '--root', local.root, '--buckets', badEntry, '--input', INPUT, '--config', config('cli-out')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^framesnap: InvalidParameter: .*endpoint/);
    expect(bad.stderr).not.toContain('secret-value');
  });
});
