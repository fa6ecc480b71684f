#!/usr/bin/env node
/**
 * Whole-process timing of `framesnap snapshot` against the ffmpeg command, run
 * by hand (not a test: timings belong to the benchmark, this is its quick
 * cousin for the command alone). Runs the contenders alternately, RUNS times
 * each after one warm-up, and prints each one's median wall time and CPU time
 * (user + system, from GNU time) and their ratios to ffmpeg's. Wall times on a
 * busy machine say little; the CPU time holds up better.
 *
 *   node test/helpers/cli-speed.mjs [FILE] [--time MS] [--runs N] [--cli dist/cli/main.js] [--also 'label=cmd args...']
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    time: { type: 'string', default: '30000' },
    runs: { type: 'string', default: '20' },
    cli: { type: 'string' },
    also: { type: 'string', multiple: true, default: [] },
  },
});
const file = positionals[0] ?? fileURLToPath(new URL('../../bench/.cache/h264-1080p-60s-6mbps.mp4', import.meta.url));
const timeMs = Number(values.time);
const runs = Number(values.runs);
const cli = values.cli ?? fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'framesnap-speed-'));

const contenders = [
  {
    label: 'ffmpeg',
    command: [
      'ffmpeg',
      '-loglevel',
      'error',
      '-y',
      '-skip_frame',
      'nokey',
      '-ss',
      String(timeMs / 1000),
      '-i',
      file,
      '-frames:v',
      '1',
      join(dir, 'ffmpeg.jpg'),
    ],
  },
  { label: 'framesnap', command: [process.execPath, cli, 'snapshot', file, '--time', String(timeMs), '-o', join(dir, 'framesnap.jpg')] },
  ...values.also.map((spec) => {
    const [label, ...rest] = spec.split('=');
    return { label, command: rest.join('=').split(' ') };
  }),
];

/** Wall time of one run (ms), and its CPU time (user + system, ms) from GNU time. */
function once(command) {
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', ...command], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${command.join(' ')}: exit ${result.status}: ${result.stderr}`);
  const [, user, system] = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(result.stderr);
  return { ms, cpuMs: (Number(user) + Number(system)) * 1000 };
}

const median = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

for (const contender of contenders) once(contender.command);
const times = new Map(contenders.map((contender) => [contender.label, []]));
for (let run = 0; run < runs; run++) {
  for (const contender of contenders) times.get(contender.label).push(once(contender.command));
}
rmSync(dir, { recursive: true, force: true });
const wall = (label) => times.get(label).map((run) => run.ms);
const cpu = (label) => times.get(label).map((run) => run.cpuMs);
const base = median(wall('ffmpeg'));
const baseCpu = median(cpu('ffmpeg'));
for (const label of times.keys()) {
  const m = median(wall(label));
  const c = median(cpu(label));
  console.log(
    `${label.padEnd(12)} wall median ${m.toFixed(1)} ms (min ${Math.min(...wall(label)).toFixed(1)}), speed vs ffmpeg ${(base / m).toFixed(2)}x; ` +
      `CPU median ${c.toFixed(0)} ms, ffmpeg's CPU / this ${(baseCpu / c).toFixed(2)}x`,
  );
}
