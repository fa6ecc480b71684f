/**
 * Black-frame filtering (SPEC section 5) through SnapshotService. The
 * blackStart fixture is 1 s of black, then testsrc2, a keyframe each second
 * (0, 1000, 2000, 3000 ms); a clip made here is black for 6 s, longer than
 * the 5 s the filter searches (blackLong). Images are told apart by {SnapshotTime} in
 * their names and by their pixels (against the CLI's keyframes).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import { fixture, jpegToRgb } from './fixtures.js';
import { IN, meanLuma, output, setup } from './helpers/feature-jobs.js';
import { failureOf, files, keyframes, whichFrame } from './helpers/service-clips.js';

const FRAME_TYPES = ['intra', 'normal'] as const;

/** Which keyframe of blackStart (0: black, 1: 1000 ms, ...) an image shows. */
async function keyframeShown(path: string): Promise<number> {
  return whichFrame(readFileSync(path), await keyframes(await fixture('blackStart')));
}

async function isBlack(path: string): Promise<boolean> {
  return meanLuma((await jpegToRgb(readFileSync(path))).rgb) < 20;
}

describe('a single snapshot at Time 0 skips a fully black opening frame', () => {
  test.each(FRAME_TYPES)('%s, both twins: the first frame that is not black, at 1000 ms', async (frameType) => {
    const { service, out } = await setup('blackStart');
    const request = (folder: string) => ({
      Input: { Bucket: IN, Object: 'clip.mp4' },
      SnapshotConfig: { Time: 0, FrameType: frameType, OutputFile: output(`${folder}/{SnapshotTime}.jpg`) },
    });
    expect((await service.submitSnapshotJob(request('async'))).SnapshotJob).toMatchObject({ State: 'Success', Count: '1' });
    expect(service.submitSnapshotJobSync(request('sync')).SnapshotJob).toMatchObject({ State: 'Success', Count: '1' });
    expect(files(out)).toEqual(['async/1000.jpg', 'sync/1000.jpg']);
    for (const name of files(out)) expect(await keyframeShown(join(out, name))).toBe(1);
  });

  test('not at another time: Time 500 (intra) is the black keyframe at 0', async () => {
    const { run, out } = await setup('blackStart');
    expect(await run({ Time: 500, OutputFile: output('{SnapshotTime}.jpg') })).toMatchObject({ State: 'Success' });
    expect(files(out)).toEqual(['0.jpg']);
    expect(await keyframeShown(join(out, '0.jpg'))).toBe(0);
  });

  test('PixelBlackThreshold applies: at 0 no pixel is darker than 0, so nothing is black', async () => {
    const { run, out } = await setup('blackStart');
    await run({ Time: 0, PixelBlackThreshold: 0, OutputFile: output('{SnapshotTime}.jpg') });
    expect(files(out)).toEqual(['0.jpg']);
    expect(await isBlack(join(out, '0.jpg'))).toBe(true);
  });

  test.each(FRAME_TYPES)('%s: black for longer than the 5 s searched keeps the black frame', async (frameType) => {
    const { run, ws, out } = await setup();
    ws.put(IN, 'long-black.mp4', await fixture('blackLong'));
    expect(await run({ Time: 0, FrameType: frameType, OutputFile: output('{SnapshotTime}.jpg') }, 'long-black.mp4')).toMatchObject({
      State: 'Success',
    });
    expect(files(out)).toEqual(['0.jpg']);
    expect(await isBlack(join(out, '0.jpg'))).toBe(true);
  });
});

describe('a series at Time 0 with BlackLevel replaces a black first image', () => {
  const series = { Time: 0, Interval: 1, Num: 3, OutputFile: output('{Count}-{SnapshotTime}.jpg') };

  test.each(FRAME_TYPES)('%s: only the first image is replaced', async (frameType) => {
    const { run, out } = await setup('blackStart');
    expect(await run({ ...series, FrameType: frameType, BlackLevel: '90' })).toMatchObject({ State: 'Success', Count: '3' });
    expect(files(out)).toEqual(['00001-1000.jpg', '00002-1000.jpg', '00003-2000.jpg']);
    expect(await Promise.all(files(out).map((name) => keyframeShown(join(out, name))))).toEqual([1, 1, 2]);
  });

  test.each(FRAME_TYPES)('%s: without BlackLevel the black first image stays', async (frameType) => {
    const { run, out } = await setup('blackStart');
    await run({ ...series, FrameType: frameType });
    expect(files(out)).toEqual(['00001-0.jpg', '00002-1000.jpg', '00003-2000.jpg']);
    expect(await keyframeShown(join(out, '00001-0.jpg'))).toBe(0);
  });

  test('not when the series starts later: Time 40 (intra) keeps the black keyframe', async () => {
    const { run, out } = await setup('blackStart');
    await run({ ...series, Time: 40, BlackLevel: 90 });
    expect(files(out)).toEqual(['00001-0.jpg', '00002-1000.jpg', '00003-2000.jpg']);
  });

  test('PixelBlackThreshold is compared with the stored luma: black (16) counts as dark under 17, not under 16', async () => {
    const { run, out } = await setup('blackStart');
    await run({ ...series, BlackLevel: 90, PixelBlackThreshold: 16, OutputFile: output('at16/{Count}-{SnapshotTime}.jpg') });
    await run({ ...series, BlackLevel: 90, PixelBlackThreshold: '17', OutputFile: output('at17/{Count}-{SnapshotTime}.jpg') });
    expect(files(out)).toEqual([
      'at16/00001-0.jpg',
      'at16/00002-1000.jpg',
      'at16/00003-2000.jpg',
      'at17/00001-1000.jpg',
      'at17/00002-1000.jpg',
      'at17/00003-2000.jpg',
    ]);
  });

  test('black for longer than the 5 s searched keeps the black frame', async () => {
    const { run, ws, out } = await setup();
    ws.put(IN, 'long-black.mp4', await fixture('blackLong'));
    await run(
      { Time: 0, Interval: 3, Num: 3, BlackLevel: 30, FrameType: 'normal', OutputFile: output('{Count}-{SnapshotTime}.jpg') },
      'long-black.mp4',
    );
    expect(files(out)).toEqual(['00001-0.jpg', '00002-3000.jpg', '00003-6000.jpg']);
    expect(await isBlack(join(out, '00001-0.jpg'))).toBe(true);
    expect(await isBlack(join(out, '00003-6000.jpg'))).toBe(false);
  });
});

describe('BlackLevel and PixelBlackThreshold validation (both twins)', () => {
  const base = { Time: 0, Interval: 1, Num: 2, OutputFile: output('{Count}.jpg') };
  const cases: [string, Record<string, unknown>, string, string][] = [
    [
      'BlackLevel 29',
      { ...base, BlackLevel: 29 },
      'InvalidParameter.OutOfRange',
      'Expected an integer between 30 and 100 for SnapshotConfig.BlackLevel but received 29',
    ],
    [
      'BlackLevel 101',
      { ...base, BlackLevel: '101' },
      'InvalidParameter.OutOfRange',
      'Expected an integer between 30 and 100 for SnapshotConfig.BlackLevel but received "101"',
    ],
    [
      'BlackLevel 50.5',
      { ...base, BlackLevel: 50.5 },
      'InvalidParameter',
      'Expected an integer between 30 and 100 for SnapshotConfig.BlackLevel but received 50.5',
    ],
    [
      'BlackLevel high',
      { ...base, BlackLevel: 'high' },
      'InvalidParameter',
      'Expected an integer between 30 and 100 for SnapshotConfig.BlackLevel but received "high"',
    ],
    [
      'BlackLevel null',
      { ...base, BlackLevel: null },
      'InvalidParameter.NullValue',
      'Expected an integer between 30 and 100 for SnapshotConfig.BlackLevel but received null',
    ],
    [
      'PixelBlackThreshold 256',
      { ...base, BlackLevel: 90, PixelBlackThreshold: 256 },
      'InvalidParameter.OutOfRange',
      'Expected an integer between 0 and 255 for SnapshotConfig.PixelBlackThreshold but received 256',
    ],
    [
      'PixelBlackThreshold -1',
      { ...base, PixelBlackThreshold: '-1' },
      'InvalidParameter.OutOfRange',
      'Expected an integer between 0 and 255 for SnapshotConfig.PixelBlackThreshold but received "-1"',
    ],
    [
      'PixelBlackThreshold on a single snapshot',
      { Time: 0, PixelBlackThreshold: true, OutputFile: output('a.jpg') },
      'InvalidParameter',
      'Expected an integer between 0 and 255 for SnapshotConfig.PixelBlackThreshold but received true',
    ],
  ];
  test.each(cases)('%s', async (_, config, code, message) => {
    const { service, out } = await setup('blackStart');
    const request = { Input: { Bucket: IN, Object: 'clip.mp4' }, SnapshotConfig: JSON.stringify(config) };
    for (const call of [() => service.submitSnapshotJob(request), () => service.submitSnapshotJobSync(request)]) {
      const failure = await failureOf(call);
      expect({ code: failure.code, message: failure.message }).toEqual({ code, message });
    }
    expect(files(out)).toEqual([]);
  });
});
