#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --case A,B] [-- --publish]`
//
// Every contender of a case side by side in one process run (tinybench), on
// clips generated once into bench/.cache (about 30 s on 2 cores, first run
// only). Prints the machine, a table per case, the ratios and the targets;
// writes bench/results/latest.json and latest.svg, and with --publish also
// docs/benchmark.svg and docs/benchmark.md. Missing a target never fails the
// run; a wrong frame (a failed check) or an error does.
//
// Modules: clips.mjs (the clips), cli.mjs (the ffmpeg command lines),
// node-av.mjs, contenders.mjs (what is timed, and its check), cases.mjs (A-G,
// RSS, CMD), measure.mjs (tinybench rounds), report.mjs (tables, targets,
// markdown), chart.mjs (SVG), rss-child.mjs (the peak-RSS child process),
// stores.mjs (STORE), remote.mjs (REMOTE and S3), server.mjs (HTTP); the
// servers they start come from scripts/servers/, shared with the tests.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import sharp from 'sharp';

import { ffmpegVersions, SnapshotService } from '../dist/index.js';
import { CASES, POOL_SIZE } from './cases.mjs';
import { chartSvg } from './chart.mjs';
import { ffmpeg, ffprobe, versionLine } from './cli.mjs';
import { cacheDir, clip } from './clips.mjs';
import { measureCase } from './measure.mjs';
import { loadNodeAv, nodeAvFfmpegVersion } from './node-av.mjs';
import { remoteTargets, s3Targets } from './remote.mjs';
import { serverTargets } from './server.mjs';
import { caseTable, machineLine, markdown, poolLine, ratioTable, targets, targetTable, textTable } from './report.mjs';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    case: { type: 'string' },
    publish: { type: 'boolean', default: false },
  },
  strict: true,
});

const selected = args.case?.split(',').map((id) => id.trim().toUpperCase());
const unknown = selected?.filter((id) => !CASES.some((benchCase) => benchCase.id === id)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown case ${unknown.join(', ')}; the cases are ${CASES.map((benchCase) => benchCase.id).join(', ')}`);
  process.exit(2);
}
const cases = CASES.filter((benchCase) => selected === undefined || selected.includes(benchCase.id));

async function machine() {
  const libs = ffmpegVersions();
  const nodeAvVersion = await nodeAvFfmpegVersion();
  let nodeAvPackage = null;
  try {
    nodeAvPackage = JSON.parse(readFileSync(new URL('../node_modules/node-av/package.json', import.meta.url), 'utf8'));
  } catch {
    // not installed
  }
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadAverage: loadavg().map((load) => Number(load.toFixed(2))),
    node: process.version,
    ffmpegLibs: `${libs.ffmpeg} (avformat ${libs.libavformat}, avcodec ${libs.libavcodec}, swscale ${libs.libswscale})`,
    ffmpegCli: await versionLine(ffmpeg),
    ffprobeCli: await versionLine(ffprobe),
    sharp: sharp.versions.sharp,
    libvips: sharp.versions.vips,
    nodeAv: nodeAvPackage?.version ?? null,
    nodeAvFfmpeg: nodeAvVersion,
  };
}

async function main() {
  const startedAt = performance.now();
  const date = new Date().toISOString();
  const mode = args.quick ? 'quick' : 'full';
  const info = await machine();
  const pools = {
    'SnapshotService workers': POOL_SIZE,
    'libuv threadpool': process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
    'sharp concurrency': sharp.concurrency(),
    'E concurrency': POOL_SIZE,
  };
  console.log(`machine: ${machineLine(info)}`);
  console.log(`pools: ${poolLine(pools)}; load average ${info.loadAverage.join(' ')}; mode ${mode}`);

  // Clips first, so that making them is not mixed into any case.
  const clipsStarted = performance.now();
  // REMOTE in quick mode takes the 1-hour clip only when it is cached (else the 60 s one).
  const longClip = cases.some((benchCase) => benchCase.id === 'F' || (benchCase.id === 'REMOTE' && !args.quick));
  const needed = [...new Set(['h264_1080p_60s', ...(longClip ? ['h264_480p_1h'] : [])])];
  for (const name of needed) await clip(name);
  const clipSeconds = (performance.now() - clipsStarted) / 1000;

  const outRoot = mkdtempSync(join(tmpdir(), 'framesnap-bench-'));
  const outDir = join(outRoot, 'bench-out');
  mkdirSync(outDir);
  // Buckets in a temporary root: the clips folder as the input bucket, bench-out for the images.
  // A long sync timeout: E submits 40 sync jobs at once, and the default 5 s counts queue time.
  const service = new SnapshotService({ root: outRoot, buckets: { 'bench-clips': cacheDir }, workers: POOL_SIZE, syncTimeoutMs: 120_000 });
  const nodeAv = await loadNodeAv();
  const results = [];
  let failedChecks = 0;
  try {
    for (const benchCase of cases) {
      const caseStarted = performance.now();
      const notes = [];
      const ctx = {
        quick: args.quick,
        caseId: benchCase.id,
        outDir,
        service,
        inputBucket: 'bench-clips',
        outputBucket: 'bench-out',
        nodeAv,
        note: (text) => notes.push(text),
      };
      console.log(`\n${benchCase.id}: ${benchCase.title}`);
      let result;
      if (benchCase.measure) {
        const extra = await benchCase.measure(ctx);
        result = { id: benchCase.id, title: benchCase.title, extra, notes };
        console.log(benchCase.describe(extra));
        failedChecks += extra.failedChecks ?? 0;
      } else {
        const measured = await measureCase(benchCase, ctx);
        result = { id: benchCase.id, title: benchCase.title, ...measured, notes };
        console.log(textTable(caseTable(result)));
        if (benchCase.ratios) {
          result.extra = { ratios: benchCase.ratios(result) };
          console.log(`${benchCase.ratiosTitle}:\n${textTable(result.extra.ratios)}`);
        }
        failedChecks += result.rows.filter((row) => row.check && !row.check.ok).length;
      }
      for (const note of [...(result.skipped ?? []), ...notes]) console.log(`  - ${note}`);
      result.seconds = Number(((performance.now() - caseStarted) / 1000).toFixed(1));
      results.push(result);
    }
  } finally {
    await service.close();
    rmSync(outRoot, { recursive: true, force: true });
  }

  const targetList = [...targets(results), ...remoteTargets(results), ...s3Targets(results), ...serverTargets(results)];
  const totalSeconds = Number(((performance.now() - startedAt) / 1000).toFixed(1));
  const report = {
    date,
    mode,
    machine: info,
    pools,
    clipSeconds: Number(clipSeconds.toFixed(1)),
    totalSeconds,
    results,
    targets: targetList,
  };

  console.log("\nratios (median; vs CLI = the CLI path's median / this one's):");
  console.log(textTable(ratioTable(results)));
  console.log('\ntargets (informational: a missed target does not fail the run):');
  console.log(textTable(targetTable(targetList)));
  console.log(`case times: ${results.map((result) => `${result.id} ${result.seconds} s`).join(', ')}`);
  console.log(`total ${totalSeconds} s (clip generation ${report.clipSeconds} s)`);

  const resultsDir = new URL('./results/', import.meta.url);
  mkdirSync(resultsDir, { recursive: true });
  const svg = chartSvg(report);
  writeFileSync(new URL('latest.json', resultsDir), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(new URL('latest.svg', resultsDir), svg);
  console.log('wrote bench/results/latest.json and latest.svg');
  if (args.publish) {
    const docs = new URL('../docs/', import.meta.url);
    mkdirSync(docs, { recursive: true });
    writeFileSync(new URL('benchmark.svg', docs), svg);
    writeFileSync(new URL('benchmark.md', docs), markdown(report));
    console.log('wrote docs/benchmark.svg and docs/benchmark.md');
  }
  if (failedChecks > 0) {
    console.error(`\n${failedChecks} correctness check(s) FAILED: a contender returned the wrong frame (see the check column)`);
    process.exitCode = 1;
  }
}

await main();
