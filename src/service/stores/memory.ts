/**
 * The memory back end (the default): jobs, pipelines and the queue live in
 * this process and go with it. The queue starts jobs in submission order,
 * skipping those of paused pipelines; the history keeps the newest
 * `maxHistory` jobs, dropping the oldest finished ones first.
 */
import { EventEmitter } from 'node:events';

import { ErrorCodes, SnapshotError } from '../../core/errors.js';
import { type BackendEvents, type CancelOutcome, type JobBackend, type JobEntry, type JobHandler, type SyncStore } from './backend.js';
import { DEFAULT_PIPELINE_NAME, failedJob, isFinal, newJobId, newPipeline, stopHandlers } from './records.js';
import { idsAnswer, pageAnswer, unknownPageToken, type JobQuery, type JobQueryAnswer } from './query.js';
import type { JobProgress, MNSMessageResult, Pipeline, SnapshotJob } from '../types.js';

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

export class MemoryBackend extends EventEmitter<BackendEvents> implements JobBackend {
  readonly kind = 'memory';
  readonly durable = false;
  /** Oldest first; newest-first answers walk it backwards. */
  private readonly jobs = new Map<string, JobEntry>();
  private readonly pipelineMap = new Map<string, Pipeline>();
  /** Queued asynchronous jobs' ids, in submission order. */
  private readonly queue: string[] = [];
  private readonly running = new Map<string, Running>();
  private consumer: { concurrency: number; handler: JobHandler } | undefined;

  constructor(private readonly maxHistory: number) {
    super();
  }

  readonly sync: SyncStore = {
    open: () => this.openNow(),
    pipeline: (id) => {
      const pipeline = this.pipelineMap.get(id);
      return pipeline === undefined ? undefined : structuredClone(pipeline);
    },
    add: (entry, maxQueue) => this.addNow(entry, maxQueue),
  };
  private defaultPipeline: Pipeline | undefined;

  open(): Promise<{ defaultPipelineId: string }> {
    return Promise.resolve(this.openNow());
  }

  private openNow(): { defaultPipelineId: string } {
    this.defaultPipeline ??= newPipeline(DEFAULT_PIPELINE_NAME, undefined, newJobId());
    this.pipelineMap.set(this.defaultPipeline.Id, this.defaultPipeline);
    return { defaultPipelineId: this.defaultPipeline.Id };
  }

  private addNow(entry: JobEntry, maxQueue: number): void {
    if (entry.asynchronous && this.queue.length >= maxQueue) {
      throw new SnapshotError(ErrorCodes.Throttling, `the job queue is full (${maxQueue} jobs waiting); retry later`);
    }
    this.jobs.set(entry.job.Id, { ...entry, job: structuredClone(entry.job) });
    this.dropOldest();
    if (entry.asynchronous) {
      this.queue.push(entry.job.Id);
      this.pump();
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  addPipeline(pipeline: Pipeline): Promise<void> {
    this.pipelineMap.set(pipeline.Id, structuredClone(pipeline));
    return Promise.resolve();
  }

  updatePipeline(id: string, update: (pipeline: Pipeline) => Pipeline): Promise<Pipeline | undefined> {
    const pipeline = this.pipelineMap.get(id);
    if (pipeline === undefined) return Promise.resolve(undefined);
    const updated = update(structuredClone(pipeline));
    this.pipelineMap.set(id, structuredClone(updated));
    this.pump();
    return Promise.resolve(updated);
  }

  pipelines(ids: readonly string[]): Promise<Pipeline[]> {
    return Promise.resolve(ids.flatMap((id) => (this.pipelineMap.has(id) ? [structuredClone(this.pipelineMap.get(id)!)] : [])));
  }

  allPipelines(): Promise<Pipeline[]> {
    return Promise.resolve([...this.pipelineMap.values()].map((pipeline) => structuredClone(pipeline)));
  }

  deletePipeline(id: string): Promise<boolean> {
    return Promise.resolve(this.pipelineMap.delete(id));
  }

  add(entry: JobEntry, maxQueue: number): Promise<void> {
    try {
      this.addNow(entry, maxQueue);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  start(jobId: string): Promise<void> {
    const entry = this.jobs.get(jobId);
    if (entry !== undefined && entry.job.State === 'Submitted') entry.job.State = 'Snapshoting';
    return Promise.resolve();
  }

  progress(progress: JobProgress, _attempt: number): Promise<void> {
    const entry = this.jobs.get(progress.JobId);
    if (entry === undefined || entry.job.State !== 'Snapshoting') return Promise.resolve();
    entry.job.Count = String(progress.Done);
    entry.job.Percent = progress.Percent;
    this.emit('progress', { ...progress });
    return Promise.resolve();
  }

  finish(job: SnapshotJob, _attempt: number): Promise<boolean> {
    const entry = this.jobs.get(job.Id);
    if (entry === undefined || isFinal(entry.job)) return Promise.resolve(false);
    this.unqueue(job.Id);
    entry.job = structuredClone(job);
    this.emit('finished', structuredClone(job));
    return Promise.resolve(true);
  }

  notified(jobId: string, result: MNSMessageResult): Promise<void> {
    const entry = this.jobs.get(jobId);
    if (entry !== undefined) entry.job.MNSMessageResult = { ...result };
    this.emit('notified', jobId, { ...result });
    return Promise.resolve();
  }

  get(jobId: string): Promise<SnapshotJob | undefined> {
    const entry = this.jobs.get(jobId);
    return Promise.resolve(entry === undefined ? undefined : structuredClone(entry.job));
  }

  requestIdOf(jobId: string): Promise<string | undefined> {
    return Promise.resolve(this.jobs.get(jobId)?.requestId);
  }

  query(query: JobQuery): Promise<JobQueryAnswer> {
    if (query.kind === 'ids') {
      const found = new Map<string, SnapshotJob>();
      for (const id of query.ids) {
        const entry = this.jobs.get(id);
        if (entry !== undefined) found.set(id, entry.job);
      }
      return Promise.resolve(idsAnswer(query.ids, found));
    }
    const newestFirst = [...this.jobs.values()].reverse().map((entry) => entry.job);
    let from = 0;
    if (query.token !== undefined) {
      from = newestFirst.findIndex((job) => job.Id === query.token);
      if (from < 0) return Promise.reject(unknownPageToken(query.token));
    }
    return Promise.resolve(pageAnswer(newestFirst.slice(from), query.filter, query.pageSize));
  }

  async cancel(jobId: string, reason: SnapshotError): Promise<CancelOutcome> {
    const entry = this.jobs.get(jobId);
    if (entry === undefined) return { kind: 'missing' };
    if (isFinal(entry.job)) return { kind: 'final', job: structuredClone(entry.job) };
    const running = this.running.get(jobId);
    if (running !== undefined) {
      running.controller.abort(reason);
      return { kind: 'running', job: structuredClone(entry.job) };
    }
    if (!entry.asynchronous) return { kind: 'running', job: structuredClone(entry.job) };
    const failed = failedJob(entry.job, reason);
    await this.finish(failed, 1);
    return { kind: 'cancelled', job: failed };
  }

  consume(concurrency: number, handler: JobHandler): void {
    this.consumer = { concurrency, handler };
    this.pump();
  }

  async stopConsuming(graceMs: number, reason: SnapshotError, queuedReason: SnapshotError): Promise<void> {
    this.consumer = undefined;
    for (const jobId of this.queue.splice(0)) {
      const entry = this.jobs.get(jobId);
      if (entry === undefined) continue;
      const job = failedJob(entry.job, queuedReason);
      // Ended here, not by a consumer: this instance sends its completion message.
      if (await this.finish(job, 1)) this.emit('ended', structuredClone(job), entry.requestId);
    }
    await stopHandlers(this.running, graceMs, reason);
  }

  /** Claims queued jobs while the consumer has room: the first in submission order whose pipeline is not paused. */
  private pump(): void {
    const consumer = this.consumer;
    while (consumer !== undefined && this.running.size < consumer.concurrency) {
      const index = this.queue.findIndex((jobId) => {
        const job = this.jobs.get(jobId)?.job;
        return job !== undefined && this.pipelineMap.get(job.PipelineId)?.State !== 'Paused';
      });
      if (index < 0) return;
      const jobId = this.queue.splice(index, 1)[0]!;
      const entry = this.jobs.get(jobId)!;
      entry.job.State = 'Snapshoting';
      const controller = new AbortController();
      const running: Running = { controller, done: Promise.resolve() };
      this.running.set(jobId, running);
      running.done = consumer
        .handler({ job: structuredClone(entry.job), requestId: entry.requestId, attempt: 1, signal: controller.signal })
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(jobId);
          this.pump();
        });
    }
  }

  private unqueue(jobId: string): void {
    const index = this.queue.indexOf(jobId);
    if (index >= 0) this.queue.splice(index, 1);
  }

  private dropOldest(): void {
    if (this.jobs.size <= this.maxHistory) return;
    for (const [id, old] of this.jobs) {
      if (isFinal(old.job)) {
        this.jobs.delete(id);
        return;
      }
    }
  }
}
