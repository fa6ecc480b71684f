// Another process on the same job database (test/store-sqlite runs it).
// argv[2]: the database file; argv[3]: what to do; argv[4]: a job id (sync).
// Prints one line per thing the test waits for.
//
//   hold     claims one job and never finishes it (the test SIGKILLs it)
//   sync     adds a synchronous job, starts it, and never finishes it
//   cancel   claims one job, waits for its signal, ends it Fail with the reason
//   events   claims one job: progress, Success, notified
//   drain    claims and finishes jobs, 4 at a time, until "stop" on stdin
import { setImmediate as nextTurn } from 'node:timers/promises';

import { failedJob } from '../../dist/service/stores/records.js';
import { SqliteBackend } from '../../dist/service/stores/sqlite.js';

const [path, mode, jobId] = process.argv.slice(2);
const backend = new SqliteBackend({ path, maxHistory: 10_000, pollMs: 20 });
const { defaultPipelineId } = await backend.open();
// The store's own timers do not hold a process open; this one does, until the test ends it.
const keepAlive = setInterval(() => undefined, 1 << 30);
const say = (line) => process.stdout.write(`${line}\n`);

function success(job) {
  return { ...job, State: 'Success', Count: '1' };
}

if (mode === 'hold') {
  backend.consume(1, ({ job, attempt }) => {
    say(`claimed ${job.Id} ${attempt}`);
    return new Promise(() => undefined);
  });
} else if (mode === 'sync') {
  const job = {
    Id: jobId,
    State: 'Submitted',
    Code: '',
    Message: '',
    Count: '0',
    CreationTime: '2026-01-01T00:00:00Z',
    PipelineId: defaultPipelineId,
    Input: { Bucket: 'in', Object: 'clip.mp4' },
    SnapshotConfig: { OutputFile: { Bucket: 'out', Object: 'a.jpg' }, Time: 0 },
  };
  await backend.add({ job, requestId: 'REQUEST', asynchronous: false }, 10);
  await backend.start(jobId);
  say('started');
} else if (mode === 'cancel') {
  backend.consume(1, async ({ job, attempt, signal }) => {
    say(`claimed ${job.Id}`);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    say(`aborted ${signal.reason.code} ${signal.reason.message}`);
    await backend.finish(failedJob(job, signal.reason), attempt);
    say('finished');
  });
} else if (mode === 'events') {
  backend.consume(1, async ({ job, attempt }) => {
    await backend.progress({ JobId: job.Id, Done: 1, Expected: 2, Percent: 50 }, attempt);
    await backend.finish(success(job), attempt);
    await backend.notified(job.Id, { MessageId: 'message-1' });
    say('done');
  });
} else if (mode === 'drain') {
  backend.consume(4, async ({ job, attempt }) => {
    say(`claimed ${job.Id}`);
    await nextTurn();
    await backend.finish(success(job), attempt);
  });
  say('ready');
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', async (text) => {
    if (!text.includes('stop')) return;
    await backend.stopConsuming(0, undefined, undefined);
    await backend.close();
    clearInterval(keepAlive);
    process.stdin.destroy();
  });
}
