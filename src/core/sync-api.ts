/** The blocking twins of the low-level API. */
import { callerStack, ErrorCodes, SnapshotError, withCallerStack } from './errors.js';
import type { ResolvedOptions, SnapshotOptions, SnapshotsOptions } from './options.js';
import { resolveSnapshotOptions, resolveSnapshotsOptions } from './options.js';
import { PAST_DEADLINE, rejectSignal, snapshotResult, type Snapshot, type SnapshotResult } from './snapshot.js';
import { callSync, DEFAULT_SYNC_TIMEOUT_MS } from './sync.js';
import { resolveInput, type ResolvedInput } from './input.js';

const SYNC_WORKER = new URL('./sync-worker.js', import.meta.url);

export type SyncSnapshotOptions = Omit<SnapshotOptions, 'signal'>;
export type SyncSnapshotsOptions = Omit<SnapshotsOptions, 'signal'>;

function snapshotsInWorker(input: ResolvedInput, options: ResolvedOptions): Snapshot[] {
  const timeoutMs = options.timeoutMs > 0 ? options.timeoutMs : DEFAULT_SYNC_TIMEOUT_MS;
  const abort = new Int32Array(new SharedArrayBuffer(4));
  let snapshots: Snapshot[];
  try {
    snapshots = callSync<Snapshot[]>(SYNC_WORKER, 'snapshots', { input, options: { ...options, timeoutMs } }, timeoutMs, abort);
  } catch (error) {
    // Whichever side saw the deadline first, one wording (the async API's).
    if (error instanceof SnapshotError && error.code === ErrorCodes.SnapshotTimeOut) {
      throw new SnapshotError(ErrorCodes.SnapshotTimeOut, PAST_DEADLINE);
    }
    throw error;
  }
  // Buffers arrive from the worker as plain Uint8Arrays.
  return snapshots.map((snapshot) => {
    const data = Buffer.from(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.byteLength);
    return { ...snapshot, data, jpeg: data };
  });
}

/** The blocking twin of snapshot(): the same options but `signal` (use timeoutMs), the same result. */
export function snapshotSync(path: string | URL, options: SyncSnapshotOptions & { resolveWithObject: true }): SnapshotResult;
export function snapshotSync(path: string | URL, options: SyncSnapshotOptions & { resolveWithObject?: false | undefined }): Buffer;
export function snapshotSync(path: string | URL, options: SyncSnapshotOptions): Buffer | SnapshotResult;
export function snapshotSync(path: string | URL, options: SyncSnapshotOptions): Buffer | SnapshotResult {
  const caller = callerStack(snapshotSync);
  try {
    rejectSignal(options);
    const file = resolveInput('path', path);
    const resolved = resolveSnapshotOptions(options, 'snapshotSync()');
    const [taken] = snapshotsInWorker(file, resolved);
    return resolved.resolveWithObject ? snapshotResult(taken!) : taken!.data;
  } catch (error) {
    throw withCallerStack(error, caller);
  }
}

/** The blocking twin of snapshots(). */
export function snapshotsSync(path: string | URL, options: SyncSnapshotsOptions): Snapshot[] {
  const caller = callerStack(snapshotsSync);
  try {
    rejectSignal(options);
    const file = resolveInput('path', path);
    return snapshotsInWorker(file, resolveSnapshotsOptions(options, 'snapshotsSync()'));
  } catch (error) {
    throw withCallerStack(error, caller);
  }
}
