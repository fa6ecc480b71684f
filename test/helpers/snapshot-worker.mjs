// Runs framesnap inside a worker thread (test/worker.test.ts).
//   { task: 'once', path, time, frameType }: one snapshot (async and sync) and one probe, posted back.
//   { task: 'loop', path, times }: normal-mode snapshots over and over, posting a count after
//   each call, until the worker is terminated.
import { parentPort, workerData } from 'node:worker_threads';

import { probe, probeSync, snapshot, snapshots, snapshotSync } from '../../dist/index.js';

const { task, path } = workerData;

if (task === 'once') {
  const { time, frameType } = workerData;
  const jpeg = await snapshot(path, { time, frameType });
  const jpegSync = snapshotSync(path, { time, frameType });
  const probed = await probe(path);
  const probedSync = probeSync(path);
  parentPort.postMessage({ jpeg, jpegSync, probed, probedSync });
} else if (task === 'loop') {
  for (let calls = 1; ; calls++) {
    await snapshots(path, { times: workerData.times, frameType: 'normal' });
    parentPort.postMessage({ calls });
  }
} else {
  throw new Error(`unknown task ${task}`);
}
