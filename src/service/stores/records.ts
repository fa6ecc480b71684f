/** The records every back end keeps: ids, times, pipelines, and a job's end (SPEC section 7). */
import { randomUUID } from 'node:crypto';

import type { SnapshotError } from '../../core/errors.js';
import type { NotifyConfig, Pipeline, SnapshotJob } from '../types.js';

/** 32 lower-case hex digits: job and pipeline ids. */
export function newJobId(): string {
  return randomUUID().replaceAll('-', '');
}

export function newRequestId(): string {
  return randomUUID().toUpperCase();
}

/** UTC, YYYY-MM-DDThh:mm:ssZ. */
export function creationTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export const DEFAULT_PIPELINE_NAME = 'default';

export function newPipeline(name: string, notify: NotifyConfig | undefined, id = newJobId()): Pipeline {
  return { Id: id, Name: name, State: 'Active', Speed: 'Standard', NotifyConfig: notify ?? {} };
}

export function isFinal(job: SnapshotJob): boolean {
  return job.State === 'Success' || job.State === 'Fail';
}

/** The job ended Fail with `reason`: no images count. */
export function failedJob(job: SnapshotJob, reason: SnapshotError): SnapshotJob {
  const failed: SnapshotJob = { ...structuredClone(job), State: 'Fail', Code: reason.code, Message: reason.message, Count: '0' };
  if (failed.TileCount !== undefined) failed.TileCount = '0';
  if (failed.Percent !== undefined) failed.Percent = 0;
  return failed;
}

/** A job a consumer runs: its stop signal, and the promise that settles when its handler has returned. */
export interface RunningHandler {
  controller: AbortController;
  done: Promise<unknown>;
}

/**
 * The end of a consumer: gives its running handlers `graceMs` to return,
 * then aborts the signals of those still running with `reason` (HAND_BACK,
 * or a SnapshotError) and waits until every one has returned (each removes
 * itself from `running`).
 */
export async function stopHandlers(running: ReadonlyMap<string, RunningHandler>, graceMs: number, reason: unknown): Promise<void> {
  const allDone = (): Promise<unknown> => Promise.all([...running.values()].map((handler) => handler.done));
  if (running.size > 0 && graceMs > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allDone(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
  }
  for (const handler of running.values()) handler.controller.abort(reason);
  while (running.size > 0) await allDone();
}
