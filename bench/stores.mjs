// Case STORE (issue 11, item 8): what the job stores cost.
//
// 1. Per-job overhead: synchronous keyframe jobs through the memory store,
//    SQLite (a temporary file) and Redis (a redis-server this case starts and
//    stops), one job per store in each round, the store order rotated every
//    round, every store given the same time in a round: a slow spell of this
//    shared machine then hurts all three alike. Overhead = a store's median ms
//    per job minus the memory store's.
// 2. Throughput on Redis: asynchronous keyframe jobs submitted by a
//    `workers: 0` service and run by 1 and by 2 `framesnap worker` processes
//    (concurrency 1 each), against the in-process pool (memory store,
//    workers 2), in batches, the contender order reversed every other round.
//    Worker start-up is outside the timing: the processes start once, run a
//    warm-up batch, and wait (idle) while the other contenders run.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SnapshotService } from '../dist/index.js';
import { exited } from '../scripts/servers/process.mjs';
import { startRedis } from '../scripts/servers/redis.mjs';
import { cacheDir, clip, keyframeMs } from './clips.mjs';
import { textTable } from './report.mjs';
import { jobTime, median } from './util.mjs';

const framesnapCli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/** The pool size of the in-process contender and of each per-job service; two worker processes match it. */
const POOL = 2;
/** Output width: a small image, so the job is mostly the decode of one 1080p keyframe and the store's work shows. */
const WIDTH = 320;
const SETTINGS = {
  full: { syncJobs: 200, asyncJobs: 200, batches: 5 },
  quick: { syncJobs: 40, asyncJobs: 40, batches: 2 },
};
/** Untimed jobs each store or contender runs first (pool threads, the addon, sharp, BullMQ's scripts, the JIT). */
const WARM_UP_JOBS = 4;
const INPUT_BUCKET = 'bench-clips';
const OUTPUT_BUCKET = 'bench-out';
const START_TIMEOUT_MS = 15_000;

const fixed = (value, digits = 2) => Number(value.toFixed(digits));

// --- worker processes ---------------------------------------------------------

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has gone. */
async function stopProcess(child, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

/** Starts `framesnap worker` (concurrency 1); resolves once it says it is running jobs. */
function startWorker(root, url) {
  const child = spawn(process.execPath, [framesnapCli, 'worker', '--root', root, '--redis', url, '--concurrency', '1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const settle = (error) => {
      clearTimeout(timer);
      child.off('error', settle);
      child.off('exit', exitedEarly);
      child.stderr.off('data', listen);
      // Read on and dropped: a full pipe would block the worker.
      child.stderr.resume();
      if (error === undefined) {
        resolve(child);
      } else {
        child.kill('SIGKILL');
        reject(new Error(`${error.message}\n${output.trim()}`));
      }
    };
    const exitedEarly = (code, signal) => settle(new Error(`framesnap worker exited (${signal ?? code}) before it ran jobs`));
    const listen = (chunk) => {
      output += chunk;
      if (output.includes('running the queued jobs')) settle();
    };
    const timer = setTimeout(() => settle(new Error(`framesnap worker did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.once('error', settle);
    child.once('exit', exitedEarly);
    child.stderr.on('data', listen);
  });
}

// --- the jobs -----------------------------------------------------------------

/** Job `index`'s request: an image of its own, so that jobs running at once never write the same object. */
function keyframeRequest(input, folder, index, asynchronous) {
  return {
    Input: { Bucket: INPUT_BUCKET, Object: input },
    SnapshotConfig: {
      OutputFile: { Bucket: OUTPUT_BUCKET, Object: `${folder}/${index}-{Count}.jpg` },
      Time: jobTime(index),
      FrameType: 'intra',
      Width: WIDTH,
      // Num 1 and an Interval make the same one-image job asynchronous (queued).
      ...(asynchronous ? { Num: 1, Interval: 1 } : {}),
    },
  };
}

function expectSuccess(job, what) {
  if (job.State !== 'Success' || job.Count !== '1') {
    throw new Error(`${what}: job ${job.Id} ended ${job.State} (Count ${job.Count}) ${job.Code} ${job.Message}`.trimEnd());
  }
}

/** One synchronous job; its wall time in ms, from submission to the answer. */
async function timedSyncJob(service, input, folder, index) {
  const started = performance.now();
  const response = await service.submitSnapshotJob(keyframeRequest(input, folder, index, false));
  const ms = performance.now() - started;
  expectSuccess(response.SnapshotJob, folder);
  return ms;
}

/** Linux's clock ticks per second (sysconf(_SC_CLK_TCK)), which /proc/PID/stat counts CPU time in: 100 on every Linux Node runs on. */
const CLOCK_TICKS = 100;

/**
 * CPU time (user + system, ms) used so far by this process and the processes
 * `pids` (the redis-server, the worker processes); null where /proc cannot
 * be read (not Linux).
 */
function cpuMs(pids) {
  const own = process.cpuUsage();
  let total = (own.user + own.system) / 1000;
  try {
    for (const pid of pids) {
      // The fields after the command name (which may hold spaces) and its closing parenthesis: utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop().split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    }
  } catch {
    return null;
  }
  return total;
}

/**
 * `count` asynchronous jobs submitted one after another, then awaited: the
 * wall time in ms, and the CPU time of this process and `pids` (every
 * process of the case, idle ones too) in that time.
 */
async function timedBatch(service, input, folder, first, count, pids = []) {
  const cpuBefore = cpuMs(pids);
  const started = performance.now();
  const ids = [];
  for (let i = 0; i < count; i++) {
    const response = await service.submitSnapshotJob(keyframeRequest(input, folder, first + i, true));
    ids.push(response.SnapshotJob.Id);
  }
  const jobs = await Promise.all(ids.map((id) => service.waitForJob(id)));
  const ms = performance.now() - started;
  const cpuAfter = cpuMs(pids);
  for (const job of jobs) expectSuccess(job, folder);
  return { count, ms, cpuMs: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore };
}

// --- the measurements ---------------------------------------------------------

/** Per-job times of synchronous jobs, one per store a round; `redisUrl` null: memory and SQLite only. */
async function perJobOverhead(root, redisUrl, input, jobs) {
  const common = { root, workers: POOL, syncTimeoutMs: 60_000 };
  const services = {
    memory: new SnapshotService(common),
    SQLite: new SnapshotService({ ...common, database: join(root, 'jobs.db') }),
    // Database 1 of the case's server: keys apart from the throughput runs'.
    ...(redisUrl === null ? {} : { Redis: new SnapshotService({ ...common, redis: `${redisUrl}/1` }) }),
  };
  const stores = Object.keys(services);
  const samples = Object.fromEntries(stores.map((store) => [store, []]));
  try {
    for (const store of stores) await services[store].ready();
    for (let i = 0; i < WARM_UP_JOBS; i++) {
      for (const store of stores) await timedSyncJob(services[store], input, `sync-${store}`, i);
    }
    for (let round = 0; round < jobs; round++) {
      // memory, SQLite, Redis; then SQLite, Redis, memory; ...: each store goes first as often as the others.
      for (let k = 0; k < stores.length; k++) {
        const store = stores[(round + k) % stores.length];
        samples[store].push(await timedSyncJob(services[store], input, `sync-${store}`, round));
      }
    }
  } finally {
    await Promise.all(Object.values(services).map((service) => service.close()));
  }
  const medians = Object.fromEntries(stores.map((store) => [store, median(samples[store])]));
  return Object.fromEntries(
    stores.map((store) => [
      store,
      {
        jobs: samples[store].length,
        medianMs: fixed(medians[store]),
        overheadMs: fixed(medians[store] - medians.memory),
        // Each job against the same round's memory job (the same time, the same spell of the machine).
        pairedOverheadMs: fixed(median(samples[store].map((ms, i) => ms - samples.memory[i]))),
      },
    ]),
  );
}

/** Jobs/s of asynchronous jobs in batches; `redis` null: the in-process pool only. */
async function throughput(root, redis, input, jobs, batches) {
  const batchSize = Math.ceil(jobs / batches);
  const contenders = [
    { name: `in-process pool (memory, workers ${POOL})`, key: 'pool', processes: 0 },
    { name: '1 framesnap worker process (Redis)', key: 'worker1', processes: 1 },
    { name: '2 framesnap worker processes (Redis)', key: 'worker2', processes: 2 },
  ].filter((contender) => redis !== null || contender.processes === 0);
  const started = [];
  const pids = () => [...(redis === null ? [] : [redis.pid]), ...started.map((child) => child.pid)];
  try {
    for (const [i, contender] of contenders.entries()) {
      if (contender.processes === 0) {
        contender.service = new SnapshotService({ root, workers: POOL });
      } else {
        // A database of its own per contender, so that an idle contender's workers take none of the others' jobs.
        const url = `${redis.url}/${i + 2}`;
        for (let p = 0; p < contender.processes; p++) started.push(await startWorker(root, url));
        contender.service = new SnapshotService({ root, workers: 0, redis: url });
      }
      await contender.service.ready();
      contender.batches = [];
      await timedBatch(contender.service, input, `async-${contender.key}`, 0, WARM_UP_JOBS);
    }
    for (let round = 0, done = 0; done < jobs; round++, done += batchSize) {
      const count = Math.min(batchSize, jobs - done);
      for (const contender of round % 2 === 0 ? contenders : [...contenders].reverse()) {
        contender.batches.push(await timedBatch(contender.service, input, `async-${contender.key}`, done, count, pids()));
      }
    }
  } finally {
    await Promise.all(contenders.map((contender) => contender.service?.close()));
    await Promise.all(started.map((child) => stopProcess(child)));
  }
  const rates = Object.fromEntries(
    contenders.map((contender) => {
      const totalMs = contender.batches.reduce((sum, { ms }) => sum + ms, 0);
      const cpu = contender.batches.every((batch) => batch.cpuMs !== null)
        ? contender.batches.map((batch) => batch.cpuMs / batch.count)
        : null;
      return [
        contender.key,
        {
          contender: contender.name,
          jobs,
          batches: contender.batches.length,
          jobsPerSecond: fixed(median(contender.batches.map(({ count, ms }) => (count * 1000) / ms))),
          overallJobsPerSecond: fixed((jobs * 1000) / totalMs),
          cpuMsPerJob: cpu === null ? null : fixed(median(cpu), 1),
        },
      ];
    }),
  );
  for (const rate of Object.values(rates)) rate.vsPool = fixed(rate.jobsPerSecond / rates.pool.jobsPerSecond, 3);
  return rates;
}

function perJobTable(perJob) {
  return Object.entries(perJob).map(([store, measured]) => ({
    store,
    'median ms/job': measured.medianMs.toFixed(2),
    'vs memory ms': store === 'memory' ? '-' : measured.overheadMs.toFixed(2),
    'paired diff ms': store === 'memory' ? '-' : measured.pairedOverheadMs.toFixed(2),
    jobs: measured.jobs,
  }));
}

function throughputTable(rates) {
  return Object.values(rates).map((rate) => ({
    contender: rate.contender,
    'jobs/s': rate.jobsPerSecond.toFixed(2),
    'overall jobs/s': rate.overallJobsPerSecond.toFixed(2),
    'vs pool': `${(rate.vsPool * 100).toFixed(1)}%`,
    'CPU ms/job': rate.cpuMsPerJob === null ? '-' : rate.cpuMsPerJob.toFixed(1),
    jobs: rate.jobs,
    batches: rate.batches,
  }));
}

export function storesCase() {
  return {
    id: 'STORE',
    title: 'job stores: per-job overhead and throughput',
    describe: ({ perJob, throughput: rates, clip: file, width, batchSize }) =>
      [
        `synchronous keyframe jobs (${file}, one image ${width} wide), one per store a round, the order rotated;`,
        "vs memory = median - memory median (the targets); paired diff = median of each job - the same round's memory job:",
        textTable(perJobTable(perJob)),
        '',
        `asynchronous keyframe jobs (Num 1, Interval 1), batches of ${batchSize} submitted one by one and awaited,`,
        "the order reversed every other round; jobs/s = the median batch, overall = all jobs / all batches' time;",
        "CPU ms/job = the median batch's CPU time of every process of the case (this one, redis-server, the workers) per job:",
        textTable(throughputTable(rates)),
      ].join('\n'),
    async measure(ctx) {
      const settings = SETTINGS[ctx.quick ? 'quick' : 'full'];
      const file = await clip('h264_1080p_60s');
      const input = basename(file);
      // A root of the case's own that worker processes can be pointed at: the clips folder as the input bucket.
      const root = mkdtempSync(join(tmpdir(), 'framesnap-bench-store-'));
      symlinkSync(cacheDir, join(root, INPUT_BUCKET));
      mkdirSync(join(root, OUTPUT_BUCKET));
      let redis = null;
      try {
        try {
          redis = await startRedis();
        } catch (error) {
          // No redis-server here (npm run setup installs it): the rest of the case still says something.
          if (error.code !== 'ENOENT') throw error;
          ctx.note(`Redis skipped: ${error.message}`);
        }
        const redisUrl = redis?.url ?? null;
        const perJob = await perJobOverhead(root, redisUrl, input, settings.syncJobs);
        const rates = await throughput(root, redis, input, settings.asyncJobs, settings.batches);
        ctx.note(
          `job times: the middle of a different 3 s GOP each job (${jobTime(0) / 1000}, ${jobTime(1) / 1000}, ... s), so the keyframe at ${keyframeMs(jobTime(0)) / 1000}, ${keyframeMs(jobTime(1)) / 1000}, ... s`,
        );
        ctx.note(
          `SQLite in a temporary file${redis ? '; Redis: a redis-server started by the case on a loopback port, no persistence' : ''}; the services of the per-job runs and the pool have ${POOL} workers; each store and contender ran ${WARM_UP_JOBS} untimed jobs first`,
        );
        if (redis) {
          ctx.note(
            'the worker processes start (and warm up) before the timing and idle while the other contenders run; the Redis contenders submit from this process (workers: 0), which hears of completions from the event stream of the Redis store',
          );
        }
        return {
          clip: input,
          width: WIDTH,
          batchSize: Math.ceil(settings.asyncJobs / settings.batches),
          perJob,
          throughput: rates,
          // What the targets read (report.mjs); null when Redis was skipped.
          sqliteOverheadMs: perJob.SQLite.overheadMs,
          redisOverheadMs: perJob.Redis?.overheadMs ?? null,
          workersVsPool: rates.worker2?.vsPool ?? null,
        };
      } finally {
        await redis?.stop();
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
