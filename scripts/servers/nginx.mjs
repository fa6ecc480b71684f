// A real nginx for the tests (test/helpers/nginx-server.ts) and the benchmark
// (bench/remote.mjs): Debian's package, which `npm run setup` installs, run
// as this user's own process: a generated nginx.conf in a temporary folder
// (pid file, logs and nginx's temp paths there too), serving one folder on a
// free loopback port over HTTP and, when asked, over HTTPS with a throwaway
// self-signed certificate. nginx serves byte ranges of static files itself,
// and its access log records each request, its Range header, the status and
// the body bytes sent, so a caller can say what a remote read cost.
//
//   const web = await startNginx({ root: folder, https: true });
//   ... fetch(`${web.url}/clip.mp4`), https.get(`${web.httpsUrl}/clip.mp4`, { ca: web.caPem }) ...
//   const requests = await web.accessLog();   // every request answered so far
//   await web.stop();
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { freePort, processGroup, startWithRetries, waitUntilReady } from './process.mjs';

const START_TIMEOUT_MS = 10_000;

/**
 * A path answered by nginx itself, never logged. A request to it goes through
 * the single worker after every request whose response a client already has,
 * and nginx logs a request in the same event handler that sends its last
 * bytes, so once it is answered the access log holds all of them.
 */
const BARRIER_PATH = '/.framesnap-nginx-barrier';

const run = promisify(execFile);

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

/** A throwaway self-signed P-256 certificate for 127.0.0.1 and localhost, valid for a day. */
async function makeCertificate(dir) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  // prettier-ignore
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return { cert, key };
}

/** A path as an nginx string: double quotes, with backslashes and quotes escaped. */
function quoted(path) {
  return `"${path.replace(/["\\]/g, (character) => `\\${character}`)}"`;
}

/** nginx.conf; `https`: { port, cert, key } or undefined. */
function config(dir, root, port, https, locations) {
  // Run as root (a container), nginx's workers would switch to `nobody`, who cannot read
  // private temp folders; as anyone else nginx ignores the directive, so name it only then.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};` : '';
  const tls =
    https === undefined
      ? ''
      : `listen 127.0.0.1:${https.port} ssl;
         ssl_certificate ${quoted(https.cert)};
         ssl_certificate_key ${quoted(https.key)};`;
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
    video/mp4 mp4 m4v m4a;
    video/webm webm;
    video/x-matroska mkv;
    video/quicktime mov;
    video/mp2t ts;
    video/x-flv flv;
    image/jpeg jpg jpeg;
    text/plain txt;
  }
  default_type application/octet-stream;
  sendfile on;
  client_body_temp_path ${quoted(join(dir, 'client_body'))};
  proxy_temp_path ${quoted(join(dir, 'proxy'))};
  fastcgi_temp_path ${quoted(join(dir, 'fastcgi'))};
  uwsgi_temp_path ${quoted(join(dir, 'uwsgi'))};
  scgi_temp_path ${quoted(join(dir, 'scgi'))};
  log_format framesnap escape=json '{"scheme":"$scheme","request":"$request","method":"$request_method",'
    '"uri":"$request_uri","range":"$http_range","status":$status,"bytesSent":$body_bytes_sent,'
    '"connection":$connection,"connectionRequest":$connection_requests}';
  access_log ${quoted(join(dir, 'access.log'))} framesnap;
  server {
    listen 127.0.0.1:${port};
    ${tls}
    server_name localhost;
    root ${quoted(root)};
    location = ${BARRIER_PATH} {
      access_log off;
      return 204;
    }
    ${locations}
  }
}
`;
}

async function startOnce({ root, https: wantHttps = false, locations = '' }) {
  const dir = mkdtempSync(join(tmpdir(), 'framesnap-nginx-'));
  const port = await freePort();
  let https;
  if (wantHttps) {
    try {
      https = { port: await freePort(), ...(await makeCertificate(dir)) };
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`openssl could not make a certificate (${error.message})`, { cause: error });
    }
  }
  const configPath = join(dir, 'nginx.conf');
  writeFileSync(configPath, config(dir, root, port, https, locations));
  const group = processGroup(dir);
  // -e: the error log before the configuration is read (Debian's default is stderr; keep it in the folder too).
  // SIGTERM when this process dies: nginx's fast shutdown.
  // prettier-ignore
  const child = group.launch('nginx', 'nginx', [
    '-p', dir, '-c', configPath, '-e', join(dir, 'error.log'), '-g', 'daemon off;',
  ], 'TERM');

  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8').trim();
    } catch {
      return '';
    }
  };
  const accessLog = async () => {
    if (!(await answersBarrier(port))) throw new Error(`nginx does not answer on port ${port}\n${errorLog()}`);
    return readFileSync(join(dir, 'access.log'), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));
  };

  const failure = await waitUntilReady(group, {
    server: 'nginx',
    install: 'install the nginx package (npm run setup)',
    timeoutMs: START_TIMEOUT_MS,
    intervalMs: 50,
    ready: () => answersBarrier(port),
    details: errorLog,
  });
  if (failure !== null) return failure;
  // SIGTERM is nginx's fast shutdown: open keep-alive connections do not hold up stop().
  const server = { url: `http://127.0.0.1:${port}`, pid: child.pid, accessLog, stop: group.stop };
  if (https !== undefined) {
    server.httpsUrl = `https://127.0.0.1:${https.port}`;
    server.caPem = readFileSync(https.cert, 'utf8');
    server.caFile = https.cert;
  }
  return server;
}

/**
 * Starts nginx on free loopback ports; resolves once it answers. Options:
 * `root`, the folder served at the root of the server; `https`, also serve
 * over HTTPS, on a second port, with a self-signed certificate for 127.0.0.1
 * and localhost; `locations`, more of nginx's configuration inside the
 * server block (`location` blocks that redirect, refuse, ignore ranges).
 *
 * The server: { url, pid, httpsUrl, caPem, caFile (the file holding caPem),
 * accessLog(), stop() }. accessLog() resolves, once every request answered
 * before the call is logged, with them all in order: [{ scheme, request,
 * method, uri, range ('' for none), status, bytesSent (body bytes),
 * connection (nginx's serial number: equal on one reused connection),
 * connectionRequest (from 1) }]. stop(): SIGTERM, then SIGKILL after 5 s,
 * and the folder removed. An error with code ENOENT: no nginx (or setpriv)
 * here.
 */
export function startNginx(options) {
  return startWithRetries('nginx', () => startOnce(options));
}
