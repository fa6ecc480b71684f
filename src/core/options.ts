/**
 * The low-level API's options, validated once at the edge and turned into
 * frozen plain objects with units fixed (milliseconds, pixels).
 */
import { ErrorCodes, SnapshotError } from './errors.js';
import { IMAGE_FORMATS, type ImageFormat } from './formats.js';
import {
  DEFAULT_QUALITY,
  MAX_QUALITY,
  MAX_SIZE,
  MAX_THREADS,
  MAX_TIME_MS,
  MAX_TIMEOUT_MS,
  MAX_TIMES,
  MIN_QUALITY,
  MIN_SIZE,
  resolveLimits,
} from './limits.js';
import { NETWORK_OPTION_NAMES, resolveNetworkOptions, type NetworkOptions } from './input.js';
import type { NativeRemoteOptions } from './native.js';
import { checkKeys, expectBoolean, expectInteger, expectNumber, expectOneOf, invalid, missing, ownFields } from './validate.js';

export type FrameType = 'intra' | 'normal';
export const FRAME_TYPES: readonly FrameType[] = ['intra', 'normal'];
/** The low-level API's default: the exact frame, as `ffmpeg -ss T -i FILE` gives (the job API's is `intra`). */
export const DEFAULT_FRAME_TYPE: FrameType = 'normal';

export interface CommonOptions extends NetworkOptions {
  /**
   * `normal` (default): the exact frame at the time, as `ffmpeg -ss T -i FILE`
   * gives; `intra`: the keyframe at or before the time (faster: nothing but
   * the keyframe is decoded; the job API's default, as in the cloud API).
   */
  frameType?: FrameType;
  /** Output width in pixels (8..4096); alone, the height follows the display aspect ratio. */
  width?: number;
  /** Output height in pixels (8..4096); alone, the width follows the display aspect ratio. */
  height?: number;
  /** Image format: `jpeg` (default), `webp`, `avif` or `png`. */
  format?: ImageFormat;
  /** Quality 1..100 for jpeg, webp and avif, default 90; refused with png (lossless). */
  quality?: number;
  /** Give up after this many milliseconds with `SnapshotTimeOut`. */
  timeoutMs?: number;
  /** Cancels the call; it then rejects with code `Aborted`, the signal's reason as the error's `cause`. */
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
  /**
   * Resolve `{ data, info }` (the image and the frame it shows: its time,
   * whether it is a keyframe, its size and format) instead of the image
   * alone, as sharp's toBuffer({ resolveWithObject: true }) does.
   */
  resolveWithObject?: boolean;
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
  readonly format: ImageFormat;
  /** For jpeg, webp and avif; DEFAULT_QUALITY (unused) for png. */
  readonly quality: number;
  readonly timeoutMs: number;
  readonly threads: number;
  readonly limits: CallLimits;
  /** How a URL input is read (unused for a file). */
  readonly network: NativeRemoteOptions;
}

const COMMON_KEYS = [
  'frameType',
  'width',
  'height',
  'format',
  'quality',
  'timeoutMs',
  'signal',
  'threads',
  ...CALL_LIMIT_NAMES,
  ...NETWORK_OPTION_NAMES,
];
export const SNAPSHOT_KEYS: readonly string[] = ['time', ...COMMON_KEYS, 'resolveWithObject'];
export const SNAPSHOTS_KEYS: readonly string[] = ['times', ...COMMON_KEYS];

/** An AbortSignal or undefined. */
export function expectSignal(value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) throw invalid('an AbortSignal', 'signal', value);
  return value;
}

/** A timeoutMs option: 0 (none) when absent. */
export function resolveTimeout(value: unknown): number {
  return value === undefined ? 0 : expectNumber('timeoutMs', value, 1, MAX_TIMEOUT_MS);
}

function resolveQuality(format: ImageFormat, value: unknown): number {
  if (value === undefined) return DEFAULT_QUALITY;
  if (format === 'png') throw invalid('no quality (png is lossless)', 'quality', value);
  return expectInteger('quality', value, MIN_QUALITY, MAX_QUALITY);
}

function resolveCommon(options: Record<string, unknown>, times: number[]): ResolvedOptions {
  const optional = (name: keyof CommonOptions, check: (value: unknown) => number, fallback: number): number =>
    options[name] === undefined ? fallback : check(options[name]);
  expectSignal(options['signal']);
  const frameType = options['frameType'] === undefined ? DEFAULT_FRAME_TYPE : expectOneOf('frameType', options['frameType'], FRAME_TYPES);
  const width = optional('width', (value) => expectInteger('width', value, MIN_SIZE, MAX_SIZE), 0);
  const height = optional('height', (value) => expectInteger('height', value, MIN_SIZE, MAX_SIZE), 0);
  const format = options['format'] === undefined ? 'jpeg' : expectOneOf('format', options['format'], IMAGE_FORMATS);
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
    format,
    quality: resolveQuality(format, options['quality']),
    timeoutMs: resolveTimeout(options['timeoutMs']),
    threads: optional('threads', (value) => expectInteger('threads', value, 0, MAX_THREADS), frameType === 'intra' ? 1 : 0),
    limits,
    network: resolveNetworkOptions(options),
  });
}

/**
 * The caller's options object, own properties only (see ownFields), its keys
 * checked against `allowed`; `where` names the call ("snapshot()").
 */
export function optionsObject(where: string, options: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalid('an options object', 'options', options);
  }
  const fields = ownFields(options);
  checkKeys(fields, allowed, where);
  return fields;
}

export interface ResolvedSnapshotOptions extends ResolvedOptions {
  readonly resolveWithObject: boolean;
}

/** `where` names the call in messages: "snapshot()" or "snapshotSync()". */
export function resolveSnapshotOptions(given: SnapshotOptions, where = 'snapshot()', allowed = SNAPSHOT_KEYS): ResolvedSnapshotOptions {
  const options = optionsObject(where, given, allowed);
  if (options['time'] === undefined) throw missing('a number of milliseconds', 'time');
  const resolveWithObject =
    options['resolveWithObject'] === undefined ? false : expectBoolean('resolveWithObject', options['resolveWithObject']);
  const resolved = resolveCommon(options, [expectNumber('time', options['time'], 0, MAX_TIME_MS)]);
  return Object.freeze({ ...resolved, resolveWithObject });
}

/** `where` names the call in messages: "snapshots()" or "snapshotsSync()". */
export function resolveSnapshotsOptions(given: SnapshotsOptions, where = 'snapshots()', allowed = SNAPSHOTS_KEYS): ResolvedOptions {
  const options = optionsObject(where, given, allowed);
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
