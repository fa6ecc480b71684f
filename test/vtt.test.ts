/**
 * The WebVTT thumbnail track (SPEC section 6), read back with the W3C's
 * WebVTT parser (webvtt-parser), which must find no error: exact cue times
 * and texts. The h264 fixture lasts 4000 ms (keyframes each second).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';
import { WebVTTParser } from 'webvtt-parser';

import { IN, output, setup, SPRITES } from './helpers/feature-jobs.js';
import { counted, failureOf, files } from './helpers/service-clips.js';

/** [start s, end s, text] of each cue. */
type Cue = [number, number, string];

function track(path: string): Cue[] {
  const parsed = new WebVTTParser().parse(readFileSync(path, 'utf8'), 'metadata');
  expect(parsed.errors).toEqual([]);
  return parsed.cues.map((cue) => [cue.startTime, cue.endTime, cue.text]);
}

describe('a track of single images', () => {
  test('one cue per image, from its time to the next, the last to the end; beside the first image', async () => {
    const { run, out } = await setup();
    const job = await run({ Time: 0, Interval: 1, Num: 4, FrameType: 'normal', OutputFile: output('thumbs/{Count}.jpg'), Format: 'vtt' });
    expect(job).toMatchObject({ State: 'Success', Count: '4' });
    expect(files(out)).toEqual([...counted(4, (count) => `thumbs/${count}.jpg`), 'thumbs/clip.vtt']);
    expect(track(join(out, 'thumbs/clip.vtt'))).toEqual([
      [0, 1, '00001.jpg'],
      [1, 2, '00002.jpg'],
      [2, 3, '00003.jpg'],
      [3, 4, '00004.jpg'],
    ]);
  });

  test('images in other folders are reached by relative paths', async () => {
    const { run, out } = await setup();
    await run({ Time: 500, Interval: 1, Num: 3, FrameType: 'normal', OutputFile: output('{Count}/frame.jpg'), Format: 'vtt' });
    expect(track(join(out, '00001/clip.vtt'))).toEqual([
      [0.5, 1.5, 'frame.jpg'],
      [1.5, 2.5, '../00002/frame.jpg'],
      [2.5, 4, '../00003/frame.jpg'],
    ]);
  });

  test('cues follow the times asked for, so images sharing a keyframe still tile the video', async () => {
    const { run, out } = await setup();
    await run({ Time: 0, Interval: 0.5, Num: 4, OutputFile: output('{Count}-{SnapshotTime}.jpg'), Format: 'vtt' });
    expect(track(join(out, 'clip.vtt'))).toEqual([
      [0, 0.5, '00001-0.jpg'],
      [0.5, 1, '00002-0.jpg'],
      [1, 1.5, '00003-1000.jpg'],
      [1.5, 4, '00004-1000.jpg'],
    ]);
  });

  test('a series to the end, and Num spread evenly (Interval 0)', async () => {
    const { run, out } = await setup();
    await run({ Time: 0, Interval: 1.5, FrameType: 'normal', OutputFile: output('to-end/{Count}.jpg'), Format: 'vtt' });
    expect(track(join(out, 'to-end/clip.vtt'))).toEqual([
      [0, 1.5, '00001.jpg'],
      [1.5, 3, '00002.jpg'],
      [3, 4, '00003.jpg'],
    ]);
    await run({ Time: 1000, Interval: 0, Num: 4, FrameType: 'normal', OutputFile: output('spread/{Count}.jpg'), Format: 'vtt' });
    expect(track(join(out, 'spread/clip.vtt'))).toEqual([
      [1, 1.75, '00001.jpg'],
      [1.75, 2.5, '00002.jpg'],
      [2.5, 3.25, '00003.jpg'],
      [3.25, 4, '00004.jpg'],
    ]);
  });

  test('a single snapshot (both twins): one cue to the end', async () => {
    const { service, out } = await setup();
    const request = (folder: string) => ({
      Input: { Bucket: IN, Object: 'clip.mp4' },
      SnapshotConfig: { Time: 2000, OutputFile: output(`${folder}/single.jpg`), Format: 'vtt' },
    });
    expect((await service.submitSnapshotJob(request('async'))).SnapshotJob.State).toBe('Success');
    expect(service.submitSnapshotJobSync(request('sync')).SnapshotJob.State).toBe('Success');
    for (const folder of ['async', 'sync']) expect(track(join(out, folder, 'clip.vtt'))).toEqual([[2, 4, 'single.jpg']]);
  });

  test('names are percent-encoded in cue texts', async () => {
    const { run, out } = await setup('h264', 'my clip&1.mp4');
    await run({ Time: 0, Interval: 2, Num: 2, OutputFile: output('{FileName}-{Count}.jpg'), Format: 'vtt' });
    expect(files(out)).toEqual(['my clip&1-00001.jpg', 'my clip&1-00002.jpg', 'my clip&1.vtt']);
    expect(track(join(out, 'my clip&1.vtt'))).toEqual([
      [0, 2, 'my%20clip%261-00001.jpg'],
      [2, 4, 'my%20clip%261-00002.jpg'],
    ]);
  });

  test('a track named like an image is refused and the job leaves nothing', async () => {
    const { service, out } = await setup();
    const failure = await failureOf(() =>
      service.submitSnapshotJob({
        Input: { Bucket: IN, Object: 'clip.mp4' },
        SnapshotConfig: { Time: 0, OutputFile: output('clip.vtt'), Format: 'vtt' },
      }),
    );
    expect({ code: failure.code, message: failure.message }).toEqual({
      code: 'InvalidParameter',
      message: 'SnapshotConfig.Format names the object clip.vtt, which the job also writes for SnapshotConfig.OutputFile.Object',
    });
    expect(files(out)).toEqual([]);
  });
});

describe('a track into sprite cells (SubOut.IsSptFrag)', () => {
  const layout = { Lines: 2, Columns: 2, CellWidth: 80, CellHeight: 60, Margin: 4, Padding: 2 };

  test('cues point into the cells with #xywh; the track sits beside the first sprite', async () => {
    const { run, out, sprites } = await setup();
    const job = await run({
      Time: 0,
      Interval: 0.5,
      Num: 6,
      OutputFile: output('img/{Count}.jpg'),
      TileOut: layout,
      TileOutputFile: output('sheets/{TileCount}.jpg', SPRITES),
      Format: 'vtt',
      SubOut: { IsSptFrag: 'true' },
    });
    expect(job).toMatchObject({ State: 'Success', Count: '6', TileCount: '2' });
    expect(files(sprites)).toEqual(['sheets/00001.jpg', 'sheets/00002.jpg', 'sheets/clip.vtt']);
    expect(existsSync(join(out, 'img/clip.vtt'))).toBe(false);
    expect(track(join(sprites, 'sheets/clip.vtt'))).toEqual([
      [0, 0.5, '00001.jpg#xywh=4,4,80,60'],
      [0.5, 1, '00001.jpg#xywh=86,4,80,60'],
      [1, 1.5, '00001.jpg#xywh=4,66,80,60'],
      [1.5, 2, '00001.jpg#xywh=86,66,80,60'],
      [2, 2.5, '00002.jpg#xywh=4,4,80,60'],
      [2.5, 4, '00002.jpg#xywh=86,4,80,60'],
    ]);
  });

  test('with CellSelStep, one cue per cell; without the single images (IsKeepCellPic false)', async () => {
    const { run, out, sprites } = await setup();
    const job = await run({
      Time: 0,
      Interval: 0.5,
      Num: 6,
      OutputFile: output('{Count}.jpg'),
      TileOut: { ...layout, CellSelStep: 2, IsKeepCellPic: false },
      TileOutputFile: output('{FileName}/{TileCount}.jpg', SPRITES),
      Format: 'vtt',
      SubOut: { IsSptFrag: true },
    });
    expect(job).toMatchObject({ State: 'Success', Count: '6', TileCount: '1' });
    expect(files(out)).toEqual([]);
    expect(track(join(sprites, 'clip/clip.vtt'))).toEqual([
      [0, 1, '00001.jpg#xywh=4,4,80,60'],
      [1, 2, '00001.jpg#xywh=86,4,80,60'],
      [2, 4, '00001.jpg#xywh=4,66,80,60'],
    ]);
  });
});

describe('Format and SubOut validation (both twins)', () => {
  const base = { Time: 0, Interval: 1, Num: 2, OutputFile: output('{Count}.jpg') };
  const tiles = { TileOut: { Lines: 2, Columns: 2 }, TileOutputFile: output('{TileCount}.jpg', SPRITES) };
  const cases: [string, Record<string, unknown>, string, string][] = [
    ['Format srt', { ...base, Format: 'srt' }, 'InvalidParameter', 'Expected "vtt" for SnapshotConfig.Format but received "srt"'],
    ['Format VTT', { ...base, Format: 'VTT' }, 'InvalidParameter', 'Expected "vtt" for SnapshotConfig.Format but received "VTT"'],
    ['Format empty', { ...base, Format: '' }, 'InvalidParameter.NullValue', 'Expected "vtt" for SnapshotConfig.Format but received ""'],
    [
      'SubOut without Format',
      { ...base, ...tiles, SubOut: { IsSptFrag: 'true' } },
      'InvalidParameter',
      'SnapshotConfig.SubOut applies to the WebVTT track and needs SnapshotConfig.Format "vtt"',
    ],
    [
      'SubOut a string',
      { ...base, Format: 'vtt', SubOut: 'true' },
      'InvalidParameter',
      'Expected an object with IsSptFrag for SnapshotConfig.SubOut but received "true"',
    ],
    [
      'SubOut unknown field',
      { ...base, Format: 'vtt', SubOut: { IsSpriteFrag: 'true' } },
      'InvalidParameter',
      'Unknown field "IsSpriteFrag" for SnapshotConfig.SubOut: did you mean "IsSptFrag"?',
    ],
    [
      'IsSptFrag yes',
      { ...base, ...tiles, Format: 'vtt', SubOut: { IsSptFrag: 'yes' } },
      'InvalidParameter',
      'Expected true or false for SnapshotConfig.SubOut.IsSptFrag but received "yes"',
    ],
    [
      'IsSptFrag without TileOut',
      { ...base, Format: 'vtt', SubOut: { IsSptFrag: 'true' } },
      'InvalidParameter',
      'SnapshotConfig.SubOut.IsSptFrag "true" points the WebVTT track into sprites and needs SnapshotConfig.TileOut',
    ],
    ...[undefined, { IsSptFrag: 'false' }].map((subOut): [string, Record<string, unknown>, string, string] => [
      `a track of images that are not kept (SubOut ${JSON.stringify(subOut)})`,
      { ...base, ...tiles, TileOut: { IsKeepCellPic: 'false' }, Format: 'vtt', ...(subOut === undefined ? {} : { SubOut: subOut }) },
      'InvalidParameter',
      'SnapshotConfig.Format "vtt" points at the single images, which SnapshotConfig.TileOut.IsKeepCellPic "false" does not keep; ' +
        'set SnapshotConfig.SubOut.IsSptFrag to "true" to point into the sprites',
    ]),
  ];
  test.each(cases)('%s', async (_, config, code, message) => {
    const { service, out, sprites } = await setup();
    const request = { Input: { Bucket: IN, Object: 'clip.mp4' }, SnapshotConfig: JSON.stringify(config) };
    for (const call of [() => service.submitSnapshotJob(request), () => service.submitSnapshotJobSync(request)]) {
      const failure = await failureOf(call);
      expect({ code: failure.code, message: failure.message }).toEqual({ code, message });
    }
    expect(files(out)).toEqual([]);
    expect(files(sprites)).toEqual([]);
  });
});
