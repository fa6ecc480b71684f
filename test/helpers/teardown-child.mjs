// Terminates a worker thread in the middle of one long native call and
// reports how long worker.terminate() took (test/teardown.test.ts runs this
// in a child process, so that a crash fails the test instead of the runner).
// argv[2]: the slow clip; argv[3]: 'sync' or 'async'; argv[4]: the request (JSON).
// Prints one JSON line.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

import { nativeAddon } from '../../dist/core/native.js';

if (isMainThread) {
  const [path, mode, requestJson] = process.argv.slice(2);
  const request = { ...JSON.parse(requestJson), path };
  const worker = new Worker(new URL(import.meta.url), { workerData: { mode, request } });
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.once('error', (error) => {
    process.stdout.write(`${JSON.stringify({ workerError: String(error) })}\n`);
    process.exit(1);
  });
  // The worker posts just before its call; a moment later the decode runs.
  await new Promise((resolve) => worker.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const startedAt = performance.now();
  const exitCode = await worker.terminate();
  const terminateMs = Math.round(performance.now() - startedAt);
  await exited;
  // This thread's addon still decodes.
  const [frame] = nativeAddon().extractFramesSync({ path, times: [0], frameType: 'intra', width: 64, height: 0, threads: 1 });
  process.stdout.write(`${JSON.stringify({ exitCode, terminateMs, after: [frame.width, frame.height] })}\n`);
} else {
  const { mode, request } = workerData;
  const addon = nativeAddon();
  parentPort.postMessage('calling');
  if (mode === 'sync') {
    addon.extractFramesSync(request);
  } else {
    await addon.extractFrames(request);
  }
  // Not reached when the termination stopped the call.
  parentPort.postMessage('finished');
}
