import { callerStack, withCallerStack } from './errors.js';
import { nativeAddon } from './native.js';

/** The versions of the FFmpeg libraries the addon runs against. */
export interface FfmpegVersions {
  /** FFmpeg's release ("7.1.1", or a git describe for a build from source). */
  ffmpeg: string;
  libavformat: string;
  libavcodec: string;
  libswscale: string;
  libavutil: string;
}

/** Versions of the FFmpeg libraries the addon runs against. */
export function ffmpegVersions(): FfmpegVersions {
  const caller = callerStack(ffmpegVersions);
  try {
    const { ffmpeg, libavformat, libavcodec, libswscale, libavutil } = nativeAddon().versions();
    return { ffmpeg, libavformat, libavcodec, libswscale, libavutil };
  } catch (error) {
    throw withCallerStack(error, caller);
  }
}
