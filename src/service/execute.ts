/**
 * Runs one snapshot job where decoding may block: in a pool worker, or in
 * the helper thread behind submitSnapshotJobSync. The series is decoded in
 * one pass over one open file (the native extractor is reused between
 * batches), encoded by sharp while the next batch decodes, and written
 * atomically. A failed job removes what it wrote.
 */
import type { MessagePort } from 'node:worker_threads';

import { ErrorCodes, SnapshotError } from '../errors.js';
import { encodeJpeg } from '../encode.js';
import { nativeAddon, type NativeFrame } from '../native.js';
import type { FrameType } from '../options.js';
import { nameContext, renderName } from './names.js';
import type { TimePlan } from './request.js';
import { checkKey, prepareOutputPath, removeQuietly, temporaryPathFor, writeAtomically } from './storage.js';

export interface JobTask {
  jobId: string;
  /** Real path of the input, already confined to its bucket. */
  inputPath: string;
  /** The input key, URL-decoded. */
  inputKey: string;
  outputBucketDir: string;
  /** The output key template, URL-decoded. */
  outputTemplate: string;
  times: TimePlan;
  frameType: FrameType;
  width: number;
  height: number;
  quality: number;
  /** Decoder threads: 0 = FFmpeg's choice (a lone job), 1 when the pool is busy. */
  threads: number;
  /** 0 = no deadline. */
  timeoutMs: number;
  /** Shared flag; non-zero cancels. */
  abort: Int32Array;
  /**
   * Where the job tells the service what it writes, before it writes it, so
   * the service can remove it if the worker dies mid-job.
   */
  progress?: MessagePort;
}

/** A temporary file is about to be written; a final object has been renamed into place. */
export type ProgressMessage = { type: 'writing'; temporary: string } | { type: 'written'; path: string };

export interface WrittenImage {
  key: string;
  /** Where it was written. */
  path: string;
  timeMs: number;
}

export interface JobOutcome {
  images: WrittenImage[];
}

/** Frames decoded per native call: bounds memory (a 1080p frame is 6 MB of RGB). */
const BATCH = 4;

function planTimes(task: JobTask): number[] {
  const plan = task.times;
  if (plan.kind === 'single') return [plan.timeMs];
  if (plan.kind === 'series') return Array.from({ length: plan.count }, (_, i) => plan.startMs + i * plan.intervalMs);
  const durationMs = nativeAddon().probeSync(task.inputPath, { abort: task.abort, timeoutMs: task.timeoutMs }).durationMs;
  if (durationMs === null) {
    throw new SnapshotError(ErrorCodes.ResourceContentBad, `the duration of ${task.inputKey} is unknown, so the series has no end`);
  }
  const span = Math.max(0, durationMs - plan.startMs);
  if (plan.kind === 'spread') return Array.from({ length: plan.count }, (_, i) => plan.startMs + (i * span) / plan.count);
  const count = Math.ceil(span / plan.intervalMs);
  return Array.from({ length: count }, (_, i) => plan.startMs + i * plan.intervalMs);
}

function cancelled(task: JobTask): boolean {
  return Atomics.load(task.abort, 0) !== 0;
}

export async function executeJob(task: JobTask): Promise<JobOutcome> {
  const startedAt = Date.now();
  const series = task.times.kind !== 'single';
  const context = nameContext(task.inputKey);
  const written: string[] = [];
  const images: WrittenImage[] = [];
  try {
    const times = planTimes(task);
    let pendingWrites: Promise<void>[] = [];
    for (let first = 0; first < times.length; first += BATCH) {
      const remainingMs = task.timeoutMs > 0 ? Math.max(1, task.timeoutMs - (Date.now() - startedAt)) : 0;
      const batch = times.slice(first, first + BATCH);
      const frames: NativeFrame[] = nativeAddon().extractFramesSync(
        {
          path: task.inputPath,
          times: batch,
          frameType: task.frameType,
          width: task.width,
          height: task.height,
          threads: task.threads,
          reuse: true,
          stopAtEnd: series,
        },
        { abort: task.abort, timeoutMs: remainingMs },
      );
      // The previous batch's JPEGs were encoding while this one decoded.
      await Promise.all(pendingWrites);
      pendingWrites = frames.map((frame, offset) => {
        const count = first + offset + 1;
        const key = checkKey(renderName(task.outputTemplate, context, count, frame.timeMs), 'SnapshotConfig.OutputFile.Object');
        const path = prepareOutputPath(task.outputBucketDir, key, 'SnapshotConfig.OutputFile.Object');
        images.push({ key, path, timeMs: frame.timeMs });
        const temporary = temporaryPathFor(path);
        post(task, { type: 'writing', temporary });
        return encodeJpeg(frame, task.quality).then(async (jpeg) => {
          await writeAtomically(path, jpeg, temporary);
          written.push(path);
          post(task, { type: 'written', path });
        });
      });
      if (frames.length < batch.length) break; // the end of the video
    }
    await Promise.all(pendingWrites);
    if (images.length === 0) {
      throw new SnapshotError(
        ErrorCodes.ResourceContentBad,
        `No frame at or after ${times[0] ?? 0} ms in ${task.inputKey}: the time is past the last frame`,
      );
    }
    if (cancelled(task)) throw new SnapshotError(ErrorCodes.Aborted, 'the job was cancelled');
    return { images };
  } catch (error) {
    await removeQuietly(written);
    throw withoutServerPaths(error, task);
  }
}

function post(task: JobTask, message: ProgressMessage): void {
  task.progress?.postMessage(message);
}

/** Messages name objects by their keys: the server's folders are not the caller's business. */
function withoutServerPaths(error: unknown, task: JobTask): unknown {
  if (!(error instanceof SnapshotError) || !error.message.includes(task.inputPath)) return error;
  return new SnapshotError(error.code, error.message.replaceAll(task.inputPath, task.inputKey));
}
