/** The helper thread behind submitSnapshotJobSync (see core/sync.ts). */
import { SnapshotError, toSnapshotError } from '../../core/errors.js';
import { serveSyncCalls } from '../../core/sync-host.js';
import type { Isolation } from '../types.js';
import { executeJob, outcomeFiles } from './execute.js';
import { releaseWhenIdle, workStarted, type PoolReply } from './pool-worker.js';
import { cancelledError } from './output-writer.js';
import { ProcessPool } from './process-pool.js';
import { removeOwned } from '../storage/cleanup.js';
import type { JobOutcome, JobTask } from '../types.js';

/** Atomics.waitAsync (ES2024; in Node since 16), typed here for the ES2022 lib. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      this: void,
      array: Int32Array,
      index: number,
      value: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

/** Jobs with isolation 'process': one child process, made on first use. */
let processes: ProcessPool | undefined;

/** Runs a job in a child process; the caller's flag (raised at its deadline) cancels it there. */
async function jobInProcess(task: JobTask): Promise<JobOutcome> {
  processes ??= new ProcessPool(1);
  const { reply, cancel } = processes.run(task, () => undefined);
  const watch = waitAsync(task.abort, 0, 0);
  if (watch.async) void watch.value.then(() => cancel());
  else cancel();
  let answer: PoolReply;
  try {
    answer = await reply;
  } catch (error) {
    throw toSnapshotError(error);
  } finally {
    // Wakes the watcher (the flag is unchanged: it just stops waiting).
    Atomics.notify(task.abort, 0);
  }
  if (!answer.ok) throw SnapshotError.fromJSON(answer.error);
  return answer.outcome;
}

async function run(args: { task: JobTask; isolation?: Isolation }): Promise<JobOutcome> {
  if (args.isolation === 'process') return jobInProcess(args.task);
  workStarted();
  try {
    return await executeJob(args.task);
  } finally {
    releaseWhenIdle();
  }
}

/**
 * Runs the job; when the caller gave up on it (its deadline passed) while
 * the last objects were being put in place, nobody will read this answer:
 * what the job wrote is taken back here, as a cancelled job's would be.
 */
async function job(args: { task: JobTask; isolation?: Isolation }): Promise<JobOutcome> {
  const outcome = await run(args);
  if (Atomics.load(args.task.abort, 0) !== 0) {
    for (const file of outcomeFiles(outcome)) await removeOwned(file);
    throw cancelledError();
  }
  return outcome;
}

serveSyncCalls({ job }, () => {
  void processes?.destroy();
  processes = undefined;
});
