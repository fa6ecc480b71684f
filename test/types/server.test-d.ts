/**
 * framesnap/server's public types as users see them in dist/: createServer
 * takes a service and its options (a typo does not compile) and gives a
 * Fastify instance; the pipeline calls it added to the service are typed.
 */
import type { FastifyInstance } from 'fastify';
import { describe, expectTypeOf, test } from 'vitest';

import { SnapshotService, type DeletePipelineResponse, type SearchPipelineResponse } from '../../dist/index.js';
import { createServer, type ServerOptions } from '../../dist/server/index.js';

declare const service: SnapshotService;

describe('createServer', () => {
  test('takes the service and its options, and gives a Fastify instance', () => {
    expectTypeOf(createServer(service, { accessKeys: { LTAIexample: 'secret' } })).toEqualTypeOf<FastifyInstance>();
    const options: ServerOptions = {
      accessKeys: new Map([['LTAIexample', 'secret']]),
      logger: { level: 'warn' },
      rateLimit: { requestsPerSecond: 100, burst: 200 },
      bodyLimit: 1024,
      retryAfterMs: 500,
      maxNonces: 1000,
      keepAliveTimeoutMs: 10_000,
    };
    const local: ServerOptions = { insecureNoAuth: true, rateLimit: false, logger: true };
    void [options, local];
    // @ts-expect-error a typo
    const typo: ServerOptions = { accesKeys: {} };
    void typo;
  });

  test('the pipeline calls the server added to the service', () => {
    expectTypeOf(service.searchPipeline({ State: 'Paused', PageNumber: '2', PageSize: 10 })).toEqualTypeOf<
      Promise<SearchPipelineResponse>
    >();
    expectTypeOf(service.deletePipeline({ PipelineId: 'abc' })).toEqualTypeOf<Promise<DeletePipelineResponse>>();
    // @ts-expect-error not a pipeline state
    void service.searchPipeline({ State: 'Stopped' });
  });
});
