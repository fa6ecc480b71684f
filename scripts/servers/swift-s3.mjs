// A real S3 server for the tests (test/helpers/swift-s3.ts) and the
// benchmark (bench/remote.mjs): OpenStack Swift 2.30 with its s3api
// middleware, from Debian's python3-swift and memcached packages (which
// `npm run setup` installs). Unlike a fake, it checks SigV4 signatures
// (headers and presigned URLs) and serves ranges correctly. Everything runs
// as this user's own processes on free loopback ports, in one temporary
// folder: memcached (tempauth keeps its tokens there), the account, container
// and object servers (one device, one replica each) and the proxy.
//
//   const s3 = await startSwiftS3({ accessLog: true });   // accessLog: to count requests
//   new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true,
//     credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
//     requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
//   const requests = await s3.accessLog();   // every request the proxy answered so far
//   await s3.stop();
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';

import { answersLine, freePort, missingPackage, processGroup, startWithRetries, waitUntilReady } from './process.mjs';

/** Debian's interpreter, which has python3-swift; a pyenv or venv python on the PATH would not. */
const PYTHON = '/usr/bin/python3';
const START_TIMEOUT_MS = 30_000;
const BACKENDS = ['account', 'container', 'object'];
const INSTALL = 'install python3-swift and memcached (npm run setup)';

const run = promisify(execFile);

/**
 * Builds the three rings (one device, one replica, 2^6 partitions) with
 * Swift's own RingBuilder, after checking that the device folder takes user
 * xattrs: the object server keeps each object's metadata in them.
 */
const PREPARE_PY = `
import json, os, sys
from swift.common.ring import RingBuilder
swift_dir, ports = sys.argv[1], json.loads(sys.argv[2])
device = os.path.join(swift_dir, 'devices', 'd0')
os.makedirs(device)
probe = os.path.join(device, 'xattr-probe')
open(probe, 'w').close()
try:
    os.setxattr(probe, 'user.swift.metadata', b'probe')
except OSError as error:
    sys.exit('%s takes no user xattrs (%s): Swift needs them; point TMPDIR at ext4 or xfs' % (swift_dir, error))
os.remove(probe)
for name, port in ports.items():
    builder = RingBuilder(6, 1, 1)
    builder.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port, 'device': 'd0', 'weight': 100})
    builder.rebalance()
    builder.get_ring().save(os.path.join(swift_dir, name + '.ring.gz'))
`;

/**
 * Runs one Swift server in this process (workers = 0). Swift reads its hash
 * prefix, suffix and storage policies from /etc/swift/swift.conf, a constant
 * in swift.common.utils; pointing it at the server's folder before the server
 * loads (as Swift's own in-process tests do) keeps /etc out of it.
 */
const SERVER_PY = `
import sys
from swift.common import utils
utils.SWIFT_CONF_FILE = sys.argv[1]
from swift.common import constraints, storage_policy
constraints.reload_constraints()
storage_policy.reload_storage_policies()
from swift.common.wsgi import run_wsgi
sys.exit(run_wsgi(sys.argv[2], sys.argv[3], verbose=True))
`;

/** Whether a Swift server on `port` answers HTTP at all (a backend answers GET / with 400: its app is loaded). */
function answersHttp(port) {
  return new Promise((resolve) => {
    const probe = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 2000 }, (response) => {
      response.resume();
      response.once('end', () => resolve(true));
    });
    probe.once('timeout', () => probe.destroy());
    probe.once('error', () => resolve(false));
    probe.end();
  });
}

function serverConfig(dir, port, body) {
  // `user`: Swift switches to it (as root) or checks it; Debian's `swift` user comes with the server packages, not python3-swift.
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
mount_check = false
devices = ${join(dir, 'devices')}
swift_dir = ${dir}
user = ${userInfo().username}
disable_fallocate = true
log_level = WARNING
${body}`;
}

function backendConfig(dir, name, port) {
  return serverConfig(
    dir,
    port,
    `[pipeline:main]
pipeline = ${name}-server

[app:${name}-server]
use = egg:swift#${name}
`,
  );
}

/**
 * The proxy's access log line (proxy_logging's log_msg_template), sent as
 * syslog datagrams to a UDP port of this process: one per request the proxy
 * answered (the client's, and the subrequests of its middleware, which name a
 * source). Values are URL-quoted, so spaces part them.
 */
const ACCESS_MARK = 'framesnap-access';
const ACCESS_TEMPLATE = `${ACCESS_MARK} {method} {path} {status_int} {bytes_recvd} {bytes_sent} {source} {request_time}`;

/** proxy_logging's settings that send the access log to `port`. */
function accessLogConfig(port) {
  return `access_log_level = INFO
access_log_udp_host = 127.0.0.1
access_log_udp_port = ${port}
log_msg_template = ${ACCESS_TEMPLATE}
`;
}

/** The proxy's configuration; `accessLogPort` undefined: no access log of this process's. */
function proxyConfig(dir, port, memcachedPort, accessLogPort) {
  return serverConfig(
    dir,
    port,
    `[pipeline:main]
pipeline = catch_errors proxy-logging cache s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
# tempauth's accounts exist once first used
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:proxy-logging]
use = egg:swift#proxy_logging
${accessLogPort === undefined ? '' : accessLogConfig(accessLogPort)}
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${memcachedPort}

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
`,
  );
}

const SWIFT_CONF = (prefix, suffix) => `[swift-hash]
swift_hash_path_prefix = ${prefix}
swift_hash_path_suffix = ${suffix}

[storage-policy:0]
name = Policy-0
default = yes
`;

/** Whether a ListBuckets through the proxy succeeds: signature checked, tempauth, memcached and the account server all answer. */
async function s3Answers(client) {
  try {
    await client.send(new ListBucketsCommand({}));
    return true;
  } catch {
    return false;
  }
}

/** One access log datagram as { method, path (without its query), status, bytesReceived, bytesSent, source, seconds }; null for another line. */
function parseAccessLine(datagram) {
  const text = datagram.toString('utf8');
  const at = text.indexOf(`${ACCESS_MARK} `);
  if (at < 0) return null;
  const [method, path, status, received, sent, source, seconds] = text
    .slice(at + ACCESS_MARK.length + 1)
    .trim()
    .split(' ');
  const count = (value) => (value === '-' ? 0 : Number(value));
  return {
    method,
    path: decodeURIComponent(path).split('?')[0],
    status: Number(status),
    bytesReceived: count(received),
    bytesSent: count(sent),
    source: source === '-' ? null : source,
    seconds: Number(seconds),
  };
}

/** A UDP socket on a free loopback port that keeps the proxy's access log lines. */
function accessLogSocket() {
  const socket = createSocket('udp4');
  const entries = [];
  const waiters = new Set();
  socket.on('message', (datagram) => {
    const entry = parseAccessLine(datagram);
    if (entry === null) return;
    entries.push(entry);
    for (const waiter of waiters) waiter(entry);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      // A datagram that cannot be read is dropped, not a crash.
      socket.on('error', () => {});
      resolve({
        socket,
        entries,
        port: socket.address().port,
        /** Resolves once an entry for `path` has come (or after `timeoutMs`, false). */
        waitFor: (path, timeoutMs) =>
          new Promise((done) => {
            if (entries.some((entry) => entry.path === path)) return done(true);
            const timer = setTimeout(() => {
              waiters.delete(waiter);
              done(false);
            }, timeoutMs);
            const waiter = (entry) => {
              if (entry.path !== path) return;
              clearTimeout(timer);
              waiters.delete(waiter);
              done(true);
            };
            waiters.add(waiter);
          }),
      });
    });
  });
}

let barriers = 0;

/**
 * Every request the proxy logged so far, in order, after a barrier: an
 * unsigned request of its own (refused by the proxy at once), whose log line
 * comes after those of the requests answered before it (one proxy process;
 * it logs a request as it finishes its answer). Barrier lines are left out.
 */
async function accessLog(port, log) {
  const path = `/framesnap-barrier-${process.pid}-${++barriers}`;
  await new Promise((resolve, reject) => {
    const probe = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (response) => {
      response.resume();
      response.once('end', resolve);
    });
    probe.once('timeout', () => probe.destroy(new Error('the Swift proxy did not answer the access-log barrier within 5 s')));
    probe.once('error', reject);
    probe.end();
  });
  if (!(await log.waitFor(path, 5000))) throw new Error('no access log line for the barrier request within 5 s');
  return log.entries.filter((entry) => !entry.path.startsWith('/framesnap-barrier-'));
}

async function startOnce({ accessLog: wantAccessLog = false }) {
  const log = wantAccessLog ? await accessLogSocket() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'framesnap-swift-'));
  const group = processGroup(dir);
  if (log !== undefined) group.onStop(() => log.socket.close());
  const ports = { memcached: 0, proxy: 0, account: 0, container: 0, object: 0 };
  for (const name of Object.keys(ports)) ports[name] = await freePort();

  try {
    const rings = { account: ports.account, container: ports.container, object: ports.object };
    await run(PYTHON, ['-c', PREPARE_PY, dir, JSON.stringify(rings)]);
  } catch (error) {
    await group.stop();
    const reason = error.stderr?.trim() || error.message;
    const message = `Swift's rings could not be built (${reason}); install python3-swift (npm run setup)`;
    if (error.code === 'ENOENT' || /No module named '?swift/.test(reason)) throw missingPackage(message, 'ENOENT', { cause: error });
    throw new Error(message, { cause: error });
  }
  const swiftConf = join(dir, 'swift.conf');
  writeFileSync(swiftConf, SWIFT_CONF(`framesnap-${process.pid}`, 'test'));

  // SIGKILL when this process dies: Swift's servers start sessions of their own.
  // memcached refuses to run as root unless told which user to be.
  const asRoot = process.getuid?.() === 0 ? ['-u', userInfo().username] : [];
  group.launch('memcached', 'memcached', ['-l', '127.0.0.1', '-p', String(ports.memcached), '-U', '0', '-m', '16', ...asRoot], 'KILL');
  for (const name of BACKENDS) {
    const confPath = join(dir, `${name}-server.conf`);
    writeFileSync(confPath, backendConfig(dir, name, ports[name]));
    group.launch(name, PYTHON, ['-c', SERVER_PY, swiftConf, confPath, `${name}-server`], 'KILL');
  }
  const proxyConf = join(dir, 'proxy-server.conf');
  writeFileSync(proxyConf, proxyConfig(dir, ports.proxy, ports.memcached, log?.port));
  group.launch('proxy', PYTHON, ['-c', SERVER_PY, swiftConf, proxyConf, 'proxy-server'], 'KILL');

  const server = {
    endpoint: `http://127.0.0.1:${ports.proxy}`,
    region: 'us-east-1',
    accessKeyId: 'test:tester',
    secretAccessKey: 'testing',
    stop: group.stop,
  };
  if (log !== undefined) server.accessLog = () => accessLog(ports.proxy, log);
  const client = new S3Client({
    ...s3ClientConfig(server),
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 2000, requestTimeout: 5000 },
  });
  const ready = { memcached: false, account: false, container: false, object: false };
  try {
    const failure = await waitUntilReady(group, {
      server: 'Swift',
      install: INSTALL,
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: 100,
      ready: async () => {
        ready.memcached ||= await answersLine(ports.memcached, 'version', 'VERSION');
        for (const name of BACKENDS) ready[name] ||= await answersHttp(ports[name]);
        return (Object.values(ready).every(Boolean) && (await s3Answers(client))) || `S3 not yet; ready: ${JSON.stringify(ready)}`;
      },
    });
    return failure ?? server;
  } finally {
    client.destroy();
  }
}

/**
 * Starts Swift with s3api on free loopback ports; resolves once a signed S3
 * call succeeds, with { endpoint, region, accessKeyId, secretAccessKey,
 * accessLog(), stop() }: tempauth's user test:tester, an admin of the
 * account AUTH_test; path-style addressing only. stop(): SIGTERM to every
 * server, SIGKILL after 5 s, and the folder removed. An error with code
 * ENOENT: no python3-swift or memcached (or setpriv) here.
 *
 * Option `accessLog`: the proxy sends its access log to this process, and
 * accessLog() resolves with every request it answered so far: [{ method,
 * path, status, bytesReceived, bytesSent, source, seconds }], source null for
 * a client's request, else the middleware that made it (s3api's and
 * tempauth's own checks). Without it there is no accessLog().
 */
/**
 * The @aws-sdk/client-s3 configuration of an administrator client of the
 * server: path-style, the tempauth user's keys, checksums only when required
 * (Swift refuses aws-chunked uploads).
 * @param {{ endpoint: string, region: string, accessKeyId: string, secretAccessKey: string }} server
 */
export function s3ClientConfig(server) {
  return {
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

export function startSwiftS3(options = {}) {
  return startWithRetries('Swift', () => startOnce(options));
}
