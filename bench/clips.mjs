// Benchmark clips, generated once with the ffmpeg CLI and cached in bench/.cache.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { findFfmpeg } from '../dist/index.js';

const run = promisify(execFile);
const cacheDir = join(dirname(fileURLToPath(import.meta.url)), '.cache');

export const CLIPS = {
  /** 1080p H.264, 60 s, B-frames, a keyframe every 3 s (90 frames at 30 fps). */
  h264_1080p_60s: {
    file: 'h264-1080p-60s.mp4',
    args: ['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-t', '60', '-c:v', 'libx264', '-preset', 'veryfast',
      '-g', '90', '-keyint_min', '90', '-sc_threshold', '0', '-bf', '3', '-pix_fmt', 'yuv420p'],
  },
};

export async function clip(name) {
  const recipe = CLIPS[name];
  const path = join(cacheDir, recipe.file);
  if (existsSync(path)) return path;
  mkdirSync(cacheDir, { recursive: true });
  console.log(`making ${recipe.file} (once; cached in bench/.cache)`);
  const temporary = `${path}.tmp.mp4`;
  await run(findFfmpeg(), ['-v', 'error', '-y', ...recipe.args, temporary]);
  renameSync(temporary, path);
  return path;
}
