/**
 * The speed work must not change a single pixel: skipping unreferenced
 * frames before a target and reusing an open file give byte-identical RGB to
 * a plain full decode.
 */
import { describe, expect, test } from 'vitest';

import { nativeAddon } from '../dist/core/native.js';
import { fixture, type FixtureName } from './fixtures.js';

const CLIPS: FixtureName[] = ['h264', 'hevc', 'vp9', 'mpeg2', 'hevc10'];
// Keyframes every second (12 frames for MPEG-2): times deep into groups and right after keyframes.
const TIMES = [0, 520, 960, 1000, 1040, 1930, 2519, 2999, 3480, 3960];

function extract(path: string, options: { threads: number; skipNonReference: boolean; reuse?: boolean; times?: number[] }) {
  return nativeAddon().extractFramesSync({
    path,
    times: options.times ?? TIMES,
    frameType: 'normal',
    width: 0,
    height: 0,
    threads: options.threads,
    skipNonReference: options.skipNonReference,
    reuse: options.reuse ?? false,
  });
}

describe.each(CLIPS)('%s', (name) => {
  test.each([1, 0])('skipping unreferenced frames is bit-identical to a full decode (threads %i)', async (threads) => {
    const path = await fixture(name);
    const full = extract(path, { threads, skipNonReference: false });
    const skipping = extract(path, { threads, skipNonReference: true });
    expect(skipping.map((frame) => frame.timeMs)).toEqual(full.map((frame) => frame.timeMs));
    skipping.forEach((frame, index) => {
      expect(frame.rgb.equals(full[index]!.rgb), `${name} at ${TIMES[index]} ms`).toBe(true);
    });
    // Each time on its own (a seek per call) gives the same frames again.
    for (const [index, time] of TIMES.entries()) {
      const [alone] = extract(path, { threads, skipNonReference: true, times: [time] });
      expect(alone!.rgb.equals(full[index]!.rgb), `${name} alone at ${time} ms`).toBe(true);
    }
  });

  test('a reused open file answers later and earlier times exactly like a fresh open', async () => {
    const path = await fixture(name);
    const fresh = extract(path, { threads: 1, skipNonReference: false });
    const order = [5, 6, 2, 9, 0, 7, 7, 3];
    for (const index of order) {
      const [reused] = extract(path, { threads: 1, skipNonReference: true, reuse: true, times: [TIMES[index]!] });
      expect(reused!.timeMs).toBe(fresh[index]!.timeMs);
      expect(reused!.rgb.equals(fresh[index]!.rgb), `${name} reused at ${TIMES[index]} ms`).toBe(true);
    }
  });
});

test('durationSync reads the duration from the open file an extract would use, as probe does', async () => {
  for (const name of CLIPS) {
    const path = await fixture(name);
    const request = { path, times: [], frameType: 'normal' as const, width: 0, height: 0, threads: 1, reuse: true };
    expect(nativeAddon().durationSync(request)).toBe(nativeAddon().probeSync(path).durationMs);
  }
  expect(() =>
    nativeAddon().durationSync({ path: '/nonexistent.mp4', times: [], frameType: 'intra', width: 0, height: 0, threads: 1 }),
  ).toThrow(expect.objectContaining({ code: 'InvalidParameter.ResourceNotFound' }));
});
