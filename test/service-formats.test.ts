/**
 * Output formats in the job API (framesnap's extension to the cloud API):
 * the extension of OutputFile.Object picks the images' format and that of
 * TileOutputFile.Object the sprite sheets': .jpg/.jpeg JPEG, .png, .webp,
 * .avif (case does not matter); any other name stays JPEG, as the cloud
 * service writes; the extension of an image format framesnap does not write
 * is refused. Each object is read back with sharp. The h264 fixture is
 * 320x240, 25 fps, 4 s.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { WebVTTParser } from 'webvtt-parser';

import { SnapshotError } from '../dist/index.js';
import { fixture, meanSquaredError, referenceFrames } from './fixtures.js';
import { IN, output, setup, SPRITES } from './helpers/feature-jobs.js';
import { counted, failureOf, files } from './helpers/service-clips.js';

/** What sharp says a file is: AVIF is a HEIF container with AV1 inside. */
async function formatOf(path: string): Promise<{ format: string | undefined; compression?: string; width?: number; height?: number }> {
  const { format, compression, width, height } = await sharp(readFileSync(path)).metadata();
  return { format, ...(compression === undefined ? {} : { compression }), width, height };
}

const JPEG = { format: 'jpeg', width: 320, height: 240 };
const PNG = { format: 'png', width: 320, height: 240 };
const WEBP = { format: 'webp', width: 320, height: 240 };
const AVIF = { format: 'heif', compression: 'av1', width: 320, height: 240 };

/** Two exact frames, 1 s apart. */
const SERIES = { Time: 0, Interval: 1, Num: 2, FrameType: 'normal' };

describe('the extension of OutputFile.Object picks the format', () => {
  const cases: [string, string, string[], Awaited<ReturnType<typeof formatOf>>][] = [
    ['.jpg', 'jpg/{Count}.jpg', counted(2, (count) => `jpg/${count}.jpg`), JPEG],
    ['.jpeg', 'jpeg/{Count}.jpeg', counted(2, (count) => `jpeg/${count}.jpeg`), JPEG],
    ['.png', 'png/{Count}.png', counted(2, (count) => `png/${count}.png`), PNG],
    ['.webp', 'webp/{Count}.webp', counted(2, (count) => `webp/${count}.webp`), WEBP],
    ['.avif', 'avif/{Count}.avif', counted(2, (count) => `avif/${count}.avif`), AVIF],
    ['.PNG (case does not matter)', 'upper/{Count}.PNG', counted(2, (count) => `upper/${count}.PNG`), PNG],
    ['.WebP', 'mixed/{Count}.WebP', counted(2, (count) => `mixed/${count}.WebP`), WEBP],
    ['no extension: JPEG', 'bare/{Count}', counted(2, (count) => `bare/${count}`), JPEG],
    ['another extension: JPEG', 'other/{Count}.thumb', counted(2, (count) => `other/${count}.thumb`), JPEG],
    [
      'the input extension ({ExtName} is mp4): JPEG',
      'ext/{FileName}-{Count}.{ExtName}',
      counted(2, (count) => `ext/clip-${count}.mp4`),
      JPEG,
    ],
    ['a dot in a folder name only: JPEG', 'dir.png/{Count}', counted(2, (count) => `dir.png/${count}`), JPEG],
  ];
  test.each(cases)('%s', async (_, object, names, expected) => {
    const { run, out } = await setup();
    const job = await run({ ...SERIES, OutputFile: output(object) });
    expect(job).toMatchObject({ State: 'Success', Code: '', Count: '2' });
    expect(files(out)).toEqual(names);
    for (const name of names) expect(await formatOf(join(out, name)), name).toEqual(expected);
  });

  test('a synchronous snapshot too (both twins)', async () => {
    const { service, out } = await setup();
    const request = (Object: string) => ({
      Input: { Bucket: IN, Object: 'clip.mp4' },
      SnapshotConfig: { Time: 1000, OutputFile: output(Object) },
    });
    const viaPromise = await service.submitSnapshotJob(request('async.webp'));
    const viaSync = service.submitSnapshotJobSync(request('sync.avif'));
    for (const answer of [viaPromise, viaSync]) expect(answer.SnapshotJob).toMatchObject({ State: 'Success', Count: '1' });
    expect(files(out)).toEqual(['async.webp', 'sync.avif']);
    expect(await formatOf(join(out, 'async.webp'))).toEqual(WEBP);
    expect(await formatOf(join(out, 'sync.avif'))).toEqual(AVIF);
  });

  /**
   * MSE to the ffmpeg CLI's frame, measured here: PNG 0.00 (lossless: the
   * bound allows rounding differences of other FFmpeg builds), AVIF 1.4-1.6,
   * WebP 111-132 (as JPEG at quality 90: 113); other frames of the series are
   * beyond 2400.
   */
  test('each format holds the frame asked for: PNG within rounding of the ffmpeg CLI, WebP and AVIF near it', async () => {
    const { run, out } = await setup();
    const times = [0, 1000, 2000];
    const reference = await referenceFrames(await fixture('h264'), 320, 240);
    const framesAt = times.map((time) => reference.frames[reference.times.findIndex((at) => at >= time)]!);
    for (const [extension, most] of [
      ['png', 1],
      ['webp', 200],
      ['avif', 20],
    ] as const) {
      const job = await run({ Time: 0, Interval: 1, Num: 3, FrameType: 'normal', OutputFile: output(`${extension}/{Count}.${extension}`) });
      expect(job).toMatchObject({ State: 'Success', Count: '3' });
      for (const [index, name] of counted(3, (count) => `${extension}/${count}.${extension}`).entries()) {
        const rgb = await sharp(readFileSync(join(out, name)))
          .removeAlpha()
          .raw()
          .toBuffer();
        const errors = framesAt.map((frame) => meanSquaredError(rgb, frame));
        // Its own frame, and not another of the series.
        expect(errors.indexOf(Math.min(...errors)), name).toBe(index);
        expect(errors[index], name).toBeLessThanOrEqual(most);
      }
    }
  });

  test('the WebVTT track points at the images by their names, whatever their format', async () => {
    const { run, out } = await setup();
    const job = await run({ ...SERIES, OutputFile: output('{Count}.webp'), Format: 'vtt' });
    expect(job).toMatchObject({ State: 'Success', Count: '2' });
    const parsed = new WebVTTParser().parse(readFileSync(join(out, 'clip.vtt'), 'utf8'), 'metadata');
    expect(parsed.errors).toEqual([]);
    expect(parsed.cues.map((cue) => [cue.startTime, cue.endTime, cue.text])).toEqual([
      [0, 1, '00001.webp'],
      [1, 4, '00002.webp'],
    ]);
  });
});

describe("the extension of TileOutputFile.Object picks the sheets' format", () => {
  const cases: [string, string, Awaited<ReturnType<typeof formatOf>>][] = [
    ['sheet.jpg', 'jpeg', { format: 'jpeg', width: 160, height: 60 }],
    ['sheet.png', 'png', { format: 'png', width: 160, height: 60 }],
    ['sheet.webp', 'webp', { format: 'webp', width: 160, height: 60 }],
    ['sheet.avif', 'avif', { format: 'heif', compression: 'av1', width: 160, height: 60 }],
    ['sheet', 'none', { format: 'jpeg', width: 160, height: 60 }],
  ];
  test.each(cases)('%s, the images staying .jpg', async (sheet, _, expected) => {
    const { run, out, sprites } = await setup();
    const job = await run({
      ...SERIES,
      OutputFile: output('{Count}.jpg'),
      TileOut: { Lines: 1, Columns: 2, CellWidth: 80, CellHeight: 60 },
      TileOutputFile: output(sheet, SPRITES),
    });
    expect(job).toMatchObject({ State: 'Success', Count: '2', TileCount: '1' });
    expect(files(sprites)).toEqual([sheet]);
    expect(await formatOf(join(sprites, sheet))).toEqual(expected);
    for (const name of counted(2)) expect(await formatOf(join(out, name))).toEqual(JPEG);
  });

  test("images and sheets each take their own extension's format", async () => {
    const { run, out, sprites } = await setup();
    const job = await run({
      ...SERIES,
      OutputFile: output('{Count}.avif'),
      TileOut: { Lines: 1, Columns: 2 },
      TileOutputFile: output('sheet.png', SPRITES),
    });
    expect(job).toMatchObject({ State: 'Success', Count: '2', TileCount: '1' });
    for (const name of counted(2, (count) => `${count}.avif`)) expect(await formatOf(join(out, name))).toEqual(AVIF);
    expect(await formatOf(join(sprites, 'sheet.png'))).toEqual({ format: 'png', width: 640, height: 240 });
  });
});

test('an AVIF sprite sheet over 4096x4096 pixels fails OutOfRange before the sheet is encoded, and leaves nothing', async () => {
  const { run, sprites } = await setup();
  // 2 x 1 cells of 2100 x 4000: a 4200 x 4000 sheet (16800000 pixels), over the AVIF bound (16777216).
  const job = await run({
    ...SERIES,
    OutputFile: output('{Count}.jpg'),
    TileOut: { Lines: 1, Columns: 2, CellWidth: 2100, CellHeight: 4000, IsKeepCellPic: 'false' },
    TileOutputFile: output('sheet.avif', SPRITES),
  });
  expect(job).toMatchObject({
    State: 'Fail',
    Code: 'InvalidParameter.OutOfRange',
    Message:
      'sheet.avif: the AVIF image would be 4200x4000 (16800000 pixels), over the largest AVIF image (16777216 pixels, 4096x4096): its encoder is slow and cannot be stopped; use a smaller size or another format',
    Count: '0',
  });
  expect(files(sprites)).toEqual([]);
});

describe('the extension of a format framesnap does not write is refused (both twins)', () => {
  const refused = (object: string, extension: string, where = 'SnapshotConfig.OutputFile.Object'): string =>
    `Expected a name ending in .jpg, .jpeg, .png, .webp or .avif (framesnap does not write .${extension} images) for ${where} but received ${JSON.stringify(object)}`;
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['.gif', 'clip.mp4', { Time: 0, OutputFile: output('x.gif') }, refused('x.gif', 'gif')],
    ['.TIFF', 'clip.mp4', { ...SERIES, OutputFile: output('a/{Count}.TIFF') }, refused('a/00001.TIFF', 'tiff')],
    ['.heic', 'clip.mp4', { Time: 0, OutputFile: output('x.heic') }, refused('x.heic', 'heic')],
    [
      'a sheet .bmp',
      'clip.mp4',
      {
        ...SERIES,
        OutputFile: output('{Count}.jpg'),
        TileOut: { Lines: 1, Columns: 2 },
        TileOutputFile: output('sheet-{TileCount}.bmp', SPRITES),
      },
      refused('sheet-00001.bmp', 'bmp', 'SnapshotConfig.TileOutputFile.Object'),
    ],
    // The name the template makes counts: {ExtName} brings the input's extension.
    ['{ExtName} of an input named .gif', 'clip.gif', { Time: 0, OutputFile: output('{FileName}.{ExtName}') }, refused('clip.gif', 'gif')],
  ];
  test.each(cases)('%s', async (_, key, config, message) => {
    const { service, ws, out, sprites } = await setup();
    if (key !== 'clip.mp4') ws.put(IN, key, await fixture('h264'));
    const request = { Input: { Bucket: IN, Object: key }, SnapshotConfig: config };
    for (const call of [() => service.submitSnapshotJob(request), () => service.submitSnapshotJobSync(request)]) {
      const failure = await failureOf(call);
      expect(failure).toBeInstanceOf(SnapshotError);
      expect({ code: failure.code, message: failure.message }).toEqual({ code: 'InvalidParameter', message });
    }
    expect(files(out)).toEqual([]);
    expect(files(sprites)).toEqual([]);
  });
});
