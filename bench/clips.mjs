// Benchmark clips: the BENCH_CLIPS of the project's one recipe list
// (scripts/clips.mjs), made once and cached in bench/.cache.
//
// Every clip: 30 fps, B-frames, a keyframe every 3 s (90 frames), so times are
// predictable; pictures that decode like real footage (testsrc2 under strong
// temporal noise at 6 Mb/s for 1080p, 1.5 Mb/s for 480p).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { BENCH_CLIPS, BENCH_FPS, BENCH_KEYFRAME_INTERVAL_MS, clip as makeClip } from '../scripts/clips.mjs';

export const cacheDir = join(fileURLToPath(new URL('.', import.meta.url)), '.cache');
export const FPS = BENCH_FPS;
export const KEYFRAME_INTERVAL_MS = BENCH_KEYFRAME_INTERVAL_MS;

const announced = new Set();

/** The path of a benchmark clip, made first when it is not in the cache yet. */
export async function clip(name) {
  if (!(name in BENCH_CLIPS)) throw new Error(`unknown benchmark clip ${name}`);
  if (!announced.has(name)) {
    announced.add(name);
    console.log(`benchmark clip ${BENCH_CLIPS[name].file} (made once; cached in bench/.cache)`);
  }
  return makeClip(name, cacheDir);
}

/** Where an exact (`normal`) request lands: the first frame at or after the time. */
export function exactFrameMs(timeMs) {
  return Math.round((Math.ceil((timeMs * FPS) / 1000 - 1e-9) * 1000 * 1000) / FPS) / 1000;
}

/** Where a keyframe (`intra`) request lands: the keyframe at or before the time. */
export function keyframeMs(timeMs) {
  return Math.floor(timeMs / KEYFRAME_INTERVAL_MS) * KEYFRAME_INTERVAL_MS;
}
