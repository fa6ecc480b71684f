/**
 * The pixel limits on the service (issue 8, item 1): limitInputPixels and
 * limitOutputPixels reach every native call of a job, limitSpritePixels (and
 * 16383 pixels a side) bounds a sprite sheet before it is composed -- at
 * submission when the cell size is known, else on the first frame.
 */
import { expect, test } from 'vitest';

import { SnapshotService } from '../dist/index.js';
import { fixture } from './fixtures.js';
import { failureOf, files, serviceTests } from './helpers/service-clips.js';

const IN = 'in-bucket';
const OUT = 'out-bucket';

const { setup } = serviceTests(async () => ({ 'clip.mp4': await fixture('h264') }), { workers: 1 });

const request = (extra: Record<string, unknown> = {}) => ({
  Input: { Bucket: IN, Object: 'clip.mp4' },
  SnapshotConfig: { OutputFile: { Bucket: OUT, Object: 'img/{Count}.jpg' }, Time: '0', ...extra },
});
const SPRITES = { Interval: '1', Num: '4', TileOutputFile: { Bucket: OUT, Object: 'sheets/{TileCount}.jpg' } };

test('limitInputPixels and limitOutputPixels reach the native calls of a job (the 320x240 clip: 76800 pixels)', async () => {
  const input = await setup({ limitInputPixels: 10_000 });
  for (const submit of [() => input.service.submitSnapshotJob(request()), () => input.service.submitSnapshotJobSync(request())]) {
    const failure = await failureOf(submit);
    expect({ code: failure.code, message: failure.message }).toEqual({
      code: 'InvalidParameter.ResourceContentBad',
      message: "clip.mp4: the video's frames are 320x240 (76800 pixels), over limitInputPixels (10000)",
    });
  }
  const output = await setup({ limitOutputPixels: 20_000 });
  expect((await failureOf(() => output.service.submitSnapshotJob(request()))).message).toBe(
    "clip.mp4: the video's pictures display at 320x240 (76800 pixels), over limitOutputPixels (20000)",
  );
  // A requested size under the limit is fine.
  const small = await output.service.submitSnapshotJob(request({ Width: '100', Height: '100' }));
  expect(small.SnapshotJob.State).toBe('Success');
  expect(files(output.out)).toEqual(['img/00001.jpg']);
});

test('limitSpritePixels: refused at submission when the cell size is known, else on the first frame, before composing', async () => {
  const { service, out } = await setup({ limitSpritePixels: 100_000 });
  const message =
    'SnapshotConfig.TileOut makes sprite sheets of 640x480 (307200 pixels), over limitSpritePixels (100000) ' +
    '(set a smaller CellWidth and CellHeight, or fewer Lines and Columns)';
  const known = await failureOf(() =>
    service.submitSnapshotJob(request({ ...SPRITES, TileOut: { Lines: 2, Columns: 2, CellWidth: 320, CellHeight: 240 } })),
  );
  expect({ code: known.code, message: known.message, jobId: known.jobId }).toEqual({
    code: 'InvalidParameter.OutOfRange',
    message,
    jobId: undefined,
  });
  const { SnapshotJob } = await service.submitSnapshotJob(request({ ...SPRITES, TileOut: { Lines: 2, Columns: 2 } }));
  const job = await service.waitForJob(SnapshotJob.Id);
  expect({ State: job.State, Code: job.Code, Message: job.Message }).toEqual({
    State: 'Fail',
    Code: 'InvalidParameter.OutOfRange',
    Message: message,
  });
  // Within the limit, the same job runs.
  const fits = await service.submitSnapshotJob(request({ ...SPRITES, TileOut: { Lines: 1, Columns: 1, CellWidth: 160, CellHeight: 120 } }));
  expect((await service.waitForJob(fits.SnapshotJob.Id)).State).toBe('Success');
  await service.close();
  expect(files(out).filter((name) => name.startsWith('sheets/'))).toEqual([
    'sheets/00001.jpg',
    'sheets/00002.jpg',
    'sheets/00003.jpg',
    'sheets/00004.jpg',
  ]);
});

test('the limits are integers of at least 1', () => {
  for (const name of ['limitInputPixels', 'limitOutputPixels', 'limitSpritePixels']) {
    expect(() => new SnapshotService({ root: '/tmp', [name]: 0 })).toThrow(
      `Expected an integer between 1 and 2147483647 for ${name} but received 0`,
    );
  }
});

test('a series whose later times pass the largest time (1e12 ms) stops there, as at the end of the video', async () => {
  const { service, out } = await setup({});
  // 0, 1e12, 2e12 ... 9e15 ms: only the first two are times at all, and the 4 s clip has a frame for the first only.
  for (const [Time, Interval, Num] of [
    ['0', '1000000000', '10000'],
    ['3000', '999999999.5', '3'],
  ]) {
    const answer = await service.submitSnapshotJob(request({ Time, Interval, Num }));
    const job = await service.waitForJob(answer.SnapshotJob.Id);
    expect(job).toMatchObject({ State: 'Success', Code: '', Count: '1' });
  }
  expect(files(out)).toEqual(['img/00001.jpg']);
});
