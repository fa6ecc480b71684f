/**
 * A "slow file" for deadline tests: 20 s of 1080p testsrc2 at 30 fps with one
 * keyframe at the start (a 600-frame GOP). A `normal` snapshot late in it
 * decodes hundreds of 1080p frames: seconds of native work, so a deadline of
 * a few hundred ms lands in the middle of the decode. Made once by the ffmpeg
 * CLI (about 15 s) and cached in test/.cache by a hash of its recipe.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { CACHE_DIR, FFMPEG } from '../fixtures.js';

const run = promisify(execFile);

const SLOW_ARGS = [
  '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-t', '20',
  '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30', '-g', '600', '-keyint_min', '600', '-sc_threshold', '0', '-bf', '0', '-pix_fmt', 'yuv420p',
];

/** A time late in the slow clip's one GOP, ms. */
export const SLOW_TIME_MS = 19_000;

let made: Promise<string> | undefined;

/** The slow clip's path (made on first use). */
export function slowClip(): Promise<string> {
  made ??= (async () => {
    const key = createHash('sha256').update(SLOW_ARGS.join('\0')).digest('hex').slice(0, 12);
    const path = join(CACHE_DIR, `${key}-slow-1080p.mp4`);
    if (existsSync(path)) return path;
    mkdirSync(CACHE_DIR, { recursive: true });
    const temporary = `${path}.${process.pid}.tmp.mp4`;
    await run(FFMPEG, ['-v', 'error', '-y', ...SLOW_ARGS, temporary]);
    renameSync(temporary, path);
    return path;
  })();
  return made;
}
