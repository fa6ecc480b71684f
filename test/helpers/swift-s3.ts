/**
 * A real S3 server for the tests: the launcher the benchmark uses too
 * (scripts/servers/swift-s3.mjs, plain JS), with its types and vitest's
 * hooks. OpenStack Swift 2.30 with its s3api middleware, from Debian's
 * python3-swift and memcached packages. Unlike a fake, it checks SigV4
 * signatures (headers and presigned URLs) and serves ranges correctly; it
 * runs as the test user's own processes on free loopback ports.
 *
 *   const s3 = await startSwiftS3();   // one server, stop() it yourself
 *   const s3 = swiftS3ForFile();        // one server per test file (beforeAll/afterAll)
 *   const admin = new S3Client(s3ClientConfig(s3));
 */
import { afterAll, beforeAll } from 'vitest';

import type { S3ClientConfig } from '@aws-sdk/client-s3';

import { s3ClientConfig as clientConfig, startSwiftS3 as start } from '../../scripts/servers/swift-s3.mjs';

export interface SwiftS3Server {
  /** http://127.0.0.1:PORT: the proxy; path-style addressing only. */
  endpoint: string;
  region: 'us-east-1';
  /** tempauth's user `test:tester`, an admin of the account AUTH_test. */
  accessKeyId: 'test:tester';
  secretAccessKey: 'testing';
  /** Stops every server (SIGTERM, then SIGKILL after 5 s) and removes the folder. */
  stop(): Promise<void>;
}

/** An administrator client's configuration: path-style, the server's keys, checksums only when required. */
export function s3ClientConfig(server: SwiftS3Server): S3ClientConfig {
  return clientConfig(server) as S3ClientConfig;
}

/** Starts Swift with s3api on free loopback ports; resolves once a signed S3 call succeeds. */
export function startSwiftS3(): Promise<SwiftS3Server> {
  return start();
}

/**
 * One Swift server for the whole test file: call at the top level of the
 * file; the server starts before its first test and stops after its last.
 * Tests that share it keep apart by bucket names of their own.
 */
export function swiftS3ForFile(): () => SwiftS3Server {
  let server: SwiftS3Server | undefined;
  beforeAll(async () => {
    server = await startSwiftS3();
  });
  afterAll(async () => {
    await server?.stop();
    server = undefined;
  });
  return () => {
    if (server === undefined) throw new Error('swiftS3ForFile(): the server starts in beforeAll; use it inside tests and hooks');
    return server;
  };
}
