/**
 * Crash isolation (issue 8, item 6): with isolation 'process' the pool is
 * child processes, so a native crash (the addon's test-only hook: a SIGSEGV
 * when the opened path ends with FRAMESNAP_TEST_CRASH_SUFFIX) or a SIGKILL
 * (an out-of-memory kill's stand-in) fails that one job with InternalError,
 * the process is replaced, this process lives on, and later jobs run --
 * through submitSnapshotJob and submitSnapshotJobSync alike. Progress, the
 * deadline and cleaning up work as with threads.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, test } from 'vitest';

import { type JobProgress, type SnapshotServiceOptions } from '../dist/index.js';
import { fixture } from './fixtures.js';
import { counted, failureOf, files, longClip, type ServiceSetup, serviceTests, tree } from './helpers/service-clips.js';
import { SLOW_TIME_MS, slowClip } from './helpers/slow-clip.js';

const IN = 'in-bucket';
const OUT = 'out-bucket';
const CRASH_SUFFIX = '.crash-on-open.mp4';

beforeAll(() => slowClip(), 180_000);

const service = serviceTests(async () => ({ 'clip.mp4': await fixture('h264'), [`boom${CRASH_SUFFIX}`]: await fixture('h264') }), {
  workers: 2,
  isolation: 'process',
});
const { cleanup } = service;

async function setup(options: Partial<SnapshotServiceOptions> = {}): Promise<ServiceSetup> {
  // The children inherit it; nothing in this process opens such a name.
  const before = process.env['FRAMESNAP_TEST_CRASH_SUFFIX'];
  process.env['FRAMESNAP_TEST_CRASH_SUFFIX'] = CRASH_SUFFIX;
  cleanup(() => {
    if (before === undefined) delete process.env['FRAMESNAP_TEST_CRASH_SUFFIX'];
    else process.env['FRAMESNAP_TEST_CRASH_SUFFIX'] = before;
  });
  return service.setup(options);
}

const request = (object: string, key: string, extra: Record<string, string> = {}) => ({
  Input: { Bucket: IN, Object: object },
  SnapshotConfig: { OutputFile: { Bucket: OUT, Object: key }, Time: '1000', ...extra },
});

const DIED = (signal: string) => ({ code: 'InternalError', message: `the worker process running the job died (${signal})` });

describe("isolation 'process'", () => {
  test('a native crash fails that one job with InternalError; the service lives on and later jobs run', async () => {
    const { service, out } = await setup();
    for (const submit of [
      (body: object) => service.submitSnapshotJob(body as never),
      (body: object) => service.submitSnapshotJobSync(body as never),
    ]) {
      const crashed = await failureOf(() => submit(request(`boom${CRASH_SUFFIX}`, 'crashed/boom.jpg')));
      expect({ code: crashed.code, message: crashed.message }).toEqual(DIED('SIGSEGV'));
      const later = await submit(request('clip.mp4', 'later.jpg'));
      expect(later.SnapshotJob).toMatchObject({ State: 'Success', Count: '1' });
    }
    // An asynchronous job crashing, then a series with its progress.
    const { SnapshotJob: async } = await service.submitSnapshotJob(request(`boom${CRASH_SUFFIX}`, 'a/{Count}.jpg', { Num: '2' }));
    expect(await service.waitForJob(async.Id)).toMatchObject({
      State: 'Fail',
      ...{ Code: DIED('SIGSEGV').code, Message: DIED('SIGSEGV').message },
    });
    const progress: JobProgress[] = [];
    service.on('progress', (event: JobProgress) => progress.push(event));
    const { SnapshotJob: series } = await service.submitSnapshotJob(
      request('clip.mp4', 'series/{Count}.jpg', { Time: '0', Interval: '1', Num: '3' }),
    );
    expect(await service.waitForJob(series.Id)).toMatchObject({ State: 'Success', Count: '3', Percent: 100 });
    expect(progress.map(({ Done, Expected, Percent }) => [Done, Expected, Percent])).toEqual([
      [1, 3, 33],
      [2, 3, 66],
      [3, 3, 100],
    ]);
    await service.close();
    expect(files(out)).toEqual(['later.jpg', ...counted(3, (count) => `series/${count}.jpg`)]);
  });

  test('a worker process killed mid-job (SIGKILL): the job fails, leaves nothing, and the next process runs later jobs', async () => {
    const { ws, service, out } = await setup({ workers: 1 });
    ws.put(IN, 'long.mp4', await longClip());
    const { SnapshotJob: submitted } = await service.submitSnapshotJob(
      request('long.mp4', 'long/{Count}.jpg', { Interval: '3', Num: '50', FrameType: 'normal' }),
    );
    const startedAt = Date.now();
    const folder = join(out, 'long');
    while (!existsSync(folder) || !readdirSync(folder).some((name) => name.endsWith('.jpg'))) {
      if (Date.now() - startedAt > 60_000) throw new Error('the job wrote nothing in 60 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const [pid] = service.poolProcessIds;
    process.kill(pid!, 'SIGKILL');
    const killed = await service.waitForJob(submitted.Id);
    expect({ State: killed.State, Code: killed.Code, Message: killed.Message, Count: killed.Count }).toEqual({
      State: 'Fail',
      Code: DIED('SIGKILL').code,
      Message: DIED('SIGKILL').message,
      Count: '0',
    });
    // Its images, temporary files, journal and the folder it made are gone.
    expect(tree(out)).toEqual([]);
    expect(service.poolProcessIds).not.toContain(pid);
    const later = await service.submitSnapshotJob(request('clip.mp4', 'later/{Count}.jpg', { Time: '0', Interval: '1', Num: '3' }));
    expect(await service.waitForJob(later.SnapshotJob.Id)).toMatchObject({ State: 'Success', Count: '3' });
    expect(files(out)).toEqual(counted(3, (count) => `later/${count}.jpg`));
  });

  test('the deadline: SnapshotTimeOut on time, the child cancelled by message, nothing left', async () => {
    const { ws, service, out } = await setup({ workers: 1, syncTimeoutMs: 300 });
    ws.put(IN, 'slow.mp4', await slowClip());
    for (const submit of [
      (body: object) => service.submitSnapshotJob(body as never),
      (body: object) => service.submitSnapshotJobSync(body as never),
    ]) {
      const startedAt = Date.now();
      const failure = await failureOf(() => submit(request('slow.mp4', 'slow.jpg', { Time: String(SLOW_TIME_MS), FrameType: 'normal' })));
      expect({ code: failure.code, message: failure.message }).toEqual({
        code: 'SnapshotTimeOut',
        message: 'the synchronous job took longer than 300 ms',
      });
      expect(Date.now() - startedAt).toBeLessThan(1_300);
    }
    await service.close();
    expect(tree(out)).toEqual([]);
  });
});
