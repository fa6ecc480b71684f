/** The helper thread behind the ...Sync functions (see sync.ts). */
import { workerData, type MessagePort } from 'node:worker_threads';

import { ErrorCodes, SnapshotError, toSnapshotError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { executeJob, type JobOutcome, type JobTask } from './service/execute.js';
import { releaseWhenIdle, workStarted, type PoolReply } from './service/pool-worker.js';
import { ProcessPool } from './service/process-pool.js';
import type { Isolation } from './service/scheduler.js';
import { CallControl, takeSnapshots, type Snapshot } from './snapshot.js';
import type { SyncReply, SyncRequest } from './sync.js';

const { port, done } = workerData as { port: MessagePort; done: Int32Array };

type Handler = (args: never, control: CallControl) => Promise<unknown>;

/** Atomics.waitAsync (ES2024; in Node since 16), typed here for the ES2022 lib. */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

/** submitSnapshotJobSync's jobs with isolation 'process': one child process, made on first use. */
let processes: ProcessPool | undefined;
let working = 0;
let retired = false;

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
    throw new SnapshotError(ErrorCodes.InternalError, error instanceof Error ? error.message : String(error));
  } finally {
    // Wakes the watcher (the flag is unchanged: it just stops waiting).
    Atomics.notify(task.abort, 0);
  }
  if (!answer.ok) throw SnapshotError.fromJSON(answer.error);
  return answer.outcome;
}

async function job(args: { task: JobTask; isolation?: Isolation }): Promise<JobOutcome> {
  if (args.isolation === 'process') return jobInProcess(args.task);
  workStarted();
  try {
    return await executeJob(args.task);
  } finally {
    releaseWhenIdle();
  }
}

const handlers: Record<string, Handler> = {
  snapshots: (args: { path: string; options: ResolvedOptions }, control): Promise<Snapshot[]> =>
    takeSnapshots(args.path, args.options, control),
  job,
};

/** Given up on by its caller (see retire in sync.ts): ends once its work has. */
function endIfRetired(): void {
  if (!retired || working > 0) return;
  void processes?.destroy();
  processes = undefined;
}

port.on('close', () => {
  retired = true;
  endIfRetired();
});

port.on('message', (request: SyncRequest) => {
  working += 1;
  // The caller's flag lives in shared memory: the waiting thread sets it on timeout.
  const control = new CallControl(undefined, request.abort);
  const handler = handlers[request.method];
  const work = handler === undefined
    ? Promise.reject(new Error(`unknown sync method ${request.method}`))
    : handler(request.args as never, control);
  work
    .then(
      (value): SyncReply => ({ id: request.id, ok: true, value }),
      (error: unknown): SyncReply => ({ id: request.id, ok: false, error: toSnapshotError(error).toJSON() }),
    )
    .then((reply) => {
      working -= 1;
      port.postMessage(reply);
      Atomics.store(done, 0, request.id);
      Atomics.notify(done, 0);
      endIfRetired();
    });
});
