// Case HTTP (issue 13, item 6): what `framesnap serve` costs over the
// in-process API.
//
// 1. A synchronous keyframe SubmitSnapshotJob (one image, 320 wide, from the
//    1080p clip) through the official SDK (@alicloud/mts20140618, V3
//    signatures, keep-alive) against createServer() on a loopback port,
//    against the same job submitted in-process to the same service (SQLite,
//    serve's default store): one job of each per round, the order swapped
//    every round, the same time for both. Overhead = the SDK's median minus
//    the in-process median (target <= 5 ms); paired = the median of each
//    round's difference.
// 2. QuerySnapshotJobList by ids, requests per second: autocannon in a child
//    process (bench/server-load.mjs, each request signed with V3 and a fresh
//    nonce, as the SDK signs), keep-alive connections, against the same
//    server (target >= 2000 requests/s with one id).
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { SnapshotService } from '../dist/index.js';
import { createServer } from '../dist/server/index.js';
import { cacheDir, clip } from './clips.mjs';
import { textTable } from './report.mjs';
import { jobTime, median } from './util.mjs';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const LOAD = fileURLToPath(new URL('./server-load.mjs', import.meta.url));

const POOL = 2;
const WIDTH = 320;
const INPUT_BUCKET = 'bench-clips';
const OUTPUT_BUCKET = 'bench-out';
const ACCESS_KEY_ID = 'benchAccessKeyId';
const ACCESS_KEY_SECRET = 'benchAccessKeySecret';
const WARM_UP_JOBS = 4;
const SETTINGS = {
  full: { syncJobs: 100, loadSeconds: 10, connections: 16 },
  quick: { syncJobs: 20, loadSeconds: 3, connections: 16 },
};
const TARGETS = { overheadMs: 5, requestsPerSecond: 2000 };

const fixed = (value, digits = 2) => Number(value.toFixed(digits));

function jobConfig(input, folder, index) {
  return {
    Input: JSON.stringify({ Bucket: INPUT_BUCKET, Object: input }),
    SnapshotConfig: JSON.stringify({
      OutputFile: { Bucket: OUTPUT_BUCKET, Object: `${folder}/${index}.jpg` },
      Time: String(jobTime(index)),
      FrameType: 'intra',
      Width: String(WIDTH),
    }),
  };
}

function sdkClient(port) {
  const Mts = require('@alicloud/mts20140618');
  const { $OpenApiUtil } = require('@alicloud/openapi-core');
  const client = new Mts.default(
    new $OpenApiUtil.Config({
      accessKeyId: ACCESS_KEY_ID,
      accessKeySecret: ACCESS_KEY_SECRET,
      endpoint: `127.0.0.1:${port}`,
      protocol: 'http',
      // A shared machine may stall a job past the SDK's default 3 s; the timing, not the deadline, is measured here.
      readTimeout: 60_000,
      connectTimeout: 60_000,
    }),
  );
  return { client, Mts };
}

function expectSuccess(job, what) {
  if (job.State !== 'Success' || job.Count !== '1')
    throw new Error(`${what}: job ${job.Id} ended ${job.State} ${job.Code} ${job.Message}`.trimEnd());
}

async function syncOverhead(service, port, input, jobs, root, serverSide) {
  const { client, Mts } = sdkClient(port);
  const contenders = {
    'in-process': async (index) => {
      const started = performance.now();
      const { SnapshotJob } = await service.submitSnapshotJob(jobConfig(input, 'in-process', index));
      const ms = performance.now() - started;
      expectSuccess(SnapshotJob, 'in-process');
      return { ms, id: SnapshotJob.Id };
    },
    SDK: async (index) => {
      const { Input, SnapshotConfig } = jobConfig(input, 'sdk', index);
      const started = performance.now();
      const response = await client.submitSnapshotJob(new Mts.SubmitSnapshotJobRequest({ input: Input, snapshotConfig: SnapshotConfig }));
      const ms = performance.now() - started;
      const job = response.body.snapshotJob.toMap();
      expectSuccess(job, 'SDK');
      return { ms, id: job.Id };
    },
  };
  const names = Object.keys(contenders);
  for (let i = 0; i < WARM_UP_JOBS; i++) for (const name of names) await contenders[name](i);
  serverSide.length = 0;
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  const ids = [];
  for (let round = 0; round < jobs; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const { ms, id } = await contenders[name](round);
      samples[name].push(ms);
      if (name === 'SDK') ids.push(id);
    }
  }
  // The same job gives the same bytes either way.
  const same = readFileSync(join(root, OUTPUT_BUCKET, 'sdk', '0.jpg')).equals(
    readFileSync(join(root, OUTPUT_BUCKET, 'in-process', '0.jpg')),
  );
  const inProcess = median(samples['in-process']);
  const sdk = median(samples.SDK);
  return {
    jobs,
    inProcessMedianMs: fixed(inProcess),
    sdkMedianMs: fixed(sdk),
    overheadMs: fixed(sdk - inProcess),
    pairedOverheadMs: fixed(median(samples.SDK.map((ms, i) => ms - samples['in-process'][i]))),
    // The server's share: from the request's arrival to its answer written (Fastify's onRequest to onResponse).
    serverMedianMs: fixed(median(serverSide)),
    sameBytes: same,
    ids,
  };
}

async function queryLoad(port, ids, settings) {
  const rows = [];
  for (const count of [1, 10]) {
    const { stdout } = await run(
      process.execPath,
      [
        LOAD,
        JSON.stringify({
          port,
          ids: ids.slice(0, count),
          connections: settings.connections,
          seconds: settings.loadSeconds,
          accessKeyId: ACCESS_KEY_ID,
          accessKeySecret: ACCESS_KEY_SECRET,
        }),
      ],
      { maxBuffer: 1 << 20 },
    );
    rows.push({ ids: count, ...JSON.parse(stdout.trim().split('\n').pop()) });
  }
  return rows;
}

export function serverCase() {
  return {
    id: 'HTTP',
    title: 'framesnap serve: a synchronous job through the SDK vs in-process; QuerySnapshotJobList requests/s',
    describe: ({ sync, load, clip: file, connections, loadSeconds }) =>
      [
        `synchronous keyframe SubmitSnapshotJob (${file}, one image ${WIDTH} wide), SQLite store, ${POOL} workers;`,
        'one job of each per round, the order swapped every round; overhead = SDK median - in-process median:',
        textTable([
          {
            contender: 'in-process service.submitSnapshotJob',
            'median ms': sync.inProcessMedianMs.toFixed(2),
            'overhead ms': '-',
            'paired ms': '-',
            jobs: sync.jobs,
          },
          {
            contender: 'SDK (V3) -> createServer -> service',
            'median ms': sync.sdkMedianMs.toFixed(2),
            'overhead ms': sync.overheadMs.toFixed(2),
            'paired ms': sync.pairedOverheadMs.toFixed(2),
            jobs: sync.jobs,
          },
          {
            contender: '  of which in the server (arrival to answer)',
            'median ms': sync.serverMedianMs.toFixed(2),
            'overhead ms': (sync.serverMedianMs - sync.inProcessMedianMs).toFixed(2),
            'paired ms': '-',
            jobs: sync.jobs,
          },
        ]),
        `  target: overhead <= ${TARGETS.overheadMs} ms: ${sync.overheadMs <= TARGETS.overheadMs ? 'met' : 'NOT met'}; same JPEG bytes both ways: ${sync.sameBytes ? 'yes' : 'NO'}`,
        '',
        `QuerySnapshotJobList by ids (finished jobs), autocannon in a child process, ${connections} keep-alive connections, ${loadSeconds} s, every request V3-signed with a fresh nonce:`,
        textTable(
          load.map((row) => ({
            ids: row.ids,
            'requests/s': row.requestsPerSecond.toFixed(0),
            'median ms': String(row.latencyMedianMs),
            'p99 ms': String(row.latencyP99Ms),
            requests: row.total,
            'non-2xx': row.non2xx,
            errors: row.errors + row.timeouts,
          })),
        ),
        `  target: >= ${TARGETS.requestsPerSecond} requests/s (one id): ${load[0].requestsPerSecond >= TARGETS.requestsPerSecond ? 'met' : 'NOT met'}`,
      ].join('\n'),
    async measure(ctx) {
      const settings = SETTINGS[ctx.quick ? 'quick' : 'full'];
      const file = await clip('h264_1080p_60s');
      const input = basename(file);
      const root = mkdtempSync(join(tmpdir(), 'framesnap-bench-http-'));
      symlinkSync(cacheDir, join(root, INPUT_BUCKET));
      mkdirSync(join(root, OUTPUT_BUCKET));
      const service = new SnapshotService({ root, workers: POOL, database: join(root, 'jobs.db'), syncTimeoutMs: 60_000 });
      const server = createServer(service, { accessKeys: { [ACCESS_KEY_ID]: ACCESS_KEY_SECRET }, rateLimit: false });
      try {
        const arrivals = new WeakMap();
        const serverSide = [];
        server.addHook('onRequest', (request, _reply, done) => {
          arrivals.set(request, performance.now());
          done();
        });
        server.addHook('onResponse', (request, _reply, done) => {
          if (request.headers['x-acs-action'] === 'SubmitSnapshotJob') serverSide.push(performance.now() - arrivals.get(request));
          done();
        });
        await server.listen({ host: '127.0.0.1', port: 0 });
        const { port } = server.server.address();
        const load = loadavg().map((value) => value.toFixed(2));
        const sync = await syncOverhead(service, port, input, settings.syncJobs, root, serverSide);
        const queries = await queryLoad(port, sync.ids, settings);
        const failedChecks =
          (sync.sameBytes ? 0 : 1) + queries.filter((row) => row.non2xx > 0 || row.errors > 0 || row.timeouts > 0).length;
        ctx.note(
          'the SDK runs in this process (its client work counts, as it would in an application); the load generator in a child process, so on 2 cores the server has about one',
        );
        ctx.note('the server has no rate limit here (rateLimit: false; the default is 5000 requests/s per key)');
        ctx.note(
          `load average when the case started: ${load.join(' ')} (${availableParallelism()} cores): other work on the machine takes from both parts`,
        );
        return {
          clip: input,
          connections: settings.connections,
          loadSeconds: settings.loadSeconds,
          sync: { ...sync, ids: undefined },
          load: queries,
          failedChecks,
          // What a targets table reads.
          overheadMs: sync.overheadMs,
          requestsPerSecond: queries[0].requestsPerSecond,
        };
      } finally {
        await server.close();
        await service.close();
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

/** HTTP's two targets, as report.mjs lists them (run.mjs adds them to the run's list); measured null when the case did not run. */
export function serverTargets(results) {
  const extra = results.find((result) => result.id === 'HTTP')?.extra;
  const overhead = extra?.overheadMs ?? null;
  const rate = extra?.requestsPerSecond ?? null;
  return [
    {
      target: 'HTTP sync job through the SDK vs in-process',
      contender: 'SubmitSnapshotJob (keyframe) via @alicloud/mts20140618 -> framesnap serve: SDK median - in-process median',
      measured: overhead,
      goal: `<= ${TARGETS.overheadMs} ms`,
      met: overhead === null ? null : overhead <= TARGETS.overheadMs,
      unit: ' ms',
    },
    {
      target: 'HTTP QuerySnapshotJobList by id',
      contender: 'signed requests/s, autocannon 16 connections',
      measured: rate,
      goal: `>= ${TARGETS.requestsPerSecond}/s`,
      met: rate === null ? null : rate >= TARGETS.requestsPerSecond,
      unit: '/s',
    },
  ];
}
