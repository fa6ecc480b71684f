/**
 * A real redis-server for the tests (Debian's package, which the setup
 * script installs): started on a free loopback port with its own temporary
 * folder, no persistence, and stopped afterwards. No test depends on a
 * server the machine happened to have.
 *
 *   const redis = await startRedis();   // one server, stop() it yourself
 *   const redis = redisForFile();        // one server per test file (beforeAll/afterAll)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll } from 'vitest';

import { exited, freePort } from './server-process.js';

export interface RedisServer {
  /** redis://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its folder. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

/** Whether a server on `port` answers PING with PONG (a plain RESP exchange, no client library). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

async function startOnce(): Promise<RedisServer | { failed: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'framesnap-redis-'));
  // Through setpriv (util-linux): the kernel stops the server when this
  // process dies, even when vitest ends a worker without its 'exit' event.
  // prettier-ignore
  const child = spawn('setpriv', [
    '--pdeathsig', 'TERM', '--', 'redis-server',
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--daemonize', 'no', '--maxmemory-policy', 'noeviction',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  // A test process that ends without stop() (a crash, a timeout) leaves no server behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited(child);
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError !== undefined) {
      await stop();
      throw new Error(`redis-server could not start (${spawnError.message}); install the redis-server package (npm run setup)`);
    }
    // Exited at once: most likely another process took the port in between; the caller tries another.
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      return { failed: output.trim() };
    }
    if (await answersPing(port)) return { url: `redis://127.0.0.1:${port}`, port, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  return { failed: `no answer to PING within ${START_TIMEOUT_MS} ms\n${output.trim()}` };
}

/** Starts a redis-server on a free loopback port; resolves once it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  let failure = '';
  for (let tries = 0; tries < 3; tries++) {
    const started = await startOnce();
    if (!('failed' in started)) return started;
    failure = started.failed;
  }
  throw new Error(`redis-server did not start:\n${failure}`);
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
