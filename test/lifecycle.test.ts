/**
 * The job lifecycle (src/service/jobs/lifecycle.ts): the one place a job's
 * state changes. Its transitions, that the first outcome wins, and that every
 * change reaches the store and the listener exactly once.
 */
import { describe, expect, test } from 'vitest';

import { ErrorCodes, SnapshotError } from '../dist/index.js';
import { JobStore } from '../dist/service/jobs/job-store.js';
import { JobLifecycle } from '../dist/service/jobs/lifecycle.js';
import type { JobProgress, MNSMessageResult, SnapshotJob } from '../dist/service/types.js';

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

/** A lifecycle over a memory store whose saves and listener calls are recorded. */
function harness() {
  const store = new JobStore(100);
  const saves: string[] = [];
  const add = store.add.bind(store);
  store.add = (job: SnapshotJob) => {
    saves.push(`add ${job.Id}:${job.State}:${job.Count}`);
    add(job);
  };
  const save = store.save.bind(store);
  store.save = (job: SnapshotJob) => {
    saves.push(`${job.Id}:${job.State}:${job.Count}`);
    save(job);
  };
  const progress: JobProgress[] = [];
  const finished: SnapshotJob[] = [];
  const notified: Array<[string, MNSMessageResult]> = [];
  const lifecycle = new JobLifecycle(store, {
    progress: (event) => progress.push(event),
    finished: (job) => finished.push(job),
    notified: (jobId, result) => notified.push([jobId, result]),
  });
  return { store, lifecycle, saves, progress, finished, notified };
}

describe('job lifecycle', () => {
  test('Submitted -> Snapshoting -> Success, saved after each change, progress only for asynchronous jobs', async () => {
    const { store, lifecycle, saves, progress, finished } = harness();
    lifecycle.submit(newJob('a', { TileCount: '0' }), 'REQ-A', true);
    lifecycle.submit(newJob('b'), 'REQ-B', false);
    expect(store.get('a')?.State).toBe('Submitted');
    expect(lifecycle.requestIdOf('a')).toBe('REQ-A');

    lifecycle.progress('a', 1, 4); // not started yet: ignored
    lifecycle.start('a');
    lifecycle.start('b');
    lifecycle.progress('a', 1, 4);
    lifecycle.progress('a', 3, 4);
    lifecycle.progress('b', 1, 1); // a synchronous job reports no progress
    expect(progress).toEqual([
      { JobId: 'a', Done: 1, Expected: 4, Percent: 25 },
      { JobId: 'a', Done: 3, Expected: 4, Percent: 75 },
    ]);
    expect(lifecycle.view('a')).toMatchObject({ State: 'Snapshoting', Count: '3', Percent: 75 });

    expect(lifecycle.succeed('a', { count: 4, sheets: 2 })).toBe(true);
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ Id: 'a', State: 'Success', Count: '4', TileCount: '2', Percent: 100 });
    expect(store.get('a')).toMatchObject({ State: 'Success', Count: '4' });
    expect(saves).toEqual([
      'add a:Submitted:0',
      'add b:Submitted:0',
      'a:Snapshoting:0',
      'b:Snapshoting:0',
      'a:Snapshoting:1',
      'a:Snapshoting:3',
      'a:Success:4',
    ]);
    await lifecycle.whenFinished('a');
  });

  test('the first outcome wins: a late success or failure is refused and changes nothing', () => {
    const { lifecycle, finished } = harness();
    lifecycle.submit(newJob('a'), 'REQ-A', false);
    lifecycle.start('a');
    const timedOut = new SnapshotError(ErrorCodes.SnapshotTimeOut, 'the synchronous job took longer than 5000 ms');
    expect(lifecycle.fail('a', timedOut)).toBe(true);
    expect(lifecycle.succeed('a', { count: 1, sheets: 0 })).toBe(false);
    expect(lifecycle.fail('a', new SnapshotError(ErrorCodes.InternalError, 'late'))).toBe(false);
    expect(finished).toHaveLength(1);
    expect(lifecycle.view('a')).toMatchObject({
      State: 'Fail',
      Code: 'SnapshotTimeOut',
      Message: 'the synchronous job took longer than 5000 ms',
      Count: '0',
    });
  });

  test('a queued job can fail before it starts; start after the outcome changes nothing', () => {
    const { lifecycle } = harness();
    lifecycle.submit(newJob('a', { TileCount: '0' }), 'REQ-A', true);
    expect(lifecycle.fail('a', new SnapshotError(ErrorCodes.InternalError, 'the service was closed before the job started'))).toBe(true);
    lifecycle.start('a');
    expect(lifecycle.view('a')).toMatchObject({ State: 'Fail', Code: 'InternalError', Count: '0', TileCount: '0' });
  });

  test('notified records the message outcome once, only for a finished job that expects one', () => {
    const { lifecycle, notified, store } = harness();
    lifecycle.submit(newJob('a'), 'REQ-A', true);
    lifecycle.start('a');
    lifecycle.notified('a', { MessageId: 'early' }); // not finished: ignored
    lifecycle.succeed('a', { count: 1, sheets: 0 });
    lifecycle.notified('a', { MessageId: 'unexpected' }); // no notification under way: ignored
    lifecycle.expectNotification(store.get('a')!);
    lifecycle.notified('a', { MessageId: 'M1' });
    lifecycle.notified('a', { MessageId: 'M2' }); // a second delivery report: ignored
    expect(notified).toEqual([['a', { MessageId: 'M1' }]]);
    expect(lifecycle.view('a')?.MNSMessageResult).toEqual({ MessageId: 'M1' });
  });

  test('views are copies, and a new job must be Submitted', () => {
    const { lifecycle } = harness();
    lifecycle.submit(newJob('a'), 'REQ-A', true);
    const view = lifecycle.view('a')!;
    view.State = 'Success';
    expect(lifecycle.view('a')?.State).toBe('Submitted');
    expect(lifecycle.view('nope')).toBeUndefined();
    expect(() => lifecycle.submit(newJob('b', { State: 'Success' }), 'REQ-B', true)).toThrow('a new job must be Submitted, not Success');
  });

  test('allFinished waits for every job', async () => {
    const { lifecycle } = harness();
    lifecycle.submit(newJob('a'), 'REQ-A', true);
    lifecycle.submit(newJob('b'), 'REQ-B', true);
    let done = false;
    const all = lifecycle.allFinished().then(() => (done = true));
    lifecycle.succeed('a', { count: 1, sheets: 0 });
    await Promise.resolve();
    expect(done).toBe(false);
    lifecycle.fail('b', new SnapshotError(ErrorCodes.InternalError, 'x'));
    await all;
    expect(done).toBe(true);
  });
});
