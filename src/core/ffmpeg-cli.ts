/**
 * Where the ffmpeg command-line tool is, for the CLI comparison in the
 * benchmarks and the reference frames of the tests (framesnap itself never
 * runs it): FFMPEG_PATH, else `ffmpeg` on PATH. Not part of the public API.
 */
export function findFfmpeg(): string {
  const fromEnvironment = process.env['FFMPEG_PATH'];
  if (fromEnvironment !== undefined && fromEnvironment !== '') return fromEnvironment;
  return 'ffmpeg';
}
