/**
 * The Redis + BullMQ job back end (stores/redis.ts) against a real
 * redis-server this file starts: the default pipeline shared by instances,
 * submission order, paused pipelines holding and releasing jobs in order,
 * Throttling, first-outcome-wins and stale attempts, cancelling queued and
 * running jobs (in another instance and in another process), events reaching
 * every instance exactly once, queries answered as the memory back end
 * answers them, hand-back on stopConsuming, and a consumer process killed
 * with SIGKILL whose job runs again elsewhere; synchronous jobs whose process
 * died ended after their deadline, the 'ended' event in the one instance
 * whose write ended a job, close() with Redis gone, and redacted URLs.
 *
 * Each test keeps apart from the others by a key prefix of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, test } from 'vitest';

import { ErrorCodes, SnapshotError } from '../dist/index.js';
import type { ClaimedJob, JobEntry } from '../dist/service/stores/backend.js';
import { HAND_BACK } from '../dist/service/stores/backend.js';
import { MemoryBackend } from '../dist/service/stores/memory.js';
import { parseJobQuery } from '../dist/service/stores/query.js';
import { creationTime, failedJob, newJobId, newPipeline, newRequestId } from '../dist/service/stores/records.js';
import { RedisBackend, type RedisBackendOptions } from '../dist/service/stores/redis.js';
import type { JobProgress, MNSMessageResult, QuerySnapshotJobListRequest, SnapshotJob } from '../dist/index.js';
import { redisForFile, startRedis } from './helpers/redis-server.js';

const redis = redisForFile();
const REDIS_MODULE = fileURLToPath(new URL('../dist/service/stores/redis.js', import.meta.url));

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let prefixes = 0;
function newPrefix(): string {
  return `t${process.pid}-${++prefixes}`;
}

/** An open back end, stopped and closed after the test. */
async function backend(
  prefix: string,
  options: Partial<RedisBackendOptions> = {},
): Promise<{ store: RedisBackend; defaultPipelineId: string }> {
  const store = new RedisBackend({ url: redis().url, maxHistory: 1000, prefix, ...options });
  cleanups.push(async () => {
    await store.stopConsuming(0, new SnapshotError(ErrorCodes.Aborted, 'closed'), new SnapshotError(ErrorCodes.Aborted, 'closed'));
    await store.close();
  });
  const { defaultPipelineId } = await store.open();
  return { store, defaultPipelineId };
}

function entry(pipelineId: string, options: { asynchronous?: boolean; creation?: Date } = {}): JobEntry {
  const asynchronous = options.asynchronous ?? true;
  const job: SnapshotJob = {
    Id: newJobId(),
    State: 'Submitted',
    Code: '',
    Message: '',
    Count: '0',
    CreationTime: creationTime(options.creation ?? new Date()),
    PipelineId: pipelineId,
    Input: { Bucket: 'in-bucket', Object: 'clip.mp4' },
    SnapshotConfig: { OutputFile: { Bucket: 'out-bucket', Object: 'out/{Count}.jpg' }, Time: '0', ...(asynchronous ? { Num: '2' } : {}) },
    ...(asynchronous ? { Percent: 0 } : {}),
  };
  return { job, requestId: newRequestId(), asynchronous };
}

function success(job: SnapshotJob, count = 2): SnapshotJob {
  return { ...job, State: 'Success', Count: String(count), ...(job.Percent === undefined ? {} : { Percent: 100 }) };
}

/** Resolves when `check` is true, checked on every event of `store` and every 50 ms; fails after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Everything a back end emitted, in order. */
class Recorder {
  readonly progress: JobProgress[] = [];
  readonly finished: SnapshotJob[] = [];
  readonly notified: [string, MNSMessageResult][] = [];
  readonly ended: [SnapshotJob, string][] = [];
  constructor(store: RedisBackend) {
    store.on('ended', (job, requestId) => this.ended.push([job, requestId]));
    store.on('progress', (progress) => this.progress.push(progress));
    store.on('finished', (job) => this.finished.push(job));
    store.on('notified', (jobId, result) => this.notified.push([jobId, result]));
  }
  finishedIds(): string[] {
    return this.finished.map((job) => job.Id);
  }
}

const canceled = (): SnapshotError => new SnapshotError(ErrorCodes.Canceled, 'the job was cancelled');
const aborted = (): SnapshotError => new SnapshotError(ErrorCodes.Aborted, 'the service is closing');

describe('the Redis back end', () => {
  test('one default pipeline, made once and shared by every instance on the prefix', async () => {
    const prefix = newPrefix();
    const first = await backend(prefix);
    const second = await backend(prefix);
    const other = await backend(newPrefix());
    expect(second.defaultPipelineId).toBe(first.defaultPipelineId);
    expect(other.defaultPipelineId).not.toBe(first.defaultPipelineId);
    expect(first.defaultPipelineId).toMatch(/^[0-9a-f]{32}$/);
    expect(await second.store.pipelines([first.defaultPipelineId, 'f'.repeat(32)])).toStrictEqual([
      { Id: first.defaultPipelineId, Name: 'default', State: 'Active', Speed: 'Standard', NotifyConfig: {} },
    ]);
    expect(await other.store.pipelines([first.defaultPipelineId])).toStrictEqual([]);
    expect(first.store.kind).toBe('redis');
    expect(first.store.durable).toBe(true);
  });

  test('pipelines: added, updated by a function, read in the order asked', async () => {
    const { store } = await backend(newPrefix());
    const a = newPipeline('a', { Topic: 't1' });
    const b = newPipeline('b', undefined);
    await store.addPipeline(a);
    await store.addPipeline(b);
    expect(await store.pipelines([b.Id, a.Id])).toStrictEqual([b, a]);
    const updated = await store.updatePipeline(a.Id, (pipeline) => ({ ...pipeline, Name: 'renamed', State: 'Paused' }));
    expect(updated).toStrictEqual({ ...a, Name: 'renamed', State: 'Paused' });
    expect(await store.pipelines([a.Id])).toStrictEqual([{ ...a, Name: 'renamed', State: 'Paused' }]);
    expect(await store.updatePipeline('0'.repeat(32), (pipeline) => pipeline)).toBeUndefined();
  });

  test('a consumer in another instance runs queued jobs in submission order; events reach both instances exactly once', async () => {
    const prefix = newPrefix();
    const submitter = await backend(prefix);
    const worker = await backend(prefix);
    const seenBySubmitter = new Recorder(submitter.store);
    const seenByWorker = new Recorder(worker.store);
    const entries = Array.from({ length: 6 }, () => entry(submitter.defaultPipelineId));
    for (const one of entries) await submitter.store.add(one, 100);
    expect(await submitter.store.get(entries[0]!.job.Id)).toStrictEqual(entries[0]!.job);
    expect(await worker.store.requestIdOf(entries[0]!.job.Id)).toBe(entries[0]!.requestId);

    const claims: ClaimedJob[] = [];
    worker.store.consume(1, async (claimed) => {
      claims.push(claimed);
      expect(await submitter.store.get(claimed.job.Id)).toStrictEqual({ ...claimed.job });
      // A stale attempt's progress changes nothing and tells nobody.
      await worker.store.progress({ JobId: claimed.job.Id, Done: 2, Expected: 2, Percent: 100 }, claimed.attempt + 1);
      expect(await submitter.store.get(claimed.job.Id)).toMatchObject({ State: 'Snapshoting', Count: '0' });
      await worker.store.progress({ JobId: claimed.job.Id, Done: 1, Expected: 2, Percent: 50 }, claimed.attempt);
      expect(await submitter.store.get(claimed.job.Id)).toMatchObject({ State: 'Snapshoting', Count: '1', Percent: 50 });
      expect(await worker.store.finish(success(claimed.job), claimed.attempt)).toBe(true);
      await worker.store.notified(claimed.job.Id, { MessageId: 'M1' });
    });
    const ids = entries.map((one) => one.job.Id);
    await until('six finished jobs', () => seenBySubmitter.notified.length === 6 && seenByWorker.notified.length === 6);

    expect(claims.map((claimed) => claimed.job.Id)).toEqual(ids);
    for (const [index, claimed] of claims.entries()) {
      expect(claimed.attempt).toBe(1);
      expect(claimed.requestId).toBe(entries[index]!.requestId);
      expect(claimed.job).toStrictEqual({ ...entries[index]!.job, State: 'Snapshoting' });
      expect(claimed.signal.aborted).toBe(false);
    }
    for (const recorder of [seenBySubmitter, seenByWorker]) {
      expect(recorder.progress).toStrictEqual(ids.map((JobId) => ({ JobId, Done: 1, Expected: 2, Percent: 50 })));
      expect(recorder.finished).toStrictEqual(entries.map((one) => success(one.job)));
      expect(recorder.notified).toStrictEqual(ids.map((id) => [id, { MessageId: 'M1' }]));
    }
    for (const one of entries) {
      expect(await submitter.store.get(one.job.Id)).toStrictEqual({ ...success(one.job), MNSMessageResult: { MessageId: 'M1' } });
    }
  });

  test('two consumers in two instances share the queue: each of 60 jobs is claimed once and finished once', async () => {
    const prefix = newPrefix();
    const submitter = await backend(prefix);
    const consumers = [await backend(prefix), await backend(prefix)];
    const events = new Recorder(submitter.store);
    const claims: string[] = [];
    for (const { store } of consumers) {
      store.consume(3, async (claimed) => {
        claims.push(claimed.job.Id);
        await store.finish(success(claimed.job), claimed.attempt);
      });
    }
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const one = entry(submitter.defaultPipelineId);
      ids.push(one.job.Id);
      await submitter.store.add(one, 1000);
    }
    await until('60 finished jobs', () => events.finished.length === 60);
    expect([...claims].sort()).toEqual([...ids].sort());
    expect(events.finishedIds().sort()).toEqual([...ids].sort());
  });

  test("events written while an instance's connection was lost reach it once it is back, each once", async () => {
    const prefix = newPrefix();
    const watcher = await backend(prefix);
    const writer = await backend(prefix);
    const events = new Recorder(watcher.store);
    const { Redis } = await import('ioredis');
    const raw = new Redis(redis().url);
    const entries = Array.from({ length: 5 }, () => entry(writer.defaultPipelineId, { asynchronous: false }));
    try {
      const before = entry(writer.defaultPipelineId, { asynchronous: false });
      await writer.store.add(before, 10);
      await writer.store.finish(success(before.job, 1), 1);
      await until('the first event', () => events.finished.length === 1);
      // Both instances' event readers lose their connections; the writes go on meanwhile.
      const readers = ((await raw.client('LIST')) as string).split('\n').filter((line) => line.includes(` name=${prefix}:events-reader `));
      expect(readers).toHaveLength(2);
      for (const line of readers) await raw.client('KILL', 'ID', /\bid=(\d+)/.exec(line)![1]!);
      for (const one of entries) {
        await writer.store.add(one, 10);
        await writer.store.finish(success(one.job, 1), 1);
      }
      await until('every event', () => events.finished.length === 6);
      expect(events.finishedIds()).toEqual([before, ...entries].map((one) => one.job.Id));
    } finally {
      raw.disconnect();
    }
  });

  test('a write resolves after its own instance emitted its event (as the memory store does)', async () => {
    const { store, defaultPipelineId } = await backend(newPrefix());
    const events = new Recorder(store);
    const one = entry(defaultPipelineId, { asynchronous: false });
    await store.add(one, 10);
    await store.start(one.job.Id);
    expect(await store.get(one.job.Id)).toMatchObject({ State: 'Snapshoting' });
    expect(await store.finish(success(one.job, 1), 1)).toBe(true);
    expect(events.finished).toStrictEqual([success(one.job, 1)]);
    const result: MNSMessageResult = { ErrorCode: 'NotifyError', ErrorMessage: 'no such topic' };
    await store.notified(one.job.Id, result);
    expect(events.notified).toStrictEqual([[one.job.Id, result]]);
    expect(await store.get(one.job.Id)).toStrictEqual({ ...success(one.job, 1), MNSMessageResult: result });
  });

  test('the first outcome wins; a late one, and one of a stale attempt, lose', async () => {
    const prefix = newPrefix();
    const { store, defaultPipelineId } = await backend(prefix);
    const events = new Recorder(store);
    const sync = entry(defaultPipelineId, { asynchronous: false });
    await store.add(sync, 10);
    await store.start(sync.job.Id);
    expect(await store.finish(success(sync.job, 1), 1)).toBe(true);
    expect(await store.finish(failedJob(sync.job, aborted()), 1)).toBe(false);
    expect(await store.get(sync.job.Id)).toStrictEqual(success(sync.job, 1));

    // Attempt 1 is handed back; attempt 2 runs in another instance; attempt 1's late outcome loses.
    const queued = entry(defaultPipelineId);
    await store.add(queued, 10);
    let first: ClaimedJob | undefined;
    store.consume(1, async (claimed) => {
      first = claimed;
      await new Promise((resolve) => claimed.signal.addEventListener('abort', resolve, { once: true }));
    });
    await until('the first claim', () => first !== undefined);
    await store.stopConsuming(0, aborted(), aborted());
    expect(first!.signal.reason).toBe(HAND_BACK);
    expect(await store.get(queued.job.Id)).toStrictEqual(queued.job);

    const other = await backend(prefix);
    let second: ClaimedJob | undefined;
    let stopSecond!: () => void;
    const secondStops = new Promise<void>((resolve) => (stopSecond = resolve));
    // The handler returns once the test has given its outcome (a handler resolves when its job has stopped).
    other.store.consume(1, (claimed) => {
      second = claimed;
      return secondStops;
    });
    await until('the second claim', () => second !== undefined);
    expect(second!.attempt).toBe(2);
    expect(second!.job).toStrictEqual({ ...queued.job, State: 'Snapshoting', Attempts: 2 });
    expect(await store.finish(success(first!.job), first!.attempt)).toBe(false);
    expect(await other.store.finish(success(second!.job), 2)).toBe(true);
    stopSecond();
    expect(await store.get(queued.job.Id)).toStrictEqual(success(second!.job));
    expect(events.finishedIds()).toEqual([sync.job.Id, queued.job.Id]);
    // Ended through finish(): the caller sends the completion message, not the store.
    expect(events.ended).toStrictEqual([]);
  });

  test('a paused pipeline holds its queued jobs while others run; resuming releases them in submission order', async () => {
    const prefix = newPrefix();
    const { store, defaultPipelineId } = await backend(prefix);
    const submitter = await backend(prefix);
    const held = newPipeline('held', undefined);
    await store.addPipeline(held);
    await store.updatePipeline(held.Id, (pipeline) => ({ ...pipeline, State: 'Paused' }));
    const heldEntries = [entry(held.Id), entry(held.Id), entry(held.Id)];
    const busyEntries = [entry(defaultPipelineId), entry(defaultPipelineId)];
    for (const one of [...heldEntries, ...busyEntries]) await submitter.store.add(one, 100);

    const claimed: string[] = [];
    store.consume(1, async (claim) => {
      claimed.push(claim.job.Id);
      await store.finish(success(claim.job), claim.attempt);
    });
    const busyIds = busyEntries.map((one) => one.job.Id);
    const heldIds = heldEntries.map((one) => one.job.Id);
    await until('the busy jobs', async () => (await store.get(busyIds[1]!))?.State === 'Success');
    expect(claimed).toEqual(busyIds);
    for (const one of heldEntries) expect(await store.get(one.job.Id)).toStrictEqual(one.job);
    const submittedInHeld = await store.query(parseJobQuery({ PipelineId: held.Id, State: 'Submitted' }));
    expect(submittedInHeld.SnapshotJobList.SnapshotJob.map((job) => job.Id)).toEqual([...heldIds].reverse());

    // Resumed from the other instance.
    await submitter.store.updatePipeline(held.Id, (pipeline) => ({ ...pipeline, State: 'Active' }));
    await until('the held jobs', async () => (await store.get(heldIds[2]!))?.State === 'Success');
    expect(claimed).toEqual([...busyIds, ...heldIds]);
  });

  test('resumed while later jobs wait: the held job runs before them, and before the later jobs of its own pipeline', async () => {
    const { store, defaultPipelineId } = await backend(newPrefix());
    const paused = newPipeline('paused', undefined);
    await store.addPipeline({ ...paused, State: 'Paused' });
    const held = entry(paused.Id);
    const busy = [entry(defaultPipelineId), entry(defaultPipelineId), entry(defaultPipelineId)];
    const later = entry(paused.Id);
    const claimed: string[] = [];
    let release!: () => void;
    const firstMayFinish = new Promise<void>((resolve) => (release = resolve));
    store.consume(1, async (claim) => {
      claimed.push(claim.job.Id);
      if (claim.job.Id === busy[0]!.job.Id) await firstMayFinish;
      await store.finish(success(claim.job), claim.attempt);
    });
    for (const one of [held, ...busy, later]) await store.add(one, 100);
    // The held job came before the first busy one: it is held by now.
    await until('the first busy job', () => claimed.length === 1);
    await store.updatePipeline(paused.Id, (pipeline) => ({ ...pipeline, State: 'Active' }));
    release();
    await until('every job', async () => (await store.get(later.job.Id))?.State === 'Success');
    // As the memory store: submission order among the jobs that may run.
    expect(claimed).toEqual([busy[0]!, held, busy[1]!, busy[2]!, later].map((one) => one.job.Id));
  });

  test('message queues: shared by instances, oldest first, each message taken once, refused when full', async () => {
    const prefix = newPrefix();
    const first = await backend(prefix);
    const second = await backend(prefix);
    const messages = [1, 2, 3].map((n) => ({ MessageId: `M${n}`, MessageBody: JSON.stringify({ n }) }));
    expect(await first.store.messages.push('q1', messages[0]!, 2)).toBe(true);
    expect(await second.store.messages.push('q1', messages[1]!, 2)).toBe(true);
    expect(await first.store.messages.push('q1', messages[2]!, 2)).toBe(false);
    expect(await first.store.messages.push('q2', messages[2]!, 2)).toBe(true);
    expect(await second.store.messages.pop('q1')).toStrictEqual(messages[0]);
    expect(await first.store.messages.pop('q1')).toStrictEqual(messages[1]);
    expect(await first.store.messages.pop('q1')).toBeUndefined();
    expect(await second.store.messages.pop('q2')).toStrictEqual(messages[2]);
    expect(await second.store.messages.pop('never-used')).toBeUndefined();
  });

  test('Throttling once maxQueue asynchronous jobs wait (held ones count); synchronous jobs are not counted', async () => {
    const { store, defaultPipelineId } = await backend(newPrefix());
    const paused = newPipeline('paused', undefined);
    await store.addPipeline({ ...paused, State: 'Paused' });
    await store.add(entry(defaultPipelineId), 2);
    await store.add(entry(paused.Id), 2);
    const refused = entry(defaultPipelineId);
    await expect(store.add(refused, 2)).rejects.toMatchObject({
      name: 'SnapshotError',
      code: ErrorCodes.Throttling,
      message: 'the job queue is full (2 jobs waiting); retry later',
    });
    expect(await store.get(refused.job.Id)).toBeUndefined();
    await store.add(entry(defaultPipelineId, { asynchronous: false }), 2);
  });

  test('cancel: a queued job ends Fail at once and never starts; held ones too; final and missing jobs are told apart', async () => {
    const prefix = newPrefix();
    const { store, defaultPipelineId } = await backend(prefix);
    const events = new Recorder(store);
    const paused = newPipeline('paused', undefined);
    await store.addPipeline({ ...paused, State: 'Paused' });
    const queued = entry(defaultPipelineId);
    const heldOne = entry(paused.Id);
    const after = entry(defaultPipelineId);
    await store.add(queued, 10);
    await store.add(heldOne, 10);

    const outcome = await store.cancel(queued.job.Id, canceled());
    const failed = failedJob(queued.job, canceled());
    expect(outcome).toStrictEqual({ kind: 'cancelled', job: failed });
    expect(failed).toMatchObject({ State: 'Fail', Code: 'Canceled', Message: 'the job was cancelled', Count: '0', Percent: 0 });
    expect(await store.get(queued.job.Id)).toStrictEqual(failed);
    expect(events.finished).toStrictEqual([failed]);

    const claimed: string[] = [];
    const worker = await backend(prefix);
    worker.store.consume(1, async (claim) => {
      claimed.push(claim.job.Id);
      await worker.store.finish(success(claim.job), claim.attempt);
    });
    await until(
      'the held job to be held',
      async () => (await store.query(parseJobQuery({ PipelineId: paused.Id }))).SnapshotJobList.SnapshotJob.length === 1,
    );
    await store.add(after, 10);
    await until('the later job', async () => (await store.get(after.job.Id))?.State === 'Success');
    expect(claimed).toEqual([after.job.Id]);

    // Held, then cancelled: resuming its pipeline does not start it.
    expect(await store.cancel(heldOne.job.Id, canceled())).toStrictEqual({ kind: 'cancelled', job: failedJob(heldOne.job, canceled()) });
    await store.updatePipeline(paused.Id, (pipeline) => ({ ...pipeline, State: 'Active' }));
    const last = entry(paused.Id);
    await store.add(last, 10);
    await until('the last job', async () => (await store.get(last.job.Id))?.State === 'Success');
    expect(claimed).toEqual([after.job.Id, last.job.Id]);

    expect(await store.cancel(after.job.Id, canceled())).toStrictEqual({ kind: 'final', job: success(after.job) });
    expect(await store.cancel('0'.repeat(32), canceled())).toStrictEqual({ kind: 'missing' });
    // The service notifies a job cancel() reports 'cancelled' itself.
    expect(events.ended).toStrictEqual([]);
  });

  test('a claim ends a job whose cancel was cut short (the reason stored, no outcome yet) instead of running it', async () => {
    const prefix = newPrefix();
    const { store, defaultPipelineId } = await backend(prefix);
    const events = new Recorder(store);
    const one = entry(defaultPipelineId);
    await store.add(one, 10);
    const { Redis } = await import('ioredis');
    const raw = new Redis(redis().url);
    try {
      // What cancel() stores before it ends the job, as if its process died in between.
      await raw.hset(`${prefix}:job:${one.job.Id}`, 'cancel', JSON.stringify({ code: 'Canceled', message: 'the job was cancelled' }));
    } finally {
      raw.disconnect();
    }
    const claims: ClaimedJob[] = [];
    store.consume(1, (claimed) => {
      claims.push(claimed);
      return Promise.resolve();
    });
    await until('the outcome', () => events.finished.length === 1);
    expect(claims).toEqual([]);
    expect(events.finished).toStrictEqual([failedJob(one.job, canceled())]);
    // Ended by the store's own write: this instance sends its completion message.
    expect(events.ended).toStrictEqual([[failedJob(one.job, canceled()), one.requestId]]);
  });

  test('cancel: a running job is stopped by its consumer in another instance, with the reason', async () => {
    const prefix = newPrefix();
    const { store, defaultPipelineId } = await backend(prefix);
    const worker = await backend(prefix);
    const events = new Recorder(store);
    const one = entry(defaultPipelineId);
    let claim: ClaimedJob | undefined;
    worker.store.consume(1, async (claimed) => {
      claim = claimed;
      const reason = await new Promise<unknown>((resolve) =>
        claimed.signal.addEventListener('abort', () => resolve(claimed.signal.reason), { once: true }),
      );
      await worker.store.finish(failedJob(claimed.job, reason as SnapshotError), claimed.attempt);
    });
    await store.add(one, 10);
    await until('the claim', () => claim !== undefined);
    const outcome = await store.cancel(one.job.Id, canceled());
    expect(outcome).toStrictEqual({ kind: 'running', job: { ...one.job, State: 'Snapshoting' } });
    await until('the outcome', () => events.finished.length === 1);
    const reason = claim!.signal.reason as SnapshotError;
    expect(reason).toBeInstanceOf(SnapshotError);
    expect({ code: reason.code, message: reason.message }).toStrictEqual({ code: 'Canceled', message: 'the job was cancelled' });
    expect(events.finished).toStrictEqual([failedJob({ ...one.job, State: 'Snapshoting' }, canceled())]);
    expect(await store.get(one.job.Id)).toMatchObject({ State: 'Fail', Code: 'Canceled', Message: 'the job was cancelled' });
    // Its consumer ended it through finish().
    expect(events.ended).toStrictEqual([]);
  });

  test('a synchronous job is never queued: cancel() reports it running, as the memory store does', async () => {
    const { store, defaultPipelineId } = await backend(newPrefix());
    const one = entry(defaultPipelineId, { asynchronous: false });
    await store.add(one, 10);
    expect(await store.cancel(one.job.Id, canceled())).toStrictEqual({ kind: 'running', job: one.job });
    expect(await store.get(one.job.Id)).toStrictEqual(one.job);
  });

  test('stopConsuming gives running jobs the grace period, hands back the rest, and another consumer runs them (Attempts 2)', async () => {
    const prefix = newPrefix();
    const { store, defaultPipelineId } = await backend(prefix);
    const quick = entry(defaultPipelineId);
    const slow = entry(defaultPipelineId);
    let slowClaim: ClaimedJob | undefined;
    let release!: () => void;
    const quickMayFinish = new Promise<void>((resolve) => (release = resolve));
    store.consume(2, async (claimed) => {
      if (claimed.job.Id === quick.job.Id) {
        await quickMayFinish;
        await store.finish(success(claimed.job), claimed.attempt);
        return;
      }
      slowClaim = claimed;
      await new Promise((resolve) => claimed.signal.addEventListener('abort', resolve, { once: true }));
    });
    await store.add(quick, 10);
    await store.add(slow, 10);
    await until('both claims', async () => slowClaim !== undefined && (await store.get(quick.job.Id))?.State === 'Snapshoting');
    // The quick one finishes in the grace period (or, were it handed back too late, its outcome still wins: it has one).
    const stopped = store.stopConsuming(500, aborted(), aborted());
    release();
    await stopped;
    expect(await store.get(quick.job.Id)).toStrictEqual(success(quick.job));
    expect(slowClaim!.signal.reason).toBe(HAND_BACK);
    expect(await store.get(slow.job.Id)).toStrictEqual(slow.job);

    const other = await backend(prefix);
    let again: ClaimedJob | undefined;
    other.store.consume(1, async (claimed) => {
      again = claimed;
      await other.store.finish(success(claimed.job), claimed.attempt);
    });
    await until('the second run', async () => (await store.get(slow.job.Id))?.State === 'Success');
    expect(again).toMatchObject({ attempt: 2, job: { ...slow.job, State: 'Snapshoting', Attempts: 2 } });
    expect(await store.get(slow.job.Id)).toStrictEqual(success({ ...slow.job, Attempts: 2 }));
  });

  test("a consumer that lost a job's lock stops it (HAND_BACK) and the job runs again (Attempts 2)", async () => {
    const prefix = newPrefix();
    const { store, defaultPipelineId } = await backend(prefix, { lockDurationMs: 1000 });
    const one = entry(defaultPipelineId);
    const claims: ClaimedJob[] = [];
    store.consume(1, async (claimed) => {
      claims.push(claimed);
      if (claimed.attempt === 1) await new Promise((resolve) => claimed.signal.addEventListener('abort', resolve, { once: true }));
      else await store.finish(success(claimed.job), claimed.attempt);
    });
    await store.add(one, 10);
    await until('the first claim', () => claims.length === 1);
    // As if the lock had run out while this worker's event loop was stuck.
    const { Redis } = await import('ioredis');
    const raw = new Redis(redis().url);
    try {
      expect(await raw.del(`${prefix}:queue:${one.job.Id}-1:lock`)).toBe(1);
    } finally {
      raw.disconnect();
    }
    await until('the second run', async () => (await store.get(one.job.Id))?.State === 'Success');
    expect(claims[0]!.signal.reason).toBe(HAND_BACK);
    expect(claims.map((claimed) => claimed.attempt)).toEqual([1, 2]);
    expect(await store.get(one.job.Id)).toStrictEqual(success({ ...one.job, Attempts: 2 }));
  });

  test('a handler that returns without an outcome (its finish() failed) leaves the job to run again once its lock runs out', async () => {
    const { store, defaultPipelineId } = await backend(newPrefix(), { lockDurationMs: 1000 });
    const one = entry(defaultPipelineId);
    const claims: ClaimedJob[] = [];
    store.consume(1, async (claimed) => {
      claims.push(claimed);
      if (claimed.attempt > 1) await store.finish(success(claimed.job), claimed.attempt);
    });
    await store.add(one, 10);
    await until('the second run', async () => (await store.get(one.job.Id))?.State === 'Success');
    expect(claims.map((claimed) => claimed.attempt)).toEqual([1, 2]);
    expect(await store.get(one.job.Id)).toStrictEqual(success({ ...one.job, Attempts: 2 }));
  });

  test('history: at most maxHistory jobs, the oldest finished ones dropped first', async () => {
    const { store, defaultPipelineId } = await backend(newPrefix(), { maxHistory: 3 });
    const entries = Array.from({ length: 5 }, () => entry(defaultPipelineId, { asynchronous: false }));
    for (const one of entries.slice(0, 3)) await store.add(one, 10);
    await store.finish(success(entries[1]!.job), 1);
    await store.finish(success(entries[2]!.job), 1);
    await store.add(entries[3]!, 10);
    // The oldest finished (1) went; 0 stays although older: it has no outcome yet.
    expect(await store.get(entries[1]!.job.Id)).toBeUndefined();
    await store.add(entries[4]!, 10);
    expect(await store.get(entries[2]!.job.Id)).toBeUndefined();
    const page = await store.query(parseJobQuery({}));
    expect(page.SnapshotJobList.SnapshotJob.map((job) => job.Id)).toEqual([entries[4]!, entries[3]!, entries[0]!].map((one) => one.job.Id));
  });

  test('queries: pages, tokens, filters and ids answered exactly as the memory store answers them', async () => {
    const { store, defaultPipelineId } = await backend(newPrefix());
    const memory = new MemoryBackend(1000);
    await memory.open();
    const other = newPipeline('other', undefined);
    await store.addPipeline(other);
    await memory.addPipeline(other);
    const base = Date.parse('2024-05-01T10:00:00Z');
    const entries: JobEntry[] = [];
    // More than one read batch (100 jobs), so a filtered page that matches only old jobs reads on.
    for (let i = 0; i < 230; i++) {
      const one = entry(i % 3 === 0 ? other.Id : defaultPipelineId, { asynchronous: false, creation: new Date(base + i * 60_000) });
      entries.push(one);
      await store.add(one, 10);
      await memory.add(structuredClone(one), 10);
      if (i % 4 === 1) {
        await store.finish(success(one.job, 1), 1);
        await memory.finish(success(one.job, 1), 1);
      } else if (i % 4 === 2) {
        await store.start(one.job.Id);
        await memory.start(one.job.Id);
      }
    }
    const requests: QuerySnapshotJobListRequest[] = [
      {},
      { MaximumPageSize: 5 },
      { MaximumPageSize: 100 },
      { State: 'Success' },
      { State: 'Snapshoting', MaximumPageSize: 2 },
      { PipelineId: other.Id, MaximumPageSize: 3 },
      { StartOfJobCreatedTimeRange: '2024-05-01T10:05:00Z', EndOfJobCreatedTimeRange: '2024-05-01T10:15:00Z', MaximumPageSize: 4 },
      { State: 'Fail' },
      { State: 'Success', PipelineId: other.Id, EndOfJobCreatedTimeRange: '2024-05-01T11:00:00Z', MaximumPageSize: 7 },
      { SnapshotJobIds: [entries[3]!.job.Id, '0'.repeat(32), entries[0]!.job.Id].join(',') },
    ];
    for (const request of requests) {
      // Walk every page of both stores with their own tokens.
      let token: string | undefined;
      let pages = 0;
      do {
        const query = parseJobQuery({ ...request, ...(token === undefined ? {} : { NextPageToken: token }) });
        const expected = await memory.query(query);
        expect(await store.query(query), JSON.stringify(request)).toStrictEqual(expected);
        token = expected.NextPageToken;
        pages++;
      } while (token !== undefined && pages < 50);
    }
    const unknown = parseJobQuery({ NextPageToken: '0'.repeat(32) });
    await expect(store.query(unknown)).rejects.toMatchObject({
      code: ErrorCodes.InvalidParameter,
      message: `Expected a NextPageToken from a previous answer for NextPageToken but received "${'0'.repeat(32)}"`,
    });
  });

  test('no credentials in job data: the BullMQ job carries only the job id', async () => {
    const prefix = newPrefix();
    const { store, defaultPipelineId } = await backend(prefix);
    const one = entry(defaultPipelineId);
    await store.add(one, 10);
    const { Redis } = await import('ioredis');
    const raw = new Redis(redis().url);
    try {
      expect(await raw.hget(`${prefix}:queue:${one.job.Id}-1`, 'data')).toBe(JSON.stringify({ jobId: one.job.Id }));
    } finally {
      raw.disconnect();
    }
  });

  test('a waiting job left without its BullMQ job (its submitter died between the two writes) is queued again when a consumer starts', async () => {
    const prefix = newPrefix();
    const { store, defaultPipelineId } = await backend(prefix);
    const one = entry(defaultPipelineId);
    await store.add(one, 10);
    const { Queue } = await import('bullmq');
    const queue = new Queue('queue', { connection: { url: redis().url }, prefix });
    try {
      expect(await queue.remove(`${one.job.Id}-1`)).toBe(1);
    } finally {
      await queue.close();
    }
    const claims: ClaimedJob[] = [];
    store.consume(1, async (claimed) => {
      claims.push(claimed);
      await store.finish(success(claimed.job), claimed.attempt);
    });
    await until('the job', async () => (await store.get(one.job.Id))?.State === 'Success');
    expect(claims.map((claimed) => [claimed.job.Id, claimed.attempt])).toEqual([[one.job.Id, 1]]);
  });

  test('without the bullmq and ioredis packages, open() refuses with InvalidParameter', async () => {
    // A copy of dist/ where no node_modules folder is found above it.
    const folder = mkdtempSync(join(tmpdir(), 'framesnap-no-peers-'));
    cleanups.push(() => Promise.resolve(rmSync(folder, { recursive: true, force: true })));
    cpSync(fileURLToPath(new URL('../dist', import.meta.url)), join(folder, 'dist'), { recursive: true });
    writeFileSync(join(folder, 'package.json'), '{"type":"module"}');
    const script = [
      `const { RedisBackend } = await import(process.env.FS_MODULE);`,
      `const store = new RedisBackend({ url: 'redis://127.0.0.1:1', maxHistory: 1 });`,
      `try { await store.open(); } catch (error) { console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message })); }`,
      `await store.close();`,
    ].join('\n');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, FS_MODULE: join(folder, 'dist/service/stores/redis.js'), NODE_PATH: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    expect(JSON.parse(output)).toStrictEqual({
      name: 'SnapshotError',
      code: ErrorCodes.InvalidParameter,
      message: 'the redis option needs the bullmq and ioredis packages (npm install bullmq ioredis)',
    });
  });

  test('a synchronous job whose process died ends Fail InternalError after its deadline, ended by one instance', async () => {
    const prefix = newPrefix();
    const first = await backend(prefix, { stalledIntervalMs: 100 });
    const second = await backend(prefix, { stalledIntervalMs: 100 });
    const seen = [new Recorder(first.store), new Recorder(second.store)];
    const pipelineId = first.defaultPipelineId;
    // Its process died: nobody finishes it, and its deadline has passed.
    const dead = { ...entry(pipelineId, { asynchronous: false }), syncDeadlineMs: Date.now() - 1000 };
    const finishedInTime = { ...entry(pipelineId, { asynchronous: false }), syncDeadlineMs: Date.now() + 600_000 };
    const running = { ...entry(pipelineId, { asynchronous: false }), syncDeadlineMs: Date.now() + 600_000 };
    const noDeadline = entry(pipelineId, { asynchronous: false });
    for (const one of [finishedInTime, running, noDeadline]) {
      await first.store.add(one, 10);
      await first.store.start(one.job.Id);
    }
    expect(await first.store.finish(success(finishedInTime.job, 1), 1)).toBe(true);
    await first.store.add(dead, 10);
    await first.store.start(dead.job.Id);
    const failed = {
      ...dead.job,
      State: 'Fail',
      Code: 'InternalError',
      Message: 'the process running the synchronous job stopped before it finished',
      Count: '0',
    };
    await until('both instances hear of it', () => seen.every((recorder) => recorder.finishedIds().includes(dead.job.Id)));
    for (const recorder of seen) expect(recorder.finished).toStrictEqual([success(finishedInTime.job, 1), failed]);
    // Ended by exactly one instance's sweep: that one alone sends its completion message.
    expect([...seen[0]!.ended, ...seen[1]!.ended]).toStrictEqual([[failed, dead.requestId]]);
    expect(await second.store.get(dead.job.Id)).toStrictEqual(failed);
    expect(await second.store.finish(success(dead.job, 1), 1)).toBe(false);
    expect(await first.store.get(running.job.Id)).toStrictEqual({ ...running.job, State: 'Snapshoting' });

    // Only jobs without an outcome are watched; one given no deadline gets an hour.
    const { Redis } = await import('ioredis');
    const raw = new Redis(redis().url);
    try {
      expect((await raw.zrange(`${prefix}:sync`, 0, -1)).sort()).toEqual([running.job.Id, noDeadline.job.Id].sort());
      expect(await raw.zscore(`${prefix}:sync`, running.job.Id)).toBe(String(running.syncDeadlineMs));
      expect(Number(await raw.zscore(`${prefix}:sync`, noDeadline.job.Id))).toBeGreaterThan(Date.now() + 3_000_000);
    } finally {
      raw.disconnect();
    }
    expect(await first.store.finish(success(running.job, 1), 1)).toBe(true);
  });

  test('a failed requeue on resume does not reject updatePipeline; a running consumer recovers the held jobs', async () => {
    const prefix = newPrefix();
    // The lock is 1 s, so this consumer looks for lost jobs every second.
    const worker = await backend(prefix, { lockDurationMs: 1000 });
    const { store } = await backend(prefix);
    const paused = newPipeline('paused', undefined);
    await store.addPipeline({ ...paused, State: 'Paused' });
    const claimed: string[] = [];
    worker.store.consume(1, async (claim) => {
      claimed.push(claim.job.Id);
      await worker.store.finish(success(claim.job), claim.attempt);
    });
    const held = entry(paused.Id);
    await store.add(held, 10);
    const { Redis } = await import('ioredis');
    const raw = new Redis(redis().url);
    try {
      await until('the job held', async () => (await raw.zscore(`${prefix}:held:${paused.Id}`, held.job.Id)) !== null);
      // BullMQ refuses the requeue once, as when Redis drops the connection after the state change.
      const queue = (store as unknown as { queue: { addBulk: (...args: unknown[]) => Promise<unknown> } }).queue;
      const addBulk = queue.addBulk;
      queue.addBulk = () => Promise.reject(new Error('Connection is closed.'));
      try {
        const updated = await store.updatePipeline(paused.Id, (pipeline) => ({ ...pipeline, State: 'Active' }));
        expect(updated).toStrictEqual({ ...paused, State: 'Active' });
      } finally {
        queue.addBulk = addBulk;
      }
      expect(await raw.zrange(`${prefix}:releasing`, 0, -1)).toEqual([held.job.Id]);
      await until('the held job', async () => (await store.get(held.job.Id))?.State === 'Success');
      expect(claimed).toEqual([held.job.Id]);
      expect(await raw.zrange(`${prefix}:releasing`, 0, -1)).toEqual([]);
    } finally {
      raw.disconnect();
    }
  });

  test('a job fetched while held jobs before it are not back yet keeps its place behind them: later jobs do not overtake it', async () => {
    const prefix = newPrefix();
    const worker = await backend(prefix);
    const { store, defaultPipelineId } = await backend(prefix);
    const paused = newPipeline('paused', undefined);
    await store.addPipeline({ ...paused, State: 'Paused' });
    const held = entry(paused.Id);
    const busy = entry(defaultPipelineId);
    const [first, second] = [entry(paused.Id), entry(paused.Id)];
    const claimed: string[] = [];
    let release!: () => void;
    const busyMayFinish = new Promise<void>((resolve) => (release = resolve));
    worker.store.consume(1, async (claim) => {
      claimed.push(claim.job.Id);
      if (claim.job.Id === busy.job.Id) await busyMayFinish;
      await worker.store.finish(success(claim.job), claim.attempt);
    });
    await store.add(held, 10);
    await store.add(busy, 10);
    await until('the busy job', () => claimed.length === 1);
    // A resume whose requeue was cut short: the held job is on its way back and stays so.
    const queue = (store as unknown as { queue: { addBulk: (...args: unknown[]) => Promise<unknown> } }).queue;
    const addBulk = queue.addBulk;
    queue.addBulk = () => Promise.reject(new Error('Connection is closed.'));
    try {
      await store.updatePipeline(paused.Id, (pipeline) => ({ ...pipeline, State: 'Active' }));
    } finally {
      queue.addBulk = addBulk;
    }
    await store.add(first, 10);
    await store.add(second, 10);
    release();
    await until('every job', async () => (await store.get(second.job.Id))?.State === 'Success');
    // `first` went back to the head and its consumer queued the held job again itself, on top of it;
    // `second` never overtook it (BullMQ's delayed set would have put `first` behind it).
    expect(claimed).toEqual([busy, held, first, second].map((one) => one.job.Id));
  });

  test('close() and stopConsuming() settle when Redis is gone for good', async () => {
    const server = await startRedis();
    let stopped = false;
    cleanups.push(() => (stopped ? Promise.resolve() : server.stop()));
    const store = new RedisBackend({ url: server.url, maxHistory: 10, prefix: newPrefix() });
    const { defaultPipelineId } = await store.open();
    store.consume(2, (claimed) => store.finish(success(claimed.job), claimed.attempt).then(() => undefined));
    await store.add(entry(defaultPipelineId), 10);
    await server.stop();
    stopped = true;
    await store.stopConsuming(0, aborted(), aborted());
    await store.close();
    await expect(store.get('0'.repeat(32))).rejects.toMatchObject({
      code: ErrorCodes.InternalError,
      message: 'the Redis job store is not open',
    });
  });

  test('options are checked; an unreachable server fails open() with InternalError, the password left out', async () => {
    const url = redis().url;
    // prettier-ignore
    const table: [Partial<RedisBackendOptions>, string, string][] = [
      [{ url: 'http://127.0.0.1:1' }, ErrorCodes.InvalidParameter, 'Expected a redis:// or rediss:// URL for redis but received "http://127.0.0.1:1"'],
      [{ url: 'http://:hunter2@127.0.0.1:1' }, ErrorCodes.InvalidParameter, 'Expected a redis:// or rediss:// URL for redis but received "http://:***@127.0.0.1:1"'],
      [{ url: 42 as unknown as string }, ErrorCodes.InvalidParameter, 'Expected a redis:// or rediss:// URL for redis but received 42'],
      // Malformed: everything before the last '@' may be a password; only the host is shown.
      [{ url: 'redis:/user:s3cret@host' }, ErrorCodes.InvalidParameter, 'Expected a redis:// or rediss:// URL for redis but received "***@host"'],
      [{ url: 'redis//:s3cret@host' }, ErrorCodes.InvalidParameter, 'Expected a redis:// or rediss:// URL for redis but received "***@host"'],
      [{ url: ' redis://:pw@h' }, ErrorCodes.InvalidParameter, 'Expected a redis:// or rediss:// URL for redis but received "***@h"'],
      [{ url: 'http://user:pa/ss@h' }, ErrorCodes.InvalidParameter, 'Expected a redis:// or rediss:// URL for redis but received "***@h"'],
      [{ url: 'http://user:p@ss@h:1' }, ErrorCodes.InvalidParameter, 'Expected a redis:// or rediss:// URL for redis but received "http://user:***@h:1"'],
      [{ url: 'http://s3cret@h' }, ErrorCodes.InvalidParameter, 'Expected a redis:// or rediss:// URL for redis but received "http://***@h"'],
      [{ maxHistory: 0 }, ErrorCodes.OutOfRange, `Expected an integer between 1 and ${Number.MAX_SAFE_INTEGER} for maxHistory but received 0`],
      [{ prefix: 'a b' }, ErrorCodes.InvalidParameter, 'Expected 1 to 100 letters, digits, _ . : or - for prefix but received "a b"'],
      [{ lockDurationMs: 10 }, ErrorCodes.OutOfRange, 'Expected an integer between 1000 and 3600000 for lockDurationMs but received 10'],
      [{ stalledIntervalMs: 1.5 }, ErrorCodes.InvalidParameter, 'Expected an integer between 100 and 3600000 for stalledIntervalMs but received 1.5'],
      [{ maxStalledCount: -1 }, ErrorCodes.OutOfRange, 'Expected an integer between 0 and 1000 for maxStalledCount but received -1'],
    ];
    for (const [options, code, message] of table) {
      let error: unknown;
      try {
        new RedisBackend({ url, maxHistory: 10, ...options });
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(SnapshotError);
      expect(error).toMatchObject({ code, message });
    }
    const gone = await startRedis();
    await gone.stop();
    const store = new RedisBackend({ url: `redis://:hunter2@127.0.0.1:${gone.port}`, maxHistory: 10 });
    await expect(store.open()).rejects.toMatchObject({
      name: 'SnapshotError',
      code: ErrorCodes.InternalError,
      message: `could not connect to Redis at redis://:***@127.0.0.1:${gone.port}: connect ECONNREFUSED 127.0.0.1:${gone.port}`,
    });
    await store.close();
    const atInPassword = new RedisBackend({ url: `redis://:hun@ter2@127.0.0.1:${gone.port}`, maxHistory: 10 });
    await expect(atInPassword.open()).rejects.toMatchObject({
      message: `could not connect to Redis at redis://:***@127.0.0.1:${gone.port}: connect ECONNREFUSED 127.0.0.1:${gone.port}`,
    });
    await atInPassword.close();
    // close() is also safe on one never opened.
    await new RedisBackend({ url, maxHistory: 10 }).close();
  });
});

/**
 * A consumer in a process of its own: claims jobs, prints `claimed <id> <attempt>`,
 * and never finishes them (until cancelled: then `aborted <id> <code>` and the outcome).
 */
// prettier-ignore
const CONSUMER_CHILD = [
  `const { RedisBackend } = await import(process.env.FS_MODULE);`,
  `const store = new RedisBackend({ url: process.env.FS_URL, prefix: process.env.FS_PREFIX, maxHistory: 1000,`,
  `  lockDurationMs: Number(process.env.FS_LOCK), maxStalledCount: Number(process.env.FS_MAX_STALLED) });`,
  `await store.open();`,
  `store.consume(1, async (claimed) => {`,
  `  console.log('claimed', claimed.job.Id, claimed.attempt);`,
  `  const reason = await new Promise((resolve) => claimed.signal.addEventListener('abort', () => resolve(claimed.signal.reason)));`,
  `  console.log('aborted', claimed.job.Id, reason.code);`,
  `  const failed = { ...claimed.job, State: 'Fail', Code: reason.code, Message: reason.message, Count: '0', Percent: 0 };`,
  `  await store.finish(failed, claimed.attempt);`,
  `});`,
  `console.log('consuming');`,
].join('\n');

function consumerChild(prefix: string, options: { lockMs: number; maxStalled: number }): { child: ChildProcess; lines: string[] } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CONSUMER_CHILD], {
    env: {
      ...process.env,
      FS_MODULE: REDIS_MODULE,
      FS_URL: redis().url,
      FS_PREFIX: prefix,
      FS_LOCK: String(options.lockMs),
      FS_MAX_STALLED: String(options.maxStalled),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
  return { child, lines };
}

describe('the Redis back end across processes', () => {
  test('a consumer process killed with SIGKILL mid-job, twice: another consumer runs the job again each time (Attempts 3)', async () => {
    const prefix = newPrefix();
    const lockMs = 2000;
    const { store, defaultPipelineId } = await backend(prefix, { lockDurationMs: lockMs });
    const one = entry(defaultPipelineId);
    await store.add(one, 10);
    for (const attempt of [1, 2]) {
      const { child, lines } = consumerChild(prefix, { lockMs, maxStalled: 10 });
      // The second child takes the job once its lock ran out: within the lock plus two stalled-check intervals (1 s each here).
      await until(`claim ${attempt} in a child`, () => lines.includes(`claimed ${one.job.Id} ${attempt}`), lockMs + 10_000);
      expect(await store.get(one.job.Id)).toMatchObject({ State: 'Snapshoting', ...(attempt > 1 ? { Attempts: attempt } : {}) });
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }

    let again: ClaimedJob | undefined;
    store.consume(1, async (claimed) => {
      again = claimed;
      await store.finish(success(claimed.job), claimed.attempt);
    });
    await until('the third run', async () => (await store.get(one.job.Id))?.State === 'Success', lockMs + 10_000);
    expect(again).toMatchObject({ attempt: 3, job: { ...one.job, State: 'Snapshoting', Attempts: 3 } });
    expect(await store.get(one.job.Id)).toStrictEqual(success({ ...one.job, Attempts: 3 }));
  });

  test('a job whose worker died more than maxStalledCount times ends Fail InternalError', async () => {
    const prefix = newPrefix();
    const lockMs = 1000;
    const { store, defaultPipelineId } = await backend(prefix, { lockDurationMs: lockMs, maxStalledCount: 0 });
    const { child, lines } = consumerChild(prefix, { lockMs, maxStalled: 0 });
    const events = new Recorder(store);
    const one = entry(defaultPipelineId);
    await store.add(one, 10);
    await until('the child claim', () => lines.includes(`claimed ${one.job.Id} 1`));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const claims: ClaimedJob[] = [];
    store.consume(1, (claimed) => {
      claims.push(claimed);
      return Promise.resolve();
    });
    await until('the outcome', () => events.finished.length === 1, lockMs + 10_000);
    expect(claims).toEqual([]);
    const message = "the job's worker died or lost its lock more than 0 times while running it; it is not run again";
    const failed = { ...one.job, State: 'Fail', Code: 'InternalError', Message: message, Count: '0', Percent: 0 };
    expect(events.finished).toStrictEqual([failed]);
    expect(events.ended).toStrictEqual([[failed, one.requestId]]);
  });

  test('cancel reaches a running job in another process', async () => {
    const prefix = newPrefix();
    const { store, defaultPipelineId } = await backend(prefix);
    const { lines } = consumerChild(prefix, { lockMs: 30_000, maxStalled: 10 });
    const events = new Recorder(store);
    const one = entry(defaultPipelineId);
    await store.add(one, 10);
    await until('the child claim', () => lines.includes(`claimed ${one.job.Id} 1`));
    expect(await store.cancel(one.job.Id, canceled())).toMatchObject({ kind: 'running' });
    await until('the outcome', () => events.finished.length === 1);
    expect(lines).toContain(`aborted ${one.job.Id} Canceled`);
    expect(events.finished).toStrictEqual([failedJob({ ...one.job, State: 'Snapshoting' }, canceled())]);
  });
});
