/**
 * Synchronous jobs' deadlines (issue 8, item 4): SnapshotTimeOut is answered
 * at syncTimeoutMs whatever the worker is doing, the work is cancelled and
 * leaves nothing, a cancelled job never writes or removes anything
 * afterwards (a later job's object at the same key stands), and synchronous
 * jobs go ahead of queued asynchronous ones.
 *
 * Latency assertions are generous (deadline + 1000 ms; before the fix the
 * answers came 0.6-2.7 s late on this machine, or a job past its deadline
 * was answered Success); the measured numbers are in the issue's note.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';

import { SnapshotError, SnapshotService } from '../dist/index.js';
import { executeJob } from '../dist/service/worker/execute.js';
import type { JobTask, ProgressMessage } from '../dist/service/types.js';
import { fixture } from './fixtures.js';
import { failureOf, files, jobTask, longClip, serviceTests, tree, type Workspace } from './helpers/service-clips.js';
import { SLOW_TIME_MS, slowClip } from './helpers/slow-clip.js';

const IN = 'in-bucket';
const OUT = 'out-bucket';
const DEADLINE_MS = 300;
/** What "answered at the deadline" is allowed on a loaded 2-core test machine. */
const MARGIN_MS = 1_000;

// Made once (about 15 s, more on a loaded machine), then cached.
beforeAll(() => slowClip(), 180_000);

const { setup, cleanup } = serviceTests(async () => ({ 'slow.mp4': await slowClip(), 'clip.mp4': await fixture('h264') }), {
  workers: 1,
  syncTimeoutMs: DEADLINE_MS,
});

const slowRequest = (key: string) => ({
  Input: { Bucket: IN, Object: 'slow.mp4' },
  SnapshotConfig: { OutputFile: { Bucket: OUT, Object: key }, Time: String(SLOW_TIME_MS), FrameType: 'normal' },
});
const fastRequest = (key: string, time = 1000) => ({
  Input: { Bucket: IN, Object: 'clip.mp4' },
  SnapshotConfig: { OutputFile: { Bucket: OUT, Object: key }, Time: String(time) },
});

/**
 * A quick job through the asynchronous path (Num 1: no deadline, which a
 * loaded test machine could miss even for a small clip); resolves with its final state.
 */
async function quickJob(service: SnapshotService, key: string): Promise<string> {
  const { SnapshotJob } = await service.submitSnapshotJob({
    ...fastRequest(key),
    SnapshotConfig: { ...fastRequest(key).SnapshotConfig, Num: '1' },
  });
  return (await service.waitForJob(SnapshotJob.Id)).State;
}

const TIMED_OUT = { code: 'SnapshotTimeOut', message: `the synchronous job took longer than ${DEADLINE_MS} ms` };

describe.each([
  ['submitSnapshotJob', (service: SnapshotService, request: object) => service.submitSnapshotJob(request as never)],
  ['submitSnapshotJobSync', (service: SnapshotService, request: object) => service.submitSnapshotJobSync(request as never)],
] as const)('%s on a slow file', (_, submit) => {
  test('answers SnapshotTimeOut at the deadline mid-decode, cancels the work, and leaves nothing', async () => {
    const { service, out } = await setup();
    const startedAt = Date.now();
    const failure = await failureOf(() => submit(service, slowRequest('deep/folder/slow.jpg')));
    const elapsed = Date.now() - startedAt;
    expect(failure).toBeInstanceOf(SnapshotError);
    expect({ code: failure.code, message: failure.message }).toEqual(TIMED_OUT);
    expect(elapsed).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    const [job] = (await service.querySnapshotJobList({ SnapshotJobIds: failure.jobId! })).SnapshotJobList.SnapshotJob;
    expect(job).toMatchObject({ State: 'Fail', Code: TIMED_OUT.code, Message: TIMED_OUT.message, Count: '0' });
    // The cancelled work stops soon (well before the seconds its decode takes) and the pool runs the next job.
    expect(await quickJob(service, 'next.jpg')).toBe('Success');
    await service.close();
    // No image, no temporary file, no journal, no folder of the timed-out job.
    expect(tree(out).map((entry) => entry.split(' ')[0])).toEqual(['next.jpg']);
  });

  test('past the deadline in the JPEG encode (no native call to stop): SnapshotTimeOut, not a late Success', async () => {
    const { service, out } = await setup();
    const startedAt = Date.now();
    const failure = await failureOf(() =>
      submit(service, {
        Input: { Bucket: IN, Object: 'slow.mp4' },
        SnapshotConfig: { OutputFile: { Bucket: OUT, Object: 'big.jpg' }, Time: '0', Width: '4096', Height: '4096' },
      }),
    );
    expect({ code: failure.code, message: failure.message }).toEqual(TIMED_OUT);
    expect(Date.now() - startedAt).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    await service.close();
    // Given a moment, the cancelled helper thread of the blocking path has ended too.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(tree(out)).toEqual([]);
  });
});

test("two jobs, one key: the timed-out job never writes or removes the later job's object", async () => {
  const { service, out } = await setup({ workers: 2 });
  // The first job is past its deadline while sharp encodes its 4096x4096 JPEG (no native call to stop).
  const first = failureOf(() =>
    service.submitSnapshotJob({
      Input: { Bucket: IN, Object: 'slow.mp4' },
      SnapshotConfig: { OutputFile: { Bucket: OUT, Object: 'shared.jpg' }, Time: '0', Width: '4096', Height: '4096' },
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, DEADLINE_MS + 20));
  // A later job writes the same key on the other worker and succeeds.
  expect(await quickJob(service, 'shared.jpg')).toBe('Success');
  expect((await first).code).toBe('SnapshotTimeOut');
  // Every job has ended, the first one's worker too: the object is the later job's 320x240 image.
  await service.close();
  expect(files(out)).toEqual(['shared.jpg']);
  expect(await sharp(readFileSync(join(out, 'shared.jpg'))).metadata()).toMatchObject({ width: 320, height: 240 });
});

describe('a cancelled job inside its worker', () => {
  async function task(
    ws: Workspace,
    announce: (message: ProgressMessage, task: JobTask) => void,
  ): Promise<{ task: JobTask; run: () => Promise<unknown> }> {
    const job: JobTask = jobTask({ jobId: 'f'.repeat(32), inputPath: join(ws.bucket(IN), 'clip.mp4'), outputBucketDir: ws.bucket(OUT) });
    return { task: job, run: () => executeJob(job, (message) => announce(message, job)) };
  }

  test("the deadline passing after its first object was written: a later job's object at that key stands", async () => {
    const { ws, out } = await setup();
    const later = join(ws.dir, 'later.jpg');
    writeFileSync(later, "the later job's object");
    const { run } = await task(ws, (message, job) => {
      if (message.type !== 'written' || !message.path.endsWith('00001.jpg')) return;
      // A later job to the same key puts its object in place; then this job's deadline passes.
      renameSync(later, message.path);
      Atomics.store(job.abort, 0, 1);
    });
    const failure = await failureOf(run);
    expect({ code: failure.code, message: failure.message }).toEqual({ code: 'Aborted', message: 'the job was cancelled' });
    expect(tree(out).map((entry) => entry.split(' ')[0])).toEqual(['00001.jpg']);
    expect(readFileSync(join(out, '00001.jpg'), 'utf8')).toBe("the later job's object");
  });

  test('cancelled just before a rename: the object is never put in place, and nothing is left', async () => {
    const { ws, out } = await setup();
    const seen: string[] = [];
    const { run } = await task(ws, (message, job) => {
      seen.push(message.type);
      // Image 3 is written after images 1 and 2 (the next batch's writes wait for the last one's).
      if (message.type === 'placing' && message.path.endsWith('00003.jpg')) Atomics.store(job.abort, 0, 1);
    });
    const failure = await failureOf(run);
    expect(failure.code).toBe('Aborted');
    expect(seen.filter((type) => type === 'written')).toHaveLength(2);
    // 00001.jpg and 00002.jpg were its own and are taken back; 00003.jpg never appeared; no temporary, no journal.
    expect(tree(out)).toEqual([]);
  });

  test('an object that cannot be taken back is named in the failure, which keeps its own code', async () => {
    const { ws, out } = await setup();
    // 00002.jpg cannot be written: a folder holds its name.
    execFileSync('mkdir', [join(out, '00002.jpg')]);
    let locked: string | undefined;
    cleanup(() => locked !== undefined && execFileSync('chattr', ['-i', locked]));
    const { run } = await task(ws, (message) => {
      if (message.type === 'written' && message.path.endsWith('00001.jpg')) {
        // Immutable: even root cannot remove it.
        execFileSync('chattr', ['+i', message.path]);
        locked = message.path;
      }
    });
    const failure = await failureOf(run);
    expect({ code: failure.code, message: failure.message }).toEqual({
      code: 'InvalidParameter',
      message: 'the object 00002.jpg is a folder, not a file; could not remove what the job wrote: 00001.jpg (EPERM)',
    });
    // The journal stays, so that the service's sweep retries once it can.
    expect(files(out).filter((name) => name.endsWith('.journal'))).toHaveLength(1);
  });
});

test('synchronous jobs go ahead of queued asynchronous ones', async () => {
  const { ws, service } = await setup({ workers: 1, syncTimeoutMs: 10_000 });
  ws.put(IN, 'long.mp4', await longClip());
  // Enough asynchronous work to keep the one worker busy far past the deadline.
  const queued = [];
  for (let i = 0; i < 30; i++) {
    queued.push(
      await service.submitSnapshotJob({
        Input: { Bucket: IN, Object: 'long.mp4' },
        SnapshotConfig: {
          OutputFile: { Bucket: OUT, Object: `async/${i}/{Count}.jpg` },
          Time: '1000',
          Interval: '7',
          Num: '20',
          FrameType: 'normal',
        },
      }),
    );
  }
  const sync = await service.submitSnapshotJob(fastRequest('sync.jpg'));
  expect(sync.SnapshotJob).toMatchObject({ State: 'Success', Count: '1' });
  expect(files(ws.bucket(OUT))).toContain('sync.jpg');
  // Asked together: the answers show one moment.
  const states = await Promise.all(
    queued.map(
      async ({ SnapshotJob }) =>
        (await service.querySnapshotJobList({ SnapshotJobIds: SnapshotJob.Id })).SnapshotJobList.SnapshotJob[0]!.State,
    ),
  );
  // Most asynchronous jobs are still waiting: the synchronous one did not wait for them.
  expect(states.filter((state) => state === 'Submitted').length).toBeGreaterThan(20);
});
