/**
 * The low-level API's options, validated once at the edge and turned into
 * frozen plain objects with units fixed (milliseconds, pixels).
 */
import { ErrorCodes, SnapshotError } from './errors.js';
import { expectInteger, expectNumber, expectOneOf, invalid, rejectUnknownKeys } from './validate.js';

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
}

const COMMON_KEYS = ['frameType', 'width', 'height', 'quality', 'timeoutMs', 'signal', 'threads'];

function resolveCommon(options: CommonOptions, times: number[]): ResolvedOptions {
  const optional = (name: keyof CommonOptions, check: (value: unknown) => number, fallback: number): number =>
    options[name] === undefined ? fallback : check(options[name]);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw invalid('an AbortSignal', 'signal', options.signal);
  }
  const frameType = options.frameType === undefined ? 'intra' : expectOneOf('frameType', options.frameType, FRAME_TYPES);
  return Object.freeze({
    times: Object.freeze(times),
    frameType,
    width: optional('width', (value) => expectInteger('width', value, MIN_SIZE, MAX_SIZE), 0),
    height: optional('height', (value) => expectInteger('height', value, MIN_SIZE, MAX_SIZE), 0),
    quality: optional('quality', (value) => expectInteger('quality', value, 1, 100), 90),
    timeoutMs: optional('timeoutMs', (value) => expectNumber('timeoutMs', value, 1, 24 * 3600 * 1000), 0),
    threads: optional('threads', (value) => expectInteger('threads', value, 0, 64), frameType === 'intra' ? 1 : 0),
  });
}

function expectOptionsObject(name: string, options: unknown): asserts options is Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalid('an options object', name, options);
  }
}

export function resolveSnapshotOptions(options: SnapshotOptions): ResolvedOptions {
  expectOptionsObject('options', options);
  rejectUnknownKeys('snapshot options', options, ['time', ...COMMON_KEYS]);
  if (options.time === undefined) {
    throw new SnapshotError(ErrorCodes.NullValue, 'Expected a number of milliseconds for time but received undefined');
  }
  return resolveCommon(options, [expectNumber('time', options.time, 0, MAX_TIME_MS)]);
}

export function resolveSnapshotsOptions(options: SnapshotsOptions): ResolvedOptions {
  expectOptionsObject('options', options);
  rejectUnknownKeys('snapshots options', options, ['times', ...COMMON_KEYS]);
  const { times } = options;
  if (!Array.isArray(times) || times.length === 0 || times.length > MAX_TIMES) {
    throw invalid(`an array of 1 to ${MAX_TIMES} times in milliseconds`, 'times', times);
  }
  return resolveCommon(
    options,
    times.map((time, index) => expectNumber(`times[${index}]`, time, 0, MAX_TIME_MS)),
  );
}
