// Hosts a service running a long asynchronous series and waits to be killed
// (test/cleanup.test.ts sends SIGKILL once it prints "writing": the whole
// process dies mid-series, its worker threads with it). argv[2]: a root with
// in-bucket/long.mp4 and out-bucket; argv[3]: the output key template.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { SnapshotService } from '../../dist/index.js';

const [root, template] = process.argv.slice(2);
const folder = join(root, 'out-bucket', dirname(template));
const service = new SnapshotService({ root, workers: 1 });
await service.submitSnapshotJob({
  Input: { Bucket: 'in-bucket', Object: 'long.mp4' },
  SnapshotConfig: { OutputFile: { Bucket: 'out-bucket', Object: template }, Time: '1000', Interval: '3', Num: '50', FrameType: 'normal' },
});
const startedAt = Date.now();
while (!existsSync(folder) || readdirSync(folder).filter((name) => name.endsWith('.jpg')).length < 2) {
  if (Date.now() - startedAt > 60_000) throw new Error('the job wrote nothing in 60 s');
  await new Promise((resolve) => setTimeout(resolve, 2));
}
process.stdout.write('writing\n');
await new Promise(() => setInterval(() => undefined, 1000));
