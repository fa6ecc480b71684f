// Benchmark clips, generated once with the ffmpeg CLI and cached in bench/.cache.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { findFfmpeg } from '../dist/index.js';

const run = promisify(execFile);
export const cacheDir = join(dirname(fileURLToPath(import.meta.url)), '.cache');

/** Every clip: 30 fps, B-frames, a keyframe every 3 s (90 frames), so times are predictable. */
export const FPS = 30;
export const KEYFRAME_INTERVAL_MS = 3000;
const x264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '90', '-keyint_min', '90', '-sc_threshold', '0', '-bf', '3', '-pix_fmt', 'yuv420p'];

export const CLIPS = {
  /** 1080p H.264, 60 s. */
  h264_1080p_60s: {
    file: 'h264-1080p-60s.mp4',
    args: ['-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=${FPS}`, '-t', '60', ...x264],
  },
  /** 480p H.264, 60 s: the piece the 1-hour file is made of. */
  h264_480p_60s: {
    file: 'h264-480p-60s.mp4',
    args: ['-f', 'lavfi', '-i', `testsrc2=size=854x480:rate=${FPS}`, '-t', '60', ...x264, '-crf', '28'],
  },
  /** 1080p H.264, 4 minutes: the 60 s clip stream-copied 4 times (the seed's series needs 185 s). */
  h264_1080p_240s: {
    file: 'h264-1080p-240s.mp4',
    concat: { of: 'h264_1080p_60s', times: 4 },
  },
  /** 480p H.264, 1 hour: the 1-minute clip stream-copied 60 times with the concat demuxer. */
  h264_480p_1h: {
    file: 'h264-480p-1h.mp4',
    concat: { of: 'h264_480p_60s', times: 60 },
  },
};

async function make(recipe, path) {
  const temporary = `${path}.tmp.mp4`;
  if (recipe.concat) {
    const piece = await clip(recipe.concat.of);
    const list = `${path}.list.txt`;
    writeFileSync(list, `file '${piece.replaceAll("'", "'\\''")}'\n`.repeat(recipe.concat.times));
    try {
      await run(findFfmpeg(), ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', temporary]);
    } finally {
      rmSync(list, { force: true });
    }
  } else {
    await run(findFfmpeg(), ['-v', 'error', '-y', ...recipe.args, temporary]);
  }
  renameSync(temporary, path);
}

const making = new Map();

/** The path of a clip, made first when it is not in the cache yet. */
export async function clip(name) {
  const recipe = CLIPS[name];
  if (recipe === undefined) throw new Error(`unknown clip ${name}`);
  const path = join(cacheDir, recipe.file);
  if (existsSync(path)) return path;
  if (!making.has(name)) {
    mkdirSync(cacheDir, { recursive: true });
    const started = performance.now();
    console.log(`making ${recipe.file} (once; cached in bench/.cache)`);
    making.set(
      name,
      make(recipe, path).then(() => console.log(`made ${recipe.file} in ${((performance.now() - started) / 1000).toFixed(1)} s`)),
    );
  }
  await making.get(name);
  return path;
}

/** Where an exact (`normal`) request lands: the first frame at or after the time. */
export function exactFrameMs(timeMs) {
  return Math.round((Math.ceil((timeMs * FPS) / 1000 - 1e-9) * 1000 * 1000) / FPS) / 1000;
}

/** Where a keyframe (`intra`) request lands: the keyframe at or before the time. */
export function keyframeMs(timeMs) {
  return Math.floor(timeMs / KEYFRAME_INTERVAL_MS) * KEYFRAME_INTERVAL_MS;
}
