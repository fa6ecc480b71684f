/**
 * Hostile media for test/hostile-media.test.ts, made from clips the ffmpeg
 * CLI encodes by patching bytes (no checked-in binaries): an MP4 whose `pasp`
 * box claims an absurd sample aspect ratio, a JPEG whose SOF header claims
 * 16000x16000, a Matroska file whose header claims a giant frame size.
 */

/** `mp4` with its (first) `pasp` box set to num:den. */
export function withPasp(mp4: Buffer, num: number, den: number): Buffer {
  const at = mp4.indexOf('pasp');
  if (at < 0) throw new Error('no pasp box: encode with -vf setsar=N/M');
  const patched = Buffer.from(mp4);
  patched.writeUInt32BE(num, at + 4);
  patched.writeUInt32BE(den, at + 8);
  return patched;
}

/**
 * The first JPEG of `mjpeg` with the size in its SOF0/SOF2 header replaced,
 * and its scan data padded with zero bytes to what a picture that large could
 * hold (FFmpeg refuses a JPEG far too short for its stated size on its own).
 */
export function withJpegSize(mjpeg: Buffer, width: number, height: number): Buffer {
  const end = mjpeg.indexOf(Buffer.from([0xff, 0xd9]));
  if (end < 0) throw new Error('no JPEG end marker');
  const padding = Buffer.alloc(Math.ceil(((width / 8 + 1) * (height / 8 + 1)) / 4) + 1024);
  const jpeg = Buffer.concat([mjpeg.subarray(0, end), padding, Buffer.from([0xff, 0xd9])]);
  for (let at = 0; at + 9 < end; at++) {
    if (jpeg[at] === 0xff && (jpeg[at + 1] === 0xc0 || jpeg[at + 1] === 0xc2)) {
      jpeg.writeUInt16BE(height, at + 5);
      jpeg.writeUInt16BE(width, at + 7);
    }
  }
  return jpeg;
}

/** ffmpeg CLI arguments that map input 0's video `count` times. */
export function mapTimes(count: number): string[] {
  return Array.from({ length: count }, () => ['-map', '0:v']).flat();
}
