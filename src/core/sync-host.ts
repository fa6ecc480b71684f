/**
 * The helper-thread side of the blocking calls (see sync.ts): a worker module
 * calls serveSyncCalls with its handlers, and answers each request through
 * the port and the shared `done` word the blocked caller waits on.
 */
import { workerData, type MessagePort } from 'node:worker_threads';

import { toSnapshotError } from './errors.js';
import { CallControl } from './snapshot.js';
import type { SyncReply, SyncRequest } from './sync.js';

export type SyncHandler = (args: never, control: CallControl) => Promise<unknown>;

/**
 * Serves blocking calls until the caller gives up on this thread (closes the
 * port); then `onRetired` runs once the work in flight has ended.
 */
export function serveSyncCalls(handlers: Record<string, SyncHandler>, onRetired?: () => void): void {
  const { port, done } = workerData as { port: MessagePort; done: Int32Array };
  let working = 0;
  let retired = false;

  const endIfRetired = (): void => {
    if (retired && working === 0) onRetired?.();
  };

  port.on('close', () => {
    retired = true;
    endIfRetired();
  });

  port.on('message', (request: SyncRequest) => {
    working += 1;
    // The caller's flag lives in shared memory: the waiting thread sets it on timeout.
    const control = new CallControl(undefined, request.abort);
    const handler = handlers[request.method];
    const work =
      handler === undefined ? Promise.reject(new Error(`unknown sync method ${request.method}`)) : handler(request.args as never, control);
    void work
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
}
