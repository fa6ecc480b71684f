/**
 * Output formats beyond JPEG (issue 10, item 8): `format: 'jpeg' | 'webp' |
 * 'avif' | 'png'` through every twin of the low-level API, each image what
 * its format says (sharp reads it back as that format, at the right size);
 * PNG is lossless (its pixels are the decoder's RGB, byte for byte) and so
 * refuses a quality; the extension table the job API and the CLI use.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';

import { formatFromExtension, IMAGE_FORMATS, snapshot, snapshots, snapshotsSync, snapshotSync, SnapshotError } from '../dist/index.js';
import { encodeImage, formatFromName, loadSharp } from '../dist/core/encode.js';
import { nativeAddon } from '../dist/core/native.js';
import { fixture, meanSquaredError } from './fixtures.js';

/** The 4 s, 25 fps, 320x240 H.264 clip. */
let h264: string;

beforeAll(async () => {
  h264 = await fixture('h264');
});

/** What sharp calls each format when it reads the file back (AVIF is a HEIF file with AV1 inside). */
const SHARP_FORMAT = { jpeg: 'jpeg', webp: 'webp', avif: 'heif', png: 'png' } as const;
/** The first bytes of each format's file. */
const MAGIC: Record<(typeof IMAGE_FORMATS)[number], (data: Buffer) => boolean> = {
  jpeg: (data) => data.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff])),
  webp: (data) => data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP',
  avif: (data) => data.toString('latin1', 4, 12) === 'ftypavif',
  png: (data) => data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
};

async function readBack(data: Buffer): Promise<{ format: string | undefined; width: number; height: number; rgb: Buffer }> {
  const metadata = await sharp(data).metadata();
  const { data: rgb, info } = await sharp(data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { format: metadata.format, width: info.width, height: info.height, rgb };
}

/** The decoder's own RGB for the frame at `time` (what every format encodes). */
function decodedRgb(time: number, width = 0, height = 0): Buffer {
  const [frame] = nativeAddon().extractFramesSync({ path: h264, times: [time], frameType: 'normal', width, height, threads: 0 });
  return Buffer.from(frame!.rgb);
}

async function failure(call: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await call();
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshotError);
    return { code: (error as SnapshotError).code, message: (error as SnapshotError).message };
  }
  throw new Error('expected a failure');
}

describe.each(IMAGE_FORMATS)('format %s', (format) => {
  test('every twin gives an image of that format, of the frame asked for, at its size', async () => {
    const rgb = decodedRgb(1040, 160, 120);
    const neighbours = [decodedRgb(1000, 160, 120), decodedRgb(1080, 160, 120)];
    const results = [
      await snapshot(h264, { time: 1040, width: 160, format }),
      snapshotSync(h264, { time: 1040, width: 160, format }),
      (await snapshots(h264, { times: [1040], width: 160, format }))[0]!.data,
      snapshotsSync(h264, { times: [1040], width: 160, format })[0]!.data,
    ];
    for (const data of results) {
      expect(MAGIC[format](data)).toBe(true);
      const back = await readBack(data);
      expect({ format: back.format, width: back.width, height: back.height }).toEqual({
        format: SHARP_FORMAT[format],
        width: 160,
        height: 120,
      });
      // PNG is the decoded frame, exactly; a lossy image is nearer to it than
      // to the frames before and after (4:2:0 chroma of testsrc2's sharp
      // colour edges costs JPEG and WebP an MSE of about 220 at quality 90).
      const mse = meanSquaredError(back.rgb, rgb);
      if (format === 'png') expect(mse).toBe(0);
      else for (const neighbour of neighbours) expect(mse).toBeLessThan(meanSquaredError(back.rgb, neighbour));
    }
    // The sync and async twins make the same bytes.
    expect(Buffer.compare(results[0]!, results[1]!)).toBe(0);
    expect(Buffer.compare(results[2]!, results[3]!)).toBe(0);
  });

  test('resolveWithObject and snapshots() report the format; data and the old jpeg field are one Buffer', async () => {
    const { data, info } = await snapshot(h264, { time: 0, format, resolveWithObject: true });
    expect(info).toEqual({ timeMs: 0, keyframe: true, width: 320, height: 240, format });
    expect(MAGIC[format](data)).toBe(true);
    const [shot] = await snapshots(h264, { times: [0], format });
    expect(shot!.format).toBe(format);
    expect(shot!.jpeg).toBe(shot!.data);
    const [syncShot] = snapshotsSync(h264, { times: [0], format });
    expect(syncShot!.format).toBe(format);
    expect(syncShot!.jpeg).toBe(syncShot!.data);
  });
});

describe('quality', () => {
  test.each(['jpeg', 'webp', 'avif'] as const)('%s: a lower quality makes a smaller file', async (format) => {
    const low = await snapshot(h264, { time: 1000, format, quality: 10 });
    const high = await snapshot(h264, { time: 1000, format, quality: 95 });
    expect(low.length).toBeLessThan(high.length);
  });

  test('png refuses a quality (it is lossless), through every twin', async () => {
    const expected = { code: 'InvalidParameter', message: 'Expected no quality (png is lossless) for quality but received 80' };
    expect(await failure(() => snapshot(h264, { time: 0, format: 'png', quality: 80 }))).toEqual(expected);
    expect(await failure(() => snapshotSync(h264, { time: 0, format: 'png', quality: 80 }))).toEqual(expected);
    expect(await failure(() => snapshots(h264, { times: [0], format: 'png', quality: 80 }))).toEqual(expected);
    expect(await failure(() => snapshotsSync(h264, { times: [0], format: 'png', quality: 80 }))).toEqual(expected);
  });

  test('the quality range is checked for the lossy formats as for JPEG', async () => {
    expect(await failure(() => snapshot(h264, { time: 0, format: 'webp', quality: 0 }))).toEqual({
      code: 'InvalidParameter.OutOfRange',
      message: 'Expected an integer between 1 and 100 for quality but received 0',
    });
  });
});

describe('bad formats', () => {
  test.each([
    ['gif', '"gif"'],
    ['JPEG', '"JPEG"'],
    ['jpg', '"jpg"'],
    [7, '7'],
    [null, 'null'],
  ])('format %s is refused, naming the formats', async (format, shown) => {
    const expected = { code: 'InvalidParameter', message: `Expected one of jpeg, webp, avif, png for format but received ${shown}` };
    expect(await failure(() => snapshot(h264, { time: 0, format: format as never }))).toEqual(expected);
    expect(await failure(() => snapshotsSync(h264, { times: [0], format: format as never }))).toEqual(expected);
  });

  test('encodeImage names the format sharp failed on', async () => {
    const pixels = { width: 10, height: 10, rgb: Buffer.alloc(300) };
    for (const [format, name] of [
      ['jpeg', 'JPEG'],
      ['webp', 'WebP'],
      ['avif', 'AVIF'],
    ] as const) {
      const error = await failure(() => encodeImage(pixels, { format, quality: 1000 }));
      expect(error.code).toBe('InternalError');
      expect(error.message).toMatch(
        new RegExp(
          `^the ${name} encoder failed on a 10x10 image: Expected integer between 1 and 100 for quality but received 1000 of type number$`,
        ),
      );
    }
    expect(await failure(() => encodeImage(pixels, { format: 'bmp' as never }))).toEqual({
      code: 'InternalError',
      message: 'cannot encode an image as bmp',
    });
  });

  test('an AVIF image over 4096x4096 pixels is refused before sharp sees it; other formats have no such bound', async () => {
    const pixels = { width: 4097, height: 4096, rgb: Buffer.alloc(4097 * 4096 * 3) };
    expect(await failure(() => encodeImage(pixels, { format: 'avif' }))).toEqual({
      code: 'InvalidParameter.OutOfRange',
      message:
        'the AVIF image would be 4097x4096 (16781312 pixels), over the largest AVIF image (16777216 pixels, 4096x4096): its encoder is slow and cannot be stopped; use a smaller size or another format',
    });
    expect(MAGIC.jpeg(await encodeImage(pixels, { format: 'jpeg' }))).toBe(true);
  });

  test('encodeImage ignores a quality for png and defaults to jpeg', async () => {
    const pixels = { width: 10, height: 10, rgb: Buffer.alloc(300, 200) };
    expect(MAGIC.png(await encodeImage(pixels, { format: 'png', quality: 1000 }))).toBe(true);
    expect(MAGIC.jpeg(await encodeImage(pixels))).toBe(true);
  });
});

describe('one sharp', () => {
  test("loadSharp gives one module, with libvips' operation cache off", async () => {
    const first = await loadSharp();
    expect(await loadSharp()).toBe(first);
    const cache = first.cache() as { memory: { max: number }; items: { max: number }; files: { max: number } };
    expect({ memory: cache.memory.max, items: cache.items.max, files: cache.files.max }).toEqual({ memory: 0, items: 0, files: 0 });
  });
});

describe('formats from extensions', () => {
  test.each([
    ['.jpg', 'jpeg'],
    ['.jpeg', 'jpeg'],
    ['JPG', 'jpeg'],
    ['.JPEG', 'jpeg'],
    ['.webp', 'webp'],
    ['avif', 'avif'],
    ['.PNG', 'png'],
    ['.gif', undefined],
    ['.jpgx', undefined],
    ['', undefined],
    ['.', undefined],
  ])('formatFromExtension(%j) is %s', (extension, format) => {
    expect(formatFromExtension(extension)).toBe(format);
  });

  test.each([
    ['out/frame.WebP', 'webp'],
    ['a.b/c.png', 'png'],
    ['a.png/c', undefined],
    ['.png', undefined],
    ['shot', undefined],
    ['C:\\shots\\x.avif', 'avif'],
  ])('formatFromName(%j) is %s', (name, format) => {
    expect(formatFromName(name)).toBe(format);
  });
});
