/**
 * Errors of the job API as a caller meets them: a failure found in a worker
 * carries the caller's stack (the line that called framesnap), and its own
 * keys are only those that are set.
 */
import { describe, expect, test } from 'vitest';

import type { SubmitSnapshotJobRequest } from '../dist/index.js';
import { fixture } from './fixtures.js';
import { failureOf, serviceTests } from './helpers/service-clips.js';

const { setup } = serviceTests(async () => ({ 'a.mp4': await fixture('h264'), 'notes.mp4': await fixture('text') }), { workers: 1 });

/** A job the worker fails: the input is not a video (known only once it is opened). */
const notAVideo: SubmitSnapshotJobRequest = {
  Input: { Bucket: 'in-bucket', Object: 'notes.mp4' },
  SnapshotConfig: { OutputFile: { Bucket: 'out-bucket', Object: 'x.jpg' }, Time: '0' },
};

describe('job API errors carry the caller', () => {
  test('submitSnapshotJob: a failure from the worker has the caller stack, and requestId and jobId as its only extra keys', async () => {
    const { service } = await setup();
    const error = await failureOf(() => service.submitSnapshotJob(notAVideo));
    expect(error.code).toBe('InvalidParameter.ResourceContentBad');
    expect(error.stack).toMatch(/^SnapshotError: /);
    expect(error.stack).toContain('service-errors.test.ts');
    expect(error.stack).not.toContain('pool-worker');
    expect(Object.keys(error).sort()).toEqual(['code', 'jobId', 'requestId']);
    expect(error.requestId).toMatch(/^[0-9A-F-]{36}$/);
    expect(error.jobId).toMatch(/^[0-9a-f]{32}$/);
    expect(error.name).toBe('SnapshotError');
    expect(Object.prototype.hasOwnProperty.call(error, 'name')).toBe(false);
  });

  test('submitSnapshotJobSync: the same failure, thrown with the caller stack', async () => {
    const { service } = await setup();
    const error = await failureOf(() => service.submitSnapshotJobSync(notAVideo));
    expect(error.code).toBe('InvalidParameter.ResourceContentBad');
    expect(error.stack).toContain('service-errors.test.ts');
    expect(Object.keys(error).sort()).toEqual(['code', 'jobId', 'requestId']);
  });

  test('a request refused before it is a job has a requestId and no jobId key', async () => {
    const { service } = await setup();
    const error = await failureOf(() =>
      service.submitSnapshotJob({
        Input: { Bucket: 'in-bucket', Object: 'a.mp4' },
        SnapshotConfig: { OutputFile: { Bucket: 'out-bucket', Object: 'x.jpg' }, Time: '-1' },
      }),
    );
    expect(error.code).toBe('InvalidParameter.OutOfRange');
    expect(error.stack).toContain('service-errors.test.ts');
    expect(Object.keys(error).sort()).toEqual(['code', 'requestId']);
  });

  test('waitForJob of an unknown job: ResourceNotFound with the caller stack', async () => {
    const { service } = await setup();
    const error = await failureOf(() => service.waitForJob('0'.repeat(32)));
    expect(error.code).toBe('InvalidParameter.ResourceNotFound');
    expect(error.message).toBe(`the job ${'0'.repeat(32)} does not exist`);
    expect(error.stack).toContain('service-errors.test.ts');
  });
});
