/**
 * The low-level API over http(s) URLs (issue 12, items 2 and 6): the same
 * answers as from the local file, read by bounded range requests from a real
 * nginx on loopback (its access log tells what each read cost), and every
 * bad URL or misbehaving server refused with its code and a message that
 * never holds the URL's query.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { ErrorCodes, probe, probeSync, snapshot, snapshots, snapshotsSync, snapshotSync, type SnapshotError } from '../dist/index.js';
import { fixture } from './fixtures.js';
import { nginxForFile, type AccessLogEntry, type NginxServer } from './helpers/nginx-server.js';

/**
 * /forbidden.mp4 answers 403, /failing.mp4 503; /no-ranges/NAME serves NAME whole whatever Range
 * asks (`max_ranges 0`); /moved.mp4 redirects to /clip.mp4, /to-metadata.mp4 to the cloud
 * metadata address, /to-localhost.mp4 to the same server by another name, /to-http.mp4 to plain
 * HTTP.
 */
const LOCATIONS = `
  location = /forbidden.mp4 { return 403; }
  location = /failing.mp4 { return 503; }
  location /no-ranges/ { max_ranges 0; rewrite ^/no-ranges/(.*)$ /$1 break; }
  location = /moved.mp4 { return 302 /clip.mp4; }
  location = /to-metadata.mp4 { return 302 http://169.254.169.254/latest/meta-data/; }
  location = /to-localhost.mp4 { return 302 http://localhost:$server_port/clip.mp4; }
  location = /to-http.mp4 { return 302 http://127.0.0.1/clip.mp4; }
`;

const web = nginxForFile(async () => ({ 'clip.mp4': await fixture('h264'), 'long.mp4': await fixture('long200s') }), {
  https: true,
  locations: LOCATIONS,
});

let server: NginxServer;
let clip: string;
let long: string;
const LAN = { allowPrivateNetwork: true } as const;

beforeAll(async () => {
  server = web();
  clip = await fixture('h264');
  long = await fixture('long200s');
});

/** The failure a call rejects or throws with, as { code, message }. */
async function failureOf(call: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await call();
  } catch (error) {
    const failure = error as SnapshotError;
    return { code: failure.code, message: failure.message };
  }
  throw new Error('expected the call to fail');
}

/** The requests nginx logged while `work` ran. */
async function requestsDuring(work: () => Promise<unknown>): Promise<AccessLogEntry[]> {
  const before = (await server.accessLog()).length;
  await work();
  return (await server.accessLog()).slice(before);
}

describe('URLs read like files', () => {
  test('probe over HTTP and HTTPS, async and blocking, equals the probe of the file', async () => {
    const local = await probe(clip);
    expect(await probe(`${server.url}/clip.mp4`, LAN)).toEqual(local);
    expect(probeSync(`${server.url}/clip.mp4`, LAN)).toEqual(local);
    expect(await probe(new URL(`${server.httpsUrl}/clip.mp4`), { ...LAN, caFile: server.caFile })).toEqual(local);
  });

  test('exact and keyframe snapshots over HTTP are the bytes of the same snapshots of the file', async () => {
    for (const options of [
      { time: 1500 },
      { time: 2300, frameType: 'intra' as const },
      { time: 700, width: 160, format: 'png' as const },
    ]) {
      const local = await snapshot(clip, { ...options, resolveWithObject: true });
      const remote = await snapshot(`${server.url}/clip.mp4`, { ...options, ...LAN, resolveWithObject: true });
      expect(remote.info).toEqual(local.info);
      expect(remote.data.equals(local.data)).toBe(true);
    }
  });

  test('a series over HTTPS (a URL object) and its blocking twin equal the series of the file', async () => {
    const times = [3000, 0, 1234, 2999];
    const local = await snapshots(clip, { times });
    const options = { times, ...LAN, caFile: server.caFile };
    for (const remote of [
      await snapshots(new URL(`${server.httpsUrl}/clip.mp4`), options),
      snapshotsSync(`${server.httpsUrl}/clip.mp4`, options),
    ]) {
      expect(remote.map(({ requestedMs, timeMs, keyframe }) => ({ requestedMs, timeMs, keyframe }))).toEqual(
        local.map(({ requestedMs, timeMs, keyframe }) => ({ requestedMs, timeMs, keyframe })),
      );
      remote.forEach((image, index) => expect(image.data.equals(local[index]!.data)).toBe(true));
    }
    expect(snapshotSync(`${server.url}/clip.mp4`, { time: 1500, ...LAN }).equals(await snapshot(clip, { time: 1500 }))).toBe(true);
  });

  test('a late exact snapshot reads a small part of the file by bounded ranges, on one connection', async () => {
    const size = readFileSync(long).length;
    let image: Buffer | undefined;
    const requests = await requestsDuring(async () => {
      image = await snapshot(`${server.url}/long.mp4`, { time: 195_500, ...LAN });
    });
    expect(image!.equals(await snapshot(long, { time: 195_500 }))).toBe(true);
    expect(requests.length).toBeGreaterThan(0);
    for (const request of requests) {
      expect(request).toMatchObject({ method: 'GET', uri: '/long.mp4', status: 206 });
      const [first, last] = /^bytes=(\d+)-(\d+)$/.exec(request.range)!.slice(1).map(Number) as [number, number];
      expect(last).toBeGreaterThanOrEqual(first);
      expect(request.bytesSent).toBe(Math.min(last, size - 1) - first + 1);
    }
    expect(new Set(requests.map((request) => request.connection)).size).toBe(1);
    // The moov, then the blocks from the keyframe at 190 s to the frame at
    // 195.5 s (512 KiB blocks, a 10 s GOP of this 200 s file): a third at most.
    const sent = requests.reduce((sum, request) => sum + request.bytesSent, 0);
    expect(sent).toBeLessThan(size / 3);
  });
});

test('a series opens the URL once for all its batches; the next call opens it again', async () => {
  // 20 times: three native calls (batches of at most 8), one open of the URL between them.
  const times = Array.from({ length: 20 }, (_, index) => 100_000 + index * 2000);
  const opens = (requests: AccessLogEntry[]): number => requests.filter((request) => request.range.startsWith('bytes=0-')).length;
  let images: Awaited<ReturnType<typeof snapshots>> = [];
  const series = await requestsDuring(async () => {
    images = await snapshots(`${server.url}/long.mp4`, { times, ...LAN });
  });
  expect(opens(series)).toBe(1);
  expect(new Set(series.map((request) => request.connection)).size).toBe(1);
  const local = await snapshots(long, { times });
  images.forEach((image, index) => expect(image.data.equals(local[index]!.data)).toBe(true));
  const again = await requestsDuring(() => snapshot(`${server.url}/long.mp4`, { time: times[19]!, ...LAN }));
  expect(opens(again)).toBe(1);
});

describe('framesnap snapshot URL', () => {
  const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
  const run = promisify(execFile);

  test('writes the frame read over HTTPS with --ca-file and --allow-private-network; refuses the private address without', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'framesnap-cli-url-'));
    try {
      const out = join(dir, 'frame.jpg');
      const url = `${server.httpsUrl}/clip.mp4?sig=secret`;
      const { stdout } = await run(process.execPath, [
        cli,
        'snapshot',
        url,
        '--time',
        '1500',
        '-o',
        out,
        '--json',
        '--allow-private-network',
        '--ca-file',
        server.caFile!,
      ]);
      expect(JSON.parse(stdout)).toMatchObject({ file: url, timeMs: 1520, keyframe: false, width: 320, height: 240 });
      expect(readFileSync(out).equals(await snapshot(clip, { time: 1500 }))).toBe(true);
      const refused = await run(process.execPath, [cli, 'snapshot', url, '--time', '1500', '-o', out]).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(refused?.stderr).toContain(`${server.httpsUrl}/clip.mp4: the URL's host is on a loopback, private or link-local network`);
      expect(refused?.stderr).not.toContain('secret');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bad URLs and misbehaving servers', () => {
  test.each([
    ['ftp://example.com/clip.mp4', 'path is a URL of scheme ftp:; only https: and http: URLs are read (or give a file path)'],
    ['file:///etc/passwd', 'path is a URL of scheme file:; only https: and http: URLs are read (or give a file path)'],
    ['HTTP://user:secret@example.com/clip.mp4', 'path holds a user name or password; credentials in URLs are not sent'],
    ['http://[::1/clip.mp4?sig=secret', 'path is not a valid URL'],
  ])('%s is refused before any request', async (url, message) => {
    for (const call of [() => snapshot(url, { time: 0 }), () => probe(url), () => snapshotSync(url, { time: 0 })]) {
      expect(await failureOf(call)).toEqual({ code: ErrorCodes.InvalidParameter, message });
    }
  });

  test('a URL object of another scheme is refused', async () => {
    expect(await failureOf(() => probe(new URL('data:video/mp4;base64,AAAA')))).toEqual({
      code: ErrorCodes.InvalidParameter,
      message: 'path is a URL of scheme data:; only https: and http: URLs are read (or give a file path)',
    });
  });

  test.each(['127.0.0.1:1', '169.254.169.254', '10.1.2.3', '192.168.0.1', '172.16.5.4', '[::1]', '[fd12::1]', '[fe80::1]', 'localhost:1'])(
    'a request to %s is refused without allowPrivateNetwork',
    async (host) => {
      expect(await failureOf(() => snapshot(`http://${host}/latest/meta-data?token=secret`, { time: 0 }))).toEqual({
        code: ErrorCodes.PermissionDenied,
        message: `http://${host}/latest/meta-data: the URL's host is on a loopback, private or link-local network, which is refused unless allowPrivateNetwork is set`,
      });
    },
  );

  test('the loopback nginx is not asked anything without allowPrivateNetwork', async () => {
    const requests = await requestsDuring(async () => {
      expect((await failureOf(() => probe(`${server.url}/clip.mp4`))).code).toBe(ErrorCodes.PermissionDenied);
    });
    expect(requests).toEqual([]);
  });

  test('a missing file, a refused access and an untrusted certificate get their codes; the query never shows', async () => {
    expect(await failureOf(() => snapshot(`${server.url}/missing.mp4?X-Amz-Signature=secret`, { time: 0, ...LAN }))).toEqual({
      code: ErrorCodes.ResourceNotFound,
      message: `${server.url}/missing.mp4: the server has no such file (HTTP 404)`,
    });
    expect(await failureOf(() => probe(`${server.url}/forbidden.mp4?sig=secret`, LAN))).toEqual({
      code: ErrorCodes.PermissionDenied,
      message: `${server.url}/forbidden.mp4: the server refused access (HTTP 403)`,
    });
    const untrusted = await failureOf(() => snapshot(`${server.httpsUrl}/clip.mp4`, { time: 0, ...LAN }));
    expect(untrusted.code).toBe(ErrorCodes.PermissionDenied);
    expect(untrusted.message).toMatch(new RegExp(`^${server.httpsUrl}/clip.mp4: the server's TLS certificate is not trusted`));
  });

  test('a redirect is followed, its hop checked: to an allowed host it reads the file, to another private host it is refused', async () => {
    const hosts = { allowPrivateNetwork: ['127.0.0.1'] };
    expect((await snapshot(`${server.url}/moved.mp4`, { time: 1500, ...hosts })).equals(await snapshot(clip, { time: 1500 }))).toBe(true);
    for (const path of ['/to-metadata.mp4', '/to-localhost.mp4']) {
      const requests = await requestsDuring(async () => {
        expect(await failureOf(() => probe(`${server.url}${path}?sig=secret`, hosts))).toEqual({
          code: ErrorCodes.PermissionDenied,
          message: `${server.url}${path}: the server redirected to a host on a loopback, private or link-local network, which is refused unless allowPrivateNetwork is set`,
        });
      });
      // The redirect only: nothing was asked of where it pointed.
      expect(requests.map((request) => [request.uri, request.status])).toEqual([[`${path}?sig=secret`, 302]]);
    }
  });

  test('an HTTPS URL redirected to plain HTTP is refused; one redirected to HTTPS is followed', async () => {
    const options = { ...LAN, caFile: server.caFile };
    expect(await failureOf(() => probe(`${server.httpsUrl}/to-http.mp4`, options))).toEqual({
      code: ErrorCodes.PermissionDenied,
      message: `${server.httpsUrl}/to-http.mp4: the server redirected from https to http, which is refused (the answer would not be protected)`,
    });
    expect((await probe(`${server.httpsUrl}/moved.mp4`, options)).width).toBe(320);
  });

  test('HTTP 503 is tried three times, then TransientNetWorkError', async () => {
    const requests = await requestsDuring(async () => {
      expect(await failureOf(() => probe(`${server.url}/failing.mp4`, LAN))).toEqual({
        code: ErrorCodes.TransientNetWorkError,
        message: `${server.url}/failing.mp4: the server answered HTTP 503 (3 tries)`,
      });
    });
    expect(requests.map((request) => request.status)).toEqual([503, 503, 503]);
  });

  test.each([
    [[], 'Expected true, false, or an array of 1 to 100 host names for allowPrivateNetwork but received an array'],
    ['yes', 'Expected a boolean for allowPrivateNetwork but received "yes"'],
    [
      ['127.0.0.1:8080'],
      'Expected a host name or IP address (without brackets or port) for allowPrivateNetwork[0] but received "127.0.0.1:8080"',
    ],
    [
      ['http://minio'],
      'Expected a host name or IP address (without brackets or port) for allowPrivateNetwork[0] but received "http://minio"',
    ],
  ])('allowPrivateNetwork %j is refused', async (value, message) => {
    expect(await failureOf(() => probe(`${server.url}/clip.mp4`, { allowPrivateNetwork: value as never }))).toEqual({
      code: ErrorCodes.InvalidParameter,
      message,
    });
  });

  test('a server that ignores ranges is refused after one block; a file smaller than a block is read whole', async () => {
    let failure: { code: string; message: string } | undefined;
    const requests = await requestsDuring(async () => {
      failure = await failureOf(() => probe(`${server.url}/no-ranges/long.mp4`, LAN));
    });
    expect(failure).toEqual({
      code: ErrorCodes.ResourceContentBad,
      message: `${server.url}/no-ranges/long.mp4: the server ignores range requests (it answered with the whole file); only servers that answer byte ranges can be read`,
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.status).toBe(200);
    expect(requests[0]!.bytesSent).toBeLessThan(readFileSync(long).length);
    expect((await probe(`${server.url}/no-ranges/clip.mp4`, LAN)).width).toBe(320);
  });
});

/** A loopback TCP server that answers each connection with `answer(socket, request)`. */
async function scriptedServer(answer: (socket: Socket, request: string) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const tcp: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) {
        const request = received;
        received = '';
        answer(socket, request);
      }
    });
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const { port } = tcp.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        tcp.close(() => resolve());
      }),
  };
}

describe('servers that misbehave in ways nginx does not', () => {
  let file: Buffer;
  const servers: { close: () => Promise<void> }[] = [];
  beforeAll(() => {
    file = readFileSync(clip);
  });
  afterAll(async () => {
    await Promise.all(servers.map((started) => started.close()));
  });
  const start = async (answer: (socket: Socket, request: string) => void): Promise<string> => {
    const started = await scriptedServer(answer);
    servers.push(started);
    return started.url;
  };
  const rangeOf = (request: string): [number, number] => {
    const [first, last] = /range: bytes=(\d+)-(\d+)/i.exec(request)!.slice(1).map(Number) as [number, number];
    return [first, Math.min(last, file.length - 1)];
  };

  test('a server that never answers is stopped by the deadline', async () => {
    const url = await start(() => undefined);
    expect(await failureOf(() => snapshot(`${url}/stalled.mp4`, { time: 0, timeoutMs: 500, ...LAN }))).toEqual({
      code: ErrorCodes.SnapshotTimeOut,
      message: 'the snapshot ran past its deadline',
    });
    expect(await failureOf(() => snapshotSync(`${url}/stalled.mp4`, { time: 0, timeoutMs: 500, ...LAN }))).toEqual({
      code: ErrorCodes.SnapshotTimeOut,
      message: 'the snapshot ran past its deadline',
    });
  });

  test('a server that never answers is stopped by an abort signal', async () => {
    const url = await start(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('enough')), 300);
    expect(await failureOf(() => probe(`${url}/stalled.mp4`, { signal: controller.signal, ...LAN }))).toEqual({
      code: ErrorCodes.Aborted,
      message: 'the snapshot was cancelled',
    });
  });

  test('an answer cut short is tried three times, then TransientNetWorkError', async () => {
    let requests = 0;
    const url = await start((socket, request) => {
      requests += 1;
      const [first, last] = rangeOf(request);
      const body = file.subarray(first, last + 1);
      socket.write(
        `HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\nContent-Range: bytes ${first}-${last}/${file.length}\r\n\r\n`,
      );
      socket.end(body.subarray(0, body.length >> 1));
    });
    const failure = await failureOf(() => probe(`${url}/cut.mp4?sig=secret`, LAN));
    expect(failure.code).toBe(ErrorCodes.TransientNetWorkError);
    expect(failure.message).toMatch(new RegExp(`^${url}/cut.mp4: .*\\(3 tries\\)$`));
    expect(requests).toBe(3);
  });

  test('a Content-Range that is not the range asked for is ResourceContentBad', async () => {
    const url = await start((socket, request) => {
      const [first, last] = rangeOf(request);
      const body = file.subarray(first, last + 1);
      socket.write(
        `HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\nContent-Range: bytes ${first + 1}-${last + 1}/${file.length}\r\n\r\n`,
      );
      socket.write(body);
    });
    const failure = await failureOf(() => probe(`${url}/shifted.mp4`, LAN));
    expect(failure.code).toBe(ErrorCodes.ResourceContentBad);
    expect(failure.message).toMatch(new RegExp(`^${url}/shifted.mp4: `));
  });
});
