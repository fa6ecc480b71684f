/**
 * `framesnap serve`'s API through the official SDK (@alicloud/mts20140618
 * 4.0.1), configured only with the endpoint, the keys and protocol http,
 * against createServer() on a loopback port: the seed's two examples, a
 * series polled to Success, the pipeline calls, and every refusal with the
 * SDK's own exception fields (code, statusCode, data). V3 signatures (the
 * SDK's default) and V2.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterEach, describe, expect, test } from 'vitest';

import { fixture } from './fixtures.js';
import { ACCESS_KEY_ID, Mts, sdkFailure, serve, type MtsClient, type Served } from './helpers/serve.js';
import { counted, files, JOB_ID, keyframes, longFlv, UPPER_UUID, whichFrame, workspace, type Workspace } from './helpers/service-clips.js';
import { slowClip, SLOW_TIME_MS } from './helpers/slow-clip.js';
import { IN, OUT, SEED_ASYNC_CONFIG, SEED_INPUT, SEED_SYNC_CONFIG } from './helpers/seed.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup extends Served {
  ws: Workspace;
  out: string;
}

async function setup(
  serviceOptions: Record<string, unknown> = {},
  serverOptions: Parameters<typeof serve>[1] = {},
  clip: 'example' | 'h264' | 'slow' = 'example',
): Promise<Setup> {
  const ws = workspace([IN, OUT]);
  cleanups.push(() => ws.remove());
  if (clip === 'example') ws.put(IN, 'example.flv', await longFlv());
  else if (clip === 'h264') ws.put(IN, 'clip.mp4', await fixture('h264'));
  else ws.put(IN, 'slow.mp4', await slowClip());
  const served = await serve({ root: ws.root, workers: 2, syncTimeoutMs: 2_500, ...serviceOptions }, serverOptions);
  cleanups.push(() => served.close());
  return { ...served, ws, out: ws.bucket(OUT) };
}

/** Polls QuerySnapshotJobList through the SDK until the job is final. */
async function pollUntilFinal(client: MtsClient, id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const answer = await client.querySnapshotJobList(new Mts.QuerySnapshotJobListRequest({ snapshotJobIds: id }));
    const job = answer.body!.snapshotJobList!.snapshotJob![0]!;
    if (job.state === 'Success' || job.state === 'Fail') return job.toMap();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each(['v3', 'v2'] as const)('the seed examples through the SDK (%s signatures)', (signatureAlgorithm) => {
  test('synchronous: Success with the JPEG of the keyframe at 5 ms written', async () => {
    const { client, service, out } = await setup();
    const response = await client({ signatureAlgorithm }).submitSnapshotJob(
      new Mts.SubmitSnapshotJobRequest({ input: SEED_INPUT, snapshotConfig: SEED_SYNC_CONFIG, userData: 'testid-001' }),
    );
    expect(response.statusCode).toBe(200);
    const body = response.body!;
    expect(body.requestId).toMatch(UPPER_UUID);
    const job = body.snapshotJob!;
    expect(job.toMap()).toEqual({
      Id: expect.stringMatching(JOB_ID),
      State: 'Success',
      Code: '',
      Message: '',
      Count: '1',
      CreationTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      PipelineId: service.defaultPipelineId,
      UserData: 'testid-001',
      Input: { Bucket: 'example-bucket', Location: 'oss-cn-hangzhou', Object: 'example.flv' },
      SnapshotConfig: { OutputFile: { Bucket: 'example-001', Location: 'oss-cn-hangzhou', Object: 'example.jpg' }, Time: '5' },
    });
    expect(files(out)).toEqual(['example.jpg']);
    const jpeg = readFileSync(join(out, 'example.jpg'));
    expect(await sharp(jpeg).metadata()).toMatchObject({ format: 'jpeg', width: 320, height: 240 });
    expect(await whichFrame(jpeg, await keyframes(await longFlv()))).toBe(0);
    // The service remembers it as answered.
    const listed = await service.querySnapshotJobList({ SnapshotJobIds: job.id! });
    expect(listed.SnapshotJobList.SnapshotJob[0]).toEqual(job.toMap());
  });

  test('asynchronous: Submitted, then polled through QuerySnapshotJobList to Success with 10 images', async () => {
    const { client, service, out } = await setup();
    const sdk = client({ signatureAlgorithm });
    const response = await sdk.submitSnapshotJob(
      new Mts.SubmitSnapshotJobRequest({ input: SEED_INPUT, snapshotConfig: SEED_ASYNC_CONFIG, userData: 'testid-001' }),
    );
    const submitted = response.body!.snapshotJob!;
    expect(submitted.state).toBe('Submitted');
    expect(submitted.count).toBe('0');
    expect(submitted.snapshotConfig!.toMap()).toEqual({
      OutputFile: { Bucket: 'example-001', Location: 'oss-cn-hangzhou', Object: '{Count}.jpg' },
      Time: '5',
      Num: '10',
      Interval: '20',
    });
    const finished = await pollUntilFinal(sdk, submitted.id!);
    expect(finished).toMatchObject({ Id: submitted.id, State: 'Success', Code: '', Count: '10', UserData: 'testid-001' });
    expect(files(out)).toEqual(counted(10));
    const keys = await keyframes(await longFlv());
    const shown = [];
    for (const name of counted(10)) shown.push(await whichFrame(readFileSync(join(out, name)), keys));
    expect(shown).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    // Unknown ids are listed as such, in the SDK's model.
    const both = await sdk.querySnapshotJobList(
      new Mts.QuerySnapshotJobListRequest({ snapshotJobIds: `${submitted.id},0123456789abcdef0123456789abcdef` }),
    );
    expect(both.body!.nonExistSnapshotJobIds!.string).toEqual(['0123456789abcdef0123456789abcdef']);
    // Percent, framesnap's own field, is not in the SDK's model: the model drops it.
    const { Percent, ...modelled } = await service.waitForJob(submitted.id!);
    expect(Percent).toBe(100);
    expect(both.body!.snapshotJobList!.snapshotJob!.map((job) => job.toMap())).toEqual([modelled]);
  });
});

test('QuerySnapshotJobList by filters, in pages: NextPageToken and MaximumPageSize as the SDK sends them', async () => {
  const { client } = await setup({}, {}, 'h264');
  const sdk = client();
  const ids: string[] = [];
  for (let i = 0; i < 3; i += 1) {
    const response = await sdk.submitSnapshotJob(
      new Mts.SubmitSnapshotJobRequest({
        input: '{"Bucket":"example-bucket","Object":"clip.mp4"}',
        snapshotConfig: `{"OutputFile":{"Bucket":"example-001","Object":"${i}.jpg"},"Time":"0"}`,
      }),
    );
    ids.push(response.body!.snapshotJob!.id!);
  }
  const first = await sdk.querySnapshotJobList(new Mts.QuerySnapshotJobListRequest({ state: 'Success', maximumPageSize: 2 }));
  expect(first.body!.snapshotJobList!.snapshotJob!.map((job) => job.id)).toEqual([ids[2], ids[1]]);
  expect(first.body!.nextPageToken).toBe(ids[0]);
  const second = await sdk.querySnapshotJobList(
    new Mts.QuerySnapshotJobListRequest({ state: 'Success', maximumPageSize: 2, nextPageToken: first.body!.nextPageToken! }),
  );
  expect(second.body!.snapshotJobList!.snapshotJob!.map((job) => job.id)).toEqual([ids[0]]);
  expect(second.body!.nextPageToken).toBeUndefined();
});

test('pipelines: added, paused (its job waits), resumed (the job runs), queried, searched, deleted', async () => {
  const { client, service } = await setup({}, {}, 'h264');
  const sdk = client();
  const added = await sdk.addPipeline(new Mts.AddPipelineRequest({ name: 'thumbnails', notifyConfig: '{"QueueName":"snapshots"}' }));
  const pipeline = added.body!.pipeline!;
  expect(pipeline.toMap()).toEqual({
    Id: expect.stringMatching(JOB_ID),
    Name: 'thumbnails',
    State: 'Active',
    Speed: 'Standard',
    NotifyConfig: { QueueName: 'snapshots' },
  });
  const id = pipeline.id!;

  const paused = await sdk.updatePipeline(new Mts.UpdatePipelineRequest({ pipelineId: id, name: 'thumbnails', state: 'Paused' }));
  expect(paused.body!.pipeline!.state).toBe('Paused');
  const submitted = await sdk.submitSnapshotJob(
    new Mts.SubmitSnapshotJobRequest({
      input: '{"Bucket":"example-bucket","Object":"clip.mp4"}',
      snapshotConfig: '{"OutputFile":{"Bucket":"example-001","Object":"{Count}.jpg"},"Time":"0","Num":"2","Interval":"1"}',
      pipelineId: id,
    }),
  );
  const jobId = submitted.body!.snapshotJob!.id!;
  expect(submitted.body!.snapshotJob!.pipelineId).toBe(id);
  // Paused: it cannot be deleted while its job waits in it.
  const busy = await sdkFailure(() => sdk.deletePipeline(new Mts.DeletePipelineRequest({ pipelineId: id })));
  expect(busy).toMatchObject({ name: 'ClientError', code: 'InvalidParameter', statusCode: 400 });
  expect(busy.data['Message']).toBe(`the pipeline ${id} still has Submitted jobs: let them finish or cancel them before deleting it`);
  expect((await service.querySnapshotJobList({ SnapshotJobIds: jobId })).SnapshotJobList.SnapshotJob[0]!.State).toBe('Submitted');

  const resumed = await sdk.updatePipeline(new Mts.UpdatePipelineRequest({ pipelineId: id, state: 'Active' }));
  expect(resumed.body!.pipeline!.toMap()).toMatchObject({ Id: id, Name: 'thumbnails', State: 'Active' });
  expect(await pollUntilFinal(sdk, jobId)).toMatchObject({ State: 'Success', Count: '2', PipelineId: id });
  // Its completion message went to the pipeline's queue.
  expect(JSON.parse((await service.receiveMessage('snapshots'))!.MessageBody)).toMatchObject({
    JobId: jobId,
    State: 'Success',
    Type: 'Snapshot',
  });

  const queried = await sdk.queryPipelineList(new Mts.QueryPipelineListRequest({ pipelineIds: `${id},ffffffffffffffffffffffffffffffff` }));
  expect(queried.body!.pipelineList!.pipeline!.map((item) => item.toMap())).toEqual([
    { Id: id, Name: 'thumbnails', State: 'Active', Speed: 'Standard', NotifyConfig: { QueueName: 'snapshots' } },
  ]);
  expect(queried.body!.nonExistPids!.string).toEqual(['ffffffffffffffffffffffffffffffff']);

  await sdk.addPipeline(new Mts.AddPipelineRequest({ name: 'archive' }));
  const all = await sdk.searchPipeline(new Mts.SearchPipelineRequest({ state: 'All', pageNumber: 1, pageSize: 2 }));
  expect(all.body!.totalCount).toBe(3);
  expect(all.body!.pageNumber).toBe(1);
  expect(all.body!.pageSize).toBe(2);
  // By name: archive, default, thumbnails.
  expect(all.body!.pipelineList!.pipeline!.map((item) => item.name)).toEqual(['archive', 'default']);
  const page2 = await sdk.searchPipeline(new Mts.SearchPipelineRequest({ pageNumber: 2, pageSize: 2 }));
  expect(page2.body!.pipelineList!.pipeline!.map((item) => item.id)).toEqual([id]);
  await sdk.updatePipeline(new Mts.UpdatePipelineRequest({ pipelineId: id, state: 'Paused' }));
  const pausedOnly = await sdk.searchPipeline(new Mts.SearchPipelineRequest({ state: 'Paused' }));
  expect(pausedOnly.body!.pipelineList!.pipeline!.map((item) => item.id)).toEqual([id]);

  const deleted = await sdk.deletePipeline(new Mts.DeletePipelineRequest({ pipelineId: id }));
  expect(deleted.body!.toMap()).toEqual({ RequestId: expect.stringMatching(UPPER_UUID), PipelineId: id });
  const gone = await sdk.queryPipelineList(new Mts.QueryPipelineListRequest({ pipelineIds: id }));
  expect(gone.body!.nonExistPids!.string).toEqual([id]);
  expect(gone.body!.pipelineList!.pipeline).toEqual([]);
  // Its finished job stays queryable.
  expect((await service.querySnapshotJobList({ SnapshotJobIds: jobId })).SnapshotJobList.SnapshotJob[0]!.State).toBe('Success');

  const again = await sdkFailure(() => sdk.deletePipeline(new Mts.DeletePipelineRequest({ pipelineId: id })));
  expect(again).toMatchObject({ code: 'InvalidParameter.ResourceNotFound', statusCode: 400 });
  const defaultOne = await sdkFailure(() => sdk.deletePipeline(new Mts.DeletePipelineRequest({ pipelineId: service.defaultPipelineId })));
  expect(defaultOne).toMatchObject({ code: 'InvalidParameter', statusCode: 400 });
  expect(defaultOne.data['Message']).toBe('the default pipeline cannot be deleted');
});

/** The JSON error body every refusal has; the SDK hands it over whole as `data`. */
function errorBody(code: string, message: string | RegExp, port: number): Record<string, unknown> {
  return {
    RequestId: expect.stringMatching(UPPER_UUID),
    HostId: `127.0.0.1:${port}`,
    Code: code,
    Message: typeof message === 'string' ? message : expect.stringMatching(message),
  };
}

describe('refusals, with the SDK exception fields', () => {
  test('a wrong secret: SignatureDoesNotMatch, 400 (V3 and V2)', async () => {
    const { client, port, out } = await setup();
    const request = new Mts.SubmitSnapshotJobRequest({ input: SEED_INPUT, snapshotConfig: SEED_SYNC_CONFIG });
    const v3 = await sdkFailure(() => client({ accessKeySecret: 'wrong' }).submitSnapshotJob(request));
    expect(v3).toMatchObject({ name: 'ClientError', code: 'SignatureDoesNotMatch', statusCode: 400 });
    expect(v3.data).toEqual(
      errorBody(
        'SignatureDoesNotMatch',
        /^Specified signature does not match our calculation\. server StringToSign is \[ACS3-HMAC-SHA256\n[0-9a-f]{64}\]$/,
        port,
      ),
    );
    const v2 = await sdkFailure(() => client({ accessKeySecret: 'wrong', signatureAlgorithm: 'v2' }).submitSnapshotJob(request));
    expect(v2).toMatchObject({ code: 'SignatureDoesNotMatch', statusCode: 400 });
    expect(v2.data).toEqual(
      errorBody(
        'SignatureDoesNotMatch',
        /^Specified signature does not match our calculation\. server string to sign is:POST&%2F&AccessKeyId%3DtestAccessKeyId%26Action%3DSubmitSnapshotJob%26/,
        port,
      ),
    );
    // Nothing ran.
    expect(files(out)).toEqual([]);
  });

  test('an unknown access key: InvalidAccessKeyId.NotFound, 404', async () => {
    const { client, port } = await setup();
    for (const signatureAlgorithm of ['v3', 'v2'] as const) {
      const failure = await sdkFailure(() =>
        client({ accessKeyId: 'nobody', signatureAlgorithm }).queryPipelineList(new Mts.QueryPipelineListRequest({ pipelineIds: 'x' })),
      );
      expect(failure).toMatchObject({ name: 'ClientError', code: 'InvalidAccessKeyId.NotFound', statusCode: 404 });
      expect(failure.data).toEqual(errorBody('InvalidAccessKeyId.NotFound', 'Specified access key is not found: "nobody"', port));
    }
  });

  test('a replayed nonce: SignatureNonceUsed, 400; a date 15 minutes off: InvalidTimeStamp.Expired', async () => {
    const { client, port } = await setup();
    const sdk = client();
    // The SDK's own debug hook: headers merged before signing, for its next call.
    const request = new Mts.SearchPipelineRequest({});
    sdk.setRpcHeaders({ 'x-acs-signature-nonce': 'c0ffee-replayed-nonce' });
    expect((await sdk.searchPipeline(request)).statusCode).toBe(200);
    sdk.setRpcHeaders({ 'x-acs-signature-nonce': 'c0ffee-replayed-nonce' });
    const replayed = await sdkFailure(() => sdk.searchPipeline(request));
    expect(replayed).toMatchObject({ name: 'ClientError', code: 'SignatureNonceUsed', statusCode: 400 });
    expect(replayed.data).toEqual(
      errorBody('SignatureNonceUsed', 'Specified signature nonce was used already: c0ffee-replayed-nonce', port),
    );
    // Another nonce goes through.
    expect((await sdk.searchPipeline(request)).statusCode).toBe(200);

    const late = client();
    late.setRpcHeaders({ 'x-acs-date': '2024-01-01T00:00:00Z' });
    const expired = await sdkFailure(() => late.searchPipeline(request));
    expect(expired).toMatchObject({ name: 'ClientError', code: 'InvalidTimeStamp.Expired', statusCode: 400 });
    expect(expired.data['Message']).toMatch(
      /^x-acs-date 2024-01-01T00:00:00Z is more than 15 minutes from the server's time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
  });

  test("an invalid parameter: the service's code and message, 400", async () => {
    const { client, port } = await setup({}, {}, 'h264');
    const failure = await sdkFailure(() =>
      client().submitSnapshotJob(
        new Mts.SubmitSnapshotJobRequest({
          input: '{"Bucket":"example-bucket","Object":"clip.mp4"}',
          snapshotConfig: '{"OutputFile":{"Bucket":"example-001","Object":"a.jpg"},"Time":"0","Num":"0"}',
        }),
      ),
    );
    expect(failure).toMatchObject({ name: 'ClientError', code: 'InvalidParameter.OutOfRange', statusCode: 400 });
    expect(failure.data).toEqual(
      errorBody('InvalidParameter.OutOfRange', 'Expected an integer between 1 and 10000 for SnapshotConfig.Num but received "0"', port),
    );
    // A missing input object: ResourceNotFound, also 400.
    const missing = await sdkFailure(() =>
      client().submitSnapshotJob(
        new Mts.SubmitSnapshotJobRequest({
          input: '{"Bucket":"example-bucket","Object":"nothing.mp4"}',
          snapshotConfig: '{"OutputFile":{"Bucket":"example-001","Object":"a.jpg"},"Time":"0"}',
        }),
      ),
    );
    expect(missing).toMatchObject({ code: 'InvalidParameter.ResourceNotFound', statusCode: 400 });
  });

  test('an object where the API wants JSON text: the SDK flattens it, the server refuses it', async () => {
    const { client } = await setup({}, {}, 'h264');
    const failure = await sdkFailure(() =>
      client().submitSnapshotJob(
        new Mts.SubmitSnapshotJobRequest({
          input: { Bucket: 'example-bucket', Object: 'clip.mp4' } as unknown as string,
          snapshotConfig: '{"OutputFile":{"Bucket":"example-001","Object":"a.jpg"},"Time":"0"}',
        }),
      ),
    );
    expect(failure).toMatchObject({ code: 'InvalidParameter', statusCode: 400 });
    expect(failure.data['Message']).toMatch(
      /^Unknown parameter "Input\.(Bucket|Object)" for SubmitSnapshotJob; Input is one JSON text, not an object/,
    );
  });

  test('a full queue: Throttling, 503, with x-acs-retry-after (the SDK throws ThrottlingError)', async () => {
    const { client, port } = await setup({ maxQueue: 0 }, { retryAfterMs: 1500 });
    const failure = await sdkFailure(() =>
      client().submitSnapshotJob(new Mts.SubmitSnapshotJobRequest({ input: SEED_INPUT, snapshotConfig: SEED_ASYNC_CONFIG })),
    );
    expect(failure).toMatchObject({ name: 'ThrottlingError', code: 'Throttling', statusCode: 503, retryAfter: 1500 });
    expect(failure.data).toEqual(errorBody('Throttling', 'the job queue is full (0 jobs waiting); retry later', port));
  });

  test('over the rate limit: Throttling.User, 429, with x-acs-retry-after', async () => {
    const { client, port } = await setup({}, { rateLimit: { requestsPerSecond: 1, burst: 2 } }, 'h264');
    const sdk = client();
    const request = new Mts.SearchPipelineRequest({});
    await sdk.searchPipeline(request);
    await sdk.searchPipeline(request);
    const failure = await sdkFailure(() => sdk.searchPipeline(request));
    expect(failure).toMatchObject({ name: 'ThrottlingError', code: 'Throttling.User', statusCode: 429 });
    expect(failure.retryAfter).toBeGreaterThan(0);
    expect(failure.retryAfter).toBeLessThanOrEqual(1000);
    expect(failure.data).toEqual(
      errorBody('Throttling.User', 'Request was denied due to user flow control: too many requests for this access key', port),
    );
  });

  test('failed signatures from one address: past authFailureLimit, even a good request is refused until it refills', async () => {
    const { client, port } = await setup({}, { authFailureLimit: { requestsPerSecond: 1, burst: 2 } }, 'h264');
    const request = new Mts.SearchPipelineRequest({});
    for (let i = 0; i < 2; i += 1) {
      expect((await sdkFailure(() => client({ accessKeySecret: 'wrong' }).searchPipeline(request))).code).toBe('SignatureDoesNotMatch');
    }
    const refused = await sdkFailure(() => client().searchPipeline(request));
    expect(refused).toMatchObject({ name: 'ThrottlingError', code: 'Throttling.User', statusCode: 429 });
    expect(refused.data).toEqual(
      errorBody(
        'Throttling.User',
        'Request was denied due to flow control: too many requests with failed signatures from this address',
        port,
      ),
    );
  });

  test('behind a trusted proxy, failures count per X-Forwarded-For client', async () => {
    const { port } = await setup({}, { authFailureLimit: { requestsPerSecond: 1, burst: 2 }, trustProxy: ['127.0.0.1'] }, 'h264');
    const unsigned = async (client: string): Promise<string> => {
      const response = await fetch(`http://127.0.0.1:${port}/?Action=SearchPipeline`, {
        method: 'POST',
        headers: { 'x-forwarded-for': client },
      });
      return ((await response.json()) as { Code: string }).Code;
    };
    expect([await unsigned('203.0.113.1'), await unsigned('203.0.113.1'), await unsigned('203.0.113.1')]).toEqual([
      'IncompleteSignature',
      'IncompleteSignature',
      'Throttling.User',
    ]);
    expect(await unsigned('203.0.113.2')).toBe('IncompleteSignature');
  });

  test('a synchronous job past its deadline: SnapshotTimeOut within the SDK default 3 s', async () => {
    const { client, port } = await setup({ syncTimeoutMs: 500 }, {}, 'slow');
    const failure = await sdkFailure(() =>
      client().submitSnapshotJob(
        new Mts.SubmitSnapshotJobRequest({
          input: '{"Bucket":"example-bucket","Object":"slow.mp4"}',
          snapshotConfig: `{"OutputFile":{"Bucket":"example-001","Object":"late.jpg"},"Time":"${SLOW_TIME_MS}","FrameType":"normal"}`,
        }),
      ),
    );
    expect(failure).toMatchObject({ name: 'ServerError', code: 'SnapshotTimeOut', statusCode: 500 });
    expect(failure.data).toEqual(errorBody('SnapshotTimeOut', 'the synchronous job took longer than 500 ms', port));
  });
});

test('close(): a request in flight is answered, then the server takes no more connections', async () => {
  const { client, service, server, port } = await setup({ syncTimeoutMs: 1_500 }, {}, 'slow');
  const inFlight = client()
    .submitSnapshotJob(
      new Mts.SubmitSnapshotJobRequest({
        input: '{"Bucket":"example-bucket","Object":"slow.mp4"}',
        snapshotConfig: `{"OutputFile":{"Bucket":"example-001","Object":"late.jpg"},"Time":"${SLOW_TIME_MS}","FrameType":"normal"}`,
      }),
    )
    .then(
      (response) => ({ statusCode: response.statusCode, code: response.body!.snapshotJob!.state }),
      (error: { statusCode: number; code: string }) => ({ statusCode: error.statusCode, code: error.code }),
    );
  // Running: the job is Snapshoting in the store.
  while ((await service.querySnapshotJobList({ State: 'Snapshoting' })).SnapshotJobList.SnapshotJob.length === 0) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const closed = server.close();
  // Answered with the job's outcome, whichever came first: its image or its deadline.
  expect([
    { statusCode: 200, code: 'Success' },
    { statusCode: 500, code: 'SnapshotTimeOut' },
  ]).toContainEqual(await inFlight);
  await closed;
  const refused = await sdkFailure(() => client().searchPipeline(new Mts.SearchPipelineRequest({})));
  expect(refused.message).toMatch(/ECONNREFUSED/);
  const health = await fetch(`http://127.0.0.1:${port}/healthz`).catch((error: Error) => error);
  expect(health).toBeInstanceOf(Error);
});

describe('without the SDK', () => {
  test('unsigned, another path, another method, a body: JSON errors with their statuses', async () => {
    const { port } = await setup({}, {}, 'h264');
    const base = `http://127.0.0.1:${port}`;
    const unsigned = await fetch(`${base}/?Action=SearchPipeline`, { method: 'POST' });
    expect(unsigned.status).toBe(400);
    expect(unsigned.headers.get('content-type')).toBe('application/json;charset=utf-8');
    expect(await unsigned.json()).toEqual(
      errorBody(
        'IncompleteSignature',
        'the request is not signed: expected an ACS3-HMAC-SHA256 Authorization header or a V2 Signature parameter',
        port,
      ),
    );
    const elsewhere = await fetch(`${base}/api?x=1`, { method: 'POST' });
    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.json()).toEqual(
      errorBody('InvalidAction.NotFound', 'POST /api is not served: the API is POST /, with GET /healthz and GET /metrics', port),
    );
    const get = await fetch(`${base}/`);
    expect(get.status).toBe(404);
    const big = await fetch(`${base}/`, { method: 'POST', body: 'x'.repeat(70_000) });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual(errorBody('InvalidParameter', 'Request body is too large', port));
    const sts = await fetch(`${base}/?Action=SearchPipeline&SecurityToken=abc`, { method: 'POST' });
    expect(sts.status).toBe(400);
    expect((await sts.json()).Code).toBe('InvalidSecurityToken.Malformed');
  });

  test('insecureNoAuth: unsigned requests run; unknown actions and parameters are refused', async () => {
    const { port, service } = await setup({}, { insecureNoAuth: true }, 'h264');
    const base = `http://127.0.0.1:${port}`;
    const search = await fetch(`${base}/?Action=SearchPipeline&PageSize=5`, { method: 'POST' });
    expect(search.status).toBe(200);
    expect(await search.json()).toEqual({
      RequestId: expect.stringMatching(UPPER_UUID),
      TotalCount: 1,
      PageNumber: 1,
      PageSize: 5,
      PipelineList: {
        Pipeline: [{ Id: service.defaultPipelineId, Name: 'default', State: 'Active', Speed: 'Standard', NotifyConfig: {} }],
      },
    });
    const unknown = await fetch(`${base}/?Action=SubmitJobs`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).Code).toBe('InvalidAction.NotFound');
    const typo = await fetch(`${base}/?Action=SearchPipeline&PageSise=5`, { method: 'POST' });
    expect(typo.status).toBe(400);
    expect((await typo.json()).Message).toBe('Unknown parameter "PageSise" for SearchPipeline: expected State, PageNumber, PageSize');
    const owner = await fetch(`${base}/?Action=SearchPipeline&OwnerId=1234567890123&ResourceOwnerAccount=a`, { method: 'POST' });
    expect(owner.status).toBe(200);
    const version = await fetch(`${base}/?Action=SearchPipeline&Version=2017-01-01`, { method: 'POST' });
    expect(version.status).toBe(400);
    expect((await version.json()).Code).toBe('InvalidVersion');
  });

  test('GET /healthz and GET /metrics', async () => {
    const { port, client } = await setup({}, {}, 'h264');
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    await client().submitSnapshotJob(
      new Mts.SubmitSnapshotJobRequest({
        input: '{"Bucket":"example-bucket","Object":"clip.mp4"}',
        snapshotConfig: '{"OutputFile":{"Bucket":"example-001","Object":"a.jpg"},"Time":"0"}',
      }),
    );
    await sdkFailure(() => client({ accessKeyId: 'nobody' }).searchPipeline(new Mts.SearchPipelineRequest({})));
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    expect(text).toContain('framesnap_http_requests_total{action="SubmitSnapshotJob",code="Success"} 1');
    expect(text).toContain('framesnap_http_requests_total{action="SearchPipeline",code="InvalidAccessKeyId.NotFound"} 1');
    expect(text).toContain('framesnap_snapshots_total 1');
    expect(text).toContain('framesnap_jobs_finished_total{state="Success"} 1');
    expect(text).toContain('framesnap_jobs_queued 0');
    expect(text).toMatch(/framesnap_http_request_duration_seconds_count\{action="SubmitSnapshotJob"\} 1/);
    // No secret, signature or access key in the metrics.
    expect(text).not.toContain(ACCESS_KEY_ID);
  });
});
