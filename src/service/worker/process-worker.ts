/**
 * A child process of the service's process pool (isolation 'process', see
 * process-pool.ts): runs one job at a time as a pool thread would, decoding
 * on the libuv pool so that this thread hears a cancel message and raises
 * the job's own cancel flag.
 */
import { toSnapshotError } from '../../core/errors.js';
import { executeJob } from './execute.js';
import { releaseWhenIdle, workStarted } from './pool-worker.js';
import type { FromChild, ToChild } from './process-pool.js';
import type { JobTask } from '../types.js';

let current: { id: number; abort: Int32Array } | undefined;

function send(message: FromChild): void {
  process.send?.(message);
}

process.on('message', (message: ToChild) => {
  if (message.type === 'cancel') {
    if (current?.id === message.id) Atomics.store(current.abort, 0, 1);
    return;
  }
  const { id } = message;
  const abort = new Int32Array(new SharedArrayBuffer(4));
  current = { id, abort };
  workStarted();
  const task: JobTask = { ...message.task, abort };
  void executeJob(task, (progress) => send({ type: 'message', id, message: progress }))
    .then(
      (outcome): FromChild => ({ type: 'reply', id, reply: { ok: true, outcome } }),
      (error: unknown): FromChild => ({ type: 'reply', id, reply: { ok: false, error: toSnapshotError(error).toJSON() } }),
    )
    .then((reply) => {
      if (current?.id === id) current = undefined;
      send(reply);
      releaseWhenIdle();
    });
});

// The service went away: so does this process.
process.on('disconnect', () => process.exit(0));
