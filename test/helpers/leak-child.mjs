// Runs many snapshot calls (good and failing) and reports the resident set
// size after a warm-up and at the end (test/leak.test.ts). Run with --expose-gc.
// argv[2]: JSON { clips: string[], bad: string[], calls: number, warmUp: number, failingOnly?: boolean }
import { probe, snapshot, snapshots, snapshotSync, SnapshotError } from '../../dist/index.js';

const { clips, bad, calls, warmUp, failingOnly = false } = JSON.parse(process.argv[2]);

async function settle() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

let jpegBytes = 0;
let failures = 0;
/** Failures by code. */
const codes = {};

/** A call that must fail: a bad file, a normal-mode time past the end, a cancelled or timed-out decode. */
async function failingCall(i, clip) {
  const kind = i % 4;
  try {
    if (kind === 0) await snapshot(bad[(i >> 2) % bad.length], { time: 0, frameType: 'normal' });
    else if (kind === 1) await snapshot(clip, { time: 60_000, frameType: 'normal' });
    else if (kind === 2) await snapshots(clip, { times: [0, 1000, 2000, 3000, 3960], frameType: 'normal', timeoutMs: 1 });
    else {
      const controller = new AbortController();
      const pending = snapshots(clip, { times: [500, 1500, 2500, 3500], frameType: 'normal', signal: controller.signal });
      setImmediate(() => controller.abort());
      await pending;
    }
  } catch (error) {
    if (!(error instanceof SnapshotError)) throw error;
    failures++;
    codes[error.code] = (codes[error.code] ?? 0) + 1;
    return;
  }
  throw new Error(`failing call ${i} (kind ${kind}) succeeded`);
}

async function call(i) {
  const clip = clips[i % clips.length];
  const time = (i * 137) % 3900;
  if (failingOnly || i % 10 === 9) {
    await failingCall(failingOnly ? i : (i - 9) / 10, clip);
    return;
  }
  switch (i % 5) {
    case 0:
      jpegBytes += (await snapshot(clip, { time, frameType: 'intra' })).length;
      break;
    case 1:
      jpegBytes += (await snapshot(clip, { time, frameType: 'normal', width: 160 })).length;
      break;
    case 2:
      for (const shot of await snapshots(clip, { times: [time, time + 40, 100], frameType: 'normal' })) {
        jpegBytes += shot.jpeg.length;
      }
      break;
    case 3:
      jpegBytes += (await probe(clip)).width;
      break;
    default:
      jpegBytes += (i % 15 === 4 ? snapshotSync(clip, { time, frameType: 'normal' }) : await snapshot(clip, { time, quality: 50 })).length;
  }
}

for (let i = 0; i < warmUp; i++) await call(i);
await settle();
const before = process.memoryUsage();
for (let i = 0; i < calls; i++) await call(i);
await settle();
const after = process.memoryUsage();
process.stdout.write(JSON.stringify({ before, after, jpegBytes, failures, codes }) + '\n');
