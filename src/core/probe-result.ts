/**
 * What probe() tells about a file: a types-only module, so the native
 * binding's declarations can say "this, without hdr" instead of a copy.
 */

/** What probe() tells about a file's first video stream. */
export interface ProbeResult {
  /** The demuxer's name ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"). */
  formatName: string;
  /** The decoder's name ("h264", "hevc", "vp9", "av1"). */
  codecName: string;
  /** The decoded pixel format ("yuv420p"), null when FFmpeg does not know it. */
  pixelFormat: string | null;
  /** Bits per colour component (8, 10, 12). */
  bitDepth: number;
  /** Null when the container does not say. */
  durationMs: number | null;
  /** The container's start time: times are counted from it, as `ffmpeg -ss` does. */
  startTimeMs: number;
  /** The coded size. */
  width: number;
  height: number;
  /** The size an image is made at by default: after the sample aspect ratio and the rotation. */
  displayWidth: number;
  displayHeight: number;
  /** Clockwise degrees from the display matrix: 0, 90, 180 or 270. */
  rotation: number;
  sampleAspectRatio: [number, number];
  /** Frames per second, 0 when unknown. */
  frameRate: number;
  colorSpace: string;
  colorRange: string;
  colorPrimaries: string;
  colorTransfer: string;
  /** Keyframes in the file's index; null when the container has no index. */
  keyframeCount: number | null;
  /** PQ or HLG transfer: snapshots are not tone-mapped, so their colours are approximate. */
  hdr: boolean;
}
