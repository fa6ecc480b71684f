/**
 * The official SDK (@alicloud/mts20140618) against a framesnap server the
 * test starts on a free loopback port (serve*.test.ts).
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

import type { FastifyInstance } from 'fastify';

import { SnapshotService, type SnapshotServiceOptions } from '../../dist/index.js';
import { createServer, type ServerOptions } from '../../dist/server/index.js';

const require = createRequire(import.meta.url);
/** The SDK is CommonJS; its default export is the client class. */
export const Mts = require('@alicloud/mts20140618') as typeof import('@alicloud/mts20140618');
const { $OpenApiUtil } = require('@alicloud/openapi-core') as typeof import('@alicloud/openapi-core');
export type MtsClient = InstanceType<typeof Mts.default>;

export const ACCESS_KEY_ID = 'testAccessKeyId';
export const ACCESS_KEY_SECRET = 'testAccessKeySecret';

export interface ClientOptions {
  accessKeyId?: string;
  accessKeySecret?: string;
  signatureAlgorithm?: 'v2' | 'v3';
}

/** The SDK configured as docs/server.md says: endpoint host:port, protocol http, the keys; nothing else. */
export function sdkClient(port: number, options: ClientOptions = {}): MtsClient {
  return new Mts.default(
    new $OpenApiUtil.Config({
      accessKeyId: options.accessKeyId ?? ACCESS_KEY_ID,
      accessKeySecret: options.accessKeySecret ?? ACCESS_KEY_SECRET,
      regionId: 'cn-hangzhou',
      protocol: 'http',
      endpoint: `127.0.0.1:${port}`,
      ...(options.signatureAlgorithm === 'v2' ? { signatureAlgorithm: 'v2' } : {}),
    }),
  );
}

export interface Served {
  service: SnapshotService;
  server: FastifyInstance;
  port: number;
  client(options?: ClientOptions): MtsClient;
  close(): Promise<void>;
}

/** A service and its server listening on 127.0.0.1 (a free port); close() stops both. */
export async function serve(serviceOptions: SnapshotServiceOptions, serverOptions: ServerOptions = {}): Promise<Served> {
  const service = new SnapshotService(serviceOptions);
  const server = createServer(service, {
    ...(serverOptions.insecureNoAuth === true ? {} : { accessKeys: { [ACCESS_KEY_ID]: ACCESS_KEY_SECRET } }),
    ...serverOptions,
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.server.address() as AddressInfo;
  return {
    service,
    server,
    port,
    client: (options) => sdkClient(port, options),
    close: async () => {
      await server.close();
      await service.close();
    },
  };
}

/** What the SDK threw: its own error class and fields (MTS-WIRE.md section 5). */
export interface SdkFailure {
  name: string;
  code: string;
  statusCode: number;
  data: Record<string, unknown>;
  retryAfter?: number;
  message: string;
}

/** The error a call rejects with (fails the test if it resolves). */
export async function sdkFailure(call: () => Promise<unknown>): Promise<SdkFailure> {
  try {
    await call();
  } catch (error) {
    return error as SdkFailure;
  }
  throw new Error('the call succeeded');
}
