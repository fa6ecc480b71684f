/**
 * A piscina pool worker. Each worker keeps its own native state: the addon's
 * cached open file lets a job on the same unchanged input skip the open.
 * Errors come back as values: a rejected task means the worker itself failed.
 */
import { toSnapshotError, type ErrorCode } from '../errors.js';
import { executeJob, type JobOutcome, type JobTask } from './execute.js';

export type PoolReply = { ok: true; outcome: JobOutcome } | { ok: false; error: { code: ErrorCode; message: string } };

export default async function runPoolTask(task: JobTask): Promise<PoolReply> {
  try {
    return { ok: true, outcome: await executeJob(task) };
  } catch (error) {
    return { ok: false, error: toSnapshotError(error).toJSON() };
  }
}
