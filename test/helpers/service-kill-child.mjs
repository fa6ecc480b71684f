// Kills the pool worker that runs a long asynchronous job, then checks what
// the service made of it and that a later job still runs (test/service-pool
// runs this in a child process, so that a crash takes down the child and not
// the test runner). argv[2]: a root folder with buckets in-bucket (holding
// long.mp4, the 200 s clip, and clip.mp4) and out-bucket. Prints one JSON line.
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { SnapshotService } from '../../dist/index.js';

const root = process.argv[2];
const out = join(root, 'out-bucket');

function filesUnder(folder) {
  if (!existsSync(folder)) return [];
  const found = [];
  const walk = (dir, prefix) => {
    for (const name of readdirSync(dir)) {
      // A temporary file may be renamed between the listing and this look.
      const stats = lstatSync(join(dir, name), { throwIfNoEntry: false });
      if (stats === undefined) continue;
      if (stats.isDirectory()) walk(join(dir, name), `${prefix}${name}/`);
      else found.push(`${prefix}${name}`);
    }
  };
  walk(folder, '');
  return found.sort();
}

const service = new SnapshotService({ root, workers: 1 });
// Normal mode, 50 images 3 s apart: a decode that runs for a while.
const { SnapshotJob: submitted } = await service.submitSnapshotJob({
  Input: { Bucket: 'in-bucket', Object: 'long.mp4' },
  SnapshotConfig: {
    OutputFile: { Bucket: 'out-bucket', Object: 'long/{Count}.jpg' },
    Time: '1000',
    Interval: '3',
    Num: '50',
    FrameType: 'normal',
  },
});
// Mid-job: once its first image is on disk (and before its last).
const started = Date.now();
while (!filesUnder(join(out, 'long')).some((name) => name.endsWith('.jpg'))) {
  if (Date.now() - started > 60_000) throw new Error('the job wrote nothing in 60 s');
  await new Promise((resolve) => setTimeout(resolve, 2));
}
const writtenBeforeKill = filesUnder(join(out, 'long')).filter((name) => name.endsWith('.jpg')).length;
const threads = service.poolThreads.length;
await service.poolThreads[0].terminate();
const killed = await service.waitForJob(submitted.Id);
const filesAfterKill = filesUnder(out);

const later = await service.submitSnapshotJob({
  Input: { Bucket: 'in-bucket', Object: 'clip.mp4' },
  SnapshotConfig: { OutputFile: { Bucket: 'out-bucket', Object: 'later/{Count}.jpg' }, Time: '0', Interval: '1', Num: '3' },
});
const laterDone = await service.waitForJob(later.SnapshotJob.Id);
const laterSync = await service.submitSnapshotJob({
  Input: { Bucket: 'in-bucket', Object: 'clip.mp4' },
  SnapshotConfig: { OutputFile: { Bucket: 'out-bucket', Object: 'later/sync.jpg' }, Time: '1000' },
});
await service.close();

process.stdout.write(
  `${JSON.stringify({
    threads,
    writtenBeforeKill,
    killed: { State: killed.State, Code: killed.Code, Message: killed.Message, Count: killed.Count },
    filesAfterKill,
    later: { State: laterDone.State, Count: laterDone.Count },
    laterSync: { State: laterSync.SnapshotJob.State, Count: laterSync.SnapshotJob.Count },
    laterFiles: filesUnder(join(out, 'later')),
  })}\n`,
);
