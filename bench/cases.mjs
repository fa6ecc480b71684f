// The benchmark cases. A case names its clip and the contenders it times
// side by side; `measure.mjs` runs them. Times are milliseconds.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { snapshot, snapshots } from '../dist/index.js';
import { cliSnapshot, cliSprite } from './cli.mjs';
import { clip, exactFrameMs, KEYFRAME_INTERVAL_MS, keyframeMs } from './clips.mjs';
import { remoteCase, s3Case } from './remote.mjs';
import { longFileRatios } from './report.mjs';
import { storesCase } from './stores.mjs';
import { inParallel, seededTimes } from './util.mjs';
import {
  CLI,
  cliOneFps,
  cliOneMultiSeek,
  cliOneSelect,
  cliPerImage,
  fluentScreenshots,
  framesnapAsync,
  framesnapRepeated,
  framesnapService,
  framesnapSync,
  nodeAv,
} from './contenders.mjs';

const run = promisify(execFile);
const framesnapCli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/**
 * Tinybench settings: `rounds` runs of every contender (order reversed every
 * other round, samples pooled), each at least `iterations` calls and `time`
 * ms per contender; `warmUp`: one untimed call of each first.
 */
const SETTINGS = {
  single: { quick: { rounds: 2, iterations: 2, time: 200, warmUp: true }, full: { rounds: 3, iterations: 5, time: 1000, warmUp: true } },
  ten: { quick: { iterations: 1, time: 1200 }, full: { rounds: 3, iterations: 2, time: 2500, warmUp: true } },
  heavy: { quick: { iterations: 1, time: 0 }, full: { rounds: 3, iterations: 1, time: 0 } },
  command: { quick: { rounds: 2, iterations: 2, time: 400 }, full: { rounds: 3, iterations: 5, time: 1300 } },
};

/** Contenders that only some cases can run return a note instead. */
function optional(ctx, make, reason) {
  if (reason) return { skipped: reason };
  return make();
}

function nodeAvOr(ctx, spec) {
  return optional(ctx, () => nodeAv(ctx, spec), typeof ctx.nodeAv === 'string' ? ctx.nodeAv : undefined);
}

/**
 * `time`, then the same offset into the GOPs after it, wrapping round within
 * `durationMs`: 19 times (a count prime to the 4 libuv threads and the 2 pool
 * workers, so no thread gets the time it just answered).
 */
export function rotationFrom(time, durationMs, count = 19) {
  const offset = time % KEYFRAME_INTERVAL_MS;
  const slots = Math.floor((durationMs - offset - 1) / KEYFRAME_INTERVAL_MS) + 1;
  const first = Math.floor(time / KEYFRAME_INTERVAL_MS);
  return Array.from({ length: Math.min(count, slots) }, (_, i) => offset + ((first + i) % slots) * KEYFRAME_INTERVAL_MS);
}

/** One image at `time` from the 1080p clip (A, B, B2). */
function singleCase(id, title, frameType, time) {
  return {
    id,
    title,
    settings: SETTINGS.single,
    async contenders(ctx) {
      const file = await clip('h264_1080p_60s');
      const expected = [frameType === 'intra' ? keyframeMs(time) : exactFrameMs(time)];
      const rotation = rotationFrom(time, 60_000);
      ctx.note(
        `each call takes the next of ${rotation.length} times at the same offset into different GOPs (${rotation.map((ms) => ms / 1000).join(', ')} s), as a fresh request would; the check asks for ${time / 1000} s`,
      );
      const spec = { file, times: [time], frameType, expected, rotation };
      return [
        cliPerImage(ctx, spec),
        framesnapAsync(ctx, spec),
        framesnapSync(ctx, spec),
        framesnapService(ctx, spec),
        framesnapRepeated(ctx, spec),
        frameType === 'normal'
          ? fluentScreenshots(ctx, spec)
          : {
              skipped:
                'fluent-ffmpeg screenshots() has no keyframe mode (its fastSeek option is documented but unused): it takes the exact frame, which at 30 s is the same work as B',
            },
        nodeAvOr(ctx, spec),
      ];
    },
  };
}

const TEN_TIMES = Array.from({ length: 10 }, (_, i) => (i + 1) * 5000);

/** Ten images at 5, 10, ... 50 s of the 1080p clip (C exact, D keyframes). */
function tenCase(id, title, frameType) {
  return {
    id,
    title,
    settings: SETTINGS.ten,
    async contenders(ctx) {
      const file = await clip('h264_1080p_60s');
      const expected = TEN_TIMES.map(frameType === 'intra' ? keyframeMs : exactFrameMs);
      const spec = { file, times: TEN_TIMES, frameType, expected, series: { startMs: 5000, intervalMs: 5000, count: 10 } };
      const fullOnly = (what) => `${what}: full mode only (--quick skips it)`;
      return [
        cliPerImage(ctx, spec),
        cliOneMultiSeek(ctx, spec),
        frameType === 'normal'
          ? optional(
              ctx,
              () => cliOneSelect(ctx, spec),
              ctx.quick && fullOnly('ffmpeg CLI, one process (select filter) decodes the whole 50 s, about 6 s a run'),
            )
          : {
              skipped:
                'no one-process select form for keyframes: a select filter cannot look ahead for "the last keyframe at or before T"; the one-process form is the 10-seek one',
            },
        framesnapAsync(ctx, spec),
        framesnapSync(ctx, spec),
        framesnapService(ctx, spec),
        frameType === 'normal'
          ? optional(
              ctx,
              () => ({ ...fluentScreenshots(ctx, spec), once: true }),
              ctx.quick &&
                fullOnly(
                  'fluent-ffmpeg screenshots() with 10 times (one process, split=10 at 1080p, output-side seeks) takes about a minute a run',
                ),
            )
          : { skipped: 'fluent-ffmpeg screenshots() has no keyframe mode' },
        nodeAvOr(ctx, spec),
      ];
    },
  };
}

export const E_SEED = 20241128;
export const E_COUNT = 40;
export const POOL_SIZE = 2;
/** The last frame of the 60 s clip starts at 59.967 s. */
export const E_MAX_MS = 59_000;

/** E: 40 exact images at seeded random times, concurrency = the pool size. */
function throughputCase() {
  return {
    id: 'E',
    title: `${E_COUNT} exact snapshots at seeded random times (seed ${E_SEED}), ${POOL_SIZE} at a time, 1080p H.264`,
    settings: SETTINGS.heavy,
    imagesPerRun: E_COUNT,
    async contenders(ctx) {
      const file = await clip('h264_1080p_60s');
      const times = seededTimes(E_SEED, E_COUNT, E_MAX_MS);
      ctx.note(`E times (ms): ${times.join(', ')}`);
      const folder = 'service-E';
      const request = (time) => ({
        Input: { Bucket: ctx.inputBucket, Object: basename(file) },
        SnapshotConfig: {
          OutputFile: { Bucket: ctx.outputBucket, Object: `${folder}/{SnapshotTime}.jpg` },
          Time: time,
          FrameType: 'normal',
        },
      });
      return [
        {
          name: `${CLI}, ${POOL_SIZE} processes at a time`,
          family: 'cli',
          baseline: true,
          run: () =>
            inParallel(times, POOL_SIZE, (time, i) => cliSnapshot(file, time, 'normal', join(ctx.outDir, `cli-E-${i % POOL_SIZE}.jpg`))),
        },
        {
          name: `SnapshotService (workers ${POOL_SIZE}), ${E_COUNT} jobs at once`,
          family: 'framesnap',
          run: () => Promise.all(times.map((time) => ctx.service.submitSnapshotJob(request(time)))),
        },
        {
          name: `framesnap snapshot(), ${POOL_SIZE} in flight`,
          family: 'framesnap',
          run: () => inParallel(times, POOL_SIZE, (time) => snapshot(file, { time, frameType: 'normal' })),
        },
      ];
    },
  };
}

/** F: one exact image at 1 min and at 59 min of the 1-hour file. */
function longFileCase() {
  return {
    id: 'F',
    title: 'one exact snapshot at 1 min and at 59 min of a 1-hour 480p H.264 file',
    settings: SETTINGS.single,
    ratiosTitle: '59 min / 1 min',
    ratios: longFileRatios,
    async contenders(ctx) {
      const file = await clip('h264_480p_1h');
      const at = (label, time) => {
        // Each call takes the next of 19 times 3 s apart from `time` on (a fresh seek each), as in A-B2.
        const rotation = Array.from({ length: 19 }, (_, i) => time + i * KEYFRAME_INTERVAL_MS);
        const spec = { file, times: [time], frameType: 'normal', expected: [exactFrameMs(time)], rotation };
        const cli = cliPerImage({ ...ctx, caseId: `F-${time}` }, spec);
        const renamed = (contender, baseline) => ({ ...contender, name: `${contender.name} @ ${label}`, at: label, compareTo: baseline });
        return [
          renamed(cli, undefined),
          renamed(framesnapAsync(ctx, spec), `${CLI} @ ${label}`),
          renamed(framesnapService({ ...ctx, caseId: `F-${time}` }, spec), `${CLI} @ ${label}`),
        ];
      };
      return [...at('1 min', 60_000), ...at('59 min', 3_540_000)];
    },
  };
}

/** G: the storyboard, 100 images at width 160 every 0.6 s over the 60 s 1080p clip. */
function storyboardCase() {
  const count = 100;
  const intervalMs = 600;
  const width = 160;
  const times = Array.from({ length: count }, (_, i) => i * intervalMs);
  return {
    id: 'G',
    title: `a ${count}-image series at width ${width}, every ${intervalMs / 1000} s over the 60 s 1080p clip (storyboard)`,
    settings: SETTINGS.heavy,
    async contenders(ctx) {
      const file = await clip('h264_1080p_60s');
      const spec = {
        file,
        times,
        frameType: 'normal',
        width,
        expected: times.map(exactFrameMs),
        series: { startMs: 0, intervalMs, count },
      };
      const oneProcess = cliOneFps(ctx, spec);
      const fullOnly = (what, seconds) => ctx.quick && `${what}: full mode only (about ${seconds} s a run)`;
      return [
        ctx.quick
          ? { skipped: `${fullOnly(`${CLI} x${count}`, 25)}; in quick mode the ratios are to the one-process fps form` }
          : { ...cliPerImage(ctx, spec), once: true },
        ctx.quick ? { ...oneProcess, baseline: true } : oneProcess,
        framesnapService(ctx, spec),
        framesnapAsync(ctx, spec),
        optional(
          ctx,
          () => fluentScreenshots(ctx, spec),
          fullOnly('fluent-ffmpeg screenshots() (one process, split=100 after the scale)', 10),
        ),
        optional(ctx, () => nodeAvOr(ctx, spec), fullOnly('node-av', 8)),
      ];
    },
  };
}

/**
 * The seed's asynchronous example (Time 5 ms, Num 10, Interval 20 s) through
 * submitSnapshotJob, against ten ffmpeg processes, on a 1080p clip (SI: the
 * default intra, SN: normal).
 */
function seedSeriesCase(id, frameType) {
  const series = { startMs: 5, intervalMs: 20_000, count: 10 };
  const times = Array.from({ length: series.count }, (_, i) => series.startMs + i * series.intervalMs);
  return {
    id,
    title: `the seed's ten-image series (Time 5 ms, Interval 20 s, Num 10), FrameType ${frameType}, 1080p H.264 4 min`,
    settings: SETTINGS.ten,
    async contenders(ctx) {
      const file = await clip('h264_1080p_240s');
      const spec = { file, times, frameType, expected: times.map(frameType === 'intra' ? keyframeMs : exactFrameMs), series };
      return [cliPerImage(ctx, spec), framesnapService(ctx, spec)];
    },
  };
}

/**
 * A 100-image sprite job with a WebVTT track (10x10 cells 160 wide, every
 * 0.6 s of the 60 s 1080p clip, exact frames) against the nearest CLI way:
 * one ffmpeg with fps, scale and tile filters (which makes no track).
 */
function spriteCase() {
  const intervalMs = 600;
  const width = 160;
  return {
    id: 'T',
    title: 'a 100-image sprite sheet (10x10, 160 wide, every 0.6 s) with a WebVTT track, 1080p H.264',
    settings: SETTINGS.heavy,
    async contenders(ctx) {
      const file = await clip('h264_1080p_60s');
      const sprite = join(ctx.outDir, 'cli-T-sprite.jpg');
      const job = async () => {
        const response = await ctx.service.submitSnapshotJob({
          Input: { Bucket: ctx.inputBucket, Object: basename(file) },
          SnapshotConfig: {
            OutputFile: { Bucket: ctx.outputBucket, Object: 'service-T/{Count}.jpg' },
            TileOutputFile: { Bucket: ctx.outputBucket, Object: 'service-T/sprite-{TileCount}.jpg' },
            TileOut: { Lines: 10, Columns: 10, IsKeepCellPic: 'false' },
            Format: 'vtt',
            SubOut: { IsSptFrag: 'true' },
            Time: 0,
            Num: 100,
            Interval: intervalMs / 1000,
            Width: width,
            FrameType: 'normal',
          },
        });
        const done = await ctx.service.waitForJob(response.SnapshotJob.Id);
        if (done.State !== 'Success') throw new Error(`job ${done.Id}: ${done.Code} ${done.Message}`);
        return done;
      };
      return [
        {
          name: 'ffmpeg CLI, one process (fps + tile filters)',
          family: 'cli',
          baseline: true,
          run: () => cliSprite(file, intervalMs, 10, 10, width, sprite),
        },
        {
          name: 'SnapshotService job (TileOut + Format vtt)',
          family: 'framesnap',
          run: job,
          check: async (done) => {
            if (done.Count !== '100' || done.TileCount !== '1') throw new Error(`Count ${done.Count}, TileCount ${done.TileCount}`);
            const vtt = readFileSync(join(ctx.outDir, 'service-T', `${basename(file).replace(/\.[^.]+$/, '')}.vtt`), 'utf8');
            const cues = vtt.split('\n').filter((line) => line.includes('#xywh=')).length;
            if (cues !== 100) throw new Error(`the track has ${cues} cues`);
            return '1 sprite of 100 cells, 100 cues';
          },
        },
      ];
    },
  };
}

/** The `framesnap snapshot` command as a whole process vs the ffmpeg command, case A. */
/**
 * The command's environment: this machine sets NODE_EXTRA_CA_CERTS (the
 * system's CA bundle), which makes every Node start parse about 150 certificates
 * (node -e 0: 144 ms with it, 63 ms without); framesnap reads no certificate,
 * and a user's machine rarely sets it. Unset for the command, and said in the
 * case's title.
 */
const commandEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_EXTRA_CA_CERTS'));

function commandCase() {
  return {
    id: 'CMD',
    title: `the framesnap snapshot command vs the ffmpeg command (case A, whole processes${
      process.env.NODE_EXTRA_CA_CERTS === undefined ? '' : '; NODE_EXTRA_CA_CERTS unset for the command'
    })`,
    settings: SETTINGS.command,
    async contenders(ctx) {
      const file = await clip('h264_1080p_60s');
      const ours = join(ctx.outDir, 'cmd-framesnap.jpg');
      const exact = join(ctx.outDir, 'cmd-framesnap-normal.jpg');
      const theirs = join(ctx.outDir, 'cmd-ffmpeg.jpg');
      const command = (frameType, output) =>
        run(process.execPath, [framesnapCli, 'snapshot', file, '--time', '30000', '--frame-type', frameType, '--quiet', '-o', output], {
          env: commandEnv,
        });
      const sameBytes = (output, frameType) => async () => {
        const [reference] = await snapshots(file, { times: [30_000], frameType });
        if (!readFileSync(output).equals(reference.data))
          throw new Error(`the command wrote a different JPEG than snapshots() at 30 s (${frameType})`);
        if (reference.timeMs !== keyframeMs(30_000)) throw new Error(`the frame is at ${reference.timeMs} ms`);
        return `timeMs ${reference.timeMs}, same bytes as snapshots()`;
      };
      return [
        {
          name: 'ffmpeg -skip_frame nokey -ss 30 -i FILE -frames:v 1',
          family: 'cli',
          baseline: true,
          run: () => cliSnapshot(file, 30_000, 'intra', theirs),
        },
        // The same work as the ffmpeg command: the keyframe at 30 s.
        {
          name: 'framesnap snapshot FILE --time 30000 --frame-type intra -o out.jpg',
          family: 'framesnap',
          run: () => command('intra', ours),
          check: sameBytes(ours, 'intra'),
        },
        // The command's default: the exact frame (here the same keyframe, found by decoding on to the next frames).
        {
          name: 'framesnap snapshot FILE --time 30000 -o out.jpg (exact frame, the default)',
          family: 'framesnap',
          run: () => command('normal', exact),
          check: sameBytes(exact, 'normal'),
        },
      ];
    },
  };
}

/** Peak RSS of a whole process running A-E through SnapshotService (a child process). */
function rssCase() {
  return {
    id: 'RSS',
    title: `whole-process peak RSS: cases A-E through SnapshotService (workers ${POOL_SIZE}) on the 1080p clip`,
    describe: ({ maxRssMiB, vmHwmMiB, startRssMiB, rounds, wallSeconds }) =>
      `peak RSS ${maxRssMiB} MiB (VmHWM ${vmHwmMiB} MiB; ${startRssMiB} MiB after start-up; ${rounds} round${rounds === 1 ? '' : 's'} of A-E in ${wallSeconds} s)`,
    async measure(ctx) {
      const file = await clip('h264_1080p_60s');
      const child = fileURLToPath(new URL('./rss-child.mjs', import.meta.url));
      const started = performance.now();
      const childArgs = [
        child,
        file,
        ctx.outDir,
        String(E_SEED),
        String(E_COUNT),
        String(E_MAX_MS),
        String(POOL_SIZE),
        String(ctx.quick ? 1 : 2),
      ];
      // Through a shell that forks it: a process started straight from this one
      // reports this (big) process's peak as its own maxRSS, because Linux keeps
      // the forked copy's high-water mark across exec.
      const { stdout } = await run('/bin/sh', ['-c', '"$0" "$@"; exit $?', process.execPath, ...childArgs], { maxBuffer: 1 << 20 });
      const report = JSON.parse(stdout.trim().split('\n').pop());
      return { ...report, wallSeconds: Number(((performance.now() - started) / 1000).toFixed(1)) };
    },
  };
}

export const CASES = [
  singleCase('A', 'one keyframe snapshot at 30 s, 1080p H.264', 'intra', 30_000),
  // 30 s is itself a keyframe of this clip (one every 3 s), so B decodes one frame.
  singleCase('B', 'one exact snapshot at 30 s (a keyframe), 1080p H.264', 'normal', 30_000),
  // B2 is the hard exact case: 2.5 s into a 3 s GOP, 75 frames to decode first.
  singleCase('B2', 'one exact snapshot at 32.5 s (mid-GOP), 1080p H.264', 'normal', 32_500),
  tenCase('C', 'ten exact snapshots at 5, 10, ... 50 s, 1080p H.264', 'normal'),
  tenCase('D', 'ten keyframe snapshots at 5, 10, ... 50 s, 1080p H.264', 'intra'),
  throughputCase(),
  longFileCase(),
  storyboardCase(),
  seedSeriesCase('SI', 'intra'),
  seedSeriesCase('SN', 'normal'),
  spriteCase(),
  rssCase(),
  commandCase(),
  storesCase(),
  remoteCase(),
  s3Case(),
  (await import('./server.mjs')).serverCase(),
];
