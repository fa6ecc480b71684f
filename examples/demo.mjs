#!/usr/bin/env node
// The main job, as `npm run demo` runs it: make a sample clip if there is
// none, take snapshots with the low-level API, write them under
// demo-output/, and print what was done and how long each step took.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { findFfmpeg, probe, snapshot, snapshots, snapshotSync } from '../dist/index.js';

const outputDir = 'demo-output';
const sample = join(outputDir, 'sample.mp4');
mkdirSync(outputDir, { recursive: true });

if (!existsSync(sample)) {
  console.log(`making ${sample}: 20 s of 1280x720 H.264 with B-frames, a keyframe every 2 s`);
  execFileSync(findFfmpeg(), [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '20',
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-bf', '3', '-pix_fmt', 'yuv420p', sample,
  ]);
}

async function timed(label, work) {
  const started = performance.now();
  const result = await work();
  console.log(`${label.padEnd(58)} ${(performance.now() - started).toFixed(1).padStart(7)} ms`);
  return result;
}

const info = await timed(`probe ${sample}`, () => probe(sample));
console.log(`  ${info.codecName} ${info.width}x${info.height} ${info.frameRate} fps, ${info.durationMs} ms, ${info.keyframeCount} keyframes`);

const keyframe = await timed('snapshot at 5000 ms, keyframe (intra)', () => snapshot(sample, { time: 5000 }));
writeFileSync(join(outputDir, 'intra-5000.jpg'), keyframe);

const exact = await timed('snapshot at 5500 ms, exact frame (normal)', () =>
  snapshot(sample, { time: 5500, frameType: 'normal' }),
);
writeFileSync(join(outputDir, 'normal-5500.jpg'), exact);

const thumbs = await timed('snapshots of 8 exact frames, 320 wide, one open', () =>
  snapshots(sample, { times: [0, 2500, 5000, 7500, 10000, 12500, 15000, 17500], frameType: 'normal', width: 320 }),
);
for (const thumb of thumbs) {
  writeFileSync(join(outputDir, `thumb-${String(thumb.requestedMs).padStart(5, '0')}.jpg`), thumb.jpeg);
}

const blocking = await timed('snapshotSync at 12000 ms, exact, 640 wide (blocking)', () =>
  snapshotSync(sample, { time: 12000, frameType: 'normal', width: 640 }),
);
writeFileSync(join(outputDir, 'sync-12000.jpg'), blocking);

console.log(`wrote ${thumbs.length + 3} JPEGs to ${outputDir}/`);
