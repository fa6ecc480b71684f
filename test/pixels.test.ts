/**
 * What the pixels look like (SPEC section 3): rotation from the display
 * matrix, sample aspect ratio, odd sizes, 10-bit input, the stream's colour
 * matrix; and the exact errors for bad size and option values.
 *
 * Images are compared with frames the ffmpeg CLI decodes, passed through the
 * same JPEG encoder framesnap uses (sharp, quality 90), so that JPEG's own loss
 * (mostly 4:2:0 chroma subsampling of testsrc2's sharp colour edges, an MSE of
 * 100+ against the raw frame) does not hide which frame or orientation it is.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';

import { probe, probeSync, snapshot, snapshots, snapshotSync, snapshotsSync, SnapshotError } from '../dist/index.js';
import { exactFrameIndex, FFMPEG, fixture, jpegToRgb, meanSquaredError, referenceFrames, type ReferenceFrames } from './fixtures.js';

const run = promisify(execFile);

const QUALITY = 90;
/** The right image: at most this MSE against the CLI's frame encoded the same way (PSNR above 35 dB). */
const MAX_SAME_MSE = 20;

/** Decodes raw RGB through sharp's JPEG encoder and back, as framesnap's output would be. */
async function throughJpeg(rgb: Buffer, width: number, height: number): Promise<Buffer> {
  const jpeg = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: QUALITY })
    .toBuffer();
  return (await jpegToRgb(jpeg)).rgb;
}

/** One frame (by decode index) as the ffmpeg CLI gives it, with its default autorotation unless told. */
async function cliFrame(path: string, index: number, { filter = '', autorotate = true } = {}): Promise<Buffer> {
  const { stdout } = await run(
    FFMPEG,
    [
      '-v',
      'error',
      ...(autorotate ? [] : ['-noautorotate']),
      '-i',
      path,
      '-vf',
      `select=eq(n\\,${index})${filter}`,
      '-frames:v',
      '1',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: 1 << 26 },
  );
  return stdout;
}

/** The MSE of a snapshot against reference frame `index` and its two neighbours, all JPEG-encoded alike. */
async function frameDistances(
  rgb: Buffer,
  reference: ReferenceFrames,
  index: number,
): Promise<{ exact: number; nearestNeighbour: number }> {
  const encoded = (i: number) => throughJpeg(reference.frames[i]!, reference.width, reference.height);
  const exact = meanSquaredError(rgb, await encoded(index));
  const neighbours: number[] = [];
  for (const other of [index - 1, index + 1]) {
    if (other >= 0 && other < reference.frames.length) neighbours.push(meanSquaredError(rgb, await encoded(other)));
  }
  return { exact, nearestNeighbour: Math.min(...neighbours) };
}

/** Takes `normal` snapshots at `times` and checks each against the reference decode at that size. */
async function expectExactFrames(
  path: string,
  times: number[],
  width: number,
  height: number,
  size: { width?: number; height?: number } = {},
): Promise<void> {
  const reference = await referenceFrames(path, width, height);
  const shots = await snapshots(path, { times, frameType: 'normal', ...size });
  for (const shot of shots) {
    const index = exactFrameIndex(reference, shot.requestedMs);
    expect(shot.timeMs).toBeCloseTo(reference.times[index]!, 2);
    expect([shot.width, shot.height]).toEqual([width, height]);
    const image = await jpegToRgb(shot.jpeg);
    expect([image.width, image.height]).toEqual([width, height]);
    const { exact, nearestNeighbour } = await frameDistances(image.rgb, reference, index);
    expect(exact, `MSE to the frame at ${reference.times[index]} ms`).toBeLessThanOrEqual(MAX_SAME_MSE);
    expect(exact, `MSE to the frame at ${reference.times[index]} ms vs its neighbours`).toBeLessThan(nearestNeighbour / 4);
  }
}

async function sizeOf(path: string, options: { width?: number; height?: number }): Promise<[number, number]> {
  const [shot] = await snapshots(path, { times: [1000], ...options });
  const image = await jpegToRgb(shot!.jpeg);
  // The reported size and the JPEG's own size agree.
  expect([image.width, image.height]).toEqual([shot!.width, shot!.height]);
  return [shot!.width, shot!.height];
}

describe('rotation (display matrix)', () => {
  test('probe reports 270 degrees clockwise and a portrait display size', async () => {
    const path = await fixture('rotated');
    const info = await probe(path);
    expect(info.rotation).toBe(270);
    expect([info.width, info.height]).toEqual([320, 240]);
    expect([info.displayWidth, info.displayHeight]).toEqual([240, 320]);
    expect(probeSync(path)).toEqual(info);
  });

  test('a snapshot is portrait and matches the CLI autorotated frame, not the other quarter turn', async () => {
    const path = await fixture('rotated');
    // Frame 25 (1000 ms), a keyframe: both frame types must give it.
    for (const frameType of ['normal', 'intra'] as const) {
      const [shot] = await snapshots(path, { times: [1000], frameType });
      expect([shot!.width, shot!.height, shot!.timeMs]).toEqual([240, 320, 1000]);
      const image = await jpegToRgb(shot!.jpeg);
      expect([image.width, image.height]).toEqual([240, 320]);

      const autorotated = await cliFrame(path, 25);
      expect(autorotated.length).toBe(240 * 320 * 3);
      // The CLI turns this file a quarter counter-clockwise; the other way is wrong.
      const otherWay = await cliFrame(path, 25, { autorotate: false, filter: ',transpose=clock' });
      expect(otherWay.length).toBe(240 * 320 * 3);

      const toAutorotated = meanSquaredError(image.rgb, await throughJpeg(autorotated, 240, 320));
      const toOtherWay = meanSquaredError(image.rgb, await throughJpeg(otherWay, 240, 320));
      expect(toAutorotated).toBeLessThanOrEqual(MAX_SAME_MSE);
      expect(toAutorotated).toBeLessThan(toOtherWay / 100);
    }
  });

  test('a width alone keeps the portrait aspect ratio', async () => {
    const path = await fixture('rotated');
    expect(await sizeOf(path, { width: 120 })).toEqual([120, 160]);
    expect(await sizeOf(path, { height: 160 })).toEqual([120, 160]);
  });
});

describe('sample aspect ratio', () => {
  test('probe reports SAR 2:1 and a 640x240 display size', async () => {
    const info = await probe(await fixture('anamorphic'));
    expect(info.sampleAspectRatio).toEqual([2, 1]);
    expect([info.width, info.height]).toEqual([320, 240]);
    expect([info.displayWidth, info.displayHeight]).toEqual([640, 240]);
  });

  test('sizes follow the display aspect ratio', async () => {
    const path = await fixture('anamorphic');
    expect(await sizeOf(path, {})).toEqual([640, 240]);
    expect(await sizeOf(path, { width: 320 })).toEqual([320, 120]);
    expect(await sizeOf(path, { height: 120 })).toEqual([320, 120]);
    expect(await sizeOf(path, { height: 240 })).toEqual([640, 240]);
    expect(await sizeOf(path, { width: 100, height: 100 })).toEqual([100, 100]);
    expect(await sizeOf(path, { width: 320, height: 240 })).toEqual([320, 240]);
  });

  test('the default image is the frame stretched to 640x240', async () => {
    await expectExactFrames(await fixture('anamorphic'), [1000, 2519], 640, 240);
  });
});

describe('odd sizes', () => {
  let oddPath: string;

  beforeAll(async () => {
    oddPath = await fixture('odd');
  });

  test('the clip really is 321x241', async () => {
    const info = await probe(oddPath);
    expect([info.width, info.height, info.displayWidth, info.displayHeight]).toEqual([321, 241, 321, 241]);
    expect(info.pixelFormat).toBe('yuv444p');
  });

  test('the default size is 321x241, and the image is the exact frame', async () => {
    expect(await sizeOf(oddPath, {})).toEqual([321, 241]);
    await expectExactFrames(oddPath, [0, 1010], 321, 241);
  });

  test('width 101 gives 101x76 (round(101 * 241 / 321) = 76)', async () => {
    expect(await sizeOf(oddPath, { width: 101 })).toEqual([101, 76]);
    expect(await sizeOf(oddPath, { height: 76 })).toEqual([101, 76]);
  });
});

describe('10-bit input', () => {
  test('probe reports 10 bits, yuv420p10le', async () => {
    const info = await probe(await fixture('hevc10'));
    expect(info.bitDepth).toBe(10);
    expect(info.pixelFormat).toBe('yuv420p10le');
    expect(info.codecName).toBe('hevc');
    expect([info.width, info.height]).toEqual([320, 240]);
  });

  test('normal snapshots match the reference decode', async () => {
    await expectExactFrames(await fixture('hevc10'), [0, 1010, 1999, 2519, 3960], 320, 240);
  });
});

describe('BT.709 colour', () => {
  test('probe reports the BT.709 tags', async () => {
    const info = await probe(await fixture('red709'));
    expect(info).toMatchObject({ colorSpace: 'bt709', colorPrimaries: 'bt709', colorTransfer: 'bt709', colorRange: 'tv', hdr: false });
    expect([info.width, info.height]).toEqual([1280, 720]);
  });

  // Pure red through the BT.709 matrix decodes to about (250..254, 0, 0); the
  // BT.601 matrix on the same samples gives about (232, 0, 1). R >= 245 tells
  // them apart.
  test.each(['async', 'sync'] as const)('%s: the centre pixel is pure red', async (mode) => {
    const path = await fixture('red709');
    const jpeg = mode === 'async' ? await snapshot(path, { time: 0 }) : snapshotSync(path, { time: 0 });
    const { width, height, rgb } = await jpegToRgb(jpeg);
    expect([width, height]).toEqual([1280, 720]);
    const centre = ((height >> 1) * width + (width >> 1)) * 3;
    const [red, green, blue] = [rgb[centre]!, rgb[centre + 1]!, rgb[centre + 2]!];
    expect(red, `centre pixel (${red}, ${green}, ${blue})`).toBeGreaterThanOrEqual(245);
    expect(green, `centre pixel (${red}, ${green}, ${blue})`).toBeLessThanOrEqual(12);
    expect(blue, `centre pixel (${red}, ${green}, ${blue})`).toBeLessThanOrEqual(12);
  });
});

describe('option validation', () => {
  const allowedSingle =
    'time, frameType, width, height, format, quality, timeoutMs, signal, threads, limitInputPixels, limitOutputPixels, allowPrivateNetwork, caFile, resolveWithObject';
  const allowedMany =
    'times, frameType, width, height, format, quality, timeoutMs, signal, threads, limitInputPixels, limitOutputPixels, allowPrivateNetwork, caFile';
  const cases: { name: string; options: Record<string, unknown>; code: string; message: string }[] = [
    {
      name: 'width 5000',
      options: { width: 5000 },
      code: 'InvalidParameter.OutOfRange',
      message: 'Expected an integer between 8 and 4096 for width but received 5000',
    },
    {
      name: 'width 7',
      options: { width: 7 },
      code: 'InvalidParameter.OutOfRange',
      message: 'Expected an integer between 8 and 4096 for width but received 7',
    },
    {
      name: 'width 10.5',
      options: { width: 10.5 },
      code: 'InvalidParameter',
      message: 'Expected an integer between 8 and 4096 for width but received 10.5',
    },
    {
      name: 'width "320"',
      options: { width: '320' },
      code: 'InvalidParameter',
      message: 'Expected an integer between 8 and 4096 for width but received "320"',
    },
    {
      name: 'height 4097',
      options: { height: 4097 },
      code: 'InvalidParameter.OutOfRange',
      message: 'Expected an integer between 8 and 4096 for height but received 4097',
    },
    {
      name: 'quality 0',
      options: { quality: 0 },
      code: 'InvalidParameter.OutOfRange',
      message: 'Expected an integer between 1 and 100 for quality but received 0',
    },
    {
      name: "frameType 'exact'",
      options: { frameType: 'exact' },
      code: 'InvalidParameter',
      message: 'Expected one of intra, normal for frameType but received "exact"',
    },
  ];

  /** The error a call throws or rejects with, as code and message; a call that succeeds fails the test. */
  async function failure(call: () => unknown): Promise<{ code: string; message: string }> {
    let error: unknown;
    try {
      await call();
    } catch (caught) {
      error = caught;
    }
    if (error === undefined) expect.unreachable('the call succeeded');
    expect(error).toBeInstanceOf(SnapshotError);
    return { code: (error as SnapshotError).code, message: (error as SnapshotError).message };
  }

  test.each(cases)('$name: snapshot, snapshots and their sync twins reject it', async ({ options, code, message }) => {
    const path = await fixture('h264');
    const expected = { code, message };
    expect(await failure(() => snapshot(path, { time: 1000, ...options } as never))).toEqual(expected);
    expect(await failure(() => snapshots(path, { times: [1000], ...options } as never))).toEqual(expected);
    expect(await failure(() => snapshotSync(path, { time: 1000, ...options } as never))).toEqual(expected);
    expect(await failure(() => snapshotsSync(path, { times: [1000], ...options } as never))).toEqual(expected);
  });

  test('an unknown option is rejected by name', async () => {
    const path = await fixture('h264');
    const unknown = (call: string, allowed: string) => ({
      code: 'InvalidParameter',
      message: `Unknown option "foo" for ${call}(): expected one of ${allowed}`,
    });
    expect(await failure(() => snapshot(path, { time: 1000, foo: 1 } as never))).toEqual(unknown('snapshot', allowedSingle));
    expect(await failure(() => snapshots(path, { times: [1000], foo: 1 } as never))).toEqual(unknown('snapshots', allowedMany));
    expect(await failure(() => snapshotSync(path, { time: 1000, foo: 1 } as never))).toEqual(unknown('snapshotSync', allowedSingle));
    expect(await failure(() => snapshotsSync(path, { times: [1000], foo: 1 } as never))).toEqual(unknown('snapshotsSync', allowedMany));
  });

  test.each([
    ['tme', 'time'],
    ['Time', 'time'],
    ['frametype', 'frameType'],
    ['qualty', 'quality'],
    ['widht', 'width'],
    ['timeout', 'timeoutMs'],
    ['limitOutputPixel', 'limitOutputPixels'],
    ['resolveWithObjects', 'resolveWithObject'],
  ])('a near miss %s is refused with "did you mean %s"', async (typo, meant) => {
    const path = await fixture('h264');
    const expected = { code: 'InvalidParameter', message: `Unknown option "${typo}" for snapshot(): did you mean "${meant}"?` };
    expect(await failure(() => snapshot(path, { time: 1000, [typo]: 1 } as never))).toEqual(expected);
  });

  test('the limits themselves are accepted', async () => {
    const path = await fixture('h264');
    const [small] = await snapshots(path, { times: [0], width: 8, height: 8, quality: 1 });
    expect([small!.width, small!.height]).toEqual([8, 8]);
    const image = await jpegToRgb(small!.jpeg);
    expect([image.width, image.height]).toEqual([8, 8]);
  });
});

describe('HDR', () => {
  test('a PQ stream is flagged hdr (its colours are not tone-mapped), and still gives a picture', async () => {
    const path = await fixture('hdrTagged');
    expect(await probe(path)).toMatchObject({
      colorTransfer: 'smpte2084',
      colorPrimaries: 'bt2020',
      colorSpace: 'bt2020nc',
      bitDepth: 10,
      hdr: true,
    });
    expect(probeSync(path).hdr).toBe(true);
    const { info } = await sharp(await snapshot(path, { time: 1000, frameType: 'normal' })).toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([320, 240]);
  });
});
