/**
 * A real nginx for the tests: the launcher the benchmark uses too
 * (scripts/servers/nginx.mjs, plain JS), with its types and vitest's hooks.
 * Debian's nginx, run as the test user's own process on free loopback ports,
 * serving one folder over HTTP and, when asked, over HTTPS with a throwaway
 * self-signed certificate. nginx serves byte ranges of static files itself,
 * and its access log records each request, its Range header, the status and
 * the body bytes sent, so a test can assert what a remote read cost.
 *
 *   const web = await startNginx({ root: folder, https: true });   // stop() it yourself
 *   ... fetch(`${web.url}/clip.mp4`), https.get(`${web.httpsUrl}/clip.mp4`, { ca: web.caPem }) ...
 *   const requests = await web.accessLog();
 *   await web.stop();
 *
 *   // one server per test file (beforeAll/afterAll), serving the files named
 *   const web = nginxForFile(async () => ({ 'clip.mp4': await fixture('h264') }), { https: true });
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll } from 'vitest';

import { startNginx as start } from '../../scripts/servers/nginx.mjs';

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

/** Starts nginx serving `root` on free loopback ports; resolves once it answers. */
export function startNginx(options: NginxOptions): Promise<NginxServer> {
  return start(options);
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
