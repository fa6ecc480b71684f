// The CLI path: the ffmpeg command-line tool, as a Node service uses it today.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';

import { findFfmpeg } from '../scripts/clips.mjs';

const run = promisify(execFile);
export const ffmpeg = findFfmpeg();

/** ffprobe next to the ffmpeg in use, else the one on PATH. */
export const ffprobe = (() => {
  if (basename(ffmpeg) === 'ffmpeg' && dirname(ffmpeg) !== '.') {
    const sibling = join(dirname(ffmpeg), 'ffprobe');
    if (existsSync(sibling)) return sibling;
  }
  return 'ffprobe';
})();

const seconds = (ms) => String(ms / 1000);

/** The input options for one seek: keyframes decode a single frame (no accurate seek, keyframes only). */
function seekInput(file, timeMs, frameType) {
  const keyframeOnly = frameType === 'intra' ? ['-skip_frame', 'nokey', '-noaccurate_seek'] : [];
  return [...keyframeOnly, '-ss', seconds(timeMs), '-i', file];
}

const scale = (width) => (width ? ['-vf', `scale=${width}:-2`] : []);

/** One process per image: `ffmpeg -ss T -i FILE -frames:v 1 out.jpg`. */
export function cliSnapshot(file, timeMs, frameType, output, width) {
  return run(ffmpeg, ['-v', 'error', '-y', ...seekInput(file, timeMs, frameType), '-frames:v', '1', ...scale(width), '-q:v', '2', output]);
}

/**
 * One process, exact frames at the given times with the select filter: the
 * first frame at or after each time. It decodes everything up to the last time.
 * `pattern` is an image2 pattern such as `/tmp/x-%03d.jpg`.
 */
export function cliSelect(file, timesMs, pattern, width) {
  const picks = timesMs.map((ms) => `gte(t\\,${seconds(ms)})*lt(prev_pts*TB\\,${seconds(ms)})`).join('+');
  const filters = [`select='${picks}'`, ...(width ? [`scale=${width}:-2`] : [])].join(',');
  return run(ffmpeg, [
    '-v',
    'error',
    '-y',
    '-i',
    file,
    '-vf',
    filters,
    '-fps_mode',
    'passthrough',
    '-frames:v',
    String(timesMs.length),
    '-q:v',
    '2',
    pattern,
  ]);
}

/**
 * One process, one seek per time: an input per time (accurate seek for
 * `normal`, keyframes only for `intra`), each mapped to its own one-frame
 * output. The best the CLI does for scattered times; for keyframes it is also
 * the only one-process form, as a select filter cannot look ahead to find
 * "the last keyframe at or before T".
 */
export function cliMultiSeek(file, timesMs, frameType, outputs) {
  const args = ['-v', 'error', '-y'];
  for (const ms of timesMs) args.push(...seekInput(file, ms, frameType));
  timesMs.forEach((_, index) => args.push('-map', `${index}:v:0`, '-frames:v', '1', '-q:v', '2', outputs[index]));
  return run(ffmpeg, args);
}

/** One process, a regular series with the fps filter: `fps=1/interval,scale=W:-2`, `count` images. */
export function cliFps(file, intervalMs, count, pattern, width) {
  const filters = [`fps=1000/${intervalMs}`, ...(width ? [`scale=${width}:-2`] : [])].join(',');
  return run(ffmpeg, ['-v', 'error', '-y', '-i', file, '-vf', filters, '-frames:v', String(count), '-q:v', '2', pattern]);
}

/** One process making one sprite sheet: fps, scale and tile filters (no WebVTT: the CLI has none). */
export function cliSprite(file, intervalMs, columns, lines, width, output) {
  const filters = `fps=1000/${intervalMs},scale=${width}:-2,tile=${columns}x${lines}`;
  return run(ffmpeg, ['-v', 'error', '-y', '-i', file, '-vf', filters, '-frames:v', '1', '-q:v', '2', output]);
}

export async function versionLine(tool) {
  const { stdout } = await run(tool, ['-version']);
  return stdout.split('\n')[0].replace(/ Copyright.*/, '');
}
