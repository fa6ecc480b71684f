// Case REMOTE (issue 12, item 7): an exact snapshot at 59 min of the 1-hour
// 480p file over loopback HTTP, from an nginx this case starts
// (scripts/servers/nginx.mjs) serving the clips folder.
//
// Contenders, side by side in one run, the order reversed every other round:
//   - framesnap snapshot(URL): the native reader's bounded range requests;
//   - the CLI path: `ffmpeg -ss T -i http://127.0.0.1:PORT/clip.mp4 -frames:v 1
//     -f image2 -c:v mjpeg out.jpg`, a process per image (FFmpeg's own http
//     protocol: open-ended ranges, a new connection per seek);
//   - framesnap snapshot(FILE) on the same file, for reference.
// Each call is timed alone; after it, nginx's access log (complete once the
// barrier request is answered, see scripts/servers/nginx.mjs) says what the
// server sent for it: body bytes, requests, connections. The local calls must cost none.
//
// The targets: at most 3 MB sent and at least 3x faster than the CLI path.
// --quick runs 2 rounds; without the 1-hour clip in bench/.cache it takes the
// 60 s 1080p clip (at 57.123 s, its last GOP) instead of making the 1-hour one, and the
// targets, which are about the 1-hour file, read "not run".
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';

import sharp from 'sharp';

import { snapshot, SnapshotService } from '../dist/index.js';
import { BENCH_CLIPS, lineage } from '../scripts/clips.mjs';
import { startNginx } from '../scripts/servers/nginx.mjs';
import { ffmpeg } from './cli.mjs';
import { cacheDir, clip, exactFrameMs, KEYFRAME_INTERVAL_MS, keyframeMs } from './clips.mjs';
import { textTable } from './report.mjs';
import { median } from './util.mjs';

const run = promisify(execFile);

const LONG_CLIP = 'h264_480p_1h';
const QUICK_FALLBACK_CLIP = 'h264_1080p_60s';
/** 59 min and 123 ms: 4 frames into the GOP that starts at 59:00 (a keyframe every 3 s), so an exact snapshot decodes a few frames. */
const LONG_TIME_MS = 59 * 60 * 1000 + 123;
/** The quick fallback: 123 ms into the last GOP (57 s) of the 60 s clip. */
const FALLBACK_TIME_MS = 57 * 1000 + 123;
/** Per contender: `rounds` rounds of `calls` timed calls each, after one untimed call. */
const SETTINGS = { full: { rounds: 5, calls: 4 }, quick: { rounds: 2, calls: 2 } };
export const REMOTE_MAX_BYTES = 3_000_000;
export const REMOTE_MIN_SPEEDUP = 3;

const CLI_NAME = 'ffmpeg -ss T -i http://... (process per image)';
const REMOTE_NAME = 'framesnap snapshot(http://...)';
const LOCAL_NAME = 'framesnap snapshot(FILE) (reference)';

const fixed = (value, digits = 2) => (value === null || value === undefined ? '-' : Number(value).toFixed(digits));
const megabytes = (bytes) => bytes / 1e6;

/** Whether clip `name` is in bench/.cache, made from its current recipe (clip() would not remake it). */
function cached(name) {
  const path = join(cacheDir, BENCH_CLIPS[name].file);
  return existsSync(path) && existsSync(`${path}.recipe`) && readFileSync(`${path}.recipe`, 'utf8') === lineage(name);
}

/** The CLI path, as the issue names it (and -q:v 2, the quality every CLI contender of the benchmark uses). */
function cliHttpSnapshot(url, timeMs, output) {
  // prettier-ignore
  return run(ffmpeg, [
    '-v', 'error', '-y', '-ss', String(timeMs / 1000), '-i', url,
    '-frames:v', '1', '-f', 'image2', '-c:v', 'mjpeg', '-q:v', '2', output,
  ]);
}

/**
 * The requests nginx logged since the `seen`-th entry. Read until two reads
 * agree: a client that closes a response early (ffmpeg seeking, or exiting)
 * is logged when nginx notices the close, which the barrier request should
 * follow but a second look costs only a millisecond.
 */
async function newRequests(web, seen) {
  let log = await web.accessLog();
  for (let look = 0; look < 3; look++) {
    const again = await web.accessLog();
    if (again.length === log.length) break;
    log = again;
  }
  return log.slice(seen);
}

/** Median, min and max of the times `ms`. */
function timeSummary(name, ms, checkText) {
  return { contender: name, medianMs: median(ms), minMs: Math.min(...ms), maxMs: Math.max(...ms), samples: ms.length, check: checkText };
}

function summary(name, samples, checkText) {
  const bytes = samples.map((sample) => sample.bytes);
  const ms = samples.map((sample) => sample.ms);
  return {
    ...timeSummary(name, ms, checkText),
    medianBytes: median(bytes),
    minBytes: Math.min(...bytes),
    maxBytes: Math.max(...bytes),
    medianRequests: median(samples.map((sample) => sample.requests)),
    medianConnections: median(samples.map((sample) => sample.connections)),
  };
}

function resultTable(rows, cliRow) {
  return rows.map((row) => ({
    contender: row.contender,
    'median ms': fixed(row.medianMs),
    'min ms': fixed(row.minMs),
    'vs CLI': row === cliRow ? '-' : `${fixed(cliRow.medianMs / row.medianMs)}x`,
    'MB sent/snapshot': fixed(megabytes(row.medianBytes), 3),
    'requests/snapshot': String(row.medianRequests),
    'connections/snapshot': String(row.medianConnections),
    samples: row.samples,
    check: row.check,
  }));
}

/** The ratios the issue asks for: CLI / framesnap, time and bytes. */
function ratioRows(extra) {
  const cli = extra.rows.find((row) => row.contender === CLI_NAME);
  const remote = extra.rows.find((row) => row.contender === REMOTE_NAME);
  const local = extra.rows.find((row) => row.contender === LOCAL_NAME);
  return [
    {
      ratio: 'CLI median ms / framesnap(URL) median ms',
      value: `${fixed(cli.medianMs / remote.medianMs)}x`,
      detail: `${fixed(cli.medianMs)} / ${fixed(remote.medianMs)} ms`,
    },
    {
      ratio: 'CLI bytes sent / framesnap(URL) bytes sent',
      value: `${fixed(cli.medianBytes / remote.medianBytes)}x`,
      detail: `${cli.medianBytes} / ${remote.medianBytes} bytes a snapshot`,
    },
    {
      ratio: 'framesnap(URL) median ms / framesnap(FILE) median ms',
      value: `${fixed(remote.medianMs / local.medianMs)}x`,
      detail: `${fixed(remote.medianMs)} / ${fixed(local.medianMs)} ms`,
    },
  ];
}

/** The case's two targets, as report.mjs lists targets; measured null (not run) without the 1-hour clip. */
function remoteTargetList(extra) {
  const remote = extra?.rows?.find((row) => row.contender === REMOTE_NAME);
  const cli = extra?.rows?.find((row) => row.contender === CLI_NAME);
  const onLongClip = extra?.clipName === LONG_CLIP;
  const bytes = onLongClip ? megabytes(remote.medianBytes) : null;
  const speedup = onLongClip ? cli.medianMs / remote.medianMs : null;
  return [
    {
      target: 'REMOTE bytes sent by nginx per snapshot',
      contender: 'framesnap snapshot(http://...), exact at 59 min of the 1-hour 480p file',
      measured: bytes,
      goal: `<= ${megabytes(REMOTE_MAX_BYTES)} MB`,
      met: bytes === null ? null : bytes <= megabytes(REMOTE_MAX_BYTES),
      unit: ' MB',
    },
    {
      target: 'REMOTE speed-up vs the CLI over HTTP',
      contender: 'framesnap snapshot(http://...) vs ffmpeg -ss T -i http://...',
      measured: speedup,
      goal: `>= ${REMOTE_MIN_SPEEDUP}x`,
      met: speedup === null ? null : speedup >= REMOTE_MIN_SPEEDUP,
      unit: 'x',
    },
  ];
}

/** REMOTE's targets among the run's results (run.mjs adds them to report.mjs's list). */
export function remoteTargets(results) {
  const result = results.find((candidate) => candidate.id === 'REMOTE');
  return result === undefined ? [] : remoteTargetList(result.extra);
}

function targetRows(extra) {
  return remoteTargetList(extra).map((target) => ({
    target: target.target,
    measured: target.measured === null ? 'not run (not the 1-hour clip)' : `${fixed(target.measured)}${target.unit}`,
    goal: target.goal,
    result: target.met === null ? '-' : target.met ? 'met' : 'NOT MET',
  }));
}

export function remoteCase() {
  return {
    id: 'REMOTE',
    title: 'one exact snapshot at 59 min of the 1-hour 480p H.264 file over loopback HTTP (nginx): framesnap vs the ffmpeg CLI',
    describe: (extra) =>
      extra.skipped
        ? 'skipped (see the note)'
        : [
            `${extra.clip} (${fixed(megabytes(extra.clipBytes), 0)} MB) served by nginx on loopback, exact frame at ${extra.timeMs} ms;`,
            `${extra.rounds} rounds of ${extra.calls} timed calls per contender, the order reversed every other round;`,
            "bytes, requests and connections per snapshot: nginx's access log (body bytes sent), read after each call:",
            textTable(
              resultTable(
                extra.rows,
                extra.rows.find((row) => row.contender === CLI_NAME),
              ),
            ),
            '',
            textTable(extra.ratios),
            '',
            textTable(targetRows(extra)),
          ].join('\n'),
    async measure(ctx) {
      const settings = SETTINGS[ctx.quick ? 'quick' : 'full'];
      const clipName = ctx.quick && !cached(LONG_CLIP) ? QUICK_FALLBACK_CLIP : LONG_CLIP;
      const timeMs = clipName === LONG_CLIP ? LONG_TIME_MS : FALLBACK_TIME_MS;
      const file = await clip(clipName);
      if (clipName !== LONG_CLIP) {
        ctx.note(`quick mode without the 1-hour clip in bench/.cache: the 60 s 1080p clip at ${timeMs} ms instead (targets not run)`);
      }
      const expectedMs = exactFrameMs(timeMs);
      let web;
      try {
        web = await startNginx({ root: cacheDir });
      } catch (error) {
        // No nginx here (npm run setup installs it): say so rather than fail the whole run.
        if (error.code !== 'ENOENT') throw error;
        ctx.note(`REMOTE skipped: ${error.message}`);
        return { skipped: error.message };
      }
      try {
        const url = `${web.url}/${encodeURIComponent(basename(file))}`;
        const cliOutput = join(ctx.outDir, 'cli-REMOTE.jpg');
        // The local reference keeps its open file and decoder between calls (per thread), so asking for the
        // same time again would be a cache hit: it takes the same offset into a different GOP each call, as F
        // does. The URL is never kept open between calls: it asks for the same time every call, as does the CLI.
        const rotation = Array.from({ length: 19 }, (_, i) => timeMs - i * KEYFRAME_INTERVAL_MS);
        let next = 0;
        const contenders = [
          { name: CLI_NAME, run: () => cliHttpSnapshot(url, timeMs, cliOutput) },
          { name: REMOTE_NAME, run: () => snapshot(url, { time: timeMs, allowPrivateNetwork: true }) },
          { name: LOCAL_NAME, run: () => snapshot(file, { time: rotation[next++ % rotation.length] }), local: true },
        ];
        let seen = (await web.accessLog()).length;
        const timedCall = async (contender) => {
          const started = performance.now();
          await contender.run();
          const ms = performance.now() - started;
          const requests = await newRequests(web, seen);
          seen += requests.length;
          const failed = requests.filter((entry) => entry.status !== 206 && entry.status !== 200);
          if (failed.length > 0) throw new Error(`${contender.name}: nginx answered ${failed.map((entry) => entry.status).join(', ')}`);
          if (contender.local && requests.length > 0) throw new Error(`${contender.name}: ${requests.length} request(s) to nginx`);
          return {
            ms,
            bytes: requests.reduce((sum, entry) => sum + entry.bytesSent, 0),
            requests: requests.length,
            connections: new Set(requests.map((entry) => entry.connection)).size,
          };
        };
        // One untimed call each: the addon, the pool threads, the page cache, nginx's open file.
        for (const contender of contenders) await timedCall(contender);
        const samples = new Map(contenders.map((contender) => [contender, []]));
        for (let round = 0; round < settings.rounds; round++) {
          for (const contender of round % 2 === 0 ? contenders : [...contenders].reverse()) {
            for (let call = 0; call < settings.calls; call++) samples.get(contender).push(await timedCall(contender));
          }
        }

        // The checks, outside the timing: the URL gives the very frame and bytes the file gives at that time.
        const fromUrl = await snapshot(url, { time: timeMs, allowPrivateNetwork: true, resolveWithObject: true });
        const fromFile = await snapshot(file, { time: timeMs, resolveWithObject: true });
        const checks = new Map();
        const failures = [];
        const expect = (name, ok, good, bad) => {
          checks.set(name, ok ? good : `FAILED: ${bad}`);
          if (!ok) failures.push(`${name}: ${bad}`);
        };
        expect(
          LOCAL_NAME,
          fromFile.info.timeMs === expectedMs,
          `timeMs ${fromFile.info.timeMs}`,
          `timeMs ${fromFile.info.timeMs}, expected ${expectedMs}`,
        );
        expect(
          REMOTE_NAME,
          fromUrl.info.timeMs === expectedMs && fromUrl.data.equals(fromFile.data),
          `timeMs ${fromUrl.info.timeMs}, same JPEG as the file`,
          `timeMs ${fromUrl.info.timeMs} (expected ${expectedMs}); ${fromUrl.data.equals(fromFile.data) ? 'same' : 'a different'} JPEG than the file`,
        );
        const cliImage = statSync(cliOutput, { throwIfNoEntry: false })?.size > 0 ? await sharp(cliOutput).metadata() : null;
        expect(
          CLI_NAME,
          cliImage?.format === 'jpeg' && cliImage.width === fromFile.info.width && cliImage.height === fromFile.info.height,
          `a ${cliImage?.width}x${cliImage?.height} JPEG written`,
          cliImage === null ? 'no image written' : `a ${cliImage.width}x${cliImage.height} ${cliImage.format} image`,
        );

        const rows = contenders.map((contender) => summary(contender.name, samples.get(contender), checks.get(contender.name)));
        const extra = {
          clip: basename(file),
          clipName,
          clipBytes: statSync(file).size,
          timeMs,
          expectedMs,
          rounds: settings.rounds,
          calls: settings.calls,
          rows,
          failedChecks: failures.length,
        };
        extra.ratios = ratioRows(extra);
        const cli = rows.find((row) => row.contender === CLI_NAME);
        ctx.note(
          `CLI bytes per snapshot vary with what the kernel had buffered when ffmpeg closed a response early: ${cli.minBytes}-${cli.maxBytes}`,
        );
        ctx.note(
          `the local reference takes ${timeMs % KEYFRAME_INTERVAL_MS} ms into a different GOP each call (${rotation
            .slice(0, 3)
            .map((ms) => ms / 1000)
            .join(', ')}, ... s): the same decode work without the cache hit of asking for the same time again`,
        );
        for (const failure of failures) ctx.note(`check FAILED: ${failure}`);
        return extra;
      } finally {
        await web.stop();
      }
    },
  };
}

// --- Case S3: a keyframe snapshot job through S3 buckets on a Swift server ------
//
// A Swift server with s3api (scripts/servers/swift-s3.mjs) holds the 60 s 1080p clip in
// one bucket and takes the images in another. Synchronous keyframe jobs of one
// SnapshotService (workers 2), one contender after the other, the order
// reversed every other round, each call timed alone:
//   - local: the clips folder in, a folder out (the reference);
//   - S3: the S3 bucket in (HeadObject, then the native reader's range requests
//     on a presigned URL), the S3 bucket out (PutObject);
//   - S3 in, folder out: the read alone;
//   - the upload alone: a PutObject of the same JPEG with the SDK.
// The target: S3 at most 2x local, plus the upload (S3 <= 2 x local + upload).

const S3_CLIP = 'h264_1080p_60s';
const S3_SETTINGS = { full: { rounds: 5, calls: 4 }, quick: { rounds: 2, calls: 2 } };
const S3_POOL = 2;
const S3_WARM_UP_CALLS = 2;
const STORE_IN = 'bench-clips';
const STORE_OUT = 'bench-out';
export const S3_MAX_RATIO = 2;

const S3_LOCAL_NAME = 'job: folder in, folder out (reference)';
const S3_NAME = 'job: S3 in, S3 out';
const S3_READ_NAME = 'job: S3 in, folder out';
const S3_UPLOAD_NAME = 'PutObject of the same JPEG alone (the upload)';

/** Call `index`'s time: the middle of a different 3 s GOP of the 60 s clip each call (19 GOPs, wrapping round): a keyframe job takes its first frame. */
const s3JobTime = (index) => 1500 + (index % 19) * 3000;

function s3Rows(extra) {
  const local = extra.rows.find((row) => row.contender === S3_LOCAL_NAME);
  return extra.rows.map((row) => ({
    contender: row.contender,
    'median ms': fixed(row.medianMs),
    'min ms': fixed(row.minMs),
    'vs local': row === local ? '-' : `${fixed(row.medianMs / local.medianMs)}x`,
    'S3 requests/job': String(row.medianRequests),
    'by method': row.methods,
    'Swift subrequests': String(row.medianSubrequests),
    'KB sent by Swift': fixed(row.medianBytesSent / 1000, 1),
    'KB received': fixed(row.medianBytesReceived / 1000, 1),
    'Swift ms/job': fixed(row.medianSwiftMs, 1),
    samples: row.samples,
    check: row.check,
  }));
}

/** S3's target, as report.mjs lists targets. */
function s3TargetList(extra) {
  const find = (name) => extra?.rows?.find((row) => row.contender === name);
  const [local, s3, upload] = [find(S3_LOCAL_NAME), find(S3_NAME), find(S3_UPLOAD_NAME)];
  const measured = local && s3 && upload ? (s3.medianMs - upload.medianMs) / local.medianMs : null;
  return [
    {
      target: 'S3 keyframe job vs local, less the upload',
      contender: '(S3 in and out - PutObject alone) / folder in and out, median ms',
      measured,
      goal: `<= ${S3_MAX_RATIO}x`,
      met: measured === null ? null : measured <= S3_MAX_RATIO,
      unit: 'x',
    },
  ];
}

/** Informational ratios: how much of an S3 job is the server's own time. */
function s3Ratios(extra) {
  const find = (name) => extra.rows.find((row) => row.contender === name);
  const [local, s3, read, upload] = [find(S3_LOCAL_NAME), find(S3_NAME), find(S3_READ_NAME), find(S3_UPLOAD_NAME)];
  return [
    {
      ratio: '(S3 in and out - PutObject alone) / local (the target)',
      value: `${fixed((s3.medianMs - upload.medianMs) / local.medianMs)}x`,
      detail: `(${fixed(s3.medianMs)} - ${fixed(upload.medianMs)}) / ${fixed(local.medianMs)} ms`,
    },
    {
      ratio: "(S3 in and out - Swift's own time) / local",
      value: `${fixed((s3.medianMs - s3.medianSwiftMs) / local.medianMs)}x`,
      detail: `(${fixed(s3.medianMs)} - ${fixed(s3.medianSwiftMs)}) / ${fixed(local.medianMs)} ms: the time outside the server`,
    },
    {
      ratio: "(S3 in, folder out - Swift's own time) / local",
      value: `${fixed((read.medianMs - read.medianSwiftMs) / local.medianMs)}x`,
      detail: `(${fixed(read.medianMs)} - ${fixed(read.medianSwiftMs)}) / ${fixed(local.medianMs)} ms`,
    },
  ];
}

/** S3's target among the run's results (run.mjs adds it to report.mjs's list). */
export function s3Targets(results) {
  const result = results.find((candidate) => candidate.id === 'S3');
  return result === undefined ? [] : s3TargetList(result.extra);
}

export function s3Case() {
  return {
    id: 'S3',
    title: 'one keyframe snapshot job through S3 buckets on a Swift server (s3api) vs the same job on folders, 1080p H.264',
    describe: (extra) =>
      extra.skipped
        ? 'skipped (see the note)'
        : [
            `${extra.clip} in the input bucket, a keyframe image (full size) to the output bucket; synchronous jobs of one`,
            `SnapshotService (workers ${S3_POOL}); ${extra.rounds} rounds of ${extra.calls} timed calls per contender, the order reversed every other round;`,
            "requests, bytes and Swift's own time per job (the sum of its requests' times): the proxy's access log, read after each call:",
            textTable(s3Rows(extra)),
            '',
            textTable(extra.ratios),
            '',
            textTable(
              s3TargetList(extra).map((target) => ({
                target: target.target,
                measured: target.measured === null ? 'not run' : `${fixed(target.measured)}${target.unit}`,
                goal: target.goal,
                result: target.met === null ? '-' : target.met ? 'met' : 'NOT MET',
              })),
            ),
          ].join('\n'),
    async measure(ctx) {
      const settings = S3_SETTINGS[ctx.quick ? 'quick' : 'full'];
      const file = await clip(S3_CLIP);
      const input = basename(file);
      let swift;
      let sdk;
      try {
        // Optional peer packages of framesnap, and Debian's python3-swift and memcached (npm run setup installs them all).
        sdk = await import('@aws-sdk/client-s3');
        swift = await import('../scripts/servers/swift-s3.mjs');
      } catch (error) {
        if (error.code !== 'ERR_MODULE_NOT_FOUND') throw error;
        ctx.note(`S3 skipped: ${error.message}`);
        return { skipped: error.message };
      }
      const swiftStarted = performance.now();
      let s3;
      try {
        s3 = await swift.startSwiftS3({ accessLog: true });
      } catch (error) {
        if (error.code !== 'ENOENT') throw error;
        ctx.note(`S3 skipped: ${error.message}`);
        return { skipped: error.message };
      }
      const swiftSeconds = (performance.now() - swiftStarted) / 1000;
      const root = mkdtempSync(join(tmpdir(), 'framesnap-bench-s3-'));
      const client = new sdk.S3Client(swift.s3ClientConfig(s3));
      let service;
      try {
        for (const Bucket of [STORE_IN, STORE_OUT]) await client.send(new sdk.CreateBucketCommand({ Bucket }));
        const uploadStarted = performance.now();
        await client.send(new sdk.PutObjectCommand({ Bucket: STORE_IN, Key: input, Body: readFileSync(file) }));
        const clipUploadSeconds = (performance.now() - uploadStarted) / 1000;
        const store = (bucket) => ({
          endpoint: s3.endpoint,
          region: s3.region,
          accessKeyId: s3.accessKeyId,
          secretAccessKey: s3.secretAccessKey,
          bucket,
          forcePathStyle: true,
          allowPrivateNetwork: true,
        });
        mkdirSync(join(root, 'local-out'));
        service = new SnapshotService({
          root,
          workers: S3_POOL,
          syncTimeoutMs: 60_000,
          buckets: { 'local-clips': cacheDir, 's3-clips': store(STORE_IN), 's3-out': store(STORE_OUT) },
        });
        await service.ready();
        const job = async (inBucket, outBucket, key, time) => {
          const response = await service.submitSnapshotJob({
            Input: { Bucket: inBucket, Object: input },
            SnapshotConfig: { OutputFile: { Bucket: outBucket, Object: key }, Time: time, FrameType: 'intra' },
          });
          const done = response.SnapshotJob;
          if (done.State !== 'Success' || done.Count !== '1') {
            throw new Error(
              `job ${done.Id} (${inBucket} -> ${outBucket}) ended ${done.State} (Count ${done.Count}) ${done.Code} ${done.Message}`,
            );
          }
        };
        // The upload contender puts the reference's latest image, so it sends a JPEG of the same size.
        let lastLocalKey;
        const contenders = [
          {
            name: S3_LOCAL_NAME,
            local: true,
            run: async (i) => {
              lastLocalKey = `local/${i}.jpg`;
              await job('local-clips', 'local-out', lastLocalKey, s3JobTime(i));
            },
          },
          { name: S3_NAME, run: (i) => job('s3-clips', 's3-out', `s3/${i}.jpg`, s3JobTime(i)) },
          { name: S3_READ_NAME, run: (i) => job('s3-clips', 'local-out', `s3-read/${i}.jpg`, s3JobTime(i)) },
          {
            name: S3_UPLOAD_NAME,
            prepare: () => readFileSync(join(root, 'local-out', lastLocalKey)),
            run: (i, body) => client.send(new sdk.PutObjectCommand({ Bucket: STORE_OUT, Key: `upload/${i}.jpg`, Body: body })),
          },
        ];
        const calls = new Map(contenders.map((contender) => [contender, 0]));
        const samples = new Map(contenders.map((contender) => [contender, []]));
        let seen = (await s3.accessLog()).length;
        const timedCall = async (contender) => {
          const i = calls.get(contender);
          calls.set(contender, i + 1);
          const prepared = contender.prepare?.();
          const started = performance.now();
          await contender.run(i, prepared);
          const ms = performance.now() - started;
          // What the call cost the server: the proxy's log lines since the last call (see scripts/servers/swift-s3.mjs).
          const log = await s3.accessLog();
          const entries = log.slice(seen);
          seen = log.length;
          const requests = entries.filter((entry) => entry.source === null);
          const failed = requests.filter((entry) => entry.status >= 400);
          if (failed.length > 0) {
            throw new Error(`${contender.name}: Swift answered ${failed.map((entry) => `${entry.method} ${entry.status}`).join(', ')}`);
          }
          if (contender.local && entries.length > 0) throw new Error(`${contender.name}: ${entries.length} request(s) to Swift`);
          const methods = new Map();
          for (const entry of requests) methods.set(entry.method, (methods.get(entry.method) ?? 0) + 1);
          return {
            ms,
            requests: requests.length,
            methods: [...methods].map(([method, count]) => `${method} ${count}`).join(', ') || '-',
            subrequests: entries.length - requests.length,
            bytesSent: requests.reduce((sum, entry) => sum + entry.bytesSent, 0),
            bytesReceived: requests.reduce((sum, entry) => sum + entry.bytesReceived, 0),
            swiftMs: requests.reduce((sum, entry) => sum + entry.seconds * 1000, 0),
          };
        };
        // Untimed calls first: pool threads, the SDK's clients and connections, the page cache.
        for (let k = 0; k < S3_WARM_UP_CALLS; k++) for (const contender of contenders) await timedCall(contender);
        for (let round = 0; round < settings.rounds; round++) {
          for (const contender of round % 2 === 0 ? contenders : [...contenders].reverse()) {
            for (let call = 0; call < settings.calls; call++) samples.get(contender).push(await timedCall(contender));
          }
        }

        // The checks, outside the timing: the same job on each path gives the same image.
        const checkTime = 30_000;
        await job('local-clips', 'local-out', 'check/local.jpg', checkTime);
        await job('s3-clips', 's3-out', 'check/s3.jpg', checkTime);
        await job('s3-clips', 'local-out', 'check/s3-read.jpg', checkTime);
        const reference = readFileSync(join(root, 'local-out', 'check', 'local.jpg'));
        const got = await client.send(new sdk.GetObjectCommand({ Bucket: STORE_OUT, Key: 'check/s3.jpg' }));
        const fromS3 = Buffer.from(await got.Body.transformToByteArray());
        const fromRead = readFileSync(join(root, 'local-out', 'check', 's3-read.jpg'));
        const isJpeg = reference.length > 3 && reference[0] === 0xff && reference[1] === 0xd8 && reference[2] === 0xff;
        const failures = [];
        const checks = new Map();
        const expect = (name, ok, good, bad) => {
          checks.set(name, ok ? good : `FAILED: ${bad}`);
          if (!ok) failures.push(`${name}: ${bad}`);
        };
        expect(S3_LOCAL_NAME, isJpeg, `a ${reference.length}-byte JPEG at ${checkTime / 1000} s`, 'not a JPEG');
        expect(S3_NAME, fromS3.equals(reference), 'the same bytes in the S3 bucket', 'a different image in the S3 bucket');
        expect(S3_READ_NAME, fromRead.equals(reference), 'the same bytes', 'a different image');
        const uploads = await client.send(new sdk.ListObjectsV2Command({ Bucket: STORE_OUT, Prefix: 'upload/' }));
        const uploadCount = uploads.KeyCount ?? 0;
        const uploadCalls = calls.get(contenders[3]);
        expect(S3_UPLOAD_NAME, uploadCount === uploadCalls, `${uploadCount} objects`, `${uploadCount} objects after ${uploadCalls} calls`);

        const rows = contenders.map((contender) => {
          const taken = samples.get(contender);
          const middle = (field) => median(taken.map((sample) => sample[field]));
          // The most frequent mix of requests (the number of range GETs varies with the GOP's size).
          const mixes = new Map();
          for (const sample of taken) mixes.set(sample.methods, (mixes.get(sample.methods) ?? 0) + 1);
          const [mix, mixCount] = [...mixes].sort((a, b) => b[1] - a[1])[0];
          return {
            ...timeSummary(
              contender.name,
              taken.map((sample) => sample.ms),
              checks.get(contender.name),
            ),
            medianRequests: middle('requests'),
            methods: mixes.size === 1 ? mix : `${mix} (${mixCount} of ${taken.length})`,
            medianSubrequests: middle('subrequests'),
            medianBytesSent: middle('bytesSent'),
            medianBytesReceived: middle('bytesReceived'),
            medianSwiftMs: middle('swiftMs'),
          };
        });
        ctx.note(
          `Swift (s3api, tempauth, one replica) on loopback, started by the case in ${fixed(swiftSeconds, 1)} s; the clip (${fixed(megabytes(statSync(file).size), 0)} MB) uploaded once in ${fixed(clipUploadSeconds, 1)} s`,
        );
        ctx.note(
          `job times: the middle of a different GOP each call (${s3JobTime(0) / 1000}, ${s3JobTime(1) / 1000}, ... s), so the keyframe at ${keyframeMs(s3JobTime(0)) / 1000}, ${keyframeMs(s3JobTime(1)) / 1000}, ... s; ${S3_WARM_UP_CALLS} untimed calls of each contender first`,
        );
        for (const failure of failures) ctx.note(`check FAILED: ${failure}`);
        const extra = { clip: input, rounds: settings.rounds, calls: settings.calls, rows, failedChecks: failures.length };
        extra.ratios = s3Ratios(extra);
        return extra;
      } finally {
        await service?.close();
        client.destroy();
        await s3.stop();
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
