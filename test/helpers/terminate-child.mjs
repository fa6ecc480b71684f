// Terminates workers in the middle of a decode, then checks that this thread
// and a fresh worker still work (test/worker.test.ts runs this in a child
// process, so that a crash takes down the child and not the test runner).
// argv[2]: a clip (the 4 s, 25 fps h264 fixture); argv[3]: how many workers to terminate.
// Prints one JSON line.
import { Worker } from 'node:worker_threads';

import sharp from 'sharp';

import { probe, snapshot } from '../../dist/index.js';

const path = process.argv[2];
const rounds = Number(process.argv[3] ?? 3);
const WORKER = new URL('./snapshot-worker.mjs', import.meta.url);
/** Every frame of the clip in normal mode: a decode that runs for a while. */
const EVERY_FRAME = Array.from({ length: 100 }, (_, index) => index * 40);

function finished(worker) {
  return new Promise((resolve, reject) => {
    let message;
    worker.on('message', (value) => {
      message = value;
    });
    worker.once('error', reject);
    worker.once('exit', (exitCode) => resolve({ exitCode, message }));
  });
}

const terminations = [];
for (let round = 0; round < rounds; round++) {
  const worker = new Worker(WORKER, { workerData: { task: 'loop', path, times: EVERY_FRAME } });
  const exited = finished(worker);
  // The worker starts its next call before this message arrives: terminating
  // now lands in the middle of that call's native decode.
  await new Promise((resolve, reject) => {
    worker.on('message', ({ calls }) => {
      if (calls >= 1 + round) resolve();
    });
    worker.once('error', reject);
  });
  const exitCode = await worker.terminate();
  terminations.push({ exitCode, exitedWith: (await exited).exitCode });
}

const jpeg = await snapshot(path, { time: 1000, frameType: 'normal' });
const { width, height } = await sharp(jpeg).metadata();
const probed = await probe(path);

const fresh = new Worker(WORKER, { workerData: { task: 'once', path, time: 1000, frameType: 'normal' } });
const { exitCode, message } = await finished(fresh);

process.stdout.write(
  `${JSON.stringify({
    terminations,
    main: { width, height },
    fresh: {
      exitCode,
      sameJpeg: Buffer.compare(Buffer.from(message.jpeg), jpeg) === 0,
      sameJpegSync: Buffer.compare(Buffer.from(message.jpegSync), jpeg) === 0,
      sameProbe: JSON.stringify(message.probed) === JSON.stringify(probed),
    },
  })}\n`,
);
