/** The helper thread behind the ...Sync functions (see sync.ts). */
import { workerData, type MessagePort } from 'node:worker_threads';

import { toSnapshotError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { executeJob, type JobOutcome, type JobTask } from './service/execute.js';
import { CallControl, takeSnapshots, type Snapshot } from './snapshot.js';
import type { SyncReply, SyncRequest } from './sync.js';

const { port, done } = workerData as { port: MessagePort; done: Int32Array };

type Handler = (args: never, control: CallControl) => Promise<unknown>;

const handlers: Record<string, Handler> = {
  snapshots: (args: { path: string; options: ResolvedOptions }, control): Promise<Snapshot[]> =>
    takeSnapshots(args.path, args.options, control),
  job: (task: JobTask): Promise<JobOutcome> => executeJob(task),
};

port.on('message', (request: SyncRequest) => {
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
      port.postMessage(reply);
      Atomics.store(done, 0, request.id);
      Atomics.notify(done, 0);
    });
});
