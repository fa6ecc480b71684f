import { nativeAddon } from './native.js';

/** Versions of the FFmpeg libraries the addon runs against. */
export function ffmpegVersions(): ReturnType<ReturnType<typeof nativeAddon>['versions']> {
  return nativeAddon().versions();
}
