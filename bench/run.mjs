#!/usr/bin/env node
// `npm run bench [-- --quick]`: every contender side by side in one process
// run, per case; prints a table (median ms, ops/s, ratio to the CLI path) and
// writes bench/results/latest.json.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { Bench } from 'tinybench';

import { ffmpegVersions, snapshot, snapshotSync } from '../dist/index.js';
import { clip } from './clips.mjs';
import { cliSnapshot, ffmpegVersionLine } from './cli.mjs';

const quick = process.argv.includes('--quick');
const out = mkdtempSync(join(tmpdir(), 'framesnap-bench-'));
const CLI = 'ffmpeg CLI (process per image)';

function caseSingle(id, title, frameType, time) {
  return async () => {
    const file = await clip('h264_1080p_60s');
    return {
      id,
      title,
      contenders: {
        [CLI]: () => cliSnapshot(file, time, frameType, join(out, `${id}-cli.jpg`)),
        'framesnap snapshot()': () => snapshot(file, { time, frameType }),
        'framesnap snapshotSync()': () => snapshotSync(file, { time, frameType }),
      },
    };
  };
}

const CASES = [
  caseSingle('A', 'one keyframe snapshot at 30 s, 1080p H.264', 'intra', 30_000),
  // 30 s is itself a keyframe of this clip (one every 3 s), so B decodes one frame.
  caseSingle('B', 'one exact snapshot at 30 s, 1080p H.264', 'normal', 30_000),
  // B2 is the hard exact case: 2.5 s into a 3 s GOP, 75 frames to decode first.
  caseSingle('B2', 'one exact snapshot at 32.5 s (mid-GOP), 1080p H.264', 'normal', 32_500),
];

function machine() {
  return {
    cpus: `${availableParallelism()} x ${cpus()[0]?.model ?? 'unknown'}`,
    node: process.version,
    ffmpeg: ffmpegVersions().ffmpeg,
    sharp: sharp.versions.sharp,
    libvips: sharp.versions.vips,
    libuvThreadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    date: new Date().toISOString(),
  };
}

async function main() {
  const info = { ...machine(), ffmpegCli: await ffmpegVersionLine() };
  console.log(`machine: ${info.cpus}; Node ${info.node}; FFmpeg libs ${info.ffmpeg}; sharp ${info.sharp} (libvips ${info.libvips})`);
  console.log(`CLI: ${info.ffmpegCli}; libuv pool ${info.libuvThreadpool}; mode ${quick ? 'quick' : 'full'}`);
  const results = [];
  for (const makeCase of CASES) {
    const benchCase = await makeCase();
    const bench = new Bench({ name: benchCase.id, iterations: quick ? 5 : 20, time: quick ? 500 : 3000, warmupIterations: 2 });
    for (const [name, fn] of Object.entries(benchCase.contenders)) bench.add(name, fn);
    await bench.run();
    const cli = bench.tasks.find((task) => task.name === CLI)?.result;
    const rows = bench.tasks.map((task) => {
      const { result } = task;
      if (result.state !== 'completed') throw new Error(`${benchCase.id} ${task.name}: ${result.state} ${result.error ?? ''}`);
      return {
        case: benchCase.id,
        contender: task.name,
        medianMs: Number(result.latency.p50.toFixed(2)),
        opsPerSecond: Number(result.throughput.mean.toFixed(2)),
        samples: result.latency.samplesCount,
        speedupVsCli: Number((cli.latency.p50 / result.latency.p50).toFixed(2)),
      };
    });
    console.log(`\n${benchCase.id}: ${benchCase.title}`);
    console.table(rows.map(({ case: _, ...row }) => row));
    results.push({ id: benchCase.id, title: benchCase.title, rows });
  }
  const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(`\nwhole-process peak RSS: ${peakRssMiB} MiB`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/latest.json', import.meta.url), `${JSON.stringify({ machine: info, quick, peakRssMiB, results }, null, 2)}\n`);
}

await main();
