// A real nginx for the benchmark (Debian's package, which `npm run setup`
// installs), run as this user's own process: a generated nginx.conf in a
// temporary folder (pid file, logs and nginx's temp paths there too), serving
// one folder on a free loopback port. nginx serves byte ranges of static files
// itself and logs every request as a line of JSON (request, Range header,
// status, body bytes sent, connection and its request count), so a case can
// say what a remote read cost the server.
//
// The same configuration as the tests' helper (test/helpers/nginx-server.ts),
// which the benchmark does not import (TypeScript, and vitest hooks).
//
//   const web = await startNginx(folder);
//   ... fetch(`${web.url}/clip.mp4`) ...
//   const requests = await web.accessLog();   // every request answered so far
//   await web.stop();
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const START_TIMEOUT_MS = 10_000;

/**
 * A path answered by nginx itself, never logged. A request to it goes through
 * the single worker after every request whose response a client already has,
 * and nginx logs a request in the same event handler that sends its last
 * bytes, so once it is answered the access log holds all of them.
 */
const BARRIER_PATH = '/.framesnap-nginx-barrier';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Whether nginx answers the barrier path on `port` with 204 (no keep-alive: nothing stays open). */
function answersBarrier(port) {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path: BARRIER_PATH, agent: false, timeout: 2000 }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode === 204));
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(false));
  });
}

/** A path as an nginx string: double quotes, with backslashes and quotes escaped. */
const quoted = (path) => `"${path.replace(/["\\]/g, (character) => `\\${character}`)}"`;

function config(dir, root, port) {
  // Run as root (a container), nginx's workers would switch to `nobody`, who cannot read
  // private temp folders; as anyone else nginx ignores the directive, so name it only then.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};` : '';
  // One worker: the access-log barrier relies on every request going through one event loop.
  // Debian's build puts its temp paths under /var/lib/nginx, which this user may not write.
  return `
${user}
worker_processes 1;
pid ${quoted(join(dir, 'nginx.pid'))};
error_log ${quoted(join(dir, 'error.log'))} warn;
events { worker_connections 256; }
http {
  types {
    video/mp4 mp4 m4v;
    image/jpeg jpg;
  }
  default_type application/octet-stream;
  sendfile on;
  client_body_temp_path ${quoted(join(dir, 'client_body'))};
  proxy_temp_path ${quoted(join(dir, 'proxy'))};
  fastcgi_temp_path ${quoted(join(dir, 'fastcgi'))};
  uwsgi_temp_path ${quoted(join(dir, 'uwsgi'))};
  scgi_temp_path ${quoted(join(dir, 'scgi'))};
  log_format framesnap escape=json '{"request":"$request","range":"$http_range","status":$status,'
    '"bytesSent":$body_bytes_sent,"connection":$connection,"connectionRequest":$connection_requests}';
  access_log ${quoted(join(dir, 'access.log'))} framesnap;
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    root ${quoted(root)};
    location = ${BARRIER_PATH} {
      access_log off;
      return 204;
    }
  }
}
`;
}

async function startOnce(root) {
  const dir = mkdtempSync(join(tmpdir(), 'framesnap-bench-nginx-'));
  const port = await freePort();
  const configPath = join(dir, 'nginx.conf');
  writeFileSync(configPath, config(dir, root, port));
  // setpriv (util-linux) has the kernel send nginx SIGTERM, its fast shutdown, when this process dies
  // in any way, so a crashed benchmark leaves no server behind.
  // prettier-ignore
  const child = spawn('setpriv', [
    '--pdeathsig', 'TERM', '--', 'nginx', '-p', dir, '-c', configPath, '-e', join(dir, 'error.log'), '-g', 'daemon off;',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  let spawnError;
  child.once('error', (error) => (spawnError = error));
  const killOnExit = () => void child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8').trim();
    } catch {
      return '';
    }
  };
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      // SIGTERM is nginx's fast shutdown: open keep-alive connections do not hold it up.
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited(child);
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  /** Every request logged so far, in order: [{ request, range, status, bytesSent, connection, connectionRequest }]. */
  const accessLog = async () => {
    if (!(await answersBarrier(port))) throw new Error(`nginx does not answer on port ${port}\n${errorLog()}`);
    return readFileSync(join(dir, 'access.log'), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError !== undefined) {
      await stop();
      throw Object.assign(new Error(`nginx could not start (${spawnError.message}); install the nginx package (npm run setup)`), {
        code: spawnError.code,
      });
    }
    // 127: setpriv found no nginx to run.
    if (child.exitCode === 127) {
      await stop();
      throw Object.assign(new Error(`nginx could not start (${output.trim()}); install the nginx package (npm run setup)`), {
        code: 'ENOENT',
      });
    }
    // Exited at once: most likely another process took the port in between; the caller tries again.
    if (child.exitCode !== null || child.signalCode !== null) {
      const failed = `${output}\n${errorLog()}`.trim();
      await stop();
      return { failed };
    }
    if (await answersBarrier(port)) return { url: `http://127.0.0.1:${port}`, pid: child.pid, accessLog, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const failed = `no answer within ${START_TIMEOUT_MS} ms\n${output}\n${errorLog()}`.trim();
  await stop();
  return { failed };
}

/**
 * Starts nginx serving the folder `root` on a free loopback port; resolves,
 * once it answers, with { url, pid, accessLog(), stop() }. An error with code
 * ENOENT: no nginx (or setpriv) here.
 */
export async function startNginx(root) {
  let failure = '';
  for (let tries = 0; tries < 3; tries++) {
    const started = await startOnce(root);
    if (!('failed' in started)) return started;
    failure = started.failed;
  }
  throw new Error(`nginx did not start:\n${failure}`);
}
