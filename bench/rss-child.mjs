// Child process for the whole-process peak RSS: cases A-E through one
// SnapshotService (its pool threads live in this process), then prints
// {"maxRssMiB": ..., ...} as its last line: process.resourceUsage().maxRSS,
// and on Linux VmHWM (the peak of this program's own memory map) as a cross-check.
//   node bench/rss-child.mjs CLIP OUT_DIR SEED COUNT MAX_MS WORKERS ROUNDS
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { SnapshotService } from '../dist/index.js';
import { seededTimes } from './util.mjs';

const [file, outDir, seed, count, maxMs, workers, rounds] = process.argv.slice(2);
const mib = (kib) => Math.round(kib / 1024);
function vmHwmMiB() {
  try {
    return mib(Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]));
  } catch {
    return null;
  }
}
const startRssMiB = mib(process.resourceUsage().maxRSS);

const out = mkdtempSync(join(outDir, 'rss-'));
const service = new SnapshotService({ buckets: { clips: dirname(file), out }, workers: Number(workers), syncTimeoutMs: 60_000 });
const Input = { Bucket: 'clips', Object: basename(file) };
const output = (name) => ({ Bucket: 'out', Object: name });

async function job(config, name) {
  const answer = await service.submitSnapshotJob({ Input, SnapshotConfig: { OutputFile: output(name), ...config } });
  const done = answer.SnapshotJob.State === 'Submitted' ? await service.waitForJob(answer.SnapshotJob.Id) : answer.SnapshotJob;
  if (done.State !== 'Success') throw new Error(`${name}: ${done.Code} ${done.Message}`);
}

const eTimes = seededTimes(Number(seed), Number(count), Number(maxMs));
try {
  for (let round = 0; round < Number(rounds); round++) {
    await job({ Time: 30_000 }, 'A.jpg');
    await job({ Time: 30_000, FrameType: 'normal' }, 'B.jpg');
    await job({ Time: 32_500, FrameType: 'normal' }, 'B2.jpg');
    await job({ Time: 5_000, Num: 10, Interval: 5, FrameType: 'normal' }, 'C-{Count}.jpg');
    await job({ Time: 5_000, Num: 10, Interval: 5 }, 'D-{Count}.jpg');
    await Promise.all(eTimes.map((time, i) => job({ Time: time, FrameType: 'normal' }, `E-${i}.jpg`)));
  }
} finally {
  await service.close();
  rmSync(out, { recursive: true, force: true });
}
console.log(JSON.stringify({ maxRssMiB: mib(process.resourceUsage().maxRSS), vmHwmMiB: vmHwmMiB(), startRssMiB, rounds: Number(rounds) }));
