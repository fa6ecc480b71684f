/**
 * The low-level API's options, validated once at the edge and turned into
 * frozen plain objects with units fixed (milliseconds, pixels).
 */
import { ErrorCodes, SnapshotError } from './errors.js';
import { resolveLimits } from './limits.js';
import { expectInteger, expectNumber, expectOneOf, invalid, ownFields, rejectUnknownKeys } from './validate.js';

export type FrameType = 'intra' | 'normal';
export const FRAME_TYPES: readonly FrameType[] = ['intra', 'normal'];

/** SPEC section 3: output sizes are 8..4096 pixels. */
export const MIN_SIZE = 8;
export const MAX_SIZE = 4096;
/** One call decodes at most this many times (a 2-hour video at 1 image a second). */
export const MAX_TIMES = 7200;
/** Far enough for any real video (about 31 years), small enough to stay exact in a double. */
export const MAX_TIME_MS = 1e12;

export interface CommonOptions {
  /** `intra` (default, as in the cloud API): the keyframe at or before the time; `normal`: the exact frame. */
  frameType?: FrameType;
  /** Output width in pixels (8..4096); alone, the height follows the display aspect ratio. */
  width?: number;
  /** Output height in pixels (8..4096); alone, the width follows the display aspect ratio. */
  height?: number;
  /** JPEG quality 1..100, default 90. */
  quality?: number;
  /** Give up after this many milliseconds with `SnapshotTimeOut`. */
  timeoutMs?: number;
  /** Cancels the call; it then rejects with code `Aborted`. */
  signal?: AbortSignal;
  /**
   * Decoder threads; 0 lets FFmpeg choose. By default one thread for `intra`
   * (a lone keyframe gains nothing from threads, and starting them costs
   * more than the decode) and FFmpeg's choice for `normal`.
   */
  threads?: number;
  /**
   * Largest decoded frame (width * height, the coded size) the call accepts;
   * a larger video is refused with ResourceContentBad before anything of its
   * size is allocated. Default 8192 * 8192.
   */
  limitInputPixels?: number;
  /**
   * Largest image (width * height, after aspect ratio, rotation and the
   * requested width and height) the call makes; larger is refused with
   * OutOfRange. Default 8192 * 8192.
   */
  limitOutputPixels?: number;
}

/** The pixel limits of the low-level API (the job API adds limitSpritePixels). */
export interface CallLimits {
  readonly limitInputPixels: number;
  readonly limitOutputPixels: number;
}

export const CALL_LIMIT_NAMES = ['limitInputPixels', 'limitOutputPixels'] as const;

/** The limits in `options` (own properties; absent ones take their defaults). */
export function resolveCallLimits(options: Record<string, unknown>): CallLimits {
  const { limitInputPixels, limitOutputPixels } = resolveLimits({
    limitInputPixels: options['limitInputPixels'],
    limitOutputPixels: options['limitOutputPixels'],
  });
  return Object.freeze({ limitInputPixels, limitOutputPixels });
}

export interface SnapshotOptions extends CommonOptions {
  /** Milliseconds from the start of the file. */
  time: number;
}

export interface SnapshotsOptions extends CommonOptions {
  /** Milliseconds from the start of the file, in any order. */
  times: number[];
}

export interface ResolvedOptions {
  readonly times: readonly number[];
  readonly frameType: FrameType;
  readonly width: number;
  readonly height: number;
  readonly quality: number;
  readonly timeoutMs: number;
  readonly threads: number;
  readonly limits: CallLimits;
}

const COMMON_KEYS = ['frameType', 'width', 'height', 'quality', 'timeoutMs', 'signal', 'threads', ...CALL_LIMIT_NAMES];

/** An AbortSignal or undefined. */
export function expectSignal(value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) throw invalid('an AbortSignal', 'signal', value);
  return value;
}

function resolveCommon(options: Record<string, unknown>, times: number[]): ResolvedOptions {
  const optional = (name: keyof CommonOptions, check: (value: unknown) => number, fallback: number): number =>
    options[name] === undefined ? fallback : check(options[name]);
  expectSignal(options['signal']);
  const frameType = options['frameType'] === undefined ? 'intra' : expectOneOf('frameType', options['frameType'], FRAME_TYPES);
  const width = optional('width', (value) => expectInteger('width', value, MIN_SIZE, MAX_SIZE), 0);
  const height = optional('height', (value) => expectInteger('height', value, MIN_SIZE, MAX_SIZE), 0);
  const limits = resolveCallLimits(options);
  if (width > 0 && height > 0 && width * height > limits.limitOutputPixels) {
    throw new SnapshotError(
      ErrorCodes.OutOfRange,
      `the requested images are ${width}x${height} (${width * height} pixels), over limitOutputPixels (${limits.limitOutputPixels})`,
    );
  }
  return Object.freeze({
    times: Object.freeze(times),
    frameType,
    width,
    height,
    quality: optional('quality', (value) => expectInteger('quality', value, 1, 100), 90),
    timeoutMs: optional('timeoutMs', (value) => expectNumber('timeoutMs', value, 1, 24 * 3600 * 1000), 0),
    threads: optional('threads', (value) => expectInteger('threads', value, 0, 64), frameType === 'intra' ? 1 : 0),
    limits,
  });
}

/** The caller's options object, own properties only (see ownFields). */
export function optionsObject(name: string, options: unknown): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalid('an options object', name, options);
  }
  return ownFields(options);
}

export function resolveSnapshotOptions(given: SnapshotOptions): ResolvedOptions {
  const options = optionsObject('options', given);
  rejectUnknownKeys('snapshot options', options, ['time', ...COMMON_KEYS]);
  if (options['time'] === undefined) {
    throw new SnapshotError(ErrorCodes.NullValue, 'Expected a number of milliseconds for time but received undefined');
  }
  return resolveCommon(options, [expectNumber('time', options['time'], 0, MAX_TIME_MS)]);
}

export function resolveSnapshotsOptions(given: SnapshotsOptions): ResolvedOptions {
  const options = optionsObject('options', given);
  rejectUnknownKeys('snapshots options', options, ['times', ...COMMON_KEYS]);
  const times = options['times'];
  if (!Array.isArray(times) || times.length === 0 || times.length > MAX_TIMES) {
    throw invalid(`an array of 1 to ${MAX_TIMES} times in milliseconds`, 'times', times);
  }
  return resolveCommon(
    options,
    // Array.from visits the holes of a sparse array, which map would skip.
    Array.from(times as unknown[], (time, index) => expectNumber(`times[${index}]`, time, 0, MAX_TIME_MS)),
  );
}
