/**
 * A real redis-server for the tests: the launcher the benchmark uses too
 * (scripts/servers/redis.mjs, plain JS), with its types and vitest's hooks.
 * Debian's package, started on a free loopback port with its own temporary
 * folder, no persistence, and stopped afterwards. No test depends on a
 * server the machine happened to have.
 *
 *   const redis = await startRedis();   // one server, stop() it yourself
 *   const redis = redisForFile();        // one server per test file (beforeAll/afterAll)
 */
import { afterAll, beforeAll } from 'vitest';

import { startRedis as start } from '../../scripts/servers/redis.mjs';

export interface RedisServer {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its folder. */
  stop(): Promise<void>;
}

/** Starts a redis-server on a free loopback port; resolves once it answers PING. */
export function startRedis(): Promise<RedisServer> {
  return start();
}

/**
 * One redis-server for the whole test file: call at the top level of the
 * file; the server starts before its first test and stops after its last.
 * The returned function gives the server inside tests and hooks. Tests that
 * share it keep apart by a key prefix of their own.
 */
export function redisForFile(): () => RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
    server = undefined;
  });
  return () => {
    if (server === undefined) throw new Error('redisForFile(): the server starts in beforeAll; use it inside tests and hooks');
    return server;
  };
}
