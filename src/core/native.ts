/**
 * Loads the native addon on first use (never at import time, so a command
 * that does not decode starts fast) and hands it the SnapshotError class.
 *
 * The addon takes the plain objects below as the TypeScript layer validated
 * them (limits.ts, options.ts, the service's request parser) and holds them
 * only to the bounds TypeScript validated against, handed to it once
 * (NATIVE_LIMITS, through setLimits), noted on each field
 * (native/binding_arguments.h). Breaking one is a bug in the caller: the call
 * throws (sync) or rejects (async) a SnapshotError with code InternalError
 * whose message starts "Invalid native call (a bug in framesnap)", never
 * InvalidParameter.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { SnapshotError } from './errors.js';
import { NATIVE_LIMITS, type NativeLimits } from './limits.js';
import type { ProbeResult } from './probe-result.js';

/** How an http(s) URL is read (native/remote_reader.h). */
export interface NativeRemoteOptions {
  /**
   * Requests to loopback, private, link-local and unique-local addresses are
   * refused unless this is true, or the host (as written in the URL or a
   * redirect) is in this array of 1..100 host names of 1..253 characters.
   */
  allowPrivateNetwork: boolean | readonly string[];
  /** A PEM file of certificate authorities to trust instead of the system's; a non-empty path without NUL bytes. */
  caFile?: string;
  /**
   * 1..256 characters: a `reuse` call keeps the URL open (its connection
   * and block cache) for the next call with the same key only (the batches
   * of one call, the calls of one job). Absent: a URL is never kept open.
   */
  reuseKey?: string;
}

export interface NativeCallOptions {
  /**
   * Int32Array (of at least one element) over a SharedArrayBuffer; a
   * non-zero first element cancels. Terminating the call's worker thread
   * cancels it too.
   */
  abort?: Int32Array;
  /** Deadline for the whole call: 0 (none) .. maxTimeoutMs. */
  timeoutMs?: number;
  /**
   * Decoded (coded) frame width * height: a stream whose frames are larger,
   * or over 16383 a side, is refused (InvalidParameter.ResourceContentBad)
   * before any frame is decoded; FFmpeg refuses a frame that grows past it
   * (max_pixels). probe() decodes no picture over it. An integer
   * 1..maxPixelLimit; absent: defaultPixelLimit (67108864).
   */
  limitInputPixels?: number;
  /**
   * Output image width * height (after SAR, rotation and the requested
   * width/height), checked with 16383 a side before the scaler and the
   * picture are allocated: InvalidParameter.OutOfRange when a width or height
   * was requested, InvalidParameter.ResourceContentBad when the video's own
   * display size is too large. An integer 1..maxPixelLimit; absent:
   * defaultPixelLimit (67108864).
   */
  limitOutputPixels?: number;
  /** Present: the request's path (probe's argument) is an https: or http: URL, read with these options. */
  remote?: NativeRemoteOptions;
}

export interface NativeExtractRequest {
  /** A non-empty path without NUL bytes; with the call option `remote`, an http(s) URL. */
  path: string;
  /**
   * At most maxTimes milliseconds 0..maxTimeMs from the file's start,
   * ascending (equal ones allowed; none for durationSync).
   */
  times: number[];
  frameType: 'intra' | 'normal';
  /** 0 (from the display aspect ratio or the video), or an integer minSize..maxSize. */
  width: number;
  /** 0 (from the display aspect ratio or the video), or an integer minSize..maxSize. */
  height: number;
  /** Decoder threads, an integer 0..maxThreads; 0: FFmpeg's choice. */
  threads: number;
  /** Run on this thread's cached open file when it is the same file, and keep it cached. */
  reuse?: boolean;
  /** A series: no frame for times at or past the duration. */
  stopAtEnd?: boolean;
  /** Skip decoding unreferenced frames before each target (default true; off only to prove it changes nothing). */
  skipNonReference?: boolean;
  /**
   * SPEC section 5, for the first time only: when its frame is black (more
   * than blackLevel percent of pixels with 8-bit luma below pixelThreshold,
   * or all of them), take the first frame within searchMs that is not
   * (keyframes only in intra mode); if there is none, keep it. blackLevel:
   * minBlackLevel..maxBlackLevel; pixelThreshold: an integer
   * 0..maxPixelThreshold; searchMs: 0..maxBlackSearchMs, absent: 5000.
   */
  blackFrames?: { blackLevel: number; pixelThreshold: number; searchMs?: number };
}

export interface NativeFrame {
  requestedMs: number;
  timeMs: number;
  keyframe: boolean;
  width: number;
  height: number;
  /** Tightly packed RGB, width * height * 3 bytes. */
  rgb: Buffer;
}

/** probe()'s answer as the binding gives it: everything but `hdr`, which TypeScript derives. */
export type NativeProbe = Omit<ProbeResult, 'hdr'>;

export interface NativeAddon {
  setErrorClass(errorClass: typeof SnapshotError): void;
  /** The bounds requests are held to; every field of NATIVE_LIMITS, within what the C++ takes. */
  setLimits(limits: NativeLimits): void;
  probeSync(path: string, options?: NativeCallOptions): NativeProbe;
  probe(path: string, options?: NativeCallOptions): Promise<NativeProbe>;
  extractFramesSync(request: NativeExtractRequest, options?: NativeCallOptions): NativeFrame[];
  extractFrames(request: NativeExtractRequest, options?: NativeCallOptions): Promise<NativeFrame[]>;
  /** The duration (ms, null when unknown) from the open file `request` would use (with `reuse`, kept open for it). */
  durationSync(request: NativeExtractRequest, options?: NativeCallOptions): number | null;
  /**
   * Drops this environment's kept-open file (the one `reuse` calls share), so
   * an idle worker keeps no demuxer or decoder pinned; a call running on it
   * puts it back when it ends. With `reuseKey`, only a URL kept open under
   * that key is dropped.
   */
  releaseCachedFile(reuseKey?: string): void;
  /**
   * Frees the pixels behind a frame's `rgb` buffer now instead of at a later
   * garbage collection (V8 does not see that memory); the buffer is empty
   * afterwards. Buffers it did not make are left alone.
   */
  releaseFramePixels(pixels: Buffer): void;
  /** Bytes of frame pixels handed to JavaScript and not yet freed, in this process. */
  framePixelBytesHeld(): number;
  /** What the addon did to glibc's malloc when it loaded (FRAMESNAP_MALLOC_TUNING=0 or the user's own settings: nothing). */
  mallocTuning(): {
    applied: boolean;
    reason: string | null;
    arenaMax: number;
    mmapThresholdBytes: number;
    largeAllocationsMapped: boolean;
  };
  versions(): { ffmpeg: string; libavformat: string; libavcodec: string; libswscale: string; libavutil: string };
}

let addon: NativeAddon | undefined;

export function nativeAddon(): NativeAddon {
  if (addon === undefined) {
    const require = createRequire(import.meta.url);
    const load = require('node-gyp-build') as (root: string) => NativeAddon;
    const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
    const loaded = load(packageRoot);
    loaded.setErrorClass(SnapshotError);
    loaded.setLimits(NATIVE_LIMITS);
    addon = loaded;
  }
  return addon;
}
