/**
 * Shared set-up for the pipeline, notification and query tests
 * (pipelines.test.ts, notifications.test.ts, queries.test.ts): a workspace with
 * the 4 s h264 fixture as in-bucket/clip.mp4, a SnapshotService on it, request
 * builders (small intra series, so jobs are quick), a recorder of the
 * service's events with bounded waits, and a local HTTP endpoint.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { expect } from 'vitest';

import {
  SnapshotError,
  SnapshotService,
  type MNSMessageResult,
  type SnapshotJob,
  type SnapshotServiceOptions,
  type SubmitSnapshotJobRequest,
} from '../../dist/index.js';
import { fixture } from '../fixtures.js';
import { UPPER_UUID, workspace, type Workspace } from './service-clips.js';

export const IN = 'in-bucket';
export const OUT = 'out-bucket';
export const LOCATION = 'oss-cn-hangzhou';
export const MESSAGE_ID = /^[0-9A-F]{32}$/;

/** Cleanups run (newest first) by each test file's afterEach. */
export const cleanups: (() => unknown)[] = [];

export async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export interface Setup {
  ws: Workspace;
  service: SnapshotService;
}

/** A root with buckets `in-bucket` (holding clip.mp4, the 4 s h264 fixture) and `out-bucket`, and a service on it. */
export async function setup(options: Partial<SnapshotServiceOptions> = {}): Promise<Setup> {
  const ws = workspace([IN, OUT]);
  cleanups.push(() => ws.remove());
  ws.put(IN, 'clip.mp4', await fixture('h264'));
  const service = new SnapshotService({ root: ws.root, workers: 1, ...options });
  cleanups.push(() => service.close());
  return { ws, service };
}

let outputs = 0;

export interface JobOptions {
  pipelineId?: string;
  userData?: string;
  /** Images of the series (Interval 1 s, intra); default 2. */
  num?: number;
  /** Start of the series, ms; default 0. */
  time?: number;
  /** A synchronous job (no Interval, no Num): one image. */
  sync?: boolean;
}

/** A small intra job on clip.mp4, with output names of its own. */
export function jobRequest(options: JobOptions = {}): SubmitSnapshotJobRequest {
  const prefix = `job${++outputs}`;
  const config: Record<string, unknown> = {
    OutputFile: { Bucket: OUT, Location: LOCATION, Object: options.sync ? `${prefix}.jpg` : `${prefix}/{Count}.jpg` },
    Time: String(options.time ?? 0),
    FrameType: 'intra',
  };
  if (!options.sync) {
    config['Interval'] = '1';
    config['Num'] = String(options.num ?? 2);
  }
  return {
    Input: { Bucket: IN, Location: LOCATION, Object: 'clip.mp4' },
    SnapshotConfig: config,
    ...(options.pipelineId === undefined ? {} : { PipelineId: options.pipelineId }),
    ...(options.userData === undefined ? {} : { UserData: options.userData }),
  } as SubmitSnapshotJobRequest;
}

/** The SnapshotError a call throws or rejects with, checked to carry a request id. */
export async function refusal(call: () => unknown): Promise<SnapshotError> {
  let caught: unknown;
  try {
    await call();
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error('expected the call to fail, but it succeeded');
  if (!(caught instanceof SnapshotError)) throw new Error(`expected a SnapshotError, got ${String(caught)}`, { cause: caught });
  return caught;
}

/** As refusal, and the error carries a fresh upper-case request id. */
export async function refusedWithRequestId(call: () => unknown): Promise<SnapshotError> {
  const error = await refusal(call);
  expect(error.requestId).toMatch(UPPER_UUID);
  return error;
}

export interface Progress {
  JobId: string;
  Done: number;
  Expected: number;
  Percent: number;
}

export interface Notification {
  JobId: string;
  MNSMessageResult: MNSMessageResult;
}

type Entry =
  { kind: 'job'; job: SnapshotJob } | { kind: 'progress'; progress: Progress } | { kind: 'notification'; notification: Notification };

/** Everything the service emits, in order, with bounded waits for what is to come. */
export class Recorder {
  readonly entries: Entry[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(service: SnapshotService) {
    service.on('job', (job: SnapshotJob) => this.push({ kind: 'job', job }));
    service.on('progress', (progress: Progress) => this.push({ kind: 'progress', progress }));
    service.on('notification', (notification: Notification) => this.push({ kind: 'notification', notification }));
  }

  get jobs(): SnapshotJob[] {
    return this.entries.flatMap((entry) => (entry.kind === 'job' ? [entry.job] : []));
  }

  get progress(): Progress[] {
    return this.entries.flatMap((entry) => (entry.kind === 'progress' ? [entry.progress] : []));
  }

  get notifications(): Notification[] {
    return this.entries.flatMap((entry) => (entry.kind === 'notification' ? [entry.notification] : []));
  }

  /** Resolves once `condition()` holds (checked after each event); fails after `ms`. */
  until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      this.waiters.add(check);
    });
  }

  /** The notification event of a job (bounded wait). */
  async notificationOf(jobId: string, ms = 20_000): Promise<Notification> {
    await this.until(() => this.notifications.some((n) => n.JobId === jobId), `the notification of ${jobId}`, ms);
    return this.notifications.find((n) => n.JobId === jobId)!;
  }

  private push(entry: Entry): void {
    this.entries.push(entry);
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** The one job with this id, as querySnapshotJobList shows it. */
export async function queried(service: SnapshotService, id: string): Promise<SnapshotJob> {
  const answer = await service.querySnapshotJobList({ SnapshotJobIds: id });
  expect(answer.NonExistSnapshotJobIds.String).toEqual([]);
  expect(answer.SnapshotJobList.SnapshotJob).toHaveLength(1);
  return answer.SnapshotJobList.SnapshotJob[0]!;
}

/** A promise with its resolve, for subscribers the test releases. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** Resolves with `value` after `ms` (a bound on a wait, not a measurement). */
export const after = <T>(ms: number, value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms));

export interface ReceivedRequest {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
  /** The status the endpoint answered. */
  status: number;
}

export interface Endpoint {
  url: string;
  requests: ReceivedRequest[];
  server: Server;
}

/**
 * A local HTTP endpoint on 127.0.0.1 (a free port) answering each request with
 * `status(n)` (n = 0 for the first); closed by the test file's afterEach.
 */
export async function endpoint(status: (n: number) => number): Promise<Endpoint> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const code = status(requests.length);
      requests.push({
        method: request.method ?? '',
        url: request.url ?? '',
        contentType: request.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
        status: code,
      });
      response.writeHead(code, { 'content-type': 'text/plain' });
      response.end(code < 300 ? 'ok' : 'failed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // First in the list, so it closes last: after the service has settled its deliveries.
  cleanups.unshift(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/notify`, requests, server };
}
