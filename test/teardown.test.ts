/**
 * Honest teardown (issue 10): terminating a worker thread in the middle of a
 * long native decode, synchronous or asynchronous, stops the decode at once
 * instead of waiting for it (it took 6-7 s for a 7 s decode before), and so
 * does raising a call's abort flag (what close() and cancel use). Also the
 * addon's argument checks: it holds requests to the limits TypeScript
 * validated against (NATIVE_LIMITS, handed over once), so what TypeScript
 * sends is taken as it is, and a malformed call is a SnapshotError
 * InternalError, never a crash.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, test } from 'vitest';

import { NATIVE_LIMITS, type NativeLimits } from '../dist/core/limits.js';
import { nativeAddon, type NativeCallOptions, type NativeExtractRequest } from '../dist/core/native.js';
import { fixture } from './fixtures.js';
import { slowClip } from './helpers/slow-clip.js';

const runFile = promisify(execFile);
const CHILD = fileURLToPath(new URL('./helpers/teardown-child.mjs', import.meta.url));

/**
 * A decode of well over a minute of one core (78 s measured here): with a
 * pixel threshold of 255 every frame counts as black (far more than 30% of
 * its pixels are darker than that), so the search for a frame that is not
 * decodes each of the slow clip's 600 1080p frames and scales it to 4096x2304.
 */
const LONG_DECODE: Omit<NativeExtractRequest, 'path'> = {
  times: [0],
  frameType: 'normal',
  width: 4096,
  height: 0,
  threads: 1,
  blackFrames: { blackLevel: 30, pixelThreshold: 255, searchMs: 30_000 },
};
/** Proven below to be shorter than the decode; termination itself takes milliseconds. */
const BOUND_MS = 2000;
const PROVEN_DECODE_MS = 4000;

let path: string;
beforeAll(async () => {
  path = await slowClip();
});

describe('a long decode stops promptly', () => {
  test(`the decode runs longer than ${PROVEN_DECODE_MS} ms (what the bounds below rely on)`, async () => {
    await expect(nativeAddon().extractFrames({ ...LONG_DECODE, path }, { timeoutMs: PROVEN_DECODE_MS })).rejects.toMatchObject({
      code: 'SnapshotTimeOut',
      message: 'the snapshot ran past its deadline',
    });
  });

  test.each(['async', 'sync'])(`worker.terminate() during a %s decode returns within ${BOUND_MS} ms`, async (mode) => {
    const { stdout, stderr } = await runFile(process.execPath, [CHILD, path, mode, JSON.stringify(LONG_DECODE)], { timeout: 120_000 });
    expect(stderr).toBe('');
    const outcome = JSON.parse(stdout) as { exitCode: number; terminateMs: number; after: number[] };
    console.log(`worker.terminate() during a ${mode} decode: ${outcome.terminateMs} ms`);
    // worker.terminate() resolves with exit code 1; the main thread's addon still decodes (64x36).
    expect({ exitCode: outcome.exitCode, after: outcome.after }).toEqual({ exitCode: 1, after: [64, 36] });
    expect(outcome.terminateMs).toBeLessThan(BOUND_MS);
  });

  test(`raising the abort flag of a running async call rejects with Aborted within ${BOUND_MS} ms`, async () => {
    const abort = new Int32Array(new SharedArrayBuffer(4));
    const call = nativeAddon().extractFrames({ ...LONG_DECODE, path }, { abort });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const raisedAt = performance.now();
    Atomics.store(abort, 0, 1);
    await expect(call).rejects.toMatchObject({ code: 'Aborted', message: 'the snapshot was cancelled' });
    expect(performance.now() - raisedAt).toBeLessThan(BOUND_MS);
  });
});

describe('the addon holds requests to the limits TypeScript validated against', () => {
  let h264: string;
  const request = (): NativeExtractRequest => ({ path: h264, times: [0], frameType: 'intra', width: 0, height: 0, threads: 1 });
  beforeAll(async () => {
    h264 = await fixture('h264');
  });

  const PREFIX = 'Invalid native call (a bug in framesnap): expected';
  const SIZE = '0 or an integer between 8 and 4096';
  const badRequests: [string, Record<string, unknown>, string][] = [
    ['width past the largest size', { width: 4097 }, `${SIZE} for width but received 4097`],
    ['width under the smallest size', { width: 7 }, `${SIZE} for width but received 7`],
    ['a negative height', { height: -1 }, `${SIZE} for height but received -1`],
    ['a fractional width', { width: 8.5 }, `${SIZE} for width but received 8.5`],
    ['threads 65', { threads: 65 }, 'an integer between 0 and 64 for threads but received 65'],
    ['threads absent', { threads: undefined }, 'an integer between 0 and 64 for threads but received undefined'],
    [
      'descending times',
      { times: [5, 1] },
      'a number of milliseconds between 5 and 1000000000000 (times ascend) for times[1] but received 1',
    ],
    [
      'a time past MAX_TIME_MS',
      { times: [1e12 + 1] },
      'a number of milliseconds between 0 and 1000000000000 (times ascend) for times[0] but received 1000000000001',
    ],
    [
      'a NaN time',
      { times: [Number.NaN] },
      'a number of milliseconds between 0 and 1000000000000 (times ascend) for times[0] but received NaN',
    ],
    [
      'an infinite time',
      { times: [Number.POSITIVE_INFINITY] },
      'a number of milliseconds between 0 and 1000000000000 (times ascend) for times[0] but received Infinity',
    ],
    [
      'more times than MAX_NUM',
      { times: Array.from({ length: 10_001 }, () => 0) },
      'an array of at most 10000 times for times but received an array',
    ],
    ['times not an array', { times: '0' }, 'an array of at most 10000 times for times but received a string'],
    ['an unknown frameType', { frameType: 'exact' }, '"intra" or "normal" for frameType but received a string'],
    ['an empty path', { path: '' }, 'a non-empty path without NUL bytes for path but received a string'],
    ['a path with NUL', { path: 'a\0b' }, 'a non-empty path without NUL bytes for path but received a string'],
    ['reuse not a boolean', { reuse: 1 }, 'a boolean for reuse but received 1'],
    [
      'pixelThreshold 256',
      { blackFrames: { blackLevel: 50, pixelThreshold: 256 } },
      'an integer between 0 and 255 for blackFrames.pixelThreshold but received 256',
    ],
    [
      'blackLevel 29',
      { blackFrames: { blackLevel: 29, pixelThreshold: 70 } },
      'a number between 30 and 100 for blackFrames.blackLevel but received 29',
    ],
    [
      'searchMs -1',
      { blackFrames: { blackLevel: 50, pixelThreshold: 70, searchMs: -1 } },
      'a number between 0 and 3600000 for blackFrames.searchMs but received -1',
    ],
  ];
  test.each(badRequests)('%s: InternalError, sync and async', async (_name, change, expected) => {
    const bad = { ...request(), ...change } as NativeExtractRequest;
    const error = { code: 'InternalError', message: `${PREFIX} ${expected}` };
    expect(() => nativeAddon().extractFramesSync(bad)).toThrow(expect.objectContaining(error));
    expect(() => nativeAddon().durationSync(bad)).toThrow(expect.objectContaining(error));
    // An async call rejects; it never throws.
    const call = nativeAddon().extractFrames(bad);
    await expect(call).rejects.toMatchObject(error);
  });

  const badOptions: [string, Record<string, unknown>, string][] = [
    ['limitInputPixels 0', { limitInputPixels: 0 }, 'an integer between 1 and 2147483647 for limitInputPixels but received 0'],
    ['limitOutputPixels 1.5', { limitOutputPixels: 1.5 }, 'an integer between 1 and 2147483647 for limitOutputPixels but received 1.5'],
    [
      'limitOutputPixels 2^31',
      { limitOutputPixels: 2 ** 31 },
      'an integer between 1 and 2147483647 for limitOutputPixels but received 2147483648',
    ],
    ['a negative timeoutMs', { timeoutMs: -1 }, 'a number between 0 and 86400000 for timeoutMs but received -1'],
    ['abort not an Int32Array', { abort: new Uint8Array(4) }, 'an Int32Array of at least one element for abort but received an object'],
    ['an empty abort array', { abort: new Int32Array(0) }, 'an Int32Array of at least one element for abort but received an object'],
  ];
  test.each(badOptions)('%s: InternalError from every call', async (_name, options, expected) => {
    const error = { code: 'InternalError', message: `${PREFIX} ${expected}` };
    const bad = options as NativeCallOptions;
    expect(() => nativeAddon().probeSync(h264, bad)).toThrow(expect.objectContaining(error));
    expect(() => nativeAddon().extractFramesSync(request(), bad)).toThrow(expect.objectContaining(error));
    await expect(nativeAddon().probe(h264, bad)).rejects.toMatchObject(error);
    await expect(nativeAddon().extractFrames(request(), bad)).rejects.toMatchObject(error);
  });

  test('the widest and narrowest values TypeScript may send are taken', () => {
    const widest: NativeExtractRequest = {
      ...request(),
      times: [0, 0, 1e12],
      width: 4096,
      height: 8,
      threads: 64,
      reuse: false,
      stopAtEnd: false,
      skipNonReference: true,
      blackFrames: { blackLevel: 100, pixelThreshold: 255, searchMs: 3_600_000 },
    };
    const frames = nativeAddon().extractFramesSync(widest, {
      timeoutMs: 86_400_000,
      limitInputPixels: 2 ** 31 - 1,
      limitOutputPixels: 2 ** 31 - 1,
    });
    expect(frames.map(({ requestedMs, timeMs, width, height }) => ({ requestedMs, timeMs, width, height }))).toEqual([
      { requestedMs: 0, timeMs: 0, width: 4096, height: 8 },
      { requestedMs: 0, timeMs: 0, width: 4096, height: 8 },
      // Past the end, intra mode: the last keyframe.
      { requestedMs: 1e12, timeMs: 3000, width: 4096, height: 8 },
    ]);
    for (const frame of frames) nativeAddon().releaseFramePixels(frame.rgb);
    const narrowest: NativeExtractRequest = {
      ...request(),
      times: [],
      width: 0,
      height: 8,
      threads: 0,
      blackFrames: { blackLevel: 30, pixelThreshold: 0, searchMs: 0 },
    };
    expect(nativeAddon().extractFramesSync(narrowest, { timeoutMs: 0, limitInputPixels: 320 * 240 })).toEqual([]);
    expect(nativeAddon().durationSync(narrowest)).toBe(4000);
  });

  test('setLimits takes NATIVE_LIMITS, refuses limits beyond what the C++ takes, and holds requests to what it took', () => {
    const error = (expected: string) => expect.objectContaining({ code: 'InternalError', message: `${PREFIX} ${expected}` });
    const addon = nativeAddon();
    expect(() => addon.setLimits({ ...NATIVE_LIMITS, maxSize: 16_384 })).toThrow(
      error('an integer between 1 and 16383 for limits.maxSize but received 16384'),
    );
    expect(() => addon.setLimits({ ...NATIVE_LIMITS, maxImageSide: 8000 })).toThrow(
      error('an integer between 16383 and 16383 for limits.maxImageSide but received 8000'),
    );
    expect(() => addon.setLimits({ ...NATIVE_LIMITS, maxTimeMs: 1e13 })).toThrow(
      error('a number between 0 and 1000000000000 for limits.maxTimeMs but received 10000000000000'),
    );
    expect(() => addon.setLimits({ ...NATIVE_LIMITS, maxPixelThreshold: undefined } as unknown as NativeLimits)).toThrow(
      error('an integer between 0 and 255 for limits.maxPixelThreshold but received undefined'),
    );
    // A refused object leaves the limits as they were; tighter ones are held to.
    expect(addon.extractFramesSync({ ...request(), threads: 64 })).toHaveLength(1);
    try {
      addon.setLimits({ ...NATIVE_LIMITS, maxThreads: 2 });
      expect(() => addon.extractFramesSync({ ...request(), threads: 3 })).toThrow(
        error('an integer between 0 and 2 for threads but received 3'),
      );
    } finally {
      addon.setLimits(NATIVE_LIMITS);
    }
    expect(addon.extractFramesSync({ ...request(), threads: 64 })).toHaveLength(1);
  });
});
