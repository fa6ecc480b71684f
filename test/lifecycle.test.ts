/**
 * The job lifecycle (src/service/jobs/lifecycle.ts) over the memory back end:
 * its transitions, that the first outcome wins (in this process and in the
 * store), that progress counts only for asynchronous jobs while they run,
 * that each job's writes reach the store one after the other in the order
 * they were made, and that a finished job's notification is recorded.
 */
import { describe, expect, test } from 'vitest';

import { ErrorCodes, SnapshotError } from '../dist/index.js';
import { JobLifecycle } from '../dist/service/jobs/lifecycle.js';
import type { ClaimedJob, JobEntry } from '../dist/service/stores/backend.js';
import { MemoryBackend } from '../dist/service/stores/memory.js';
import { failedJob } from '../dist/service/stores/records.js';
import type { JobProgress, MNSMessageResult, SnapshotJob } from '../dist/service/types.js';

const MAX_QUEUE = 10;

function newJob(id: string, extra: Partial<SnapshotJob> = {}): SnapshotJob {
  return {
    Id: id,
    State: 'Submitted',
    Code: '',
    Message: '',
    Count: '0',
    CreationTime: '2026-11-30T12:00:00Z',
    PipelineId: 'p'.repeat(32),
    Input: { Bucket: 'in', Object: 'a.mp4' },
    SnapshotConfig: { OutputFile: { Bucket: 'out', Object: 'a.jpg' }, Time: '0' },
    ...extra,
  };
}

const entry = (job: SnapshotJob, asynchronous: boolean, requestId = `REQ-${job.Id}`): JobEntry => ({ job, requestId, asynchronous });

/** A promise with its resolve, for writes the test releases. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * A lifecycle over a memory back end whose writes are recorded as they begin
 * and end ("start a", "start a done"), and whose events are recorded; `hold`
 * makes the next write of a kind wait for a gate. `chained`: the back end
 * hides its synchronous side, as Redis has none, so the lifecycle chains each
 * job's writes one after the other instead of making them at call time.
 */
function harness(options: { chained?: boolean } = {}) {
  const backend = new MemoryBackend(100);
  if (options.chained === true) (backend as { sync?: unknown }).sync = undefined;
  const writes: string[] = [];
  const held = new Map<string, Promise<void>>();
  const hold = (kind: string): (() => void) => {
    const { promise, open } = gate();
    held.set(kind, promise);
    return open;
  };
  const recorded = <A extends unknown[], R>(kind: string, label: (...args: A) => string, write: (...args: A) => Promise<R>) => {
    return async (...args: A): Promise<R> => {
      const name = `${kind} ${label(...args)}`;
      writes.push(name);
      const waiting = held.get(kind);
      held.delete(kind);
      if (waiting !== undefined) await waiting;
      const result = await write(...args);
      writes.push(`${name} done`);
      return result;
    };
  };
  backend.add = recorded('add', (added: JobEntry) => `${added.job.Id}:${added.job.State}`, backend.add.bind(backend));
  backend.start = recorded('start', (jobId: string) => jobId, backend.start.bind(backend));
  backend.progress = recorded('progress', (progress: JobProgress) => `${progress.JobId}:${progress.Done}`, backend.progress.bind(backend));
  backend.finish = recorded(
    'finish',
    (job: SnapshotJob, attempt: number) => `${job.Id}:${job.State}:${job.Count}:${attempt}`,
    backend.finish.bind(backend),
  );
  backend.notified = recorded('notified', (jobId: string) => jobId, backend.notified.bind(backend));
  const progress: JobProgress[] = [];
  const finished: SnapshotJob[] = [];
  const notified: [string, MNSMessageResult][] = [];
  backend.on('progress', (event) => progress.push(event));
  backend.on('finished', (job) => finished.push(job));
  backend.on('notified', (jobId, result) => notified.push([jobId, result]));
  const lifecycle = new JobLifecycle(backend);
  return { backend, lifecycle, writes, hold, progress, finished, notified };
}

/** Claims the queued asynchronous jobs as a consumer would; each claim's handler runs until `release`. */
function consumer(backend: MemoryBackend, lifecycle: JobLifecycle, concurrency = 1) {
  const claims: ClaimedJob[] = [];
  const release = gate();
  backend.consume(concurrency, async (claimed) => {
    claims.push(claimed);
    lifecycle.claimed(claimed);
    await release.promise;
  });
  return { claims, release: release.open };
}

describe('transitions', () => {
  test('a synchronous job: Submitted -> Snapshoting -> Success, in hand until its outcome, written after each change', async () => {
    const { backend, lifecycle, writes, progress, finished } = harness();
    await lifecycle.submit(entry(newJob('s'), false), MAX_QUEUE);
    expect(lifecycle.inHand('s')).toMatchObject({ Id: 's', State: 'Submitted', Count: '0' });
    expect(lifecycle.isSynchronous('s')).toBe(true);
    expect(lifecycle.requestIdOf('s')).toBe('REQ-s');
    expect(await backend.get('s')).toMatchObject({ State: 'Submitted' });

    lifecycle.start('s');
    expect(lifecycle.inHand('s')?.State).toBe('Snapshoting');
    // A synchronous job reports no progress.
    lifecycle.progress('s', 1, 1);
    await lifecycle.settled();
    expect(await backend.get('s')).toMatchObject({ State: 'Snapshoting', Count: '0' });
    expect(progress).toEqual([]);

    const done = await lifecycle.succeed('s', { count: 1, sheets: 0 });
    expect(done).toStrictEqual({ ...newJob('s'), State: 'Success', Count: '1' });
    expect(await backend.get('s')).toStrictEqual(done);
    expect(finished).toStrictEqual([done]);
    // Out of hand once finished.
    expect(lifecycle.inHand('s')).toBeUndefined();
    expect(lifecycle.isSynchronous('s')).toBe(false);
    expect(lifecycle.requestIdOf('s')).toBeUndefined();
    expect(writes).toEqual([
      'add s:Submitted',
      'add s:Submitted done',
      'start s',
      'start s done',
      'finish s:Success:1:1',
      'finish s:Success:1:1 done',
    ]);
  });

  test('an asynchronous job is queued, not in hand, until a consumer claims it; then progress and Success with its sheets', async () => {
    const { backend, lifecycle, writes, progress, finished } = harness({ chained: true });
    await lifecycle.submit(entry(newJob('a', { TileCount: '0' }), true), MAX_QUEUE);
    expect(lifecycle.inHand('a')).toBeUndefined();
    expect(lifecycle.requestIdOf('a')).toBeUndefined();
    // Not in hand: start and progress change nothing.
    lifecycle.start('a');
    lifecycle.progress('a', 1, 4);
    expect(await backend.get('a')).toMatchObject({ State: 'Submitted', Count: '0' });

    const { claims, release } = consumer(backend, lifecycle);
    expect(claims).toHaveLength(1);
    expect(claims[0]).toMatchObject({ job: { Id: 'a', State: 'Snapshoting' }, requestId: 'REQ-a', attempt: 1 });
    expect(lifecycle.inHand('a')).toMatchObject({ State: 'Snapshoting', Count: '0' });
    expect(lifecycle.isSynchronous('a')).toBe(false);
    expect(lifecycle.requestIdOf('a')).toBe('REQ-a');

    lifecycle.progress('a', 1, 4);
    lifecycle.progress('a', 3, 4);
    expect(lifecycle.inHand('a')).toMatchObject({ State: 'Snapshoting', Count: '3', Percent: 75 });
    await lifecycle.settled();
    expect(await backend.get('a')).toMatchObject({ State: 'Snapshoting', Count: '3', Percent: 75 });
    expect(progress).toStrictEqual([
      { JobId: 'a', Done: 1, Expected: 4, Percent: 25 },
      { JobId: 'a', Done: 3, Expected: 4, Percent: 75 },
    ]);

    const done = await lifecycle.succeed('a', { count: 4, sheets: 2 });
    expect(done).toStrictEqual({ ...newJob('a'), State: 'Success', Count: '4', TileCount: '2', Percent: 100 });
    expect(await backend.get('a')).toStrictEqual(done);
    expect(finished).toStrictEqual([done]);
    // Finished: later progress is ignored.
    lifecycle.progress('a', 4, 4);
    expect(progress).toHaveLength(2);
    expect(writes).toEqual([
      'add a:Submitted',
      'add a:Submitted done',
      'progress a:1',
      'progress a:1 done',
      'progress a:3',
      'progress a:3 done',
      'finish a:Success:4:1',
      'finish a:Success:4:1 done',
    ]);
    release();
  });

  test('Percent is floored, at most 100, and 0 when nothing is expected', async () => {
    const { backend, lifecycle, progress } = harness();
    await lifecycle.submit(entry(newJob('a'), true), MAX_QUEUE);
    const { release } = consumer(backend, lifecycle);
    lifecycle.progress('a', 1, 3);
    lifecycle.progress('a', 2, 3);
    lifecycle.progress('a', 5, 4);
    lifecycle.progress('a', 0, 0);
    await lifecycle.settled();
    expect(progress.map((event) => [event.Done, event.Expected, event.Percent])).toEqual([
      [1, 3, 33],
      [2, 3, 66],
      [5, 4, 100],
      [0, 0, 0],
    ]);
    release();
  });

  test('a failure sets Code and Message and takes back Count, TileCount and Percent', async () => {
    const { backend, lifecycle } = harness();
    await lifecycle.submit(entry(newJob('a', { TileCount: '0' }), true), MAX_QUEUE);
    const { release } = consumer(backend, lifecycle);
    lifecycle.progress('a', 2, 4);
    const failed = await lifecycle.fail('a', new SnapshotError(ErrorCodes.ResourceContentBad, 'No frame at or after 5000 ms in a.mp4'));
    expect(failed).toStrictEqual({
      ...newJob('a'),
      State: 'Fail',
      Code: 'InvalidParameter.ResourceContentBad',
      Message: 'No frame at or after 5000 ms in a.mp4',
      Count: '0',
      TileCount: '0',
      Percent: 0,
    });
    expect(await backend.get('a')).toStrictEqual(failed);
    release();
  });

  test('a queued job failed in the store before it is claimed is never in hand; a late outcome here is refused', async () => {
    const { backend, lifecycle, finished } = harness();
    await lifecycle.submit(entry(newJob('a'), true), MAX_QUEUE);
    const closed = new SnapshotError(ErrorCodes.InternalError, 'the service was closed before the job started');
    await backend.stopConsuming(0, new SnapshotError(ErrorCodes.Aborted, 'closed'), closed);
    expect(await backend.get('a')).toMatchObject({ State: 'Fail', Code: 'InternalError', Message: closed.message });
    expect(await lifecycle.succeed('a', { count: 1, sheets: 0 })).toBeUndefined();
    lifecycle.start('a');
    expect(await backend.get('a')).toMatchObject({ State: 'Fail', Code: 'InternalError' });
    expect(finished).toHaveLength(1);
  });

  test('a claimed job handed back is out of hand: its progress and outcome are ignored here', async () => {
    const { backend, lifecycle, writes } = harness();
    await lifecycle.submit(entry(newJob('a'), true), MAX_QUEUE);
    const { release } = consumer(backend, lifecycle);
    lifecycle.handedBack('a');
    expect(lifecycle.inHand('a')).toBeUndefined();
    lifecycle.progress('a', 1, 2);
    expect(await lifecycle.succeed('a', { count: 2, sheets: 0 })).toBeUndefined();
    expect(await backend.get('a')).toMatchObject({ State: 'Snapshoting', Count: '0' });
    expect(writes).toEqual(['add a:Submitted', 'add a:Submitted done']);
    release();
  });

  test("a claim's attempt goes with its outcome to the store", async () => {
    const { lifecycle, writes } = harness();
    await lifecycle.submit(entry(newJob('a'), true), MAX_QUEUE);
    // A claim of the third attempt, as a durable store hands it out after two lost ones.
    lifecycle.claimed({
      job: newJob('a', { State: 'Snapshoting', Attempts: 3 }),
      requestId: 'REQ-a',
      attempt: 3,
      signal: new AbortController().signal,
    });
    expect(await lifecycle.succeed('a', { count: 2, sheets: 0 })).toMatchObject({ State: 'Success', Count: '2', Attempts: 3 });
    expect(writes.slice(-2)).toEqual(['finish a:Success:2:3', 'finish a:Success:2:3 done']);
  });

  test('a new job must be Submitted; views are copies', async () => {
    const { lifecycle } = harness();
    await expect(lifecycle.submit(entry(newJob('b', { State: 'Success' }), false), MAX_QUEUE)).rejects.toThrow(
      'a new job must be Submitted, not Success',
    );
    expect(() => lifecycle.submitNow(entry(newJob('c', { State: 'Fail' }), false), MAX_QUEUE)).toThrow(
      'a new job must be Submitted, not Fail',
    );
    expect(lifecycle.inHand('b')).toBeUndefined();
    await lifecycle.submit(entry(newJob('a'), false), MAX_QUEUE);
    const view = lifecycle.inHand('a')!;
    view.State = 'Success';
    view.Input.Object = 'other.mp4';
    expect(lifecycle.inHand('a')).toStrictEqual(newJob('a'));
    expect(lifecycle.inHand('nope')).toBeUndefined();
  });
});

describe('submitting', () => {
  test('a full queue refuses an asynchronous job with Throttling; a synchronous one is never queued', async () => {
    const { backend, lifecycle } = harness();
    await lifecycle.submit(entry(newJob('a1'), true), 1);
    const refused = lifecycle.submit(entry(newJob('a2'), true), 1);
    await expect(refused).rejects.toBeInstanceOf(SnapshotError);
    await expect(refused).rejects.toMatchObject({
      code: ErrorCodes.Throttling,
      message: 'the job queue is full (1 jobs waiting); retry later',
    });
    expect(await backend.get('a2')).toBeUndefined();
    await lifecycle.submit(entry(newJob('s'), false), 1);
    expect(lifecycle.inHand('s')?.State).toBe('Submitted');
  });

  test('a synchronous job whose record cannot be written is not kept in hand', async () => {
    const { backend, lifecycle } = harness();
    backend.add = () => Promise.reject(new Error('the store is gone'));
    await expect(lifecycle.submit(entry(newJob('s'), false), MAX_QUEUE)).rejects.toThrow('the store is gone');
    expect(lifecycle.inHand('s')).toBeUndefined();
    expect(lifecycle.requestIdOf('s')).toBeUndefined();
  });

  test('submitNow writes before it returns (memory); a store without synchronous writes refuses it', async () => {
    const { backend, lifecycle } = harness();
    lifecycle.submitNow(entry(newJob('s'), false), MAX_QUEUE);
    lifecycle.submitNow(entry(newJob('a'), true), MAX_QUEUE);
    expect(lifecycle.inHand('s')).toMatchObject({ State: 'Submitted' });
    expect(lifecycle.inHand('a')).toBeUndefined();
    expect(await backend.get('s')).toMatchObject({ State: 'Submitted' });
    expect(await backend.get('a')).toMatchObject({ State: 'Submitted' });
    expect(() => lifecycle.submitNow(entry(newJob('a2'), true), 1)).toThrow('the job queue is full (1 jobs waiting); retry later');

    // A store like Redis: no synchronous writes.
    const remote = Object.create(new MemoryBackend(10), { sync: { value: undefined }, kind: { value: 'redis' } }) as MemoryBackend;
    expect(() => new JobLifecycle(remote).submitNow(entry(newJob('r'), false), MAX_QUEUE)).toThrow(
      'the redis store cannot write synchronously',
    );
  });
});

describe('the first outcome wins', () => {
  test('a late success or failure resolves undefined and changes nothing', async () => {
    const { backend, lifecycle, finished, writes } = harness();
    await lifecycle.submit(entry(newJob('s'), false), MAX_QUEUE);
    lifecycle.start('s');
    const timedOut = new SnapshotError(ErrorCodes.SnapshotTimeOut, 'the synchronous job took longer than 5000 ms');
    const failed = await lifecycle.fail('s', timedOut);
    expect(failed).toMatchObject({
      State: 'Fail',
      Code: 'SnapshotTimeOut',
      Message: 'the synchronous job took longer than 5000 ms',
      Count: '0',
    });
    expect(await lifecycle.succeed('s', { count: 1, sheets: 0 })).toBeUndefined();
    expect(await lifecycle.fail('s', new SnapshotError(ErrorCodes.InternalError, 'late'))).toBeUndefined();
    expect(finished).toStrictEqual([failed]);
    expect(await backend.get('s')).toStrictEqual(failed);
    expect(writes.filter((write) => write.startsWith('finish'))).toEqual(['finish s:Fail:0:1', 'finish s:Fail:0:1 done']);
  });

  test('two outcomes given at once: the first one given wins, before either is written', async () => {
    const { backend, lifecycle, finished } = harness();
    await lifecycle.submit(entry(newJob('s'), false), MAX_QUEUE);
    lifecycle.start('s');
    const [failed, late] = await Promise.all([
      lifecycle.fail('s', new SnapshotError(ErrorCodes.Canceled, 'the job was cancelled (cancelSnapshotJob)')),
      lifecycle.succeed('s', { count: 1, sheets: 0 }),
    ]);
    expect(failed).toMatchObject({ State: 'Fail', Code: 'Canceled', Count: '0' });
    expect(late).toBeUndefined();
    expect(finished).toHaveLength(1);
    expect(await backend.get('s')).toStrictEqual(failed);
  });

  test('an outcome the store had first (another process, a cancel) wins over the one given here', async () => {
    const { backend, lifecycle, finished } = harness();
    await lifecycle.submit(entry(newJob('s'), false), MAX_QUEUE);
    lifecycle.start('s');
    await lifecycle.settled();
    const cancelled = failedJob(
      (await backend.get('s'))!,
      new SnapshotError(ErrorCodes.Canceled, 'the job was cancelled (cancelSnapshotJob)'),
    );
    expect(await backend.finish(cancelled, 1)).toBe(true);
    expect(await lifecycle.succeed('s', { count: 1, sheets: 0 })).toBeUndefined();
    expect(await backend.get('s')).toStrictEqual(cancelled);
    expect(finished).toStrictEqual([cancelled]);
    expect(lifecycle.inHand('s')).toBeUndefined();
  });
});

describe('writes', () => {
  test("each job's writes are made one after the other, in order, even when one is slow (a store without a synchronous side)", async () => {
    const { backend, lifecycle, writes, hold } = harness({ chained: true });
    await lifecycle.submit(entry(newJob('a'), true), MAX_QUEUE);
    const { release } = consumer(backend, lifecycle);
    const slowFirst = hold('progress');
    lifecycle.progress('a', 1, 3);
    lifecycle.progress('a', 2, 3);
    const outcome = lifecycle.succeed('a', { count: 3, sheets: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    // The first progress write waits: nothing after it has begun.
    expect(writes.slice(2)).toEqual(['progress a:1']);
    slowFirst();
    expect(await outcome).toMatchObject({ State: 'Success', Count: '3', Percent: 100 });
    expect(writes.slice(2)).toEqual([
      'progress a:1',
      'progress a:1 done',
      'progress a:2',
      'progress a:2 done',
      'finish a:Success:3:1',
      'finish a:Success:3:1 done',
    ]);
    release();
  });

  test('a store that writes synchronously is written at call time (the blocking API reads it at once)', async () => {
    const { backend, lifecycle, writes } = harness();
    await lifecycle.submit(entry(newJob('s'), false), MAX_QUEUE);
    lifecycle.start('s');
    void lifecycle.succeed('s', { count: 1, sheets: 0 });
    // Both writes began before this line, with no await between.
    expect(writes.slice(2)).toEqual(['start s', 'finish s:Success:1:1']);
    expect(await backend.get('s')).toMatchObject({ State: 'Success', Count: '1' });
    await lifecycle.settled();
  });

  test("jobs do not wait for each other's writes; settled() waits for every job in hand", async () => {
    const { lifecycle, writes, hold } = harness();
    await lifecycle.submit(entry(newJob('s1'), false), MAX_QUEUE);
    await lifecycle.submit(entry(newJob('s2'), false), MAX_QUEUE);
    const slowStart = hold('start');
    lifecycle.start('s1');
    lifecycle.start('s2');
    let settled = false;
    const all = lifecycle.settled().then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes.slice(4)).toEqual(['start s1', 'start s2', 'start s2 done']);
    expect(settled).toBe(false);
    slowStart();
    await all;
    expect(writes.slice(4)).toEqual(['start s1', 'start s2', 'start s2 done', 'start s1 done']);
  });

  test('a failed write does not stop the writes after it', async () => {
    const { backend, lifecycle } = harness();
    await lifecycle.submit(entry(newJob('s'), false), MAX_QUEUE);
    const start = backend.start.bind(backend);
    backend.start = () => Promise.reject(new Error('the store is gone for a moment'));
    lifecycle.start('s');
    backend.start = start;
    expect(await lifecycle.succeed('s', { count: 1, sheets: 0 })).toMatchObject({ State: 'Success', Count: '1' });
    expect(await backend.get('s')).toMatchObject({ State: 'Success', Count: '1' });
  });
});

describe('notified', () => {
  test("records the finished job's message outcome in the store, which tells its listeners", async () => {
    const { backend, lifecycle, notified, writes } = harness();
    await lifecycle.submit(entry(newJob('s'), false), MAX_QUEUE);
    lifecycle.start('s');
    await lifecycle.succeed('s', { count: 1, sheets: 0 });
    await lifecycle.notified('s', { MessageId: 'M1' });
    expect(notified).toStrictEqual([['s', { MessageId: 'M1' }]]);
    expect((await backend.get('s'))?.MNSMessageResult).toStrictEqual({ MessageId: 'M1' });
    await lifecycle.notified('s', { ErrorCode: 'NotificationFailed', ErrorMessage: 'gone' });
    expect((await backend.get('s'))?.MNSMessageResult).toStrictEqual({ ErrorCode: 'NotificationFailed', ErrorMessage: 'gone' });
    expect(writes.slice(-4)).toEqual(['notified s', 'notified s done', 'notified s', 'notified s done']);
  });
});
