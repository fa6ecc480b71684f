/**
 * A piscina pool worker. Each worker keeps its own native state: the addon's
 * cached open file lets a job on the same unchanged input skip the open, and
 * is dropped once the worker has been idle a while (a huge file's state is
 * not kept pinned by an idle pool). Errors come back as values: a rejected
 * task means the worker itself failed.
 */
import { toSnapshotError, type ErrorCode } from '../../core/errors.js';
import { nativeAddon } from '../../core/native.js';
import { executeJob } from './execute.js';
import type { JobOutcome, JobTask } from '../types.js';

export type PoolReply = { ok: true; outcome: JobOutcome } | { ok: false; error: { code: ErrorCode; message: string } };

/** Idle this long, a worker closes its kept-open file. */
export const RELEASE_IDLE_MS = 1_000;

let releaseTimer: NodeJS.Timeout | undefined;

/** A job starts: the kept-open file is wanted. */
export function workStarted(): void {
  clearTimeout(releaseTimer);
  releaseTimer = undefined;
}

/** A job ended: unless another starts within RELEASE_IDLE_MS, the kept-open file is closed. */
export function releaseWhenIdle(): void {
  clearTimeout(releaseTimer);
  releaseTimer = setTimeout(() => {
    releaseTimer = undefined;
    const addon = nativeAddon() as { releaseCachedFile?: () => void };
    if (typeof addon.releaseCachedFile === 'function') addon.releaseCachedFile();
  }, RELEASE_IDLE_MS);
  releaseTimer.unref();
}

export default async function runPoolTask(task: JobTask): Promise<PoolReply> {
  workStarted();
  try {
    return { ok: true, outcome: await executeJob(task) };
  } catch (error) {
    return { ok: false, error: toSnapshotError(error).toJSON() };
  } finally {
    releaseWhenIdle();
  }
}
