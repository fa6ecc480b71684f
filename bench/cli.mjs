// The CLI path: one ffmpeg process per snapshot, as a Node service does today.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { findFfmpeg } from '../dist/index.js';

const run = promisify(execFile);
const ffmpeg = findFfmpeg();

/**
 * `ffmpeg -ss T -i FILE -frames:v 1 out.jpg`. For keyframes the fastest CLI
 * form: no accurate seek and keyframes only, so it decodes a single frame.
 */
export function cliSnapshot(file, timeMs, frameType, output, width) {
  const keyframeOnly = frameType === 'intra' ? ['-skip_frame', 'nokey', '-noaccurate_seek'] : [];
  const scale = width ? ['-vf', `scale=${width}:-2`] : [];
  return run(ffmpeg, ['-v', 'error', '-y', ...keyframeOnly, '-ss', String(timeMs / 1000), '-i', file,
    '-frames:v', '1', ...scale, '-q:v', '2', output]);
}

export async function ffmpegVersionLine() {
  const { stdout } = await run(ffmpeg, ['-version']);
  return stdout.split('\n')[0];
}
