// The contenders: small factories that each return
//   { name, family, baseline?, chart?, run: () => Promise<result>, check?: (result) => Promise<string> }
// `run` is what is timed. `check` runs once, outside timing: it returns a
// short description and throws when the frames are wrong.
//
// A spec says what to take: { file, times, frameType, width?, expected, series?, rotation? }.
// `times` and `expected` are what the check verifies. Single-image specs carry
// a `rotation`: times at the same offset into different GOPs, taken in turn,
// because framesnap keeps the open file, the decoder's position and the last
// frame (per thread, per pool worker) between calls, so asking for the same
// time again is a cache hit that the CLI cannot have. Each timed call does
// the same work as the first request for that time; the check then asks for
// the named time itself.
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

import ffmpegCommand from 'fluent-ffmpeg';

import { snapshot, snapshots, snapshotsSync, snapshotSync } from '../dist/index.js';
import { cliFps, cliMultiSeek, cliSelect, cliSnapshot, ffmpeg, ffprobe } from './cli.mjs';
import { nodeAvSnapshots } from './node-av.mjs';

export const CLI = 'ffmpeg CLI (process per image)';

ffmpegCommand.setFfmpegPath(ffmpeg);
ffmpegCommand.setFfprobePath(ffprobe);

/** Cycles through `times`, one per call. */
function rotator(times) {
  let next = 0;
  return () => times[next++ % times.length];
}

const sameTimes = (got, expected) => got.length === expected.length && got.every((ms, i) => Math.abs(ms - expected[i]) < 0.001);

function expectTimes(name, got, expected) {
  if (!sameTimes(got, expected)) {
    throw new Error(`${name}: frame times ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  }
  return got.length === 1 ? `timeMs ${got[0]}` : `${got.length} frames at the expected times`;
}

function expectFiles(name, paths) {
  const missing = paths.filter((path) => !(statSync(path, { throwIfNoEntry: false })?.size > 0));
  if (missing.length > 0) throw new Error(`${name}: no output ${missing.slice(0, 3).join(', ')}`);
  return `${paths.length} file${paths.length === 1 ? '' : 's'} written`;
}

/** A fresh, empty folder under `root`. */
function freshDir(root, name) {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

const numbered = (dir, count, prefix = '') =>
  Array.from({ length: count }, (_, i) => join(dir, `${prefix}${String(i + 1).padStart(3, '0')}.jpg`));

// --- the CLI path ------------------------------------------------------------

/** One ffmpeg process per image, run one after the other. */
export function cliPerImage(ctx, { file, times, frameType, width, rotation }) {
  const dir = freshDir(ctx.outDir, `cli-${ctx.caseId}`);
  const output = (ms) => join(dir, `${ms}.jpg`);
  const pick = rotation && rotator(rotation);
  return {
    name: CLI,
    family: 'cli',
    baseline: true,
    run: async () => {
      if (pick) return cliSnapshot(file, pick(), frameType, output(times[0]), width);
      for (const ms of times) await cliSnapshot(file, ms, frameType, output(ms), width);
    },
    check: async () => expectFiles(CLI, times.map(output)),
  };
}

/** One process with a select filter: exact frames, decoding everything up to the last time. */
export function cliOneSelect(ctx, { file, times, width }) {
  const dir = freshDir(ctx.outDir, `cli-select-${ctx.caseId}`);
  const name = 'ffmpeg CLI, one process (select filter)';
  return {
    name,
    family: 'cli',
    run: () => cliSelect(file, times, join(dir, '%03d.jpg'), width),
    check: async () => expectFiles(name, numbered(dir, times.length)),
  };
}

/** One process with an input (a seek) per time. */
export function cliOneMultiSeek(ctx, { file, times, frameType }) {
  const dir = freshDir(ctx.outDir, `cli-seeks-${ctx.caseId}`);
  const outputs = times.map((ms) => join(dir, `${ms}.jpg`));
  const name = `ffmpeg CLI, one process (${times.length} seeks)`;
  return {
    name,
    family: 'cli',
    run: () => cliMultiSeek(file, times, frameType, outputs),
    check: async () => expectFiles(name, outputs),
  };
}

/** One process with the fps filter: a regular series. */
export function cliOneFps(ctx, { file, series, width }) {
  const dir = freshDir(ctx.outDir, `cli-fps-${ctx.caseId}`);
  const name = 'ffmpeg CLI, one process (fps filter)';
  return {
    name,
    family: 'cli',
    run: () => cliFps(file, series.intervalMs, series.count, join(dir, '%03d.jpg'), width),
    check: async () => expectFiles(name, numbered(dir, series.count)),
  };
}

// --- framesnap, low level ----------------------------------------------------

/** snapshot() (one time) or snapshots() (several), async. */
export function framesnapAsync(ctx, { file, times, frameType, width, expected, rotation }) {
  const options = { frameType, ...(width ? { width } : {}) };
  if (times.length === 1) {
    const name = 'framesnap snapshot()';
    const pick = rotator(rotation ?? times);
    return {
      name,
      family: 'framesnap',
      run: () => snapshot(file, { ...options, time: pick() }),
      // snapshot() returns only the JPEG: it must be the very bytes snapshots() returns for the checked frame.
      check: async () => {
        const jpeg = await snapshot(file, { ...options, time: times[0] });
        const [reference] = await snapshots(file, { ...options, times });
        if (!jpeg.equals(reference.data)) throw new Error(`${name}: the JPEG differs from snapshots() at the same time`);
        return expectTimes(name, [reference.timeMs], expected);
      },
    };
  }
  const name = 'framesnap snapshots()';
  return {
    name,
    family: 'framesnap',
    run: () => snapshots(file, { ...options, times }),
    check: async (result) =>
      expectTimes(
        name,
        result.map((s) => s.timeMs),
        expected,
      ),
  };
}

/** The same time over and over: what framesnap's per-thread cache of the last frame gives. */
export function framesnapRepeated(ctx, { file, times, frameType }) {
  return {
    name: 'framesnap snapshot(), same time repeated (cache hit)',
    family: 'framesnap',
    chart: false,
    run: () => snapshot(file, { frameType, time: times[0] }),
  };
}

/** snapshotSync() / snapshotsSync(): the blocking twins. */
export function framesnapSync(ctx, { file, times, frameType, width, expected, rotation }) {
  const options = { frameType, ...(width ? { width } : {}) };
  if (times.length === 1) {
    const name = 'framesnap snapshotSync()';
    const pick = rotator(rotation ?? times);
    return {
      name,
      family: 'framesnap',
      run: async () => snapshotSync(file, { ...options, time: pick() }),
      check: async () => {
        const jpeg = snapshotSync(file, { ...options, time: times[0] });
        const [reference] = snapshotsSync(file, { ...options, times });
        if (!jpeg.equals(reference.data)) throw new Error(`${name}: the JPEG differs from snapshotsSync() at the same time`);
        return expectTimes(name, [reference.timeMs], expected);
      },
    };
  }
  const name = 'framesnap snapshotsSync()';
  return {
    name,
    family: 'framesnap',
    run: async () => snapshotsSync(file, { ...options, times }),
    check: async (result) =>
      expectTimes(
        name,
        result.map((s) => s.timeMs),
        expected,
      ),
  };
}

// --- framesnap, SnapshotService ---------------------------------------------

/** The frame times a job wrote, read back from `{Count}-{SnapshotTime}.jpg` names. */
function writtenTimes(dir) {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jpg'))
    .sort()
    .map((name) => Number(/(\d+)\.jpg$/.exec(name)[1]));
}

async function runJob(ctx, file, folder, config) {
  const response = await ctx.service.submitSnapshotJob({
    Input: { Bucket: ctx.inputBucket, Object: basename(file) },
    SnapshotConfig: { OutputFile: { Bucket: ctx.outputBucket, Object: `${folder}/{Count}-{SnapshotTime}.jpg` }, ...config },
  });
  const job = response.SnapshotJob.State === 'Submitted' ? await ctx.service.waitForJob(response.SnapshotJob.Id) : response.SnapshotJob;
  if (job.State !== 'Success') throw new Error(`job ${job.Id}: ${job.State} ${job.Code} ${job.Message}`);
  return job;
}

/**
 * SnapshotService: a synchronous job (submitSnapshotJob) for one time; a
 * series job (Time, Num, Interval, then waitForJob) for evenly spaced times.
 * Each contender writes into a folder of its own in the output bucket.
 */
export function framesnapService(ctx, { file, times, frameType, width, expected, series, rotation }) {
  const folder = `service-${ctx.caseId}`;
  const common = { FrameType: frameType, ...(width ? { Width: width } : {}) };
  const checkTimes = (name, job, dir) => {
    if (job.Count !== String(times.length)) throw new Error(`${name}: Count ${job.Count}, expected ${times.length}`);
    return expectTimes(name, writtenTimes(dir), expected.map(Math.round)); // {SnapshotTime} is in whole ms
  };
  if (times.length === 1) {
    const name = 'SnapshotService job (sync)';
    const pick = rotator(rotation ?? times);
    return {
      name,
      family: 'framesnap',
      run: () => runJob(ctx, file, folder, { ...common, Time: pick() }),
      check: async () =>
        checkTimes(name, await runJob(ctx, file, `${folder}-check`, { ...common, Time: times[0] }), join(ctx.outDir, `${folder}-check`)),
    };
  }
  const name = 'SnapshotService job (Num/Interval)';
  const config = { ...common, Time: series.startMs, Num: series.count, Interval: series.intervalMs / 1000 };
  return {
    name,
    family: 'framesnap',
    run: () => runJob(ctx, file, folder, config),
    // Every run writes the same names into this folder, fresh for each bench run.
    check: async (job) => checkTimes(name, job, join(ctx.outDir, folder)),
  };
}

// --- other libraries ---------------------------------------------------------

/** fluent-ffmpeg's screenshots(): one ffmpeg process, exact frames (its `fastSeek` option is documented but unused). */
export function fluentScreenshots(ctx, { file, times, width, rotation }) {
  const folder = freshDir(ctx.outDir, `fluent-${ctx.caseId}`);
  const name = 'fluent-ffmpeg screenshots()';
  const pick = rotator(rotation ? rotation.map((ms) => [ms]) : [times]);
  const shots = (timesMs) =>
    new Promise((resolve, reject) => {
      ffmpegCommand(file)
        .on('end', () => resolve())
        .on('error', reject)
        .screenshots({
          timestamps: timesMs.map((ms) => ms / 1000),
          folder,
          filename: timesMs.length === 1 ? 'shot.jpg' : 'shot-%i.jpg',
          ...(width ? { size: `${width}x?` } : {}),
        });
    });
  return {
    name,
    family: 'fluent',
    run: () => shots(pick()),
    check: async () =>
      expectFiles(name, times.length === 1 ? [join(folder, 'shot.jpg')] : times.map((_, i) => join(folder, `shot-${i + 1}.jpg`))),
  };
}

/** node-av: Demuxer + Decoder + Scaler.toJpeg, one open per call. */
export function nodeAv(ctx, { file, times, frameType, width, expected, rotation }) {
  const name = 'node-av (Demuxer/Decoder/Scaler)';
  const pick = rotator(rotation ? rotation.map((ms) => [ms]) : [times]);
  return {
    name,
    family: 'node-av',
    run: () => nodeAvSnapshots(file, pick(), frameType, width),
    check: async (result) => {
      const checked = rotation ? await nodeAvSnapshots(file, times, frameType, width) : result;
      return expectTimes(
        name,
        checked.map((s) => s.timeMs),
        expected,
      );
    },
  };
}
