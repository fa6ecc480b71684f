#!/usr/bin/env node
// The main job, as `npm run demo` runs it: make a sample clip if there is
// none, run the cloud API's two example jobs on it with SnapshotService (one
// synchronous snapshot, one asynchronous series of ten), then take a few
// snapshots with the low-level API. Everything lands under demo-output/;
// each step prints what it did and how long it took.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { findFfmpeg } from '../scripts/clips.mjs';
import { probe, snapshot, snapshots, snapshotSync, SnapshotService } from '../dist/index.js';

const outputDir = 'demo-output';
const sample = join(outputDir, 'sample.mp4');
mkdirSync(outputDir, { recursive: true });

if (!existsSync(sample)) {
  console.log(`making ${sample} (once): 200 s of 640x360 H.264 with B-frames, a keyframe every 2 s`);
  execFileSync(findFfmpeg(), [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=640x360:rate=30',
    '-t',
    '200',
    '-c:v',
    'libx264',
    '-preset',
    'superfast',
    '-crf',
    '28',
    '-g',
    '60',
    '-bf',
    '3',
    '-pix_fmt',
    'yuv420p',
    sample,
  ]);
}

async function timed(label, work) {
  const started = performance.now();
  const result = await work();
  console.log(`${label.padEnd(58)} ${(performance.now() - started).toFixed(1).padStart(7)} ms`);
  return result;
}

// ---- The job API: the seed's two examples, run locally ------------------
// Buckets are folders under a root: example-bucket holds the input, example-001 the output.
const root = join(outputDir, 'buckets');
mkdirSync(join(root, 'example-bucket'), { recursive: true });
mkdirSync(join(root, 'example-001'), { recursive: true });
copyFileSync(sample, join(root, 'example-bucket', 'example.mp4'));
const service = new SnapshotService({ root });
const Input = '{"Bucket":"example-bucket","Location":"oss-cn-hangzhou","Object":"example.mp4"}';

const single = await timed('submitSnapshotJob, synchronous: Time 5', () =>
  service.submitSnapshotJob({
    Input,
    SnapshotConfig: '{"OutputFile":{"Bucket":"example-001","Location":"oss-cn-hangzhou","Object":"example.jpg"},"Time":"5"}',
    UserData: 'testid-001',
  }),
);
console.log(JSON.stringify(single, null, 2));

const series = await timed('submitSnapshotJob, asynchronous: Num 10, Interval 20 s (answer)', () =>
  service.submitSnapshotJob({
    Input,
    SnapshotConfig:
      '{"OutputFile":{"Bucket":"example-001","Location":"oss-cn-hangzhou","Object":"{Count}.jpg"},"Time":"5","Num":"10","Interval":"20"}',
  }),
);
console.log(JSON.stringify(series, null, 2));
const finished = await timed('  ... until the series job finished', () => service.waitForJob(series.SnapshotJob.Id));
console.log(JSON.stringify(await service.querySnapshotJobList({ SnapshotJobIds: finished.Id }), null, 2));
console.log(`example-001 now holds: ${readdirSync(join(root, 'example-001')).sort().join(' ')}`);
await service.close();

// ---- The low-level API ----------------------------------------------------
const info = await timed(`probe ${sample}`, () => probe(sample));
console.log(
  `  ${info.codecName} ${info.width}x${info.height} ${info.frameRate} fps, ${info.durationMs} ms, ${info.keyframeCount} keyframes`,
);

const keyframe = await timed('snapshot at 5000 ms, keyframe at or before (intra)', () =>
  snapshot(sample, { time: 5000, frameType: 'intra', resolveWithObject: true }),
);
console.log(`  the keyframe is at ${keyframe.info.timeMs} ms`);
writeFileSync(join(outputDir, 'intra-5000.jpg'), keyframe.data);

const exact = await timed('snapshot at 5500 ms, the exact frame (the default)', () =>
  snapshot(sample, { time: 5500, resolveWithObject: true }),
);
console.log(`  frame at ${exact.info.timeMs} ms, keyframe: ${exact.info.keyframe}`);
writeFileSync(join(outputDir, 'normal-5500.jpg'), exact.data);

const thumbs = await timed('snapshots of 8 exact frames, 320 wide, WebP, one open', () =>
  snapshots(sample, { times: [0, 25000, 50000, 75000, 100000, 125000, 150000, 175000], width: 320, format: 'webp' }),
);
for (const thumb of thumbs) {
  writeFileSync(join(outputDir, `thumb-${String(thumb.requestedMs).padStart(5, '0')}.webp`), thumb.data);
}

const blocking = await timed('snapshotSync at 12000 ms, exact, 640 wide, PNG (blocking)', () =>
  snapshotSync(sample, { time: 12000, width: 640, format: 'png' }),
);
writeFileSync(join(outputDir, 'sync-12000.png'), blocking);

console.log(`wrote ${thumbs.length + 3} images to ${outputDir}/ and 11 to ${root}/example-001/`);
