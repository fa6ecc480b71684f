/**
 * The addon inside worker threads: each environment (main thread, worker)
 * loads its own instance; results must equal the main thread's, several
 * workers may decode at once, and a worker terminated in the middle of a
 * decode must take nothing down with it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { probe, snapshot, type FrameType, type ProbeResult } from '../dist/index.js';
import { fixture, jpegToRgb, type FixtureName } from './fixtures.js';

const runFile = promisify(execFile);
const SNAPSHOT_WORKER = new URL('./helpers/snapshot-worker.mjs', import.meta.url);
const TERMINATE_CHILD = fileURLToPath(new URL('./helpers/terminate-child.mjs', import.meta.url));

interface OnceReply {
  jpeg: Uint8Array;
  jpegSync: Uint8Array;
  probed: ProbeResult;
  probedSync: ProbeResult;
}

/** Runs the helper's `once` task in a fresh worker; resolves when the worker has exited. */
function snapshotInWorker(path: string, time: number, frameType: FrameType): Promise<{ exitCode: number; reply: OnceReply }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SNAPSHOT_WORKER, { workerData: { task: 'once', path, time, frameType } });
    let reply: OnceReply | undefined;
    worker.on('message', (message: OnceReply) => {
      reply = message;
    });
    worker.once('error', reject);
    worker.once('exit', (exitCode) => {
      if (reply === undefined) reject(new Error(`the worker exited (${exitCode}) without a reply`));
      else resolve({ exitCode, reply });
    });
  });
}

async function expectSameAsMainThread(
  name: FixtureName,
  time: number,
  frameType: FrameType,
  size: { width: number; height: number },
  outcome: { exitCode: number; reply: OnceReply },
): Promise<void> {
  const path = await fixture(name);
  const { exitCode, reply } = outcome;
  expect(exitCode).toBe(0);
  const decoded = await jpegToRgb(Buffer.from(reply.jpeg));
  expect({ width: decoded.width, height: decoded.height }).toEqual(size);
  // Same library, same frame, same encoder settings: the same bytes as on the main thread.
  const mainJpeg = await snapshot(path, { time, frameType });
  expect(Buffer.compare(Buffer.from(reply.jpeg), mainJpeg)).toBe(0);
  expect(Buffer.compare(Buffer.from(reply.jpegSync), mainJpeg)).toBe(0);
  const mainProbe = await probe(path);
  expect(reply.probed).toEqual(mainProbe);
  expect(reply.probedSync).toEqual(mainProbe);
}

describe('framesnap in worker threads', () => {
  it("a snapshot (async and sync) and a probe inside a worker equal the main thread's", async () => {
    const path = await fixture('h264');
    const outcome = await snapshotInWorker(path, 1000, 'normal');
    await expectSameAsMainThread('h264', 1000, 'normal', { width: 320, height: 240 }, outcome);
    expect(outcome.reply.probed).toMatchObject({ codecName: 'h264', width: 320, height: 240, durationMs: 4000, frameRate: 25 });
  });

  it('several workers decode at once', async () => {
    const jobs: { name: FixtureName; time: number; frameType: FrameType; size: { width: number; height: number } }[] = [
      { name: 'h264', time: 1960, frameType: 'normal', size: { width: 320, height: 240 } },
      { name: 'hevc', time: 2480, frameType: 'normal', size: { width: 320, height: 240 } },
      { name: 'vp9', time: 3000, frameType: 'intra', size: { width: 320, height: 240 } },
      { name: 'anamorphic', time: 1520, frameType: 'normal', size: { width: 640, height: 240 } },
      { name: 'h264', time: 3960, frameType: 'normal', size: { width: 320, height: 240 } },
    ];
    const paths = await Promise.all(jobs.map((job) => fixture(job.name)));
    const outcomes = await Promise.all(jobs.map((job, index) => snapshotInWorker(paths[index]!, job.time, job.frameType)));
    for (const [index, job] of jobs.entries()) {
      await expectSameAsMainThread(job.name, job.time, job.frameType, job.size, outcomes[index]!);
    }
  });

  it('terminating workers in the middle of a decode leaves the process, the main thread and new workers working', async () => {
    // In a child process: a crash there fails this test instead of killing the test runner.
    const path = await fixture('h264');
    let result: { stdout: string; stderr: string; code: number | null; signal: string | null };
    try {
      const { stdout, stderr } = await runFile(process.execPath, [TERMINATE_CHILD, path, '5'], { timeout: 60_000 });
      result = { stdout, stderr, code: 0, signal: null };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string; code?: number | null; signal?: string | null };
      result = { stdout: failed.stdout ?? '', stderr: failed.stderr ?? '', code: failed.code ?? null, signal: failed.signal ?? null };
    }
    expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual({
      // worker.terminate() resolves with exit code 1.
      terminations: Array.from({ length: 5 }, () => ({ exitCode: 1, exitedWith: 1 })),
      main: { width: 320, height: 240 },
      fresh: { exitCode: 0, sameJpeg: true, sameJpegSync: true, sameProbe: true },
    });
  });
});
