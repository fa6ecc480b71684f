// Calls every twin of the low-level API on one path and prints what each
// failure looked like, as one JSON line (test/errors.test.ts runs this as an
// unprivileged user to test a file the caller may not read).
// argv[2]: the path.
import { probe, probeSync, snapshot, snapshots, snapshotsSync, snapshotSync, SnapshotError } from '../../dist/index.js';

const path = process.argv[2];

const twins = {
  probe: () => probe(path),
  probeSync: () => probeSync(path),
  'snapshot intra': () => snapshot(path, { time: 1000, frameType: 'intra' }),
  'snapshot normal': () => snapshot(path, { time: 1000, frameType: 'normal' }),
  'snapshotSync intra': () => snapshotSync(path, { time: 1000, frameType: 'intra' }),
  'snapshotSync normal': () => snapshotSync(path, { time: 1000, frameType: 'normal' }),
  'snapshots intra': () => snapshots(path, { times: [0, 1000, 2000], frameType: 'intra' }),
  'snapshots normal': () => snapshots(path, { times: [0, 1000, 2000], frameType: 'normal' }),
  'snapshotsSync intra': () => snapshotsSync(path, { times: [0, 1000, 2000], frameType: 'intra' }),
  'snapshotsSync normal': () => snapshotsSync(path, { times: [0, 1000, 2000], frameType: 'normal' }),
};

const results = {};
for (const [name, call] of Object.entries(twins)) {
  try {
    await call();
    results[name] = { ok: true };
  } catch (error) {
    results[name] = {
      ok: false,
      isSnapshotError: error instanceof SnapshotError,
      code: error.code,
      message: error.message,
    };
  }
}
process.stdout.write(`${JSON.stringify(results)}\n`);
