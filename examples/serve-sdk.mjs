#!/usr/bin/env node
// framesnap as the cloud API's server, called by its official SDK
// (docs/server.md): starts createServer() on a free loopback port with a
// fresh access key, then runs the seed's two SubmitSnapshotJob examples
// through @alicloud/mts20140618 exactly as code written for the cloud does
// (only the endpoint, the keys and protocol 'http' differ), polling the
// series with QuerySnapshotJobList. Images land in demo-output/served/.
//
//   npm run demo                       # makes demo-output/sample.mp4 (once)
//   node examples/serve-sdk.mjs [VIDEO]
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

import { SnapshotService } from '../dist/index.js';
import { createServer } from '../dist/server/index.js';

const require = createRequire(import.meta.url);
const Mts = require('@alicloud/mts20140618');
const { $OpenApiUtil } = require('@alicloud/openapi-core');

const video = resolve(process.argv[2] ?? join('demo-output', 'sample.mp4'));
if (!existsSync(video)) {
  console.error(`${video} does not exist: run npm run demo first, or give a video file`);
  process.exit(2);
}
const root = resolve('demo-output', 'served');
mkdirSync(join(root, 'example-bucket'), { recursive: true });
mkdirSync(join(root, 'example-001'), { recursive: true });
copyFileSync(video, join(root, 'example-bucket', 'example.flv'));

// The server: a SQLite store in the root, one access key made for this run.
const accessKeyId = 'LTAIexample';
const accessKeySecret = randomBytes(24).toString('base64url');
const service = new SnapshotService({ root, database: join(root, 'jobs.db'), syncTimeoutMs: 2_500 });
const server = createServer(service, { accessKeys: { [accessKeyId]: accessKeySecret } });
const address = await server.listen({ host: '127.0.0.1', port: 0 });
console.log(`framesnap serves the API at ${address}`);

// The client, as cloud code has it, pointed at framesnap.
const client = new Mts.default(
  new $OpenApiUtil.Config({ accessKeyId, accessKeySecret, endpoint: new URL(address).host, protocol: 'http' }),
);
const input = '{"Bucket":"example-bucket","Location":"oss-cn-hangzhou","Object":"example.flv"}';
try {
  const single = await client.submitSnapshotJob(
    new Mts.SubmitSnapshotJobRequest({
      input,
      snapshotConfig: '{"OutputFile":{"Bucket":"example-001","Location":"oss-cn-hangzhou","Object":"example.jpg"},"Time":"5"}',
      userData: 'testid-001',
    }),
  );
  console.log('synchronous:', single.body.snapshotJob.state, `-> ${join(root, 'example-001', 'example.jpg')}`);

  const series = await client.submitSnapshotJob(
    new Mts.SubmitSnapshotJobRequest({
      input,
      snapshotConfig:
        '{"OutputFile":{"Bucket":"example-001","Location":"oss-cn-hangzhou","Object":"{Count}.jpg"},"Time":"5","Num":"10","Interval":"20"}',
    }),
  );
  const id = series.body.snapshotJob.id;
  console.log(`asynchronous: ${series.body.snapshotJob.state} (job ${id}); polling QuerySnapshotJobList`);
  for (;;) {
    const { body } = await client.querySnapshotJobList(new Mts.QuerySnapshotJobListRequest({ snapshotJobIds: id }));
    const job = body.snapshotJobList.snapshotJob[0];
    if (job.state === 'Success' || job.state === 'Fail') {
      console.log(`asynchronous: ${job.state}, ${job.count} images in ${join(root, 'example-001')}`);
      break;
    }
    await new Promise((done) => setTimeout(done, 200));
  }
} catch (error) {
  // The SDK's own exception: code, statusCode and data ({RequestId, HostId, Code, Message}).
  console.error(`${error.code} (HTTP ${error.statusCode}): ${error.data?.Message ?? error.message}`);
  process.exitCode = 1;
} finally {
  await server.close();
  await service.close();
}
