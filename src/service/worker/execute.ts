/**
 * Runs one snapshot job where decoding may block: in a pool worker, or in
 * the helper thread behind submitSnapshotJobSync. The series is decoded in
 * one pass over one open file (the native extractor is reused between
 * batches); while the next batch decodes, sharp encodes the images (in the
 * format OutputFile.Object's extension names) and
 * builds the sprite sheets (SPEC section 6) of the last one, and everything
 * is written atomically. The WebVTT track is written last. A failed job
 * removes everything it wrote that is still its own (see output-writer.ts);
 * a cancelled one (the service's deadline passed) stops at its next look at
 * the flag and puts nothing more in place.
 */
import { randomUUID } from 'node:crypto';

import { ErrorCodes, SnapshotError, aboutSubject, shortenSubject, toSnapshotError } from '../../core/errors.js';
import { debug } from '../../core/debug.js';
import { encodeImage } from '../../core/encode.js';
import { MAX_NUM, MAX_TIME_MS, type Limits } from '../../core/limits.js';
import { nativeAddon, type NativeCallOptions, type NativeExtractRequest, type NativeFrame } from '../../core/native.js';
import { nameContext, renderName, type NameContext } from '../request/names.js';
import { cancelledError, OutputWriter, type Announce } from './output-writer.js';
import { SpriteSheets } from './sprites.js';
import { formatVtt, vttKey, type ThumbnailEntry } from './vtt.js';
import type { JobOutcome, JobTask, OutputBucket, OwnedFile, VttPlan, WrittenImage } from '../types.js';

/** Every object a job wrote, with its inode: what to remove if it must not stand after all. */
export function outcomeFiles(outcome: JobOutcome): OwnedFile[] {
  return [...outcome.images, ...outcome.sprites, ...(outcome.vtt === undefined ? [] : [outcome.vtt])].map(({ path, dev, ino, stored }) => ({
    path,
    dev,
    ino,
    ...(stored === undefined ? {} : { stored }),
  }));
}

/**
 * Frames decoded per native call: bounds memory (a 1080p frame is 6 MB of
 * RGB, and one batch encodes while the next decodes). Measured on the 1080p
 * benchmark clip, 2 instead of 4 cut the peak RSS of a 2-worker pool by about
 * 25 MB at no cost in speed.
 */
const BATCH = 2;
const OUTPUT_WHERE = 'SnapshotConfig.OutputFile.Object';

/** An image taken: the time asked for, the frame's own time. */
interface TakenImage {
  requestedMs: number;
  timeMs: number;
}

interface TimesAndEnd {
  times: number[];
  /** The video's duration, when it was needed and is known. */
  durationMs: number | undefined;
}

/**
 * The options of every native call: the cancel flag, the time left, the
 * pixel limits; for an input in object storage, that its path is a URL to
 * read by range requests, and whether its endpoint may be on a private
 * network (the operator's bucket setting).
 */
function callOptions(task: JobTask, timeoutMs: number): NativeCallOptions {
  const options: NativeCallOptions & Pick<Limits, 'limitInputPixels' | 'limitOutputPixels'> = {
    abort: task.abort,
    timeoutMs,
    limitInputPixels: task.limits.limitInputPixels,
    limitOutputPixels: task.limits.limitOutputPixels,
    ...(task.inputRemote === undefined ? {} : { remote: task.inputRemote }),
  };
  return options;
}

/**
 * Runs a native call on the input: its failure names the input by its key
 * (the native core names no path), never by the server's path.
 */
function onInput<T>(task: JobTask, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw aboutInput(error, task);
  }
}

function aboutInput(error: unknown, task: JobTask): SnapshotError {
  const failure = toSnapshotError(error);
  if (failure.code === ErrorCodes.Aborted || failure.code === ErrorCodes.SnapshotTimeOut) return failure;
  let message = withoutInputPath(failure.message, task);
  if (task.inputStore !== undefined && failure.code === ErrorCodes.ResourceNotFound && /\bHTTP 404\b/.test(message)) {
    // Checked at submission, gone since (or its bucket): as a local bucket's missing object reads.
    return new SnapshotError(failure.code, `the object ${shortenSubject(task.inputKey)} does not exist`);
  }
  if (task.inputStore !== undefined && failure.code === ErrorCodes.PermissionDenied && /\bHTTP 40[13]\b/.test(message)) {
    // The HEAD check passed with the bucket's credentials: the URL made from them was refused.
    message = `${message}: the object store refused the input's presigned URL (it expired, or the bucket's credentials changed)`;
  }
  return aboutSubject(new SnapshotError(failure.code, message), task.inputKey);
}

/**
 * A message without the input's path: the server's folders, or a presigned
 * URL (whose query is a credential for a while), are not the caller's
 * business; the key stands for them.
 */
function withoutInputPath(message: string, task: JobTask): string {
  if (task.inputPath === '') return message;
  let clean = message.replaceAll(task.inputPath, task.inputKey);
  if (task.inputRemote !== undefined) {
    const url = new URL(task.inputPath);
    clean = clean.replaceAll(url.search, '').replaceAll(`${url.origin}${url.pathname}`, task.inputKey);
  }
  return clean;
}

function planTimes(task: JobTask): TimesAndEnd {
  const plan = task.times;
  const needsDuration = plan.kind === 'untilEnd' || plan.kind === 'spread' || task.vtt !== undefined;
  const durationMs = needsDuration
    ? // From the open file the extraction then uses: no second open, no stream probe.
      (onInput(task, () => nativeAddon().durationSync(nativeRequest(task, []), callOptions(task, task.timeoutMs))) ?? undefined)
    : undefined;
  if (plan.kind === 'single') return { times: [plan.timeMs], durationMs };
  if (plan.kind === 'series') {
    // Times past MAX_TIME_MS (Time + (Num - 1) * Interval reaches about 1e16)
    // are past the end of any video: the series stops before them, as it
    // stops at the end of this one. The first time is never past it.
    const count = Math.min(plan.count, Math.floor((MAX_TIME_MS - plan.startMs) / plan.intervalMs) + 1);
    return { times: Array.from({ length: count }, (_, i) => plan.startMs + i * plan.intervalMs), durationMs };
  }
  if (durationMs === undefined) {
    throw new SnapshotError(ErrorCodes.ResourceContentBad, `the duration of ${task.inputKey} is unknown, so the series has no end`);
  }
  // A file may claim any duration (up to about 9e15 ms): no time goes past
  // MAX_TIME_MS, where no video has a frame, as for 'series' above.
  const span = Math.max(0, Math.min(durationMs, MAX_TIME_MS) - plan.startMs);
  if (plan.kind === 'spread') {
    return { times: Array.from({ length: plan.count }, (_, i) => plan.startMs + (i * span) / plan.count), durationMs };
  }
  const count = Math.ceil(span / plan.intervalMs);
  if (count > MAX_NUM) {
    throw new SnapshotError(
      ErrorCodes.OutOfRange,
      `SnapshotConfig.Interval ${plan.intervalMs / 1000} s over ${Math.round(span)} ms of video makes ${count} images; at most ${MAX_NUM} are allowed in one job`,
    );
  }
  return { times: Array.from({ length: count }, (_, i) => plan.startMs + i * plan.intervalMs), durationMs };
}

/**
 * Frees a frame's pixels once its image and sprite cell are done with them,
 * instead of at the next garbage collection: V8 does not see the native
 * memory behind the buffer (6 MB at 1080p) and may keep dozens of them. The
 * buffer is empty afterwards.
 */
function releasePixels(frame: NativeFrame): void {
  nativeAddon().releaseFramePixels(frame.rgb);
}

function cancelled(task: JobTask): boolean {
  return Atomics.load(task.abort, 0) !== 0;
}

/** Waits for all of `work` to settle (nothing is left writing), then fails with the first failure. */
async function settleAll(work: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** The native request for `times` of this job, on the worker's kept-open file. */
function nativeRequest(task: JobTask, times: number[]): NativeExtractRequest {
  return {
    path: task.inputPath,
    times,
    frameType: task.frameType,
    width: task.width,
    height: task.height,
    threads: task.threads,
    reuse: true,
    stopAtEnd: task.times.kind !== 'single',
  };
}

function extractBatch(task: JobTask, times: number[], first: boolean, remainingMs: number): NativeFrame[] | Promise<NativeFrame[]> {
  const request: NativeExtractRequest = {
    ...nativeRequest(task, times),
    // The native filter applies to the first time of a call: the job's first image.
    ...(first && task.blackFrames !== undefined
      ? { blackFrames: { blackLevel: task.blackFrames.blackLevel, pixelThreshold: task.blackFrames.pixelThreshold } }
      : {}),
  };
  const options = callOptions(task, remainingMs);
  if (task.decode === 'async')
    return nativeAddon()
      .extractFrames(request, options)
      .catch((error: unknown) => Promise.reject(aboutInput(error, task)));
  return onInput(task, () => nativeAddon().extractFramesSync(request, options));
}

/**
 * Runs the job. `announce` tells the service what the job writes and how far
 * it is (default: the task's progress port).
 */
export async function executeJob(task: JobTask, announce?: Announce): Promise<JobOutcome> {
  if (task.inputRemote === undefined) return runJob(task, announce);
  // An input URL is kept open (its connection and block cache) across this
  // run's native calls only, and let go when the run ends.
  const reuseKey = randomUUID();
  try {
    return await runJob({ ...task, inputRemote: { ...task.inputRemote, reuseKey } }, announce);
  } finally {
    nativeAddon().releaseCachedFile(reuseKey);
  }
}

async function runJob(task: JobTask, announce: Announce | undefined): Promise<JobOutcome> {
  const startedAt = Date.now();
  const context = nameContext(task.inputKey);
  const port = task.progress;
  const writer = new OutputWriter(
    announce ?? (port === undefined ? undefined : (message) => port.postMessage(message)),
    task.abort,
    task.jobId,
  );
  const keepImages = task.sprites?.keepCellPictures ?? true;
  const sprites = task.sprites === undefined ? undefined : new SpriteSheets(task.sprites, context, writer, task.quality);
  const taken: TakenImage[] = [];
  const images: WrittenImage[] = [];
  /** Per image: its encoding, sprite cell and writes, settled before the job ends either way. */
  const inFlight: Promise<void>[] = [];
  try {
    const { times, durationMs } = planTimes(task);
    debug('job %s: %d time(s) in %s, %s frames, %s images', task.jobId, times.length, task.inputKey, task.frameType, task.format);
    let done = 0;
    for (let first = 0; first < times.length; first += BATCH) {
      const remainingMs = task.timeoutMs > 0 ? Math.max(1, task.timeoutMs - (Date.now() - startedAt)) : 0;
      const batch = times.slice(first, first + BATCH);
      if (cancelled(task)) throw cancelledError();
      const frames = await extractBatch(task, batch, first === 0, remainingMs);
      if (debug.enabled) {
        debug(
          'job %s: decoded %j ms for %j ms',
          task.jobId,
          frames.map((frame) => frame.timeMs),
          batch,
        );
      }
      // The previous batch's work ran while this one decoded.
      await settleAll(inFlight.splice(0));
      frames.forEach((frame, offset) => {
        const index = first + offset;
        taken.push({ requestedMs: frame.requestedMs, timeMs: frame.timeMs });
        const steps: Promise<void>[] = [];
        if (keepImages) {
          const key = renderName(task.outputTemplate, context, index + 1, frame.timeMs);
          const path = writer.reserve(task.outputBucketDir, key, OUTPUT_WHERE);
          steps.push(
            encodeImage(frame, { format: task.format, quality: task.quality })
              .catch((error: unknown) => Promise.reject(aboutSubject(error, key)))
              .then((image) => writer.write(path, key, image))
              .then((file) => {
                images[index] = { key, ...file, timeMs: frame.timeMs };
                debug('job %s: wrote %s', task.jobId, key);
              }),
          );
        }
        if (sprites?.isCell(index)) steps.push(sprites.add(index, frame));
        inFlight.push(
          settleAll(steps)
            .finally(() => releasePixels(frame))
            .then(() => {
              done += 1;
              writer.post({ type: 'progress', done, expected: times.length });
            }),
        );
      });
      if (frames.length < batch.length) break; // the end of the video
    }
    await settleAll(inFlight.splice(0));
    if (taken.length === 0) {
      throw new SnapshotError(
        ErrorCodes.ResourceContentBad,
        `No frame at or after ${times[0] ?? 0} ms in ${task.inputKey}: the time is past the last frame`,
      );
    }
    const sheets = sprites === undefined ? [] : await sprites.finish();
    const vtt =
      task.vtt === undefined ? undefined : await writeVtt(task, task.vtt, { context, writer, taken, images, sprites, durationMs });
    if (cancelled(task)) throw cancelledError();
    await writer.commit();
    debug(
      'job %s: done, %d image(s) taken, %d sprite sheet(s)%s',
      task.jobId,
      taken.length,
      sheets.length,
      vtt === undefined ? '' : `, ${vtt.key}`,
    );
    return {
      images: images.filter((image) => image !== undefined),
      count: taken.length,
      sprites: sheets,
      ...(vtt === undefined ? {} : { vtt }),
    };
  } catch (error) {
    // Let writes in flight land first, so that they are taken back too.
    await Promise.allSettled(inFlight);
    const failure = withoutServerPaths(toSnapshotError(error), task);
    const leftBehind = await writer.removeAll();
    debug(
      'job %s: failed (%s: %s); removed what it wrote%s',
      task.jobId,
      failure.code,
      failure.message,
      leftBehind.length === 0 ? '' : ` but ${leftBehind.join(', ')}`,
    );
    if (leftBehind.length === 0) throw failure;
    throw new SnapshotError(failure.code, `${failure.message}; could not remove what the job wrote: ${leftBehind.join(', ')}`);
  }
}

interface VttSources {
  context: NameContext;
  writer: OutputWriter;
  taken: TakenImage[];
  images: WrittenImage[];
  sprites: SpriteSheets | undefined;
  durationMs: number | undefined;
}

/**
 * A cue starts at the time its image was taken for, so the cues tile the
 * video without gaps even where several times share a keyframe; a single
 * intra snapshot past the end starts at its keyframe's time instead.
 */
function cueStart(image: TakenImage, durationMs: number | undefined): number {
  return durationMs !== undefined && image.requestedMs >= durationMs ? image.timeMs : image.requestedMs;
}

async function writeVtt(task: JobTask, plan: VttPlan, sources: VttSources): Promise<OwnedFile & { key: string }> {
  const { context, writer, taken, images, sprites, durationMs } = sources;
  let entries: ThumbnailEntry[];
  let bucketDir: OutputBucket;
  if (plan.pointsAt === 'sprites' && sprites !== undefined && task.sprites !== undefined) {
    entries = sprites.cells.map((cell) => ({
      startMs: cueStart(cell, durationMs),
      key: sprites.keyOf(cell.sheet),
      rect: cell.rect,
    }));
    bucketDir = task.sprites.bucketDir;
  } else {
    entries = images.map((image, index) => ({ startMs: cueStart(taken[index]!, durationMs), key: image.key }));
    bucketDir = task.outputBucketDir;
  }
  const key = vttKey(entries[0]!.key, context.FileName);
  const path = writer.reserve(bucketDir, key, 'SnapshotConfig.Format');
  // Unknown duration: the last cue lasts as long as the one before it, or a second.
  const lastStart = entries[entries.length - 1]!.startMs;
  const before = entries.length > 1 ? lastStart - entries[entries.length - 2]!.startMs : 1000;
  const endMs = durationMs !== undefined && durationMs > lastStart ? durationMs : lastStart + Math.max(1, before);
  const file = await writer.write(path, key, Buffer.from(formatVtt(key, entries, endMs)));
  return { key, ...file };
}

/** Messages name objects by their keys: the server's folders are not the caller's business. */
function withoutServerPaths(error: SnapshotError, task: JobTask): SnapshotError {
  let message = withoutInputPath(error.message, task);
  for (const folder of [task.outputBucketDir, task.sprites?.bucketDir]) {
    if (typeof folder === 'string' && message.includes(folder)) message = message.replaceAll(folder, '<bucket>');
  }
  return message === error.message ? error : new SnapshotError(error.code, message);
}
