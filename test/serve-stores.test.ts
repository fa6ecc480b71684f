/**
 * SearchPipeline and DeletePipeline, the two pipeline calls the server added
 * to SnapshotService, through the SDK on each job store: memory, SQLite and
 * Redis (a real redis-server for this file). A pipeline holding an
 * unfinished job cannot be deleted; a deleted one is gone for every call.
 */
import { join } from 'node:path';

import { afterEach, describe, expect, test } from 'vitest';

import { fixture } from './fixtures.js';
import { redisForFile, startRedis } from './helpers/redis-server.js';
import { Mts, sdkFailure, serve } from './helpers/serve.js';
import { workspace } from './helpers/service-clips.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const redis = redisForFile();

const STORES: [string, (dir: string) => Record<string, unknown>][] = [
  ['memory', () => ({})],
  ['SQLite', (dir) => ({ database: join(dir, 'jobs.db') })],
  ['Redis', () => ({ redis: redis().url, queue: { prefix: `serve-${Date.now()}-${Math.random().toString(36).slice(2)}` } })],
];

describe.each(STORES)('SearchPipeline and DeletePipeline on the %s store', (_name, store) => {
  test('search by state in pages, by name; delete refused while a job waits, then done', async () => {
    const ws = workspace(['in-bucket', 'out-bucket']);
    cleanups.push(() => ws.remove());
    const served = await serve({ root: ws.root, workers: 1, ...store(ws.dir) });
    cleanups.push(() => served.close());
    const sdk = served.client();
    const add = async (name: string): Promise<string> => (await sdk.addPipeline(new Mts.AddPipelineRequest({ name }))).body!.pipeline!.id!;
    const zeta = await add('zeta');
    const alpha = await add('alpha');
    await sdk.updatePipeline(new Mts.UpdatePipelineRequest({ pipelineId: zeta, state: 'Paused' }));

    const names = async (request: Record<string, unknown>): Promise<[number, (string | undefined)[]]> => {
      const body = (await sdk.searchPipeline(new Mts.SearchPipelineRequest(request))).body!;
      return [body.totalCount!, body.pipelineList!.pipeline!.map((pipeline) => pipeline.name)];
    };
    expect(await names({})).toEqual([3, ['alpha', 'default', 'zeta']]);
    expect(await names({ state: 'Active' })).toEqual([2, ['alpha', 'default']]);
    expect(await names({ state: 'Paused' })).toEqual([1, ['zeta']]);
    expect(await names({ pageNumber: 2, pageSize: 2 })).toEqual([3, ['zeta']]);
    expect(await names({ pageNumber: 3, pageSize: 2 })).toEqual([3, []]);
    const badState = await sdkFailure(() => sdk.searchPipeline(new Mts.SearchPipelineRequest({ state: 'Stopped' })));
    expect([badState.code, badState.statusCode, badState.data['Message']]).toEqual([
      'InvalidParameter',
      400,
      'Expected one of All, Active, Paused for State but received "Stopped"',
    ]);
    const badSize = await sdkFailure(() => sdk.searchPipeline(new Mts.SearchPipelineRequest({ pageSize: 101 })));
    expect([badSize.code, badSize.data['Message']]).toEqual([
      'InvalidParameter.OutOfRange',
      'Expected an integer between 1 and 100 for PageSize but received 101',
    ]);

    // A job waits in the paused pipeline: it cannot be deleted.
    ws.put('in-bucket', 'clip.mp4', await fixture('h264'));
    const submitted = await sdk.submitSnapshotJob(
      new Mts.SubmitSnapshotJobRequest({
        input: '{"Bucket":"in-bucket","Object":"clip.mp4"}',
        snapshotConfig: '{"OutputFile":{"Bucket":"out-bucket","Object":"{Count}.jpg"},"Time":"0","Num":"1","Interval":"1"}',
        pipelineId: zeta,
      }),
    );
    const busy = await sdkFailure(() => sdk.deletePipeline(new Mts.DeletePipelineRequest({ pipelineId: zeta })));
    expect([busy.code, busy.statusCode, busy.data['Message']]).toEqual([
      'InvalidParameter',
      400,
      `the pipeline ${zeta} still has Submitted jobs: let them finish or cancel them before deleting it`,
    ]);
    expect((await sdk.deletePipeline(new Mts.DeletePipelineRequest({ pipelineId: alpha }))).body!.pipelineId).toBe(alpha);
    expect(await names({})).toEqual([2, ['default', 'zeta']]);
    expect((await sdk.queryPipelineList(new Mts.QueryPipelineListRequest({ pipelineIds: alpha }))).body!.nonExistPids!.string).toEqual([
      alpha,
    ]);
    const gone = await sdkFailure(() => sdk.updatePipeline(new Mts.UpdatePipelineRequest({ pipelineId: alpha, state: 'Paused' })));
    expect([gone.code, gone.statusCode]).toEqual(['InvalidParameter.ResourceNotFound', 400]);

    // Resumed, its job runs; then it can go.
    await sdk.updatePipeline(new Mts.UpdatePipelineRequest({ pipelineId: zeta, state: 'Active' }));
    expect((await served.service.waitForJob(submitted.body!.snapshotJob!.id!)).State).toBe('Success');
    await sdk.deletePipeline(new Mts.DeletePipelineRequest({ pipelineId: zeta }));
    expect(await names({})).toEqual([1, ['default']]);
    const missing = await sdkFailure(() => sdk.deletePipeline(new Mts.DeletePipelineRequest({ pipelineId: '' })));
    expect([missing.code, missing.data['Message']]).toEqual([
      'InvalidParameter.NullValue',
      'Expected a pipeline id for PipelineId but received ""',
    ]);
  });
});

test('GET /healthz is 503 while the job store does not answer (Redis stopped)', async () => {
  const ws = workspace(['in-bucket']);
  cleanups.push(() => ws.remove());
  const own = await startRedis();
  cleanups.push(() => own.stop());
  const served = await serve({ root: ws.root, workers: 1, redis: own.url });
  cleanups.push(() => served.close());
  const health = async (): Promise<[number, Record<string, unknown>]> => {
    const response = await fetch(`http://127.0.0.1:${served.port}/healthz`);
    return [response.status, (await response.json()) as Record<string, unknown>];
  };
  expect(await health()).toEqual([200, { status: 'ok' }]);
  await own.stop();
  const [status, body] = await health();
  expect(status).toBe(503);
  expect(body).toEqual({ status: 'unavailable', message: expect.any(String) });
});
