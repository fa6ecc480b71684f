/**
 * The low-level, idiomatic API: probe a file, take one or many JPEG snapshots.
 * Decoding runs in the native core on libuv's thread pool; sharp encodes.
 */
import { ErrorCodes, SnapshotError } from './errors.js';
import { encodeJpeg, preloadEncoder } from './encode.js';
import { nativeAddon, type NativeCallOptions, type NativeFrame, type NativeProbe } from './native.js';
import {
  resolveSnapshotOptions,
  resolveSnapshotsOptions,
  type ResolvedOptions,
  type SnapshotOptions,
  type SnapshotsOptions,
} from './options.js';
import { expectPath, invalid } from './validate.js';

export interface ProbeResult extends NativeProbe {
  /** PQ or HLG transfer: snapshots are not tone-mapped, so their colours are approximate. */
  hdr: boolean;
}

const HDR_TRANSFERS = new Set(['smpte2084', 'arib-std-b67']);

function withHdr(probed: NativeProbe): ProbeResult {
  return { ...probed, hdr: HDR_TRANSFERS.has(probed.colorTransfer) };
}

export interface Snapshot {
  /** The time asked for, in milliseconds. */
  requestedMs: number;
  /** The presentation time of the frame taken, in milliseconds from the file's start. */
  timeMs: number;
  keyframe: boolean;
  width: number;
  height: number;
  jpeg: Buffer;
}

export interface ProbeOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Shared-memory cancellation flag for one native call, wired to an AbortSignal. */
export class CallControl {
  private readonly detach: () => void;

  /** `abort` may be a flag shared with another thread that waits on this call. */
  constructor(
    signal: AbortSignal | undefined,
    readonly abort: Int32Array = new Int32Array(new SharedArrayBuffer(4)),
  ) {
    const cancel = (): void => {
      Atomics.store(this.abort, 0, 1);
    };
    if (signal?.aborted) cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    this.detach = () => signal?.removeEventListener('abort', cancel);
  }

  nativeOptions(timeoutMs: number): NativeCallOptions {
    return { abort: this.abort, timeoutMs };
  }

  close(): void {
    this.detach();
  }
}

function resolveProbeOptions(options: ProbeOptions): { timeoutMs: number; signal?: AbortSignal } {
  if (options === null || typeof options !== 'object') throw invalid('an options object', 'options', options);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw invalid('an AbortSignal', 'signal', options.signal);
  }
  const timeoutMs = options.timeoutMs ?? 0;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) throw invalid('a positive number', 'timeoutMs', timeoutMs);
  return { timeoutMs, signal: options.signal };
}

export async function probe(path: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const file = expectPath('path', path);
  const { timeoutMs, signal } = resolveProbeOptions(options);
  const control = new CallControl(signal);
  try {
    return withHdr(await nativeAddon().probe(file, control.nativeOptions(timeoutMs)));
  } finally {
    control.close();
  }
}

export function probeSync(path: string, options: Omit<ProbeOptions, 'signal'> = {}): ProbeResult {
  const file = expectPath('path', path);
  const { timeoutMs } = resolveProbeOptions(options);
  return withHdr(nativeAddon().probeSync(file, { timeoutMs }));
}

function pastTheEnd(path: string, requestedMs: number): SnapshotError {
  return new SnapshotError(
    ErrorCodes.ResourceContentBad,
    `No frame at or after ${requestedMs} ms in ${path}: the time is past the last frame`,
  );
}

/**
 * Decodes and encodes the frames for already validated options; the sync
 * twins run this same function in a worker thread.
 */
export async function takeSnapshots(path: string, options: ResolvedOptions, control: CallControl): Promise<Snapshot[]> {
  const startedAt = Date.now();
  const distinctTimes = [...new Set(options.times)].sort((a, b) => a - b);
  const decoding = nativeAddon().extractFrames(
    {
      path,
      times: distinctTimes,
      frameType: options.frameType,
      width: options.width,
      height: options.height,
      threads: options.threads,
      // Keep the file open on this thread: the next call on it skips the open
      // and, for later times, decodes on instead of seeking.
      reuse: true,
    },
    control.nativeOptions(options.timeoutMs),
  );
  preloadEncoder();
  const frames = await decoding;
  if (frames.length < distinctTimes.length) {
    throw pastTheEnd(path, distinctTimes[frames.length]!);
  }
  // Times that land on one frame share its JPEG.
  const jpegByFrameTime = new Map<number, Promise<Buffer>>();
  const byRequestedTime = new Map<number, { frame: NativeFrame; jpeg: Promise<Buffer> }>();
  for (const frame of frames) {
    let jpeg = jpegByFrameTime.get(frame.timeMs);
    if (jpeg === undefined) {
      jpeg = encodeJpeg(frame, options.quality);
      jpegByFrameTime.set(frame.timeMs, jpeg);
    }
    byRequestedTime.set(frame.requestedMs, { frame, jpeg });
  }
  const jpegs = new Map<number, Buffer>();
  await Promise.all(
    [...byRequestedTime].map(async ([time, entry]) => {
      jpegs.set(time, await entry.jpeg);
    }),
  );
  if (Atomics.load(control.abort, 0) !== 0) {
    throw new SnapshotError(ErrorCodes.Aborted, 'the snapshot was cancelled');
  }
  if (options.timeoutMs > 0 && Date.now() - startedAt > options.timeoutMs) {
    throw new SnapshotError(ErrorCodes.SnapshotTimeOut, `the snapshot took longer than ${options.timeoutMs} ms`);
  }
  return options.times.map((time) => {
    const { frame } = byRequestedTime.get(time)!;
    return {
      requestedMs: time,
      timeMs: frame.timeMs,
      keyframe: frame.keyframe,
      width: frame.width,
      height: frame.height,
      jpeg: jpegs.get(time)!,
    };
  });
}

async function withControl<T>(signal: AbortSignal | undefined, run: (control: CallControl) => Promise<T>): Promise<T> {
  const control = new CallControl(signal);
  try {
    return await run(control);
  } finally {
    control.close();
  }
}

/** One JPEG of the frame at `options.time` (milliseconds). */
export async function snapshot(path: string, options: SnapshotOptions): Promise<Buffer> {
  const file = expectPath('path', path);
  const resolved = resolveSnapshotOptions(options);
  const [first] = await withControl(options.signal, (control) => takeSnapshots(file, resolved, control));
  return first!.jpeg;
}

/** Many JPEGs from one open of the file, returned in the order of `options.times`. */
export async function snapshots(path: string, options: SnapshotsOptions): Promise<Snapshot[]> {
  const file = expectPath('path', path);
  const resolved = resolveSnapshotsOptions(options);
  return withControl(options.signal, (control) => takeSnapshots(file, resolved, control));
}
