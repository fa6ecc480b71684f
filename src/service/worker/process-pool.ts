/**
 * A pool of child processes running jobs (SnapshotService's isolation
 * 'process'): a native crash or an out-of-memory kill ends one child, fails
 * its one job with InternalError naming the signal, and the next job gets a
 * fresh child; the host process lives on. Children are forked with
 * node:child_process and the 'advanced' serialization (Buffers and typed
 * arrays cross as such). A shared-memory cancel flag cannot cross a process:
 * cancelling sends a message, and a child that has not answered within the
 * grace after it is killed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { PoolReply } from './pool-worker.js';
import type { JobTask, ProgressMessage } from '../types.js';

/** Parent -> child. */
export type ToChild = { type: 'run'; id: number; task: Omit<JobTask, 'abort' | 'progress'> } | { type: 'cancel'; id: number };
/** Child -> parent. */
export type FromChild = { type: 'message'; id: number; message: ProgressMessage } | { type: 'reply'; id: number; reply: PoolReply };

/** A child that has not ended its job this long after being cancelled is killed. */
export const CANCEL_GRACE_MS = 2_000;
/** A child with no job for this long exits (a fresh one is forked when needed). */
const IDLE_EXIT_MS = 60_000;

/** The child's death, as the scheduler reports it. */
export class WorkerProcessDied extends Error {}

interface Running {
  id: number;
  onMessage: (message: ProgressMessage) => void;
  resolve: (reply: PoolReply) => void;
  reject: (error: Error) => void;
  killTimer?: NodeJS.Timeout;
}

interface Child {
  process: ChildProcess;
  running: Running | undefined;
  idleTimer?: NodeJS.Timeout;
}

const CHILD_MODULE = fileURLToPath(new URL('./process-worker.js', import.meta.url));

export class ProcessPool {
  private readonly children = new Set<Child>();
  private nextId = 1;
  private destroyed = false;

  constructor(private readonly size: number) {}

  /** The children's process ids (for tests that kill one). */
  get pids(): number[] {
    return [...this.children].flatMap((child) => (child.process.pid === undefined ? [] : [child.process.pid]));
  }

  /**
   * Runs `task` in an idle child (the caller runs at most `size` at once).
   * Resolves with the child's reply; rejects with WorkerProcessDied when the
   * child died first. `cancel` asks the child to stop, and kills it if it
   * does not within CANCEL_GRACE_MS.
   */
  run(task: JobTask, onMessage: (message: ProgressMessage) => void): { reply: Promise<PoolReply>; cancel: () => void } {
    const child = this.idleChild();
    const id = this.nextId++;
    // Neither the shared cancel flag nor a message port can cross a process.
    const { abort: _abort, progress: _progress, ...plain } = task;
    let running!: Running;
    const reply = new Promise<PoolReply>((resolve, reject) => {
      running = { id, onMessage, resolve, reject };
    });
    child.running = running;
    clearTimeout(child.idleTimer);
    child.process.ref();
    child.process.channel?.ref();
    child.process.send({ type: 'run', id, task: { ...plain, decode: 'async' } } satisfies ToChild);
    const cancel = (): void => {
      if (child.running !== running || running.killTimer !== undefined) return;
      child.process.send({ type: 'cancel', id } satisfies ToChild);
      running.killTimer = setTimeout(() => child.process.kill('SIGKILL'), CANCEL_GRACE_MS);
      running.killTimer.unref();
    };
    return { reply, cancel };
  }

  /** Ends every child (jobs still running fail as their children die). */
  async destroy(): Promise<void> {
    this.destroyed = true;
    const exits = [...this.children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.process.exitCode !== null || child.process.signalCode !== null) resolve();
          else {
            child.process.once('exit', () => resolve());
            // Held until its exit is seen (an idle child is unreferenced).
            child.process.ref();
            child.process.kill('SIGKILL');
          }
        }),
    );
    await Promise.all(exits);
    this.children.clear();
  }

  private idleChild(): Child {
    if (this.destroyed) throw new WorkerProcessDied('the pool is closed');
    for (const child of this.children) if (child.running === undefined) return child;
    if (this.children.size >= this.size) throw new WorkerProcessDied('no idle worker process');
    return this.spawn();
  }

  private spawn(): Child {
    const process = fork(CHILD_MODULE, [], {
      serialization: 'advanced',
      // The child's output is not the host's: only its errors are shown.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      execArgv: [],
    });
    const child: Child = { process, running: undefined };
    this.children.add(child);
    process.on('message', (message: FromChild) => {
      const running = child.running;
      if (running === undefined || message.id !== running.id) return;
      if (message.type === 'message') running.onMessage(message.message);
      else {
        clearTimeout(running.killTimer);
        child.running = undefined;
        this.rest(child);
        running.resolve(message.reply);
      }
    });
    process.on('error', () => {
      // A failed send or spawn: the exit that follows reports it.
    });
    process.once('exit', (code, signal) => {
      this.children.delete(child);
      clearTimeout(child.idleTimer);
      const running = child.running;
      child.running = undefined;
      if (running === undefined) return;
      clearTimeout(running.killTimer);
      running.reject(
        new WorkerProcessDied(
          signal !== null
            ? `the worker process running the job died (${signal})`
            : `the worker process running the job exited (code ${code ?? 'unknown'})`,
        ),
      );
    });
    return child;
  }

  /** An idle child does not keep the host running, and exits after a while. */
  private rest(child: Child): void {
    child.process.unref();
    child.process.channel?.unref();
    child.idleTimer = setTimeout(() => {
      if (child.running !== undefined) return;
      this.children.delete(child);
      child.process.kill('SIGTERM');
    }, IDLE_EXIT_MS);
    child.idleTimer.unref();
  }
}
