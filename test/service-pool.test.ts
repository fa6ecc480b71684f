/**
 * The service's pool of worker threads (SPEC sections 7, 8): many concurrent
 * jobs are all accounted for, the queue is bounded (Throttling), a worker
 * that dies fails its job with InternalError and is replaced, and close()
 * fails queued jobs, gives running ones their grace (none by default) then
 * cancels them, and refuses new ones.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, test } from 'vitest';

import { SnapshotError, SnapshotService, type SubmitSnapshotJobRequest, type SubmitSnapshotJobResponse } from '../dist/index.js';
import { fixture } from './fixtures.js';
import { counted, failureOf, files, JOB_ID, longClip, serviceTests, UPPER_UUID } from './helpers/service-clips.js';

const run = promisify(execFile);
const KILL_CHILD = fileURLToPath(new URL('./helpers/service-kill-child.mjs', import.meta.url));

const IN = 'in-bucket';
const OUT = 'out-bucket';

const { setup, cleanup } = serviceTests(
  async () => ({ 'clip.mp4': await fixture('h264'), 'notes.mp4': await fixture('text'), 'slow.mp4': await fixture('slow1080p') }),
  { workers: 2 },
);

const input = (object: string) => ({ Bucket: IN, Object: object });
const outputFile = (object: string) => ({ Bucket: OUT, Object: object });
const PAST_END = 'No frame at or after 5000 ms in clip.mp4: the time is past the last frame';

/** What one job of the mix must come to. */
type Expected =
  | { kind: 'success'; async: boolean; count: number; files: string[] }
  | { kind: 'refused'; code: string; message?: string } // before any work: no job
  | { kind: 'failed'; async: boolean; code: string; message?: string }; // a job that ran and failed

interface Planned {
  request: SubmitSnapshotJobRequest;
  expected: Expected;
  blocking: boolean;
}

/** Job `i` of the mix: ten kinds, good and bad, sync-type and async-type. */
function plan(i: number): Planned {
  const blocking = i % 40 === 0 || i % 40 === 13 || i % 40 === 27;
  const kind = i % 10;
  const job = (config: Record<string, unknown>, object = 'clip.mp4') => ({ Input: input(object), SnapshotConfig: config });
  switch (kind) {
    case 0:
      return {
        request: job({ OutputFile: outputFile(`single/${i}.jpg`), Time: String((i * 37) % 3900) }),
        expected: { kind: 'success', async: false, count: 1, files: [`single/${i}.jpg`] },
        blocking,
      };
    case 1:
      return {
        request: job({ OutputFile: outputFile(`series/${i}/{Count}.jpg`), Time: '0', Interval: '1', Num: '3' }),
        expected: { kind: 'success', async: true, count: 3, files: counted(3, (count) => `series/${i}/${count}.jpg`) },
        blocking,
      };
    case 2:
      return {
        request: job({ OutputFile: outputFile(`end/${i}/{Count}_{SnapshotTime}.jpg`), Time: '2000', Interval: '1', FrameType: 'normal' }),
        expected: { kind: 'success', async: true, count: 2, files: [`end/${i}/00001_2000.jpg`, `end/${i}/00002_3000.jpg`] },
        blocking,
      };
    case 3:
      return {
        request: job({ OutputFile: outputFile(`late/${i}.jpg`), Time: '5000', FrameType: 'normal' }),
        expected: { kind: 'failed', async: false, code: 'InvalidParameter.ResourceContentBad', message: PAST_END },
        blocking,
      };
    case 4:
      return {
        request: job({ OutputFile: outputFile(`text/${i}.jpg`), Time: '0' }, 'notes.mp4'),
        expected: { kind: 'failed', async: false, code: 'InvalidParameter.ResourceContentBad' },
        blocking,
      };
    case 5:
      return {
        request: job({ OutputFile: outputFile(`missing/${i}.jpg`), Time: '0' }, `missing-${i}.mp4`),
        expected: { kind: 'refused', code: 'InvalidParameter.ResourceNotFound', message: `the object missing-${i}.mp4 does not exist` },
        blocking,
      };
    case 6:
      return {
        request: job({ OutputFile: outputFile(`textseries/${i}/{Count}.jpg`), Time: '0', Num: '3' }, 'notes.mp4'),
        expected: { kind: 'failed', async: true, code: 'InvalidParameter.ResourceContentBad' },
        blocking,
      };
    case 7:
      return {
        request: job({ OutputFile: outputFile(`exact/${i}-{SnapshotTime}.jpg`), Time: '1010', FrameType: 'normal' }),
        expected: { kind: 'success', async: false, count: 1, files: [`exact/${i}-1040.jpg`] },
        blocking,
      };
    case 8:
      return {
        request: { Input: '{"Bucket": "in-bucket", "Object": ', SnapshotConfig: { OutputFile: outputFile('json.jpg'), Time: '0' } },
        expected: { kind: 'refused', code: 'InvalidParameter.JsonFormatInvalid' },
        blocking,
      };
    default:
      return {
        request: job({ OutputFile: outputFile(`lateseries/${i}/{Count}.jpg`), Time: '5000', Interval: '1', Num: '2', FrameType: 'normal' }),
        expected: { kind: 'failed', async: true, code: 'InvalidParameter.ResourceContentBad', message: PAST_END },
        blocking,
      };
  }
}

/** Submits through the Promise API, or the blocking one (then the promise is already settled). */
function submitOne(service: SnapshotService, planned: Planned): Promise<SubmitSnapshotJobResponse> {
  if (!planned.blocking) return service.submitSnapshotJob(planned.request);
  try {
    return Promise.resolve(service.submitSnapshotJobSync(planned.request));
  } catch (error) {
    return Promise.reject(error);
  }
}

test('200 concurrent jobs, good and bad, sync-type and async-type: every one accounted for', async () => {
  const { service, out } = await setup({ workers: 2, syncTimeoutMs: 120_000 });
  const jobs = Array.from({ length: 200 }, (_, i) => plan(i));
  const settled = await Promise.allSettled(jobs.map((planned) => submitOne(service, planned)));

  const problems: string[] = [];
  const ids: string[] = [];
  const expectedFiles: string[] = [];
  for (const [i, outcome] of settled.entries()) {
    const { expected } = jobs[i]!;
    const label = `job ${i} (${expected.kind}${jobs[i]!.blocking ? ', blocking call' : ''})`;
    if (expected.kind === 'refused' || (expected.kind === 'failed' && !expected.async)) {
      if (outcome.status !== 'rejected') {
        problems.push(`${label}: resolved ${JSON.stringify(outcome.value.SnapshotJob.State)}, expected a rejection`);
        continue;
      }
      const error = outcome.reason as SnapshotError;
      if (!(error instanceof SnapshotError)) {
        problems.push(`${label}: rejected with ${String(error)}`);
        continue;
      }
      if (error.code !== expected.code) problems.push(`${label}: code ${error.code}, expected ${expected.code}`);
      if (expected.message !== undefined && error.message !== expected.message) problems.push(`${label}: message ${error.message}`);
      if (!UPPER_UUID.test(error.requestId ?? '')) problems.push(`${label}: requestId ${error.requestId}`);
      if (expected.kind === 'refused' && error.jobId !== undefined) problems.push(`${label}: a refused request made job ${error.jobId}`);
      if (expected.kind === 'failed') {
        if (!JOB_ID.test(error.jobId ?? '')) problems.push(`${label}: no jobId`);
        else ids.push(error.jobId!);
      }
      continue;
    }
    if (outcome.status !== 'fulfilled') {
      problems.push(`${label}: rejected with ${(outcome.reason as SnapshotError).code}: ${(outcome.reason as Error).message}`);
      continue;
    }
    const response = outcome.value;
    ids.push(response.SnapshotJob.Id);
    const job = expected.async ? await service.waitForJob(response.SnapshotJob.Id) : response.SnapshotJob;
    if (expected.async && response.SnapshotJob.State !== 'Submitted') problems.push(`${label}: answered ${response.SnapshotJob.State}`);
    if (expected.kind === 'success') {
      if (job.State !== 'Success' || job.Count !== String(expected.count))
        problems.push(`${label}: ${job.State} ${job.Code} ${job.Message} Count ${job.Count}`);
      expectedFiles.push(...expected.files);
    } else {
      if (job.State !== 'Fail' || job.Code !== expected.code || job.Count !== '0')
        problems.push(`${label}: ${job.State} ${job.Code} Count ${job.Count}`);
      if (expected.message !== undefined && job.Message !== expected.message) problems.push(`${label}: message ${job.Message}`);
    }
  }
  expect(problems).toEqual([]);
  // 20 refused of each of two kinds: 160 jobs exist.
  expect(ids).toHaveLength(160);
  expect(new Set(ids).size).toBe(160);
  expect(files(out)).toEqual(expectedFiles.sort());

  // Every job is queryable, and finished.
  const states: Record<string, number> = {};
  for (let first = 0; first < ids.length; first += 10) {
    const answer = await service.querySnapshotJobList({ SnapshotJobIds: ids.slice(first, first + 10) });
    expect(answer.NonExistSnapshotJobIds.String).toEqual([]);
    for (const job of answer.SnapshotJobList.SnapshotJob) states[job.State] = (states[job.State] ?? 0) + 1;
  }
  expect(states).toEqual({ Success: 80, Fail: 80 });
});

test('maxQueue: asynchronous jobs beyond the bound are refused with Throttling', async () => {
  const { service, out } = await setup({ workers: 1, maxQueue: 2 });
  const request = (n: number) => ({
    Input: input('clip.mp4'),
    SnapshotConfig: { OutputFile: outputFile(`${n}/{Count}.jpg`), Time: '0', Interval: '1', Num: '3' },
  });
  // One runs, two wait: the queue is full.
  const accepted = [service.submitSnapshotJob(request(1)), service.submitSnapshotJob(request(2)), service.submitSnapshotJob(request(3))];
  const refusedPromise = await failureOf(() => service.submitSnapshotJob(request(4)));
  const refusedSync = await failureOf(() => service.submitSnapshotJobSync(request(5)));
  for (const error of [refusedPromise, refusedSync]) {
    expect({ code: error.code, message: error.message, jobId: error.jobId }).toEqual({
      code: 'Throttling',
      message: 'the job queue is full (2 jobs waiting); retry later',
      jobId: undefined,
    });
    expect(error.requestId).toMatch(UPPER_UUID);
  }
  const ids = (await Promise.all(accepted)).map((response) => response.SnapshotJob.Id);
  for (const id of ids) expect(await service.waitForJob(id)).toMatchObject({ State: 'Success', Count: '3' });
  // Room again.
  const again = await service.submitSnapshotJob(request(6));
  expect(await service.waitForJob(again.SnapshotJob.Id)).toMatchObject({ State: 'Success', Count: '3' });
  expect(files(out)).toEqual([1, 2, 3, 6].flatMap((n) => counted(3, (count) => `${n}/${count}.jpg`)));
});

describe('close()', () => {
  test('close({ graceMs }): fails the queued jobs, lets the running one finish within its grace, then refuses new jobs', async () => {
    const { service, out } = await setup({ workers: 1 });
    const series = (n: number) => ({
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: outputFile(`${n}/{Count}.jpg`), Time: '0', Interval: '1', Num: '3' },
    });
    const running = await service.submitSnapshotJob(series(1));
    const queued = [await service.submitSnapshotJob(series(2)), await service.submitSnapshotJob(series(3))];
    // A sync-type job waiting for the worker through the Promise API.
    const queuedSync = service.submitSnapshotJob({
      Input: input('clip.mp4'),
      SnapshotConfig: { OutputFile: outputFile('sync.jpg'), Time: '0' },
    });
    const queuedSyncFailure = failureOf(() => queuedSync);
    expect(
      (
        await service.querySnapshotJobList({ SnapshotJobIds: [running, ...queued].map((r) => r.SnapshotJob.Id) })
      ).SnapshotJobList.SnapshotJob.map((job) => job.State),
    ).toEqual(['Snapshoting', 'Submitted', 'Submitted']);

    await service.close({ graceMs: 600_000 });

    expect(await service.waitForJob(running.SnapshotJob.Id)).toMatchObject({ State: 'Success', Code: '', Count: '3' });
    for (const response of queued) {
      expect(await service.waitForJob(response.SnapshotJob.Id)).toMatchObject({
        State: 'Fail',
        Code: 'InternalError',
        Message: 'the service was closed before the job started',
        Count: '0',
      });
    }
    const syncError = await queuedSyncFailure;
    expect({ code: syncError.code, message: syncError.message }).toEqual({
      code: 'InternalError',
      message: 'the service was closed before the job started',
    });
    expect(syncError.jobId).toMatch(JOB_ID);
    expect(syncError.requestId).toMatch(UPPER_UUID);
    expect(files(out)).toEqual(counted(3, (count) => `1/${count}.jpg`));

    const request = { Input: input('clip.mp4'), SnapshotConfig: { OutputFile: outputFile('after.jpg'), Time: '0' } };
    for (const error of [
      await failureOf(() => service.submitSnapshotJob(request)),
      await failureOf(() => service.submitSnapshotJobSync(request)),
    ]) {
      expect({ code: error.code, message: error.message, jobId: error.jobId }).toEqual({
        code: 'InternalError',
        message: 'the service is closed and takes no new jobs',
        jobId: undefined,
      });
      expect(error.requestId).toMatch(UPPER_UUID);
    }
    // Closing again is harmless (it waits for the same close); the finished jobs are still there to query.
    await service.close();
    expect((await service.querySnapshotJobList({ SnapshotJobIds: running.SnapshotJob.Id })).SnapshotJobList.SnapshotJob[0]!.State).toBe(
      'Success',
    );
    expect(files(out)).toEqual(counted(3, (count) => `1/${count}.jpg`));
  });
});

test('a pool worker killed mid-job: the job fails with InternalError, leaves nothing, and later jobs still run', async () => {
  const { ws } = await setup();
  ws.put(IN, 'long.mp4', await longClip());
  let result: { status: number | null; signal: string | null; stdout: string; stderr: string };
  try {
    const { stdout, stderr } = await run(process.execPath, [KILL_CHILD, ws.root], { timeout: 120_000 });
    result = { status: 0, signal: null, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number | null; signal: string | null; stdout: string; stderr: string };
    result = { status: failed.code, signal: failed.signal, stdout: failed.stdout, stderr: failed.stderr };
  }
  // The child (and so the process that hosted the service) must survive the kill.
  expect({ status: result.status, signal: result.signal, stderr: result.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
  const reported = JSON.parse(result.stdout) as {
    threads: number;
    writtenBeforeKill: number;
    killed: { State: string; Code: string; Message: string; Count: string };
    filesAfterKill: string[];
    later: unknown;
    laterSync: unknown;
    laterFiles: string[];
  };
  expect(reported.threads).toBe(1);
  expect(reported.writtenBeforeKill).toBeGreaterThan(0);
  expect(reported.writtenBeforeKill).toBeLessThan(50);
  expect(reported.killed).toMatchObject({ State: 'Fail', Code: 'InternalError', Count: '0' });
  expect(reported.killed.Message.startsWith('the worker running the job stopped: ')).toBe(true);
  // A failed job leaves no file behind: not the images it had written, not a temporary file.
  expect(reported.filesAfterKill).toEqual([]);
  expect(reported.later).toEqual({ State: 'Success', Count: '3' });
  expect(reported.laterSync).toEqual({ State: 'Success', Count: '1' });
  expect(reported.laterFiles).toEqual([...counted(3), 'sync.jpg']);
});

/** The files process `pid` has open whose path ends with `suffix` (Linux). */
function openFiles(pid: number | 'self', suffix: string): string[] {
  return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      return target.endsWith(suffix) ? [target] : [];
    } catch {
      return []; // closed meanwhile
    }
  });
}

test.runIf(process.platform === 'linux')(
  'a pool worker that goes idle closes its kept-open input (threads, the blocking helper, processes)',
  async () => {
    const { ws, service } = await setup({ workers: 1 });
    ws.put(IN, 'kept-open.mp4', await fixture('h264'));
    const request = (key: string) => ({ Input: input('kept-open.mp4'), SnapshotConfig: { OutputFile: outputFile(key), Time: '1000' } });
    const idle = () => new Promise((resolve) => setTimeout(resolve, 2_500));
    await service.submitSnapshotJob(request('thread.jpg'));
    // Kept open right after the job (the next job on it skips the open)...
    expect(openFiles('self', 'kept-open.mp4')).toHaveLength(1);
    // ...and closed once the worker has been idle a while.
    await idle();
    expect(openFiles('self', 'kept-open.mp4')).toEqual([]);
    service.submitSnapshotJobSync(request('blocking.jpg'));
    await idle();
    expect(openFiles('self', 'kept-open.mp4')).toEqual([]);
    const isolated = new SnapshotService({ root: ws.root, workers: 1, isolation: 'process' });
    cleanup(() => isolated.close());
    await isolated.submitSnapshotJob(request('process.jpg'));
    const [pid] = isolated.poolProcessIds;
    expect(openFiles(pid!, 'kept-open.mp4')).toHaveLength(1);
    await idle();
    expect(openFiles(pid!, 'kept-open.mp4')).toEqual([]);
  },
);

describe('close() without grace', () => {
  test('close() cancels a running job at once: Fail with Aborted, and what it wrote is removed', async () => {
    const { service, out } = await setup({ workers: 1 });
    // Exact frames late in the slow clip's one 20 s GOP: seconds of decoding per image.
    const running = await service.submitSnapshotJob({
      Input: input('slow.mp4'),
      SnapshotConfig: { OutputFile: outputFile('slow/{Count}.jpg'), Time: '17000', Interval: '1', Num: '3', FrameType: 'normal' },
    });
    while (
      (await service.querySnapshotJobList({ SnapshotJobIds: running.SnapshotJob.Id })).SnapshotJobList.SnapshotJob[0]!.State === 'Submitted'
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const events: string[] = [];
    service.on('job', (job) => events.push(`${job.Id}:${job.State}:${job.Code}`));
    await service.close();
    expect(await service.waitForJob(running.SnapshotJob.Id)).toMatchObject({
      State: 'Fail',
      Code: 'Aborted',
      Message: 'the service was closed while the job ran',
      Count: '0',
    });
    expect(events).toEqual([`${running.SnapshotJob.Id}:Fail:Aborted`]);
    expect(files(out)).toEqual([]);
  });

  test('close() options are checked', async () => {
    const { service } = await setup({ workers: 1 });
    for (const [options, code, message] of [
      [{ graceMs: -1 }, 'InvalidParameter.OutOfRange', 'Expected an integer between 0 and 86400000 for graceMs but received -1'],
      [{ grace: 5 }, 'InvalidParameter', 'Unknown option "grace" for close(): expected one of graceMs'],
      [{ gracems: 5 }, 'InvalidParameter', 'Unknown option "gracems" for close(): did you mean "graceMs"?'],
      ['now', 'InvalidParameter', 'Expected an options object for options but received "now"'],
    ] as const) {
      const error = await failureOf(() => service.close(options as never));
      expect({ code: error.code, message: error.message }).toEqual({ code, message });
    }
    await service.close({ graceMs: 0 });
  });
});
