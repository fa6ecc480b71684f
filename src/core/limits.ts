/**
 * Every bound framesnap checks, in one place: the TypeScript side validates
 * each parameter against these (validate.ts's one message shape), and hands
 * the native side the plain frozen NATIVE_LIMITS once, so the C++ binding
 * checks only invariants of an already validated request, never a second,
 * different set of limits.
 *
 * Resource limits, in the spirit of sharp's `limitInputPixels`: every size a
 * request or a media file can make is checked against one of these before a
 * buffer of that size is allocated. Each is an option with a safe default;
 * the defaults admit every real video up to 8K (7680x4320) and square 8192.
 */
import { expectInteger } from './validate.js';

/** Largest side of any image framesnap makes (JPEG's and sharp's safe bound). */
export const MAX_IMAGE_SIDE = 16383;
/**
 * The largest AVIF image, in pixels (4096 x 4096). AVIF's encoder takes about
 * 0.65 s per megapixel at the effort framesnap uses, and sharp cannot stop an
 * encode once started: an 8192 x 8192 sprite sheet would hold a worker (and a
 * close()) for about 45 s. JPEG, WebP and PNG have no such bound.
 */
export const MAX_AVIF_PIXELS = 4096 * 4096;

/** SPEC section 3: a requested output width or height is 8..4096 pixels. */
export const MIN_SIZE = 8;
export const MAX_SIZE = 4096;
/** One low-level call decodes at most this many times (a 2-hour video at 1 image a second). */
export const MAX_TIMES = 7200;
/** Far enough for any real video (about 31 years), small enough to stay exact in a double. */
export const MAX_TIME_MS = 1e12;
/** Longest deadline a call may be given: a day, in milliseconds. */
export const MAX_TIMEOUT_MS = 24 * 3600 * 1000;
/** Image quality (JPEG, WebP, AVIF): 1..100, default 90. */
export const MIN_QUALITY = 1;
export const MAX_QUALITY = 100;
export const DEFAULT_QUALITY = 90;
/** Decoder threads: 0 (FFmpeg chooses) .. 64. */
export const MAX_THREADS = 64;
/** Most images one job may produce (the cloud API's SnapshotConfig.Num bound). */
export const MAX_NUM = 10_000;
/** SPEC section 5: BlackLevel is a percentage, 30..100; a pixel is black below PixelBlackThreshold, 0..255 (8-bit luma). */
export const MIN_BLACK_LEVEL = 30;
export const MAX_BLACK_LEVEL = 100;
export const MAX_PIXEL_BLACK_THRESHOLD = 255;
/** How far past the first time the search for a frame that is not black may go, in milliseconds. */
export const MAX_BLACK_SEARCH_MS = 3_600_000;

export interface Limits {
  /** Decoded frame width * height (the coded size). Default 8192 * 8192. */
  limitInputPixels: number;
  /** Output image width * height, after aspect ratio, rotation and requested size. Default 8192 * 8192. */
  limitOutputPixels: number;
  /** One sprite sheet's width * height (job API only). Default 8192 * 8192. */
  limitSpritePixels: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  limitInputPixels: 8192 * 8192,
  limitOutputPixels: 8192 * 8192,
  limitSpritePixels: 8192 * 8192,
});

export const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as (keyof Limits)[];

/** The largest value a pixel limit may be set to: 2^31 - 1 pixels (a side of 46340). */
export const MAX_PIXEL_LIMIT = 2 ** 31 - 1;

/** Reads the limits present in `options` (own properties only); absent ones take their default. */
export function resolveLimits(options: Partial<Record<keyof Limits, unknown>>): Limits {
  const resolved = { ...DEFAULT_LIMITS };
  for (const name of LIMIT_NAMES) {
    if (!Object.hasOwn(options, name) || options[name] === undefined) continue;
    resolved[name] = expectInteger(name, options[name], 1, MAX_PIXEL_LIMIT);
  }
  return resolved;
}

/**
 * The bounds the native binding holds a request to, handed to it once when
 * the addon loads: everything TypeScript sends is already inside them (in
 * milliseconds and pixels), so a request outside them is a bug on this side,
 * refused by the binding as an InternalError, not a second validation.
 */
export const NATIVE_LIMITS = Object.freeze({
  /** A requested width or height: 0 (follow the video) or MIN_SIZE..MAX_SIZE. */
  minSize: MIN_SIZE,
  maxSize: MAX_SIZE,
  /** Any output image's side. */
  maxImageSide: MAX_IMAGE_SIDE,
  /** Times in milliseconds: 0..maxTimeMs, ascending. */
  maxTimeMs: MAX_TIME_MS,
  /** Times in one request. */
  maxTimes: MAX_NUM,
  /** threads: 0..maxThreads. */
  maxThreads: MAX_THREADS,
  /** limitInputPixels and limitOutputPixels: 1..maxPixelLimit; absent: defaultPixelLimit. */
  maxPixelLimit: MAX_PIXEL_LIMIT,
  defaultPixelLimit: DEFAULT_LIMITS.limitInputPixels,
  /** timeoutMs: 0 (none) .. maxTimeoutMs. */
  maxTimeoutMs: MAX_TIMEOUT_MS,
  /** blackFrames.blackLevel (percent), .pixelThreshold (8-bit luma) and .searchMs. */
  minBlackLevel: MIN_BLACK_LEVEL,
  maxBlackLevel: MAX_BLACK_LEVEL,
  maxPixelThreshold: MAX_PIXEL_BLACK_THRESHOLD,
  maxBlackSearchMs: MAX_BLACK_SEARCH_MS,
});

export type NativeLimits = typeof NATIVE_LIMITS;
