// Benchmark clips, generated once with the ffmpeg CLI and cached in bench/.cache.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { findFfmpeg } from '../dist/core/ffmpeg-cli.js';

const run = promisify(execFile);
export const cacheDir = join(dirname(fileURLToPath(import.meta.url)), '.cache');

/**
 * Every clip: 30 fps, B-frames, a keyframe every 3 s (90 frames), so times are
 * predictable. The pictures decode like real footage, not like a flat test
 * card: testsrc2's moving pattern under strong temporal noise (detail that
 * changes every frame), at a realistic constant bitrate (6 Mb/s at 1080p,
 * 1.5 Mb/s at 480p). testsrc2 alone compresses to almost nothing and decodes
 * unrealistically fast, which flatters every in-process ratio.
 */
export const FPS = 30;
export const KEYFRAME_INTERVAL_MS = 3000;
const x264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '90', '-keyint_min', '90', '-sc_threshold', '0', '-bf', '3', '-pix_fmt', 'yuv420p'];
const realistic = (size, bitrate) => [
  '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${FPS}`,
  '-vf', 'noise=c0s=24:c0f=t+u:c1s=8:c1f=t+u:c2s=8:c2f=t+u',
  '-t', '60', ...x264,
  '-b:v', bitrate, '-maxrate', bitrate, '-bufsize', `${parseFloat(bitrate) * 2}M`,
];

export const CLIPS = {
  /** 1080p H.264, 60 s, 6 Mb/s. */
  h264_1080p_60s: {
    file: 'h264-1080p-60s-6mbps.mp4',
    args: realistic('1920x1080', '6M'),
  },
  /** 480p H.264, 60 s, 1.5 Mb/s: the piece the 1-hour file is made of. */
  h264_480p_60s: {
    file: 'h264-480p-60s-1500k.mp4',
    args: realistic('854x480', '1.5M'),
  },
  /** 1080p H.264, 4 minutes: the 60 s clip stream-copied 4 times (the seed's series needs 185 s). */
  h264_1080p_240s: {
    file: 'h264-1080p-240s-6mbps.mp4',
    concat: { of: 'h264_1080p_60s', times: 4 },
  },
  /** 480p H.264, 1 hour: the 1-minute clip stream-copied 60 times with the concat demuxer. */
  h264_480p_1h: {
    file: 'h264-480p-1h-1500k.mp4',
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
