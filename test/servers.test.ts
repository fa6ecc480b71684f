/**
 * The real servers the remote-input tests stand on (issue 12): nginx serving
 * a clip over HTTP and HTTPS with ranges and an access log, and Swift's S3
 * API checking signatures and serving ranges. If these fail, the failures of
 * the remote tests say nothing about framesnap.
 */
import { readFileSync } from 'node:fs';
import { Agent, get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet, type RequestOptions } from 'node:https';

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { fixture } from './fixtures.js';
import { nginxForFile, type NginxServer } from './helpers/nginx-server.js';
import { swiftS3ForFile, type SwiftS3Server } from './helpers/swift-s3.js';

interface Response {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

function collect(response: IncomingMessage): Promise<Response> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.once('error', reject);
    response.once('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
  });
}

function fetchHttp(url: string, headers: Record<string, string> = {}, agent: Agent | false = false): Promise<Response> {
  return new Promise((resolve, reject) => {
    httpGet(url, { headers, agent }, (response) => void collect(response).then(resolve, reject)).once('error', reject);
  });
}

function fetchHttps(url: string, options: RequestOptions): Promise<Response> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { agent: false, ...options }, (response) => void collect(response).then(resolve, reject)).once('error', reject);
  });
}

describe('nginx', () => {
  const server = nginxForFile(async () => ({ 'clip.mp4': await fixture('h264') }), { https: true });
  let clip: Buffer;
  let web: NginxServer;

  beforeAll(async () => {
    clip = readFileSync(await fixture('h264'));
    web = server();
  });

  test('serves a range over HTTP, and the access log shows the request and the bytes sent', async () => {
    const before = (await web.accessLog()).length;
    const response = await fetchHttp(`${web.url}/clip.mp4`, { Range: 'bytes=1000-1999' });
    expect(response.status).toBe(206);
    expect(response.headers['content-range']).toBe(`bytes 1000-1999/${clip.length}`);
    expect(response.headers['content-length']).toBe('1000');
    expect(response.body.equals(clip.subarray(1000, 2000))).toBe(true);
    expect((await web.accessLog()).slice(before)).toEqual([
      {
        scheme: 'http',
        request: 'GET /clip.mp4 HTTP/1.1',
        method: 'GET',
        uri: '/clip.mp4',
        range: 'bytes=1000-1999',
        status: 206,
        bytesSent: 1000,
        connection: expect.any(Number),
        connectionRequest: 1,
      },
    ]);
  });

  test('logs a whole-file request, a 404, and requests that reuse one connection', async () => {
    const before = (await web.accessLog()).length;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const whole = await fetchHttp(`${web.url}/clip.mp4`, {}, agent);
      expect(whole.status).toBe(200);
      expect(whole.body.equals(clip)).toBe(true);
      expect((await fetchHttp(`${web.url}/missing.mp4`, {}, agent)).status).toBe(404);
    } finally {
      agent.destroy();
    }
    const entries = (await web.accessLog()).slice(before);
    expect(
      entries.map(({ uri, range, status, bytesSent, connectionRequest }) => ({ uri, range, status, bytesSent, connectionRequest })),
    ).toEqual([
      { uri: '/clip.mp4', range: '', status: 200, bytesSent: clip.length, connectionRequest: 1 },
      { uri: '/missing.mp4', range: '', status: 404, bytesSent: expect.any(Number), connectionRequest: 2 },
    ]);
    expect(entries[1]!.connection).toBe(entries[0]!.connection);
  });

  test('serves a suffix range over HTTPS to a client that trusts only the returned certificate', async () => {
    expect(web.httpsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(web.caPem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    const before = (await web.accessLog()).length;
    const response = await fetchHttps(`${web.httpsUrl!}/clip.mp4`, { ca: web.caPem, headers: { Range: 'bytes=-500' } });
    expect(response.status).toBe(206);
    expect(response.headers['content-range']).toBe(`bytes ${clip.length - 500}-${clip.length - 1}/${clip.length}`);
    expect(response.body.equals(clip.subarray(clip.length - 500))).toBe(true);
    expect((await web.accessLog()).slice(before)).toMatchObject([
      { scheme: 'https', uri: '/clip.mp4', range: 'bytes=-500', status: 206, bytesSent: 500 },
    ]);
  });

  test('the certificate names localhost too, and a client that does not trust it refuses it', async () => {
    const port = new URL(web.httpsUrl!).port;
    const response = await fetchHttps(`https://localhost:${port}/clip.mp4`, { ca: web.caPem, headers: { Range: 'bytes=0-9' } });
    expect(response.status).toBe(206);
    expect(response.body.equals(clip.subarray(0, 10))).toBe(true);
    await expect(fetchHttps(`${web.httpsUrl!}/clip.mp4`, {})).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });
});

describe('Swift with s3api', () => {
  const swift = swiftS3ForFile();
  const BUCKET = 'framesnap-servers';
  const KEY = 'videos/clip.mp4';
  let clip: Buffer;

  const config = (server: SwiftS3Server, secretAccessKey: string = server.secretAccessKey): S3ClientConfig => ({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey },
    // Since 3.729 the SDK sends CRC32 checksums and aws-chunked uploads by default; s3api (like OSS and R2) refuses them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
  let client: S3Client;

  beforeAll(async () => {
    clip = readFileSync(await fixture('h264'));
    client = new S3Client(config(swift()));
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const put = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: clip, ContentType: 'video/mp4' }));
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
  });
  afterAll(() => client?.destroy());

  test('GetObject with a range gives exactly those bytes', async () => {
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY, Range: 'bytes=100-4195' }));
    expect(object.$metadata.httpStatusCode).toBe(206);
    expect(object.ContentRange).toBe(`bytes 100-4195/${clip.length}`);
    expect(object.ContentLength).toBe(4096);
    expect(object.ContentType).toBe('video/mp4');
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(clip.subarray(100, 4196))).toBe(true);
  });

  test('a presigned GET with a Range header, through node:http, gives 206 and those bytes', async () => {
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: KEY }), { expiresIn: 60 });
    const suffix = await fetchHttp(url, { Range: 'bytes=-100' });
    expect(suffix.status).toBe(206);
    expect(suffix.headers['content-range']).toBe(`bytes ${clip.length - 100}-${clip.length - 1}/${clip.length}`);
    expect(suffix.body.equals(clip.subarray(clip.length - 100))).toBe(true);
    const middle = await fetchHttp(url, { Range: 'bytes=5000-5999' });
    expect(middle.status).toBe(206);
    expect(middle.body.equals(clip.subarray(5000, 6000))).toBe(true);
  });

  test('a presigned URL that expired or was made for another key is refused with 403', async () => {
    const expired = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: KEY }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 3_600_000),
    });
    const late = await fetchHttp(expired, { Range: 'bytes=0-99' });
    expect(late.status).toBe(403);
    expect(late.body.toString()).toContain('<Code>AccessDenied</Code>');
    const other = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'videos/other.mp4' }), { expiresIn: 60 });
    const tampered = await fetchHttp(other.replace('/videos/other.mp4', `/${KEY}`), { Range: 'bytes=0-99' });
    expect(tampered.status).toBe(403);
    expect(tampered.body.toString()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  test('a wrong secret is SignatureDoesNotMatch; a missing object NoSuchKey; a missing bucket NoSuchBucket', async () => {
    const wrong = new S3Client(config(swift(), 'not-the-secret'));
    try {
      await expect(wrong.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }))).rejects.toMatchObject({
        name: 'SignatureDoesNotMatch',
        $metadata: { httpStatusCode: 403 },
      });
    } finally {
      wrong.destroy();
    }
    await expect(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'videos/missing.mp4' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(client.send(new GetObjectCommand({ Bucket: 'framesnap-no-such-bucket', Key: KEY }))).rejects.toMatchObject({
      name: 'NoSuchBucket',
      $metadata: { httpStatusCode: 404 },
    });
  });
});
