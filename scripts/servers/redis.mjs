// A real redis-server for the tests (test/helpers/redis-server.ts) and the
// benchmark (bench/stores.mjs): Debian's package, which `npm run setup`
// installs, started on a free loopback port with its own temporary folder and
// no persistence, and stopped afterwards. No caller depends on a server the
// machine happened to have.
//
//   const redis = await startRedis();   // { url, port, pid, stop() }
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { answersLine, freePort, processGroup, startWithRetries, waitUntilReady } from './process.mjs';

const START_TIMEOUT_MS = 10_000;

async function startOnce() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'framesnap-redis-'));
  const group = processGroup(dir);
  // prettier-ignore
  const child = group.launch('redis-server', 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--daemonize', 'no', '--maxmemory-policy', 'noeviction',
  ], 'TERM');
  const failure = await waitUntilReady(group, {
    server: 'redis-server',
    install: 'install the redis-server package (npm run setup)',
    timeoutMs: START_TIMEOUT_MS,
    intervalMs: 50,
    ready: () => answersLine(port, 'PING', '+PONG'),
  });
  return failure ?? { url: `redis://127.0.0.1:${port}`, port, pid: child.pid, stop: group.stop };
}

/**
 * Starts a redis-server on a free loopback port; resolves, once it answers
 * PING, with { url (redis://127.0.0.1:PORT), port, pid, stop() }. stop():
 * SIGTERM, then SIGKILL after 5 s, and the folder removed. An error with code
 * ENOENT: no redis-server (or setpriv) here.
 */
export function startRedis() {
  return startWithRetries('redis-server', startOnce);
}
