/**
 * Where the ffmpeg command-line tool is, for the CLI comparison in the
 * benchmarks and the reference frames of the tests: ffmpeg-static when its
 * binary was installed, else FFMPEG_PATH, else `ffmpeg` on PATH.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

export function findFfmpeg(): string {
  try {
    const fromPackage = createRequire(import.meta.url)('ffmpeg-static') as string | null;
    if (typeof fromPackage === 'string' && existsSync(fromPackage)) return fromPackage;
  } catch {
    // ffmpeg-static is optional; its binary download fails without internet.
  }
  const fromEnvironment = process.env['FFMPEG_PATH'];
  if (fromEnvironment !== undefined && fromEnvironment !== '') return fromEnvironment;
  return 'ffmpeg';
}
