/**
 * The low-level, idiomatic API: probe a file, take one or many snapshots
 * (JPEG, WebP, AVIF or PNG). Decoding runs in the native core on libuv's
 * thread pool; sharp encodes.
 *
 * Every failure about the file names it: "<path>: <reason>", the path
 * shortened (the native core never puts a path in its messages). Every
 * failure leaves a public entry point with the caller's stack (callerStack).
 */
import { randomUUID } from 'node:crypto';

import { debug } from './debug.js';
import {
  aboutSubject,
  callerStack,
  ErrorCodes,
  shortenSubject,
  SnapshotError,
  toSnapshotError,
  withCallerStack,
  type CallerStack,
} from './errors.js';
import { encodeImage, preloadEncoder } from './encode.js';
import type { ImageFormat } from './formats.js';
import type { ProbeResult } from './probe-result.js';
import { NETWORK_OPTION_NAMES, remoteFor, resolveInput, resolveNetworkOptions, type NetworkOptions, type ResolvedInput } from './input.js';
import { nativeAddon, type NativeCallOptions, type NativeFrame, type NativeProbe, type NativeRemoteOptions } from './native.js';
import {
  CALL_LIMIT_NAMES,
  expectSignal,
  optionsObject,
  resolveCallLimits,
  resolveSnapshotOptions,
  resolveSnapshotsOptions,
  resolveTimeout,
  type CallLimits,
  type ResolvedOptions,
  type SnapshotOptions,
  type SnapshotsOptions,
} from './options.js';
import { invalid } from './validate.js';

export type { ProbeResult };

const HDR_TRANSFERS = new Set(['smpte2084', 'arib-std-b67']);

function withHdr(probed: NativeProbe): ProbeResult {
  return { ...probed, hdr: HDR_TRANSFERS.has(probed.colorTransfer) };
}

/** The frame an image shows (sharp's `info`). */
export interface SnapshotInfo {
  /** The presentation time of the frame taken, in milliseconds from the file's start. */
  timeMs: number;
  keyframe: boolean;
  /** The image's size in pixels. */
  width: number;
  height: number;
  format: ImageFormat;
}

/** What snapshot() resolves with `resolveWithObject: true`. */
export interface SnapshotResult {
  data: Buffer;
  info: SnapshotInfo;
}

/** One image of snapshots(). */
export interface Snapshot extends SnapshotInfo {
  /** The time asked for, in milliseconds. */
  requestedMs: number;
  /** The image, in `format`. */
  data: Buffer;
  /** @deprecated the same Buffer as `data` (whatever the format); from when every image was a JPEG. */
  jpeg: Buffer;
}

export interface ProbeOptions extends NetworkOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Largest decoded frame (width * height) accepted; default 8192 * 8192. */
  limitInputPixels?: number;
  /** Largest display size (width * height, after aspect ratio and rotation) accepted; default 8192 * 8192. */
  limitOutputPixels?: number;
}

const CANCELLED = 'the snapshot was cancelled';
export const PAST_DEADLINE = 'the snapshot ran past its deadline';

/** Shared-memory cancellation flag for one call, wired to an AbortSignal. */
export class CallControl {
  private readonly detach: () => void;
  private onCancel: (() => void) | undefined;
  /** The signal's reason, once it has fired. */
  private reason: unknown;

  /** `abort` may be a flag shared with another thread that waits on this call. */
  constructor(
    signal: AbortSignal | undefined,
    readonly abort: Int32Array = new Int32Array(new SharedArrayBuffer(4)),
  ) {
    const cancel = (): void => {
      this.reason = signal?.reason;
      this.cancel();
    };
    if (signal?.aborted) cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    this.detach = () => signal?.removeEventListener('abort', cancel);
  }

  get cancelled(): boolean {
    return Atomics.load(this.abort, 0) !== 0;
  }

  /** Stops the native work at its next check, and tells whoever waits (see settleInTime). */
  cancel(): void {
    Atomics.store(this.abort, 0, 1);
    this.onCancel?.();
  }

  /** The error of a cancelled call: Aborted, the signal's reason as its cause. */
  cancelledError(): SnapshotError {
    return new SnapshotError(ErrorCodes.Aborted, CANCELLED, { cause: this.reason });
  }

  /** Calls `listener` when the call is cancelled from this thread (at once if it already is). */
  whenCancelled(listener: (() => void) | undefined): void {
    this.onCancel = listener;
    if (listener !== undefined && this.cancelled) listener();
  }

  /** The native call's options; `remote` for a URL input. */
  nativeOptions(timeoutMs: number, limits: CallLimits, remote: { remote?: NativeRemoteOptions } = {}): NativeCallOptions & CallLimits {
    return {
      abort: this.abort,
      timeoutMs,
      limitInputPixels: limits.limitInputPixels,
      limitOutputPixels: limits.limitOutputPixels,
      ...remote,
    };
  }

  close(): void {
    this.detach();
    this.onCancel = undefined;
  }
}

/**
 * Settles with `work`, or with SnapshotTimeOut at the deadline, or with
 * Aborted as soon as the call is cancelled, whichever comes first: work that
 * cannot be stopped at once (a sharp encode under way, a blocking read) is
 * left to finish in the background, its result dropped, while the native
 * core stops at its next check of the flag set here.
 */
function settleInTime<T>(control: CallControl, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = (error: SnapshotError): void => {
      clearTimeout(timer);
      control.whenCancelled(undefined);
      reject(error);
    };
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        stop(new SnapshotError(ErrorCodes.SnapshotTimeOut, PAST_DEADLINE));
        control.cancel();
      }, timeoutMs);
    }
    control.whenCancelled(() => stop(control.cancelledError()));
    if (control.cancelled) return;
    work().then(
      (value) => {
        clearTimeout(timer);
        control.whenCancelled(undefined);
        resolve(value);
      },
      (error: unknown) => stop(toSnapshotError(error)),
    );
  });
}

/** A failure about the input names it; a cancellation or a timeout is about the call and does not. */
function aboutInput(error: unknown, input: ResolvedInput): SnapshotError {
  const failure = toSnapshotError(error);
  if (failure.code === ErrorCodes.Aborted || failure.code === ErrorCodes.SnapshotTimeOut) return failure;
  return aboutSubject(failure, input.subject);
}

interface ResolvedProbeOptions {
  timeoutMs: number;
  signal: AbortSignal | undefined;
  limits: CallLimits;
  network: NativeRemoteOptions;
}

function resolveProbeOptions(given: ProbeOptions, where: string): ResolvedProbeOptions {
  const options = optionsObject(where, given, PROBE_KEYS);
  return {
    timeoutMs: resolveTimeout(options['timeoutMs']),
    signal: expectSignal(options['signal']),
    limits: resolveCallLimits(options),
    network: resolveNetworkOptions(options),
  };
}

const PROBE_KEYS = ['timeoutMs', 'signal', ...CALL_LIMIT_NAMES, ...NETWORK_OPTION_NAMES];

/** The signal of an options object already validated (own property only). */
function signalOf(options: object): AbortSignal | undefined {
  return Object.hasOwn(options, 'signal') ? (options as { signal?: AbortSignal }).signal : undefined;
}

/**
 * The body of an async public entry point: checks the path or URL, then the
 * options (`resolve`), then runs `work` under a CallControl wired to the
 * options' signal; every failure leaves with the caller's stack.
 */
async function fileCall<Resolved, Result>(
  caller: CallerStack,
  path: string | URL,
  options: object,
  resolve: () => Resolved,
  work: (file: ResolvedInput, resolved: Resolved, control: CallControl) => Promise<Result>,
): Promise<Result> {
  let control: CallControl | undefined;
  try {
    const file = resolveInput('path', path);
    const resolved = resolve();
    control = new CallControl(signalOf(options));
    return await work(file, resolved, control);
  } catch (error) {
    throw withCallerStack(error, caller);
  } finally {
    control?.close();
  }
}

/** What a video file or URL holds: its format, its video stream's codec, size, duration and colour. */
export function probe(path: string | URL, options: ProbeOptions = {}): Promise<ProbeResult> {
  return fileCall(
    callerStack(probe),
    path,
    options,
    () => resolveProbeOptions(options, 'probe()'),
    async (file, { timeoutMs, limits, network }, control) => {
      debug('probe %s', shortenSubject(file.subject));
      const nativeOptions = control.nativeOptions(timeoutMs, limits, remoteFor(file, network));
      try {
        return withHdr(await settleInTime(control, timeoutMs, () => nativeAddon().probe(file.path, nativeOptions)));
      } catch (error) {
        throw aboutInput(error, file);
      }
    },
  );
}

export function probeSync(path: string | URL, options: Omit<ProbeOptions, 'signal'> = {}): ProbeResult {
  const caller = callerStack(probeSync);
  try {
    rejectSignal(options);
    const file = resolveInput('path', path);
    const { timeoutMs, limits, network } = resolveProbeOptions(options, 'probeSync()');
    debug('probeSync %s', shortenSubject(file.subject));
    const nativeOptions: NativeCallOptions & CallLimits = { timeoutMs, ...limits, ...remoteFor(file, network) };
    try {
      return withHdr(nativeAddon().probeSync(file.path, nativeOptions));
    } catch (error) {
      throw aboutInput(error, file);
    }
  } catch (error) {
    throw withCallerStack(error, caller);
  }
}

/** A blocking call cannot be aborted: a signal given to one is refused, not ignored. */
export function rejectSignal(options: unknown): void {
  if (
    options !== null &&
    typeof options === 'object' &&
    Object.hasOwn(options, 'signal') &&
    (options as { signal?: unknown }).signal !== undefined
  ) {
    throw invalid('no signal (a blocking call cannot be aborted; use timeoutMs)', 'signal', 'an AbortSignal');
  }
}

function pastTheEnd(requestedMs: number): SnapshotError {
  return new SnapshotError(ErrorCodes.ResourceContentBad, `no frame at or after ${requestedMs} ms: the time is past the last frame`);
}

/**
 * RGB decoded per native call, about: with the batch being encoded while the
 * next one decodes, a call holds about twice this in frames however many
 * times it asks for (only the JPEGs accumulate). 24 MiB is four 1080p frames,
 * enough to keep sharp's encodes running in parallel.
 */
const BATCH_RGB_BYTES = 24 * 1024 * 1024;
/** Most frames per native call (small frames: fewer calls, and a bound anyway). */
const MAX_BATCH = 8;

/** A frame taken for one time, without its pixels. */
interface Taken {
  timeMs: number;
  keyframe: boolean;
  width: number;
  height: number;
  image: Promise<Buffer>;
}

/**
 * Decodes the distinct times in ascending order, a few frames per native call
 * on the file kept open between calls (`reuse`), and encodes each batch while
 * the next one decodes; a batch's RGB is released once its images are made.
 */
async function takeInBatches(
  input: ResolvedInput,
  options: ResolvedOptions,
  control: CallControl,
  reuseKey: string,
): Promise<Map<number, Taken>> {
  const path = input.path;
  const remote = remoteFor(input, options.network, reuseKey);
  const startedAt = Date.now();
  const times = [...new Set(options.times)].sort((a, b) => a - b);
  const takenByTime = new Map<number, Taken>();
  // Times that land on one frame share its image.
  const imageByFrameTime = new Map<number, Promise<Buffer>>();
  const extract = (batch: number[]): Promise<NativeFrame[]> => {
    const remainingMs = options.timeoutMs > 0 ? Math.max(1, options.timeoutMs - (Date.now() - startedAt)) : 0;
    debug('decode %s: %d time(s) from %d ms, %s', shortenSubject(input.subject), batch.length, batch[0], options.frameType);
    return nativeAddon().extractFrames(
      {
        path,
        times: batch,
        frameType: options.frameType,
        width: options.width,
        height: options.height,
        threads: options.threads,
        // Keep the file open: the next batch skips the open and, for later
        // times, decodes on instead of seeking. (A URL is kept for this
        // call's batches only: the reuse key.)
        reuse: true,
      },
      control.nativeOptions(remainingMs, options.limits, remote),
    );
  };
  const encode = (frame: NativeFrame): Promise<Buffer> => {
    let image = imageByFrameTime.get(frame.timeMs);
    debug(
      'frame for %d ms: the %s at %d ms%s',
      frame.requestedMs,
      frame.keyframe ? 'keyframe' : 'frame',
      frame.timeMs,
      image === undefined ? '' : ', its image already made (shared)',
    );
    if (image === undefined) {
      image = encodeImage(frame, { format: options.format, quality: options.quality });
      // Awaited below; a failure while an earlier step fails is not "unhandled".
      image.catch(() => undefined);
      imageByFrameTime.set(frame.timeMs, image);
    }
    takenByTime.set(frame.requestedMs, { timeMs: frame.timeMs, keyframe: frame.keyframe, width: frame.width, height: frame.height, image });
    return image;
  };

  // The first batch is one frame: its size sets the size of the others.
  let batch = times.slice(0, 1);
  let decoding = extract(batch);
  let encoding: Promise<unknown> = Promise.resolve();
  preloadEncoder();
  for (let next = 0; ;) {
    let frames: NativeFrame[];
    try {
      frames = await decoding;
    } finally {
      // Never leave the previous batch's encodes behind, whatever happened.
      await encoding.catch(() => undefined);
    }
    await encoding;
    if (frames.length < batch.length) throw pastTheEnd(batch[frames.length]!);
    next += batch.length;
    if (control.cancelled) throw control.cancelledError();
    const frameBytes = Math.max(1, ...frames.map((frame) => frame.rgb.length));
    const batchSize = Math.min(MAX_BATCH, Math.max(1, Math.floor(BATCH_RGB_BYTES / frameBytes)));
    batch = times.slice(next, next + batchSize);
    if (batch.length > 0) {
      decoding = extract(batch);
      decoding.catch(() => undefined);
    }
    // Once every image of the batch is made or has failed (not at the first
    // failure: sharp may still be reading the others' pixels), its pixels
    // are freed at once, not at a later garbage collection: V8 does not see them.
    const encodes = frames.map(encode);
    encoding = Promise.allSettled(encodes).then(async () => {
      for (const frame of frames) nativeAddon().releaseFramePixels(frame.rgb);
      await Promise.all(encodes);
    });
    encoding.catch(() => undefined);
    if (batch.length === 0) break;
  }
  await encoding;
  return takenByTime;
}

/**
 * Decodes and encodes the frames for already validated options, in the order
 * of `options.times`; the sync twins run this same function in a worker
 * thread. Rejects at the deadline and on cancellation without waiting for
 * work under way.
 */
export async function takeSnapshots(input: ResolvedInput, options: ResolvedOptions, control: CallControl): Promise<Snapshot[]> {
  const startedAt = Date.now();
  try {
    debug(
      'snapshots of %s: %d time(s), %s, %s, %sx%s, timeout %d ms',
      shortenSubject(input.subject),
      options.times.length,
      options.frameType,
      options.format,
      options.width || 'auto',
      options.height || 'auto',
      options.timeoutMs,
    );
    const reuseKey = randomUUID();
    const takenByTime = await settleInTime(control, options.timeoutMs, () => takeInBatches(input, options, control, reuseKey)).finally(
      // A URL's connection and blocks go with the call (a local file stays open for the next call).
      () => input.url && nativeAddon().releaseCachedFile(reuseKey),
    );
    if (control.cancelled) throw control.cancelledError();
    if (options.timeoutMs > 0 && Date.now() - startedAt > options.timeoutMs) {
      throw new SnapshotError(ErrorCodes.SnapshotTimeOut, PAST_DEADLINE);
    }
    const images = new Map<number, Buffer>();
    for (const [time, taken] of takenByTime) images.set(time, await taken.image);
    return options.times.map((time) => {
      const taken = takenByTime.get(time)!;
      const data = images.get(time)!;
      return {
        requestedMs: time,
        timeMs: taken.timeMs,
        keyframe: taken.keyframe,
        width: taken.width,
        height: taken.height,
        format: options.format,
        data,
        jpeg: data,
      };
    });
  } catch (error) {
    const failure = aboutInput(error, input);
    debug(
      'snapshots of %s failed after %d ms: %s: %s',
      shortenSubject(input.subject),
      Date.now() - startedAt,
      failure.code,
      failure.message,
    );
    throw failure;
  }
}

/** The image and what it shows, as snapshot() resolves with `resolveWithObject`. */
export function snapshotResult(taken: Snapshot): SnapshotResult {
  const { timeMs, keyframe, width, height, format } = taken;
  return { data: taken.data, info: { timeMs, keyframe, width, height, format } };
}

/**
 * One image of the frame at `options.time` (milliseconds): by default the
 * exact frame (`frameType: 'normal'`) as a JPEG; with `resolveWithObject`,
 * `{ data, info }`, info saying which frame it is (its time, whether it is
 * a keyframe), its size and format.
 */
export function snapshot(path: string | URL, options: SnapshotOptions & { resolveWithObject: true }): Promise<SnapshotResult>;
export function snapshot(path: string | URL, options: SnapshotOptions & { resolveWithObject?: false | undefined }): Promise<Buffer>;
export function snapshot(path: string | URL, options: SnapshotOptions): Promise<Buffer | SnapshotResult>;
export function snapshot(path: string | URL, options: SnapshotOptions): Promise<Buffer | SnapshotResult> {
  return fileCall(
    callerStack(snapshot),
    path,
    options,
    () => resolveSnapshotOptions(options, 'snapshot()'),
    async (file, resolved, control) => {
      const [taken] = await takeSnapshots(file, resolved, control);
      return resolved.resolveWithObject ? snapshotResult(taken!) : taken!.data;
    },
  );
}

/** Many images from one open of the file, returned in the order of `options.times`. */
export function snapshots(path: string | URL, options: SnapshotsOptions): Promise<Snapshot[]> {
  return fileCall(
    callerStack(snapshots),
    path,
    options,
    () => resolveSnapshotsOptions(options, 'snapshots()'),
    (file, resolved, control) => takeSnapshots(file, resolved, control),
  );
}
