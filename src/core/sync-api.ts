/** The blocking twins of the low-level API. */
import type { ResolvedOptions, SnapshotOptions, SnapshotsOptions } from './options.js';
import { resolveSnapshotOptions, resolveSnapshotsOptions } from './options.js';
import { PAST_DEADLINE, type Snapshot } from './snapshot.js';
import { ErrorCodes, SnapshotError } from './errors.js';
import { callSync, DEFAULT_SYNC_TIMEOUT_MS } from './sync.js';
import { expectPath, invalid } from './validate.js';

const SYNC_WORKER = new URL('./sync-worker.js', import.meta.url);

export type SyncSnapshotOptions = Omit<SnapshotOptions, 'signal'>;
export type SyncSnapshotsOptions = Omit<SnapshotsOptions, 'signal'>;

function rejectSignal(options: object): void {
  if (options !== null && typeof options === 'object' && Object.hasOwn(options, 'signal') && (options as { signal?: unknown }).signal !== undefined) {
    throw invalid('no signal (a blocking call cannot be aborted; use timeoutMs)', 'signal', 'an AbortSignal');
  }
}

function snapshotsInWorker(path: string, options: ResolvedOptions): Snapshot[] {
  const timeoutMs = options.timeoutMs > 0 ? options.timeoutMs : DEFAULT_SYNC_TIMEOUT_MS;
  const abort = new Int32Array(new SharedArrayBuffer(4));
  let snapshots: Snapshot[];
  try {
    snapshots = callSync<Snapshot[]>(SYNC_WORKER, 'snapshots', { path, options: { ...options, timeoutMs } }, timeoutMs, abort);
  } catch (error) {
    // Whichever side saw the deadline first, one wording (the async API's).
    if (error instanceof SnapshotError && error.code === ErrorCodes.SnapshotTimeOut) {
      throw new SnapshotError(ErrorCodes.SnapshotTimeOut, PAST_DEADLINE);
    }
    throw error;
  }
  // Buffers arrive from the worker as plain Uint8Arrays.
  return snapshots.map((snapshot) => ({
    ...snapshot,
    jpeg: Buffer.from(snapshot.jpeg.buffer, snapshot.jpeg.byteOffset, snapshot.jpeg.byteLength),
  }));
}

export function snapshotSync(path: string, options: SyncSnapshotOptions): Buffer {
  rejectSignal(options);
  const file = expectPath('path', path);
  return snapshotsInWorker(file, resolveSnapshotOptions(options))[0]!.jpeg;
}

export function snapshotsSync(path: string, options: SyncSnapshotsOptions): Snapshot[] {
  rejectSignal(options);
  const file = expectPath('path', path);
  return snapshotsInWorker(file, resolveSnapshotsOptions(options));
}
