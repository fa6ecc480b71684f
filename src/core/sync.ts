/**
 * Blocking calls for work that is asynchronous inside (sharp has no sync
 * API): the work runs in a helper worker thread while this thread waits on
 * shared memory with Atomics.wait, then reads the reply with
 * receiveMessageOnPort (the pattern of the synckit package).
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

import { ErrorCodes, SnapshotError, type ErrorCode } from './errors.js';

/** A blocking call never waits longer than this unless told to. */
export const DEFAULT_SYNC_TIMEOUT_MS = 60_000;
/**
 * A helper thread given up on at a deadline is left to stop by itself (its
 * work is cancelled, and takes back what it wrote); one still running this
 * long after is terminated.
 */
const RETIRED_TERMINATE_MS = 30_000;

export interface SyncRequest {
  id: number;
  method: string;
  args: unknown;
  abort: Int32Array;
}

export type SyncReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: { code: ErrorCode; message: string } };

interface SyncChannel {
  key: string;
  worker: Worker;
  port: MessagePort;
  /** [0]: id of the last finished call. */
  done: Int32Array;
}

/** One helper thread per worker module (the low-level calls' and the job service's). */
const channels = new Map<string, SyncChannel>();
let nextId = 1;

function openChannel(workerUrl: URL): SyncChannel {
  const key = workerUrl.href;
  const open = channels.get(key);
  if (open !== undefined) return open;
  const done = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(workerUrl, {
    workerData: { port: port2, done },
    transferList: [port2],
  });
  worker.unref();
  port1.unref();
  const opened = { key, worker, port: port1, done };
  worker.on('exit', () => forget(opened));
  channels.set(key, opened);
  return opened;
}

function forget(opened: SyncChannel): void {
  if (channels.get(opened.key) === opened) channels.delete(opened.key);
}

/**
 * Gives up on a helper thread whose call ran past its deadline: the next
 * call gets a fresh one at once, and this one ends by itself once its
 * cancelled work has stopped (its port closed, nothing keeps it alive) --
 * it is not terminated mid-work, which could leave a half-done write.
 */
function retire(opened: SyncChannel): void {
  forget(opened);
  opened.port.close();
  setTimeout(() => void opened.worker.terminate(), RETIRED_TERMINATE_MS).unref();
}

function discard(opened: SyncChannel): void {
  forget(opened);
  opened.port.close();
  void opened.worker.terminate();
}

/**
 * Runs `method` of the sync worker module at `workerUrl` (one that calls
 * serveSyncCalls, see sync-host.ts) with `args` and blocks until it answers.
 * `timeoutMs` bounds the wait: at the deadline the work is cancelled through
 * `abort` (and Atomics.notify, for a waiter in the helper thread) and
 * SnapshotTimeOut is thrown at once, whatever the work is doing.
 */
export function callSync<T>(workerUrl: URL, method: string, args: unknown, timeoutMs: number, abort: Int32Array): T {
  const opened = openChannel(workerUrl);
  const id = nextId++;
  const request: SyncRequest = { id, method, args, abort };
  opened.port.postMessage(request);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const finished = Atomics.load(opened.done, 0);
    if (finished === id) break;
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      Atomics.store(abort, 0, 1);
      Atomics.notify(abort, 0);
      retire(opened);
      throw new SnapshotError(ErrorCodes.SnapshotTimeOut, `the call did not finish within ${timeoutMs} ms`);
    }
    Atomics.wait(opened.done, 0, finished, remaining);
  }
  for (;;) {
    const received = receiveMessageOnPort(opened.port);
    if (received === undefined) {
      discard(opened);
      throw new SnapshotError(ErrorCodes.InternalError, 'the sync worker finished without a reply');
    }
    const reply = received.message as SyncReply;
    if (reply.id !== id) continue; // a reply to a call that timed out earlier
    if (reply.ok) return reply.value as T;
    throw SnapshotError.fromJSON(reply.error);
  }
}
