/**
 * Frame accuracy (SPEC section 3): `normal` gives the first frame whose
 * presentation time, counted from the file's start, is at or after the
 * requested time; `intra` gives the keyframe at or before it. Every answer is
 * checked against a full sequential decode by the ffmpeg CLI (no seeking), for
 * four codec/container pairs that make seeking hard in different ways:
 * H.264 with B-frames in MP4, HEVC with open GOPs in Matroska, VP9 with hidden
 * alt-ref frames in WebM, and MPEG-2 in MPEG-TS (no seek index, dts-based
 * seeks, a start time that is not 0).
 *
 * Image checks: framesnap's JPEG is compared with the reference frame passed
 * through the same JPEG encoder (sharp, same quality). Most of the error
 * between a JPEG and its raw source here is sharp's 4:2:0 chroma subsampling on
 * testsrc2's sharp colour edges (an MSE of about 110..150 even for the right
 * frame), which would blur the distinction between "right frame" and
 * "neighbour"; with the reference encoded the same way, the right frame is
 * within a few levels (it measures 0 with the current converter) while the
 * neighbouring frames of the moving picture are hundreds away.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import sharp from 'sharp';
import { describe, expect, test } from 'vitest';

import { snapshot, snapshots, snapshotSync, snapshotsSync, SnapshotError, type Snapshot } from '../dist/index.js';
import {
  exactFrameIndex,
  FFMPEG,
  fixture,
  jpegToRgb,
  keyframeIndexBefore,
  meanSquaredError,
  referenceFrames,
  type ReferenceFrames,
} from './fixtures.js';

const run = promisify(execFile);

const WIDTH = 320;
const HEIGHT = 240;
const QUALITY = 90; // framesnap's default

/** Right frame: at most this MSE against the reference encoded the same way (PSNR above 35 dB). */
const MAX_EXACT_MSE = 20;
/** Right frame: its MSE must be under this share of the nearer neighbour's. */
const MAX_NEIGHBOUR_RATIO = 1 / 4;

const CODECS = ['h264', 'hevc', 'vp9', 'mpeg2'] as const;
type Codec = (typeof CODECS)[number];

/** The last frame of every fixture is at 3960 ms (4 s at 25 fps). */
const LAST_FRAME_MS = 3960;

/**
 * The times asked for: 0, exact frame boundaries, times in the middle of a
 * frame, the frame before and at each keyframe (taken from the reference, so
 * MPEG-2's 12-frame GOPs are covered too), the last frame. Out of order and
 * with a repeat, so the result order is checked as well.
 */
function tableTimes(reference: ReferenceFrames): number[] {
  const fixed = [2519, 0, 1000, 2040, 1010, 1999, 40, 1, 39, 3959, LAST_FRAME_MS, 2001, 999, 3920, 1500, 2519];
  const aroundKeyframes = reference.times
    .filter((time, index) => reference.keyframes[index] && time > 0)
    .flatMap((time) => [time - 1, time, time + 1]);
  return [...fixed, ...aroundKeyframes.reverse()];
}

const encodedReferences = new WeakMap<Buffer, Map<number, Promise<Buffer>>>();

/** A reference frame as it comes back after the same JPEG encoder framesnap uses. */
function encodedReference(reference: ReferenceFrames, index: number, quality = QUALITY): Promise<Buffer> {
  const frame = reference.frames[index]!;
  let byQuality = encodedReferences.get(frame);
  if (byQuality === undefined) {
    byQuality = new Map();
    encodedReferences.set(frame, byQuality);
  }
  let made = byQuality.get(quality);
  if (made === undefined) {
    made = sharp(frame, { raw: { width: reference.width, height: reference.height, channels: 3 } })
      .jpeg({ quality })
      .toBuffer()
      .then(async (jpeg) => (await jpegToRgb(jpeg)).rgb);
    byQuality.set(quality, made);
  }
  return made;
}

/**
 * Why `rgb` is not the reference frame at `index` (and clearly not one of its
 * neighbours), or undefined when it is.
 */
async function frameMismatch(rgb: Buffer, reference: ReferenceFrames, index: number): Promise<string | undefined> {
  const exact = meanSquaredError(rgb, await encodedReference(reference, index));
  const neighbours: number[] = [];
  for (const other of [index - 1, index + 1]) {
    if (other >= 0 && other < reference.frames.length) {
      neighbours.push(meanSquaredError(rgb, await encodedReference(reference, other)));
    }
  }
  const nearest = Math.min(...neighbours);
  if (exact <= MAX_EXACT_MSE && exact < nearest * MAX_NEIGHBOUR_RATIO) return undefined;
  // Name the frame it does look like, to make a failure readable.
  let best = 0;
  let bestMse = Infinity;
  for (let other = 0; other < reference.frames.length; other++) {
    const mse = meanSquaredError(rgb, reference.frames[other]!);
    if (mse < bestMse) [best, bestMse] = [other, mse];
  }
  return (
    `image is not frame ${index} (${reference.times[index]} ms): MSE ${exact.toFixed(1)} vs neighbours ` +
    `${neighbours.map((mse) => mse.toFixed(1)).join('/')}; closest raw frame is ${best} (${reference.times[best]} ms)`
  );
}

/** Every way `shot` departs from the frame at reference `index`. */
async function snapshotProblems(shot: Snapshot, reference: ReferenceFrames, index: number, intra: boolean): Promise<string[]> {
  const label = `${shot.requestedMs} ms`;
  if (index < 0) return [`${label}: the reference has no frame for this time`];
  const problems: string[] = [];
  const expectedMs = reference.times[index]!;
  if (!(Math.abs(shot.timeMs - expectedMs) < 0.01)) {
    problems.push(`${label}: timeMs ${shot.timeMs}, expected ${expectedMs} (frame ${index})`);
  }
  const expectedKeyframe = intra ? true : reference.keyframes[index];
  if (shot.keyframe !== expectedKeyframe) {
    problems.push(`${label}: keyframe ${shot.keyframe}, expected ${expectedKeyframe}`);
  }
  const image = await jpegToRgb(shot.jpeg);
  if (shot.width !== WIDTH || shot.height !== HEIGHT || image.width !== WIDTH || image.height !== HEIGHT) {
    problems.push(`${label}: size ${shot.width}x${shot.height} (JPEG ${image.width}x${image.height}), expected ${WIDTH}x${HEIGHT}`);
    return problems;
  }
  const mismatch = await frameMismatch(image.rgb, reference, index);
  if (mismatch !== undefined) problems.push(`${label}: ${mismatch}`);
  return problems;
}

async function checkTable(shots: Snapshot[], times: number[], reference: ReferenceFrames, intra: boolean): Promise<string[]> {
  const problems: string[] = [];
  expect(shots.map((shot) => shot.requestedMs)).toEqual(times);
  for (const shot of shots) {
    const index = intra ? keyframeIndexBefore(reference, shot.requestedMs) : exactFrameIndex(reference, shot.requestedMs);
    problems.push(...(await snapshotProblems(shot, reference, index, intra)));
  }
  return problems;
}

async function load(codec: Codec): Promise<{ path: string; reference: ReferenceFrames }> {
  const path = await fixture(codec);
  return { path, reference: await referenceFrames(path, WIDTH, HEIGHT) };
}

async function rejection(promise: Promise<unknown>): Promise<SnapshotError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshotError);
    return error as SnapshotError;
  }
  throw new Error('expected the call to reject, but it resolved');
}

function thrown(call: () => unknown): SnapshotError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshotError);
    return error as SnapshotError;
  }
  throw new Error('expected the call to throw, but it returned');
}

describe.each(CODECS)('%s', (codec) => {
  test('the reference decode is what the table assumes (100 frames, 40 ms apart, keyframe first)', async () => {
    const { reference } = await load(codec);
    expect(reference.times).toHaveLength(100);
    expect(reference.times[0]).toBe(0);
    expect(reference.times.at(-1)).toBe(LAST_FRAME_MS);
    expect(reference.keyframes[0]).toBe(true);
    expect(reference.keyframes.filter(Boolean).length).toBeGreaterThan(1);
  });

  test('normal: one snapshots call gives the first frame at or after each time', async () => {
    const { path, reference } = await load(codec);
    const times = tableTimes(reference);
    const shots = await snapshots(path, { times, frameType: 'normal' });
    expect(await checkTable(shots, times, reference, false)).toEqual([]);
  });

  test('intra: one snapshots call gives the keyframe at or before each time', async () => {
    const { path, reference } = await load(codec);
    const times = tableTimes(reference);
    const shots = await snapshots(path, { times, frameType: 'intra' });
    expect(await checkTable(shots, times, reference, true)).toEqual([]);
  });

  // Times are milliseconds as doubles; a fraction of a millisecond before a
  // keyframe is still before it, whatever the container's time base (1/1000
  // in Matroska and WebM, so the requested time must not be rounded up onto
  // the keyframe's tick in intra mode).
  test.each(['normal', 'intra'] as const)('%s: fractional milliseconds around keyframes', async (frameType) => {
    const { path, reference } = await load(codec);
    const times = reference.times
      .filter((time, index) => reference.keyframes[index] && time > 0)
      .flatMap((time) => [time - 0.5, time + 0.5]);
    const shots = await snapshots(path, { times, frameType });
    expect(await checkTable(shots, times, reference, frameType === 'intra')).toEqual([]);
  });

  test('normal (the exact frame, as ffmpeg -ss gives) is the default frame type', async () => {
    const { path, reference } = await load(codec);
    const times = [1999, 2519, 0];
    const shots = await snapshots(path, { times });
    expect(await checkTable(shots, times, reference, false)).toEqual([]);
  });

  test('separate snapshot calls give the same frames as the table', async () => {
    const { path, reference } = await load(codec);
    const problems: string[] = [];
    for (const [time, frameType] of [
      [0, 'normal'],
      [1010, 'normal'],
      [2519, 'normal'],
      [LAST_FRAME_MS, 'normal'],
      [1999, 'intra'],
      [2000, 'intra'],
      [LAST_FRAME_MS, 'intra'],
    ] as const) {
      const jpeg = await snapshot(path, { time, frameType });
      expect(Buffer.isBuffer(jpeg)).toBe(true);
      const image = await jpegToRgb(jpeg);
      expect([image.width, image.height]).toEqual([WIDTH, HEIGHT]);
      const index = frameType === 'normal' ? exactFrameIndex(reference, time) : keyframeIndexBefore(reference, time);
      const mismatch = await frameMismatch(image.rgb, reference, index);
      if (mismatch !== undefined) problems.push(`${frameType} ${time} ms: ${mismatch}`);
    }
    expect(problems).toEqual([]);
  });

  test.each(['normal', 'intra'] as const)('%s: resolveWithObject tells which frame the image is', async (frameType) => {
    const { path, reference } = await load(codec);
    for (const time of [0, 1010, 2519, LAST_FRAME_MS]) {
      const index = frameType === 'normal' ? exactFrameIndex(reference, time) : keyframeIndexBefore(reference, time);
      const expected = {
        timeMs: reference.times[index]!,
        keyframe: reference.keyframes[index]!,
        width: WIDTH,
        height: HEIGHT,
        format: 'jpeg',
      };
      const result = await snapshot(path, { time, frameType, resolveWithObject: true });
      const blocking = snapshotSync(path, { time, frameType, resolveWithObject: true });
      for (const { data, info } of [result, blocking]) {
        expect({ ...info, timeMs: Math.round(info.timeMs * 1000) / 1000 }).toEqual(expected);
        // The same bytes as without the flag.
        expect(Buffer.compare(data, await snapshot(path, { time, frameType }))).toBe(0);
      }
      expect(Object.keys(result)).toEqual(['data', 'info']);
    }
  });

  test('normal: a time past the last frame rejects with InvalidParameter.ResourceContentBad', async () => {
    const { path } = await load(codec);
    for (const time of [LAST_FRAME_MS + 1, 4000, 60_000]) {
      const error = await rejection(snapshot(path, { time, frameType: 'normal' }));
      expect(error.code).toBe('InvalidParameter.ResourceContentBad');
    }
  });

  test('intra: a time past the last frame gives the last keyframe', async () => {
    const { path, reference } = await load(codec);
    const lastKeyframe = reference.keyframes.lastIndexOf(true);
    const times = [4000, 60_000];
    const shots = await snapshots(path, { times, frameType: 'intra' });
    expect(shots.map((shot) => keyframeIndexBefore(reference, shot.requestedMs))).toEqual([lastKeyframe, lastKeyframe]);
    expect(await checkTable(shots, times, reference, true)).toEqual([]);
  });
});

describe('sync twins through one table (h264)', () => {
  test.each(['normal', 'intra'] as const)('%s: snapshotsSync returns exactly what snapshots returns', async (frameType) => {
    const { path, reference } = await load('h264');
    const times = tableTimes(reference);
    const asynchronous = await snapshots(path, { times, frameType });
    const synchronous = snapshotsSync(path, { times, frameType });
    expect(synchronous).toHaveLength(asynchronous.length);
    const metadata = (shot: Snapshot) => ({
      requestedMs: shot.requestedMs,
      timeMs: shot.timeMs,
      keyframe: shot.keyframe,
      width: shot.width,
      height: shot.height,
    });
    expect(synchronous.map(metadata)).toEqual(asynchronous.map(metadata));
    synchronous.forEach((shot, index) => {
      expect(Buffer.isBuffer(shot.jpeg)).toBe(true);
      expect(shot.jpeg.equals(asynchronous[index]!.jpeg), `JPEG for ${shot.requestedMs} ms`).toBe(true);
    });
    // And the sync results are right in themselves, not just equal.
    expect(await checkTable(synchronous, times, reference, frameType === 'intra')).toEqual([]);
  });

  test('snapshotSync matches snapshot, and fails past the end the same way', async () => {
    const { path } = await load('h264');
    for (const [time, frameType] of [
      [2519, 'normal'],
      [1999, 'intra'],
    ] as const) {
      expect(snapshotSync(path, { time, frameType }).equals(await snapshot(path, { time, frameType }))).toBe(true);
    }
    const error = thrown(() => snapshotSync(path, { time: 4000, frameType: 'normal' }));
    expect(error.code).toBe('InvalidParameter.ResourceContentBad');
  });
});

/** One frame as the CLI's input seek decodes it: `ffmpeg -ss T -i FILE -frames:v 1`. */
async function cliSeekFrame(path: string, timeMs: number): Promise<Buffer> {
  const { stdout } = await run(
    FFMPEG,
    ['-v', 'error', '-ss', String(timeMs / 1000), '-i', path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { encoding: 'buffer', maxBuffer: 1 << 24 },
  );
  return stdout;
}

/** The reference frame closest to a raw RGB image, or -1 for an empty one. */
function closestReferenceIndex(reference: ReferenceFrames, rgb: Buffer): number {
  if (rgb.length !== reference.width * reference.height * 3) return -1;
  let best = -1;
  let bestMse = Infinity;
  reference.frames.forEach((frame, index) => {
    const mse = meanSquaredError(rgb, frame);
    if (mse < bestMse) [best, bestMse] = [index, mse];
  });
  return best;
}

describe('the ffmpeg CLI', () => {
  test('h264 in MP4: framesnap gives the frame `ffmpeg -ss T -i FILE -frames:v 1` gives', async () => {
    const { path, reference } = await load('h264');
    const times = [0, 1010, 1999, 2519, LAST_FRAME_MS];
    const shots = await snapshots(path, { times, frameType: 'normal' });
    const rows: { time: number; exact: number; cli: number; framesnap: number }[] = [];
    for (const shot of shots) {
      const cli = await cliSeekFrame(path, shot.requestedMs);
      const { rgb } = await jpegToRgb(shot.jpeg);
      rows.push({
        time: shot.requestedMs,
        exact: exactFrameIndex(reference, shot.requestedMs),
        cli: closestReferenceIndex(reference, cli),
        framesnap: closestReferenceIndex(reference, rgb),
      });
    }
    expect(rows).toEqual(rows.map((row) => ({ ...row, cli: row.exact, framesnap: row.exact })));
  });

  // SPEC section 3: on MPEG-2 in MPEG-TS the CLI's input seek is not exact: it
  // decodes from where the dts-based seek lands and returns one frame for
  // several different times (with FFmpeg 5.1 and this fixture, -ss 1.5 gives
  // the frame at 1920 ms instead of 1520 ms, and -ss 3.96 gives no frame at
  // all). framesnap must be exact there, which is why every check in this file
  // compares with a full sequential decode and not with the CLI's -ss. The
  // demonstration is skipped if the installed ffmpeg happens to be exact for
  // all the times tried.
  test('mpeg2 in MPEG-TS: the CLI -ss misses the exact frame where framesnap does not', async (context) => {
    const { path, reference } = await load('mpeg2');
    const candidates = [1500, 2519, 3000];
    const inexact: number[] = [];
    for (const time of candidates) {
      const cli = closestReferenceIndex(reference, await cliSeekFrame(path, time));
      if (cli !== exactFrameIndex(reference, time)) inexact.push(time);
    }
    if (inexact.length === 0) {
      context.skip('the installed ffmpeg CLI seeks exactly at every time tried');
      return;
    }
    const shots = await snapshots(path, { times: inexact, frameType: 'normal' });
    expect(await checkTable(shots, inexact, reference, false)).toEqual([]);
  });
});
