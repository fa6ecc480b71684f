// node-av (FFmpeg 8 bindings with a prebuilt binary from @seydx/node-av-linux-x64):
// a snapshot written the straightforward way with its high-level Demuxer,
// Decoder and Scaler (swscale + FFmpeg's mjpeg encoder), async calls throughout.
//
// Notes from writing it:
// - Demuxer.packets() calls Promise.withResolvers, which Node 20 lacks (Node 22+),
//   so packets are read with the format context's readFrame() instead.
// - Its install scripts (a prebuilt check, then a download of an ffmpeg binary
//   from GitHub) are not needed: the addon comes in the npm package, and the
//   download fails softly offline (exit 0).

let api;

/** Loads node-av; resolves to a reason string when it cannot be used. */
export async function loadNodeAv() {
  if (api !== undefined) return api;
  try {
    const [{ Demuxer, Decoder, Scaler }, { AVSEEK_FLAG_BACKWARD }, { Packet }] = await Promise.all([
      import('node-av/api'),
      import('node-av/constants'),
      import('node-av/lib'),
    ]);
    api = { Demuxer, Decoder, Scaler, Packet, AVSEEK_FLAG_BACKWARD };
  } catch (error) {
    api = `node-av did not load: ${error.message.split('\n')[0]}`;
  }
  return api;
}

/** The FFmpeg version node-av is built with, or null. */
export async function nodeAvFfmpegVersion() {
  const loaded = await loadNodeAv();
  if (typeof loaded === 'string') return null;
  try {
    const { ffmpegVersion } = await import('node-av/ffmpeg');
    return ffmpegVersion();
  } catch {
    return null;
  }
}

/**
 * JPEGs at `timesMs` (ascending), one open of the file: `intra` seeks back to
 * the keyframe at or before each time and takes the first frame; `normal`
 * takes the first frame at or after each time, decoding forward from the
 * previous one when the next time is close (within 1 s) instead of seeking.
 * Resolves to [{ timeMs, jpeg }].
 */
export async function nodeAvSnapshots(file, timesMs, frameType, width) {
  const { Demuxer, Decoder, Scaler, Packet, AVSEEK_FLAG_BACKWARD } = api;
  const input = await Demuxer.open(file);
  const packet = new Packet();
  packet.alloc();
  const scaler = new Scaler();
  let decoder;
  try {
    const stream = input.video();
    decoder = await Decoder.create(stream);
    const { num, den } = stream.timeBase;
    const format = input.getFormatContext();
    const resize = width ? { width, height: 2 * Math.round((width * stream.codecpar.height) / stream.codecpar.width / 2) } : undefined;
    const results = [];
    let positionMs = -Infinity; // time of the last frame decoded
    let eof = false;

    /** The next decoded frame and its time, or null at the end. */
    const nextFrame = async () => {
      for (;;) {
        const frame = await decoder.receive();
        if (frame === undefined) return null; // drained
        if (frame !== null) return { frame, ms: (Number(frame.pts) * 1000 * num) / den };
        if (eof) return null;
        const read = await format.readFrame(packet);
        if (read < 0) {
          eof = true;
          await decoder.decode(null);
        } else {
          if (packet.streamIndex === stream.index) await decoder.decode(packet);
          packet.unref();
        }
      }
    };

    for (const timeMs of timesMs) {
      const seek = frameType === 'intra' || timeMs <= positionMs || timeMs - positionMs > 1000;
      if (seek) {
        await input.seek(timeMs / 1000, -1, AVSEEK_FLAG_BACKWARD);
        decoder.getCodecContext().flushBuffers();
        eof = false;
      }
      let found = null;
      for (;;) {
        const next = await nextFrame();
        if (next === null) break;
        positionMs = next.ms;
        if (frameType === 'intra' || next.ms >= timeMs - 0.0005) {
          found = next;
          break;
        }
        next.frame.free();
      }
      if (found === null) throw new Error(`node-av: no frame at ${timeMs} ms`);
      try {
        const jpeg = await scaler.toJpeg(found.frame, { quality: 90, ...(resize ? { resize } : {}) });
        results.push({ timeMs: Math.round(found.ms * 1000) / 1000, jpeg });
      } finally {
        found.frame.free();
      }
    }
    return results;
  } finally {
    scaler.close();
    packet.free();
    decoder?.close();
    await input.close();
  }
}
