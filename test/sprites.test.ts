/**
 * Sprite sheets (SPEC section 6): TileOut and TileOutputFile through
 * SnapshotService. Cells are identified by pixels: each cell of a JPEG sheet
 * is compared with every single image of the job resized to the cell size,
 * and must be nearest its own; a PNG sheet (lossless) holds its PNG images
 * exactly. The h264 fixture is 320x240, 25 fps, 4 s; with
 * FrameType normal, images 0.5 s apart all differ.
 */
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';

import sharp from 'sharp';
import { describe, expect, test } from 'vitest';

import { SnapshotError } from '../dist/index.js';
import { DEFAULT_LIMITS } from '../dist/core/limits.js';
import { executeJob } from '../dist/service/worker/execute.js';
import type { ProgressMessage } from '../dist/service/types.js';
import { jpegToRgb, meanSquaredError } from './fixtures.js';
import { IN, OUT, output, region, setup, SPRITES } from './helpers/feature-jobs.js';
import { counted, failureOf, files, jobTask } from './helpers/service-clips.js';

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Eight exact frames, 0.5 s apart: every one different. */
const SERIES = { Time: 0, Interval: 0.5, Num: 8, FrameType: 'normal' };
/** 2 x 3 cells of 80x64 with a 16 px margin and 16 px padding: margin and padding are whole JPEG blocks. */
const LAYOUT = { Lines: 2, Columns: 3, CellWidth: 80, CellHeight: 64, Margin: 16, Padding: 16, Color: '#3366cc' };
const SHEET_WIDTH = 16 + 3 * 80 + 2 * 16 + 16; // 304
const SHEET_HEIGHT = 16 + 2 * 64 + 16 + 16; // 176

/** Where cell `slot` of a LAYOUT sheet lies. */
function cell(slot: number): Rect {
  return { x: 16 + (slot % 3) * 96, y: 16 + Math.floor(slot / 3) * 80, width: 80, height: 64 };
}

async function decoded(path: string): Promise<{ width: number; height: number; rgb: Buffer }> {
  return jpegToRgb(readFileSync(path));
}

/** A single image as it should look in a cell: resized to exactly the cell size. */
async function asCell(path: string, width: number, height: number): Promise<Buffer> {
  const { rgb, width: imageWidth, height: imageHeight } = await decoded(path);
  return sharp(rgb, { raw: { width: imageWidth, height: imageHeight, channels: 3 } })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer();
}

/**
 * Which of `candidates` the cell shows: the nearest, if within MSE 800 and 3
 * times nearer than any other; else -1. (A busy 80x64 cell loses much of its
 * colour to JPEG's 4:2:0 chroma, twice: the cell's own image is near MSE 450,
 * the other images of the series beyond 2000.)
 */
function nearest(cellPixels: Buffer, candidates: Buffer[]): number {
  const errors = candidates.map((candidate) => meanSquaredError(cellPixels, candidate));
  const best = errors.indexOf(Math.min(...errors));
  if (errors[best]! > 800 || errors.some((error, index) => index !== best && error < errors[best]! * 3)) return -1;
  return best;
}

/**
 * JPEG codes 4:2:0 pictures in blocks of 16x16 pixels: a block holding any
 * of a cell rings with its colours, and the decoder's chroma upsampling
 * blends them one pixel further.
 */
const BLOCK = 16;
const BLEED = 1;

/**
 * Largest channel difference from `colour` over every pixel of `rgb` in a
 * JPEG block that holds no pixel of `cells` (nor is next to one).
 */
function backgroundError(rgb: Buffer, width: number, height: number, cells: Rect[], colour: [number, number, number]): number {
  let worst = 0;
  const overlaps = (rect: Rect, left: number, top: number, size: number): boolean =>
    rect.x < left + size && left < rect.x + rect.width && rect.y < top + size && top < rect.y + rect.height;
  const touches = (x: number, y: number, rect: Rect): boolean =>
    overlaps(rect, x - (x % BLOCK), y - (y % BLOCK), BLOCK) || overlaps(rect, x - BLEED, y - BLEED, 1 + 2 * BLEED);
  let checked = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (cells.some((rect) => touches(x, y, rect))) continue;
      checked += 1;
      for (let channel = 0; channel < 3; channel++) {
        worst = Math.max(worst, Math.abs(rgb[(y * width + x) * 3 + channel]! - colour[channel]!));
      }
    }
  }
  if (checked === 0) throw new Error('no background block to check');
  return worst;
}

describe('sprite sheets', () => {
  test('names, sizes, cell positions, background; Count and TileCount on the job', async () => {
    const { run, out, sprites } = await setup();
    const job = await run({
      ...SERIES,
      OutputFile: output('img/{Count}.jpg'),
      TileOut: LAYOUT,
      TileOutputFile: output('sheets/{FileName}-{TileCount}.jpg', SPRITES),
    });
    expect(job).toMatchObject({ State: 'Success', Code: '', Count: '8', TileCount: '2' });
    expect(files(out)).toEqual(counted(8, (count) => `img/${count}.jpg`));
    expect(files(sprites)).toEqual(['sheets/clip-00001.jpg', 'sheets/clip-00002.jpg']);

    const singles = await Promise.all(counted(8).map((name) => asCell(join(out, 'img', name), 80, 64)));
    for (const [sheetIndex, name] of ['clip-00001.jpg', 'clip-00002.jpg'].entries()) {
      const sheet = await decoded(join(sprites, 'sheets', name));
      expect([sheet.width, sheet.height]).toEqual([SHEET_WIDTH, SHEET_HEIGHT]);
      const used = sheetIndex === 0 ? 6 : 2;
      for (let slot = 0; slot < used; slot++) {
        expect(nearest(region(sheet.rgb, sheet.width, cell(slot)), singles), `sheet ${sheetIndex + 1} cell ${slot}`).toBe(
          sheetIndex * 6 + slot,
        );
      }
      // Margin, padding and the empty cells of the last sheet are the background.
      const filled = Array.from({ length: used }, (_, slot) => cell(slot));
      expect(backgroundError(sheet.rgb, sheet.width, sheet.height, filled, [0x33, 0x66, 0xcc])).toBeLessThanOrEqual(6);
    }
  });

  test('CellSelStep 3 uses images 1, 4, 7; one sprite possible, so {TileCount} is not needed', async () => {
    const { run, out, sprites } = await setup();
    const job = await run({
      ...SERIES,
      OutputFile: output('{Count}.jpg'),
      TileOut: { ...LAYOUT, Lines: '1', Columns: '3', CellSelStep: '3' },
      TileOutputFile: output('strip.jpg', SPRITES),
    });
    expect(job).toMatchObject({ State: 'Success', Count: '8', TileCount: '1' });
    expect(files(sprites)).toEqual(['strip.jpg']);
    const singles = await Promise.all(counted(8).map((name) => asCell(join(out, name), 80, 64)));
    const sheet = await decoded(join(sprites, 'strip.jpg'));
    expect([sheet.width, sheet.height]).toEqual([SHEET_WIDTH, 16 + 64 + 16]);
    expect([0, 1, 2].map((slot) => nearest(region(sheet.rgb, sheet.width, cell(slot)), singles))).toEqual([0, 3, 6]);
  });

  test('IsKeepCellPic false writes no single image, the same sprites, and Count stays the images taken', async () => {
    const { run, out, sprites } = await setup();
    const kept = await run({
      ...SERIES,
      OutputFile: output('kept/{Count}.jpg'),
      TileOut: LAYOUT,
      TileOutputFile: output('kept/{TileCount}.jpg', SPRITES),
    });
    for (const flag of [false, 'false']) {
      const job = await run({
        ...SERIES,
        OutputFile: output(`dropped-${flag}/{Count}.jpg`),
        TileOut: { ...LAYOUT, IsKeepCellPic: flag },
        TileOutputFile: output(`dropped-${flag}/{TileCount}.jpg`, SPRITES),
      });
      expect(job).toMatchObject({ State: 'Success', Count: '8', TileCount: '2' });
      for (const name of ['00001.jpg', '00002.jpg']) {
        expect(readFileSync(join(sprites, `dropped-${flag}`, name)).equals(readFileSync(join(sprites, 'kept', name)))).toBe(true);
      }
    }
    expect(kept).toMatchObject({ State: 'Success', Count: '8', TileCount: '2' });
    expect(files(out)).toEqual(counted(8, (count) => `kept/${count}.jpg`));
  });

  test('more images than cells start new sprites; defaults are 10 x 10 cells of the image size on black', async () => {
    const { run, sprites } = await setup();
    const many = await run({
      Time: 0,
      Interval: 0.25,
      Num: 9,
      OutputFile: output('{Count}.jpg'),
      TileOut: { Lines: 1, Columns: 2, CellWidth: 16, CellHeight: 16 },
      TileOutputFile: output('pairs/{TileCount}.jpg', SPRITES),
    });
    expect(many).toMatchObject({ State: 'Success', Count: '9', TileCount: '5' });
    expect(files(join(sprites, 'pairs'))).toEqual(counted(5));

    const defaults = await run({
      Time: 0,
      Interval: 1,
      Num: 3,
      OutputFile: output('d/{Count}.jpg'),
      TileOut: {},
      TileOutputFile: output('default.jpg', SPRITES),
    });
    expect(defaults).toMatchObject({ State: 'Success', Count: '3', TileCount: '1' });
    const sheet = await decoded(join(sprites, 'default.jpg'));
    expect([sheet.width, sheet.height]).toEqual([3200, 2400]);
    const filled = [0, 1, 2].map((slot) => ({ x: slot * 320, y: 0, width: 320, height: 240 }));
    expect(backgroundError(sheet.rgb, sheet.width, sheet.height, filled, [0, 0, 0])).toBeLessThanOrEqual(6);
  });

  test('a single snapshot with TileOut makes one sprite of one cell (both twins); the cell defaults to the image size', async () => {
    const { service, sprites } = await setup();
    const config = (name: string): Record<string, unknown> => ({
      Time: 1000,
      Width: 128,
      OutputFile: output(`${name}.jpg`),
      TileOut: { Lines: 2, Columns: 2, Color: 'White' },
      TileOutputFile: output(`${name}-sheet.jpg`, SPRITES),
    });
    const asyncAnswer = await service.submitSnapshotJob({ Input: { Bucket: IN, Object: 'clip.mp4' }, SnapshotConfig: config('async') });
    const syncAnswer = service.submitSnapshotJobSync({ Input: { Bucket: IN, Object: 'clip.mp4' }, SnapshotConfig: config('sync') });
    for (const answer of [asyncAnswer, syncAnswer])
      expect(answer.SnapshotJob).toMatchObject({ State: 'Success', Count: '1', TileCount: '1' });
    for (const name of ['async', 'sync']) {
      const sheet = await decoded(join(sprites, `${name}-sheet.jpg`));
      expect([sheet.width, sheet.height]).toEqual([256, 192]);
      expect(backgroundError(sheet.rgb, 256, 192, [{ x: 0, y: 0, width: 128, height: 96 }], [255, 255, 255])).toBeLessThanOrEqual(6);
    }
  });

  test('a PNG sheet holds each PNG image exactly, resized exactly as sharp resizes it, on exactly the background', async () => {
    const { run, out, sprites } = await setup();
    const rawOf = async (path: string): Promise<{ rgb: Buffer; width: number; height: number }> => {
      const { data, info } = await sharp(readFileSync(path)).raw().toBuffer({ resolveWithObject: true });
      expect(info.channels).toBe(3);
      return { rgb: data, width: info.width, height: info.height };
    };
    const background: [number, number, number] = [0x33, 0x66, 0xcc];
    for (const [name, cellWidth, cellHeight] of [
      ['own-size', 320, 240],
      ['resized', 80, 60],
    ] as const) {
      const job = await run({
        Time: 0,
        Interval: 1,
        Num: 3,
        FrameType: 'normal',
        OutputFile: output(`${name}/{Count}.png`),
        TileOut: {
          Lines: 2,
          Columns: 2,
          Margin: 3,
          Padding: 2,
          Color: '#3366cc',
          ...(name === 'resized' ? { CellWidth: 80, CellHeight: 60 } : {}),
        },
        TileOutputFile: output(`${name}.png`, SPRITES),
      });
      expect(job).toMatchObject({ State: 'Success', Count: '3', TileCount: '1' });
      const sheet = await rawOf(join(sprites, `${name}.png`));
      expect([sheet.width, sheet.height]).toEqual([3 + 2 * cellWidth + 2 + 3, 3 + 2 * cellHeight + 2 + 3]);
      const rects = [0, 1, 2].map((slot) => ({
        x: 3 + (slot % 2) * (cellWidth + 2),
        y: 3 + Math.floor(slot / 2) * (cellHeight + 2),
        width: cellWidth,
        height: cellHeight,
      }));
      for (const [slot, image] of counted(3, (count) => `${count}.png`).entries()) {
        const single = await rawOf(join(out, name, image));
        const expected =
          name === 'resized'
            ? await sharp(single.rgb, { raw: { width: 320, height: 240, channels: 3 } })
                .resize(80, 60, { fit: 'fill' })
                .raw()
                .toBuffer()
            : single.rgb;
        expect(region(sheet.rgb, sheet.width, rects[slot]!).equals(expected), `${name} cell ${slot}`).toBe(true);
      }
      // Everything else (margin, padding, the empty fourth cell) is the background, to the bit.
      const inCell = (x: number, y: number): boolean => rects.some((r) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height);
      let others = 0;
      for (let y = 0; y < sheet.height; y++) {
        for (let x = 0; x < sheet.width; x++) {
          if (inCell(x, y)) continue;
          const at = (y * sheet.width + x) * 3;
          if (sheet.rgb[at] !== background[0] || sheet.rgb[at + 1] !== background[1] || sheet.rgb[at + 2] !== background[2]) others += 1;
        }
      }
      expect(others, name).toBe(0);
    }
  });

  test('a job without TileOut shows no TileCount', async () => {
    const { run } = await setup();
    const job = await run({ Time: 0, Interval: 1, Num: 2, OutputFile: output('{Count}.jpg') });
    expect(job.State).toBe('Success');
    expect(job).not.toHaveProperty('TileCount');
  });
});

describe('sprite failures', () => {
  test('a sprite named like an image is refused and the job leaves nothing', async () => {
    const { run, out } = await setup();
    const job = await run({
      ...SERIES,
      OutputFile: output('{Count}.jpg'),
      TileOut: { Lines: 1, Columns: 1 },
      TileOutputFile: output('{TileCount}.jpg'),
    });
    expect(job).toMatchObject({
      State: 'Fail',
      Code: 'InvalidParameter',
      Message:
        'SnapshotConfig.TileOutputFile.Object names the object 00001.jpg, which the job also writes for SnapshotConfig.OutputFile.Object',
      Count: '0',
      TileCount: '0',
    });
    expect(files(out)).toEqual([]);
  });

  test('a sheet too large for the images found on the first cell fails the job and leaves nothing', async () => {
    const { run, out, sprites } = await setup();
    const job = await run({
      ...SERIES,
      OutputFile: output('{Count}.jpg'),
      TileOut: { Lines: 100, Columns: 100 },
      TileOutputFile: output('big.jpg', SPRITES),
    });
    expect(job).toMatchObject({
      State: 'Fail',
      Code: 'InvalidParameter.OutOfRange',
      Message:
        'SnapshotConfig.TileOut makes sprite sheets of 32000x24000 pixels, over 16383 pixels on a side ' +
        '(set a smaller CellWidth and CellHeight, or fewer Lines and Columns)',
    });
    expect(files(out)).toEqual([]);
    expect(files(sprites)).toEqual([]);
  });

  test('a write failing after sprites and images were written takes them all back', async () => {
    const { run, out, sprites } = await setup();
    // The WebVTT track's name is taken by a folder: its rename fails last.
    mkdirSync(join(sprites, 'sheets', 'clip.vtt'), { recursive: true });
    const job = await run({
      ...SERIES,
      OutputFile: output('img/{Count}.jpg'),
      TileOut: LAYOUT,
      TileOutputFile: output('sheets/{TileCount}.jpg', SPRITES),
      Format: 'vtt',
      SubOut: { IsSptFrag: 'true' },
    });
    expect(job).toMatchObject({ State: 'Fail', Code: 'InvalidParameter', Count: '0', TileCount: '0' });
    // Named by its key, not by the server's folder.
    expect(job.Message).toBe('the object sheets/clip.vtt is a folder, not a file');
    expect(files(out)).toEqual([]);
    expect(files(sprites)).toEqual([]);
  });

  test('sprite keys stay in their bucket', async () => {
    const { service, ws, out } = await setup();
    const outside = mkdtempSync(join(tmpdir(), 'framesnap-outside-'));
    try {
      symlinkSync(outside, join(ws.bucket(SPRITES), 'out'));
      const submit = (TileOutputFile: unknown): Promise<unknown> =>
        service.submitSnapshotJob({
          Input: { Bucket: IN, Object: 'clip.mp4' },
          SnapshotConfig: { ...SERIES, OutputFile: output('{Count}.jpg'), TileOut: LAYOUT, TileOutputFile },
        });
      const cases: [unknown, string, string][] = [
        [
          output('../{TileCount}.jpg', SPRITES),
          'PermissionDenied.ResourceAccess',
          'SnapshotConfig.TileOutputFile.Object "../{TileCount}.jpg" leads out of its bucket',
        ],
        [
          output('/tmp/{TileCount}.jpg', SPRITES),
          'PermissionDenied.ResourceAccess',
          'SnapshotConfig.TileOutputFile.Object "/tmp/{TileCount}.jpg" is an absolute path',
        ],
        [
          output('a%2F..%2F..%2F{TileCount}.jpg', SPRITES),
          'PermissionDenied.ResourceAccess',
          'SnapshotConfig.TileOutputFile.Object "a/../../{TileCount}.jpg" leads out of its bucket',
        ],
        [output('{TileCount}.jpg', 'no-such-bucket'), 'InvalidParameter.ResourceNotFound', 'the bucket no-such-bucket does not exist'],
      ];
      for (const [location, code, message] of cases) {
        const failure = await failureOf(() => submit(location));
        expect({ code: failure.code, message: failure.message }).toEqual({ code, message });
      }
      // Through a link leading out: refused when the sprite is written; the images go too.
      const answer = (await submit(output('out/{TileCount}.jpg', SPRITES))) as { SnapshotJob: { Id: string } };
      const job = await service.waitForJob(answer.SnapshotJob.Id);
      expect(job).toMatchObject({
        State: 'Fail',
        Code: 'PermissionDenied.ResourceAccess',
        Message: 'SnapshotConfig.TileOutputFile.Object "out/00001.jpg" goes through a link that leads out of its bucket',
      });
      expect(files(outside)).toEqual([]);
      expect(files(out)).toEqual([]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('TileOut and TileOutputFile validation (both twins)', () => {
  const base = { ...SERIES, OutputFile: output('{Count}.jpg') };
  const tiles = (tileOut: unknown, object = '{TileCount}.jpg'): Record<string, unknown> => ({
    ...base,
    TileOut: tileOut,
    TileOutputFile: output(object, SPRITES),
  });
  const cases: [string, Record<string, unknown>, string, string][] = [
    [
      'TileOut alone',
      { ...base, TileOut: LAYOUT },
      'InvalidParameter',
      'SnapshotConfig.TileOut needs SnapshotConfig.TileOutputFile, where the sprites go',
    ],
    [
      'TileOutputFile alone',
      { ...base, TileOutputFile: output('{TileCount}.jpg', SPRITES) },
      'InvalidParameter',
      'SnapshotConfig.TileOutputFile needs SnapshotConfig.TileOut, which describes the sprites',
    ],
    [
      'TileOut a string',
      tiles('x'),
      'InvalidParameter',
      'Expected an object with Lines, Columns, CellWidth, CellHeight, Margin, Padding, Color, IsKeepCellPic, CellSelStep for SnapshotConfig.TileOut but received "x"',
    ],
    [
      'TileOut null',
      tiles(null),
      'InvalidParameter.NullValue',
      'Expected an object with Lines, Columns, CellWidth, CellHeight, Margin, Padding, Color, IsKeepCellPic, CellSelStep for SnapshotConfig.TileOut but received null',
    ],
    [
      'unknown field',
      tiles({ Rows: 2 }),
      'InvalidParameter',
      'Unknown field "Rows" for SnapshotConfig.TileOut: expected one of Lines, Columns, CellWidth, CellHeight, Margin, Padding, Color, IsKeepCellPic, CellSelStep',
    ],
    [
      'a near miss',
      tiles({ Colour: 'red' }),
      'InvalidParameter',
      'Unknown field "Colour" for SnapshotConfig.TileOut: did you mean "Color"?',
    ],
    [
      'Lines 0',
      tiles({ Lines: 0 }),
      'InvalidParameter.OutOfRange',
      'Expected an integer between 1 and 10000 for SnapshotConfig.TileOut.Lines but received 0',
    ],
    [
      'Columns 10001',
      tiles({ Columns: '10001' }),
      'InvalidParameter.OutOfRange',
      'Expected an integer between 1 and 10000 for SnapshotConfig.TileOut.Columns but received "10001"',
    ],
    [
      'Columns 2.5',
      tiles({ Columns: '2.5' }),
      'InvalidParameter',
      'Expected an integer between 1 and 10000 for SnapshotConfig.TileOut.Columns but received "2.5"',
    ],
    [
      'Lines not a number',
      tiles({ Lines: 'two' }),
      'InvalidParameter',
      'Expected an integer between 1 and 10000 for SnapshotConfig.TileOut.Lines but received "two"',
    ],
    [
      'Lines empty',
      tiles({ Lines: '' }),
      'InvalidParameter.NullValue',
      'Expected an integer between 1 and 10000 for SnapshotConfig.TileOut.Lines but received ""',
    ],
    [
      'CellWidth 7',
      tiles({ CellWidth: 7 }),
      'InvalidParameter.OutOfRange',
      'Expected an integer between 8 and 4096 for SnapshotConfig.TileOut.CellWidth but received 7',
    ],
    [
      'CellHeight 4097',
      tiles({ CellHeight: 4097 }),
      'InvalidParameter.OutOfRange',
      'Expected an integer between 8 and 4096 for SnapshotConfig.TileOut.CellHeight but received 4097',
    ],
    [
      'Margin -1',
      tiles({ Margin: -1 }),
      'InvalidParameter.OutOfRange',
      'Expected an integer between 0 and 4096 for SnapshotConfig.TileOut.Margin but received -1',
    ],
    [
      'Padding 5000',
      tiles({ Padding: '5000' }),
      'InvalidParameter.OutOfRange',
      'Expected an integer between 0 and 4096 for SnapshotConfig.TileOut.Padding but received "5000"',
    ],
    [
      'Color unknown',
      tiles({ Color: 'blurple' }),
      'InvalidParameter',
      'Expected a CSS colour name, #RRGGBB or random for SnapshotConfig.TileOut.Color but received "blurple"',
    ],
    [
      'Color #RGBA',
      tiles({ Color: '#12345' }),
      'InvalidParameter',
      'Expected a CSS colour name, #RRGGBB or random for SnapshotConfig.TileOut.Color but received "#12345"',
    ],
    [
      'Color not hex',
      tiles({ Color: '#GG0000' }),
      'InvalidParameter',
      'Expected a CSS colour name, #RRGGBB or random for SnapshotConfig.TileOut.Color but received "#GG0000"',
    ],
    [
      'Color a number',
      tiles({ Color: 0xff0000 }),
      'InvalidParameter',
      'Expected a CSS colour name, #RRGGBB or random for SnapshotConfig.TileOut.Color but received 16711680',
    ],
    [
      'IsKeepCellPic yes',
      tiles({ IsKeepCellPic: 'yes' }),
      'InvalidParameter',
      'Expected true or false for SnapshotConfig.TileOut.IsKeepCellPic but received "yes"',
    ],
    [
      'IsKeepCellPic 1',
      tiles({ IsKeepCellPic: 1 }),
      'InvalidParameter',
      'Expected true or false for SnapshotConfig.TileOut.IsKeepCellPic but received 1',
    ],
    [
      'CellSelStep 0',
      tiles({ CellSelStep: 0 }),
      'InvalidParameter.OutOfRange',
      'Expected an integer between 1 and 10000 for SnapshotConfig.TileOut.CellSelStep but received 0',
    ],
    [
      'TileOutputFile without Object',
      { ...base, TileOut: LAYOUT, TileOutputFile: { Bucket: SPRITES } },
      'InvalidParameter.NullValue',
      'Expected a non-empty string for SnapshotConfig.TileOutputFile.Object but received undefined',
    ],
    [
      'TileOutputFile unknown field',
      { ...base, TileOut: LAYOUT, TileOutputFile: { ...output('{TileCount}.jpg', SPRITES), Region: 'x' } },
      'InvalidParameter',
      'Unknown field "Region" for SnapshotConfig.TileOutputFile: expected one of Bucket, Location, Object',
    ],
    [
      'TileOutputFile bad Location',
      { ...base, TileOut: LAYOUT, TileOutputFile: { ...output('{TileCount}.jpg', SPRITES), Location: 'cn-hangzhou' } },
      'InvalidParameter',
      'Expected a region of the form oss-<region>, at most 64 bytes for SnapshotConfig.TileOutputFile.Location but received "cn-hangzhou"',
    ],
    [
      'no {TileCount}, two sprites possible',
      tiles({ Lines: 2, Columns: 2 }, 'sheet.jpg'),
      'InvalidParameter',
      'SnapshotConfig.TileOutputFile.Object needs {TileCount} when the job can produce more than one sprite',
    ],
    [
      'no {TileCount}, series to the end',
      {
        Time: 0,
        Interval: 1,
        OutputFile: output('{Count}.jpg'),
        TileOut: { Lines: 100, Columns: 100, CellWidth: 8, CellHeight: 8 },
        TileOutputFile: output('sheet.jpg', SPRITES),
      },
      'InvalidParameter',
      'SnapshotConfig.TileOutputFile.Object needs {TileCount} when the job can produce more than one sprite',
    ],
    [
      '{TileCount} in OutputFile',
      { ...tiles(LAYOUT), OutputFile: output('{Count}-{TileCount}.jpg') },
      'InvalidParameter',
      'SnapshotConfig.OutputFile.Object cannot use {TileCount}, which numbers the sprites; images are numbered by {Count}',
    ],
    [
      '{Count} in TileOutputFile',
      tiles(LAYOUT, '{Count}-{TileCount}.jpg'),
      'InvalidParameter',
      'SnapshotConfig.TileOutputFile.Object cannot use {Count}, which numbers the single images; sprites are numbered by {TileCount}',
    ],
    [
      'a side past JPEG',
      { ...tiles({ Lines: 300, Columns: 10 }), Width: 320, Height: 240 },
      'InvalidParameter.OutOfRange',
      'SnapshotConfig.TileOut makes sprite sheets of 3200x72000 pixels, over 16383 pixels on a side (set a smaller CellWidth and CellHeight, or fewer Lines and Columns)',
    ],
    [
      'a side past JPEG by one',
      tiles({ Lines: 4, Columns: 4, CellWidth: 4096, CellHeight: 4096 }),
      'InvalidParameter.OutOfRange',
      'SnapshotConfig.TileOut makes sprite sheets of 16384x16384 pixels, over 16383 pixels on a side (set a smaller CellWidth and CellHeight, or fewer Lines and Columns)',
    ],
    [
      'too many pixels',
      tiles({ Lines: 3, Columns: 3, CellWidth: 4096, CellHeight: 4096 }),
      'InvalidParameter.OutOfRange',
      'SnapshotConfig.TileOut makes sprite sheets of 12288x12288 (150994944 pixels), over limitSpritePixels (67108864) (set a smaller CellWidth and CellHeight, or fewer Lines and Columns)',
    ],
  ];
  test.each(cases)('%s', async (_, config, code, message) => {
    const { service, out, sprites } = await setup();
    const request = { Input: { Bucket: IN, Object: 'clip.mp4' }, SnapshotConfig: JSON.stringify(config) };
    for (const call of [() => service.submitSnapshotJob(request), () => service.submitSnapshotJobSync(request)]) {
      const failure = await failureOf(call);
      expect(failure).toBeInstanceOf(SnapshotError);
      expect({ code: failure.code, message: failure.message }).toEqual({ code, message });
    }
    expect(files(out)).toEqual([]);
    expect(files(sprites)).toEqual([]);
  });
});

describe('what a job tells the service', () => {
  test('every temporary and object is announced before it is written, and progress after each image', async () => {
    const { ws } = await setup();
    const inputPath = join(ws.bucket(IN), 'clip.mp4');
    const { port1, port2 } = new MessageChannel();
    const messages: ProgressMessage[] = [];
    port1.on('message', (message: ProgressMessage) => messages.push(message));
    const task = jobTask(
      {
        inputPath,
        outputBucketDir: ws.bucket(OUT),
        frameType: 'normal',
        progress: port2,
        sprites: {
          lines: 2,
          columns: 3,
          cellWidth: 80,
          cellHeight: 64,
          margin: 8,
          padding: 8,
          background: [0, 0, 0],
          keepCellPictures: true,
          cellStep: 1,
          bucketDir: ws.bucket(SPRITES),
          template: '{TileCount}.jpg',
          format: 'jpeg',
          limitSpritePixels: DEFAULT_LIMITS.limitSpritePixels,
        },
        vtt: { pointsAt: 'sprites' },
      },
      { intervalMs: 500, count: 8 },
    );
    const outcome = await executeJob(task);
    await new Promise((resolve) => setImmediate(resolve));
    port1.close();
    const written = [...outcome.images, ...outcome.sprites, outcome.vtt!].map((object) => object.path);
    expect(outcome.count).toBe(8);
    expect(outcome.sprites.map((sprite) => sprite.key)).toEqual(['00001.jpg', '00002.jpg']);
    expect(outcome.vtt?.key).toBe('clip.vtt');
    expect(
      messages
        .filter((message) => message.type === 'written')
        .map((message) => message.path)
        .sort(),
    ).toEqual(written.sort());
    // A temporary file per object, and a journal per folder written in (two buckets).
    const announced = messages.flatMap((message) => (message.type === 'writing' ? [message.temporary] : []));
    expect(announced.filter((name) => /\/\.framesnap-\d+-[0-9a-f]{12}\.tmp$/.test(name))).toHaveLength(written.length);
    expect(announced.filter((name) => name.endsWith('.journal'))).toHaveLength(2);
    expect(messages.filter((message) => message.type === 'progress')).toEqual(
      Array.from({ length: 8 }, (_, i) => ({ type: 'progress', done: i + 1, expected: 8 })),
    );
    // Each object is announced with its inode before it is renamed into place, and the outcome carries it too.
    for (const object of [...outcome.images, ...outcome.sprites, outcome.vtt!]) {
      const at = messages.findIndex((message) => message.type === 'written' && message.path === object.path);
      const placing = messages.findIndex((message) => message.type === 'placing' && message.path === object.path);
      expect(placing).toBeGreaterThanOrEqual(0);
      expect(placing).toBeLessThan(at);
      expect(messages[placing]).toEqual({ type: 'placing', path: object.path, dev: object.dev, ino: object.ino });
      const stats = lstatSync(object.path);
      expect([stats.dev, stats.ino]).toEqual([object.dev, object.ino]);
    }
    // Nothing of framesnap's own is left: no temporary file, no journal.
    expect(files(ws.bucket(OUT)).filter((name) => name.startsWith('.'))).toEqual([]);
    expect(files(ws.bucket(SPRITES)).filter((name) => name.startsWith('.'))).toEqual([]);
  });
});
