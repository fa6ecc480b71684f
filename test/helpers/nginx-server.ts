/**
 * A real nginx for the tests (Debian's package, which the setup script
 * installs), run as the test user's own process: a generated nginx.conf in a
 * temporary folder (pid file, logs and nginx's temp paths there too), serving
 * one folder on a free loopback port over HTTP and, when asked, over HTTPS
 * with a throwaway self-signed certificate. nginx serves byte ranges of static
 * files itself, and its access log records each request, its Range header, the
 * status and the body bytes sent, so a test can assert what a remote read cost.
 *
 *   const web = await startNginx({ root: folder, https: true });   // stop() it yourself
 *   ... fetch(`${web.url}/clip.mp4`), https.get(`${web.httpsUrl}/clip.mp4`, { ca: web.caPem }) ...
 *   const requests = await web.accessLog();
 *   await web.stop();
 *
 *   // one server per test file (beforeAll/afterAll), serving the files named
 *   const web = nginxForFile(async () => ({ 'clip.mp4': await fixture('h264') }), { https: true });
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll } from 'vitest';

import { exited, freePort } from './server-process.js';

export interface NginxOptions {
  /** The folder served at the root of the server. */
  root: string;
  /** Also serve over HTTPS, on a second port, with a self-signed certificate for 127.0.0.1 and localhost. */
  https?: boolean;
  /** More of nginx's configuration inside the server block: `location` blocks that redirect, refuse, ignore ranges. */
  locations?: string;
}

/** One request as nginx's access log records it. */
export interface AccessLogEntry {
  /** 'http' or 'https'. */
  scheme: string;
  /** The request line, as 'GET /clip.mp4 HTTP/1.1'. */
  request: string;
  method: string;
  /** The path and query, as sent. */
  uri: string;
  /** The Range header, '' when there was none. */
  range: string;
  status: number;
  /** Bytes of the response body nginx sent (what a client that closes early did not all read). */
  bytesSent: number;
  /** nginx's serial number of the connection: equal numbers are requests on one reused connection. */
  connection: number;
  /** Which request this was on its connection, from 1. */
  connectionRequest: number;
}

export interface NginxServer {
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  /** https://127.0.0.1:PORT when started with `https: true`. */
  httpsUrl?: string;
  /** The self-signed certificate (PEM) to trust, when started with `https: true`. */
  caPem?: string;
  /** The file holding caPem. */
  caFile?: string;
  /** Every request logged so far, in order, once all requests answered before the call are logged. */
  accessLog(): Promise<AccessLogEntry[]>;
  /** Stops nginx (SIGTERM, then SIGKILL after 5 s) and removes its folder. */
  stop(): Promise<void>;
}

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
function answersBarrier(port: number): Promise<boolean> {
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
async function makeCertificate(dir: string): Promise<{ cert: string; key: string }> {
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
function quoted(path: string): string {
  return `"${path.replace(/["\\]/g, (character) => `\\${character}`)}"`;
}

function config(
  dir: string,
  root: string,
  port: number,
  https: { port: number; cert: string; key: string } | undefined,
  locations: string,
): string {
  // Run as root (a container), nginx's workers would switch to `nobody`, who cannot read a test's
  // private temp folders; as anyone else nginx ignores the directive, so name it only then.
  const user = process.getuid?.() === 0 ? `user ${userInfo().username};` : '';
  const tls =
    https === undefined
      ? ''
      : `listen 127.0.0.1:${https.port} ssl;
         ssl_certificate ${quoted(https.cert)};
         ssl_certificate_key ${quoted(https.key)};`;
  // One worker: the access-log barrier relies on every request going through one event loop.
  // Debian's build puts its temp paths under /var/lib/nginx; the test user cannot write there.
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

async function startOnce(options: NginxOptions): Promise<NginxServer | { failed: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'framesnap-nginx-'));
  const port = await freePort();
  let https: { port: number; cert: string; key: string } | undefined;
  if (options.https === true) {
    try {
      https = { port: await freePort(), ...(await makeCertificate(dir)) };
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`openssl could not make a test certificate (${(error as Error).message})`, { cause: error });
    }
  }
  const configPath = join(dir, 'nginx.conf');
  writeFileSync(configPath, config(dir, options.root, port, https, options.locations ?? ''));
  // -e: the error log before the configuration is read (Debian's default is stderr; keep it in the folder too).
  // setpriv (util-linux) has the kernel send nginx SIGTERM, its fast shutdown, when this process dies in
  // any way: vitest may end a test fork without an 'exit' event, and nginx would outlive it.
  // prettier-ignore
  const child = spawn('setpriv', [
    '--pdeathsig', 'TERM', '--', 'nginx', '-p', dir, '-c', configPath, '-e', join(dir, 'error.log'), '-g', 'daemon off;',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  // A test process that exits without stop() (a failed beforeAll) leaves no server behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const errorLog = (): string => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8').trim();
    } catch {
      return '';
    }
  };
  const stop = async (): Promise<void> => {
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
  const accessLog = async (): Promise<AccessLogEntry[]> => {
    if (!(await answersBarrier(port))) throw new Error(`nginx does not answer on port ${port}\n${errorLog()}`);
    const text = readFileSync(join(dir, 'access.log'), 'utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as AccessLogEntry);
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError !== undefined) {
      await stop();
      throw new Error(`nginx could not start (${spawnError.message}); install the nginx package (npm run setup)`);
    }
    // 127: setpriv found no nginx to run.
    if (child.exitCode === 127) {
      await stop();
      throw new Error(`nginx could not start (${output.trim()}); install the nginx package (npm run setup)`);
    }
    // Exited at once: most likely another process took a port in between; the caller tries again.
    if (child.exitCode !== null || child.signalCode !== null) {
      const failed = `${output}\n${errorLog()}`.trim();
      await stop();
      return { failed };
    }
    if (await answersBarrier(port)) {
      const server: NginxServer = { url: `http://127.0.0.1:${port}`, accessLog, stop };
      if (https !== undefined) {
        server.httpsUrl = `https://127.0.0.1:${https.port}`;
        server.caPem = readFileSync(https.cert, 'utf8');
        server.caFile = https.cert;
      }
      return server;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const failed = `no answer within ${START_TIMEOUT_MS} ms\n${output}\n${errorLog()}`.trim();
  await stop();
  return { failed };
}

/** Starts nginx serving `root` on free loopback ports; resolves once it answers. */
export async function startNginx(options: NginxOptions): Promise<NginxServer> {
  let failure = '';
  for (let tries = 0; tries < 3; tries++) {
    const started = await startOnce(options);
    if (!('failed' in started)) return started;
    failure = started.failed;
  }
  throw new Error(`nginx did not start:\n${failure}`);
}

/**
 * One nginx for the whole test file: call at the top level of the file; the
 * server starts before its first test, serving a folder of links named after
 * the keys of what `files` gives (paths of fixtures), and stops after its last
 * test. The returned function gives the server inside tests and hooks.
 */
export function nginxForFile(
  files: () => Promise<Record<string, string>> | Record<string, string>,
  options: Omit<NginxOptions, 'root'> = {},
): () => NginxServer {
  let server: NginxServer | undefined;
  let root: string | undefined;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'framesnap-web-'));
    for (const [name, path] of Object.entries(await files())) symlinkSync(path, join(root, name));
    server = await startNginx({ ...options, root });
  });
  afterAll(async () => {
    await server?.stop();
    server = undefined;
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  });
  return () => {
    if (server === undefined) throw new Error('nginxForFile(): the server starts in beforeAll; use it inside tests and hooks');
    return server;
  };
}
