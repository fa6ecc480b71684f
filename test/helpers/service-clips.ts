/**
 * Clips and folders for the job-API tests (service*.test.ts, cli.test.ts).
 *
 * The seed's asynchronous example takes 10 images 20 s apart, so it needs a
 * clip longer than the 4 s fixtures: 200 s of 320x240 testsrc2 at 25 fps,
 * x264 ultrafast with a keyframe every 10 s exactly (no scene-cut keyframes,
 * no B-frames), a few MB: long200s in scripts/clips.mjs.
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import sharp from 'sharp';
import { afterEach } from 'vitest';

import { SnapshotError, SnapshotService, type SnapshotServiceOptions } from '../../dist/index.js';
import { DEFAULT_LIMITS } from '../../dist/core/limits.js';
import type { JobTask } from '../../dist/service/types.js';
import { decodeRgb, fixture, jpegToRgb, meanSquaredError } from '../fixtures.js';

/** Length of the long clip, seconds; a keyframe every KEYFRAME_SECONDS. */
export const LONG_SECONDS = 200;
export const KEYFRAME_SECONDS = 10;

/** 200 s of H.264 in MP4, keyframes at 0, 10, 20, ... s (scripts/clips.mjs, long200s). */
export function longClip(): Promise<string> {
  return fixture('long200s');
}

/** The long clip stream-copied into FLV (the seed's example.flv). */
export function longFlv(): Promise<string> {
  return fixture('long200sFlv');
}

/**
 * The keyframes of a clip (keyframe k is at k * KEYFRAME_SECONDS for the long
 * clip), decoded by the ffmpeg CLI with non-keyframes skipped, as packed RGB.
 */
const keyframeCache = new Map<string, Promise<Buffer[]>>();
export function keyframes(path: string, width = 320, height = 240): Promise<Buffer[]> {
  let made = keyframeCache.get(path);
  if (made === undefined) {
    made = decodeRgb(path, width, height, { keyframesOnly: true });
    keyframeCache.set(path, made);
  }
  return made;
}

const encoded = new WeakMap<Buffer, Promise<Buffer>>();

/** A raw frame as it comes back from sharp's JPEG encoder at framesnap's quality (90). */
export function throughJpeg(rgb: Buffer, width = 320, height = 240): Promise<Buffer> {
  let made = encoded.get(rgb);
  if (made === undefined) {
    made = sharp(rgb, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer()
      .then(async (jpeg) => (await jpegToRgb(jpeg)).rgb);
    encoded.set(rgb, made);
  }
  return made;
}

/**
 * Which of `candidates` (raw RGB frames) a JPEG shows: the index of the one
 * within MSE 20 of it (after the same JPEG encoding) and at least 4 times
 * nearer than any other candidate; -1 when none is.
 */
export async function whichFrame(jpeg: Buffer, candidates: Buffer[]): Promise<number> {
  const image = await jpegToRgb(jpeg);
  const errors: number[] = [];
  for (const candidate of candidates) errors.push(meanSquaredError(image.rgb, await throughJpeg(candidate, image.width, image.height)));
  const best = errors.indexOf(Math.min(...errors));
  const others = errors.filter((_, index) => index !== best);
  if (errors[best]! > 20 || others.some((error) => error < errors[best]! * 4)) return -1;
  return best;
}

/**
 * A fresh temporary folder (`dir`) holding `root/` with one folder per bucket
 * (the service's root), for one test; `remove()` deletes it all.
 */
export interface Workspace {
  dir: string;
  root: string;
  /** The folder of a bucket. */
  bucket(name: string): string;
  /** Copies `source` into `bucket` under `key` (folders made as needed); returns its path. */
  put(bucket: string, key: string, source: string): string;
  remove(): void;
}

export function workspace(buckets: string[]): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'framesnap-service-'));
  const root = join(dir, 'root');
  for (const name of buckets) mkdirSync(join(root, name), { recursive: true });
  return {
    dir,
    root,
    bucket: (name) => join(root, name),
    put: (bucket, key, source) => {
      const path = join(root, bucket, key);
      mkdirSync(dirname(path), { recursive: true });
      copyFileSync(source, path);
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Every entry under `folder`, recursively, sorted, with its kind, size and
 * mtime (or link target): what "untouched" is checked against. Dot files
 * (temporary names) are listed too.
 */
export function tree(folder: string): string[] {
  const entries: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      const key = `${prefix}${name}`;
      if (stat.isSymbolicLink()) entries.push(`${key} -> ${readlinkSync(path)}`);
      else if (stat.isDirectory()) {
        entries.push(`${key}/`);
        walk(path, `${key}/`);
      } else entries.push(`${key} ${stat.size} ${stat.mtimeMs}`);
    }
  };
  walk(folder, '');
  return entries;
}

/** The file names under `folder`, recursively, sorted (folders not listed; links not followed). */
export function files(folder: string): string[] {
  if (!existsSync(folder)) return [];
  const found: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    for (const name of readdirSync(dir)) {
      const stat = lstatSync(join(dir, name));
      if (stat.isDirectory()) walk(join(dir, name), `${prefix}${name}/`);
      else found.push(`${prefix}${name}`);
    }
  };
  walk(folder, '');
  return found.sort();
}

export function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** 00001 .. 0000n, as {Count} renders them. */
export function counted(n: number, pattern = (count: string) => `${count}.jpg`): string[] {
  return Array.from({ length: n }, (_, i) => pattern(String(i + 1).padStart(5, '0')));
}

/** The SnapshotError a call throws or rejects with (fails the test if it does neither). */
export async function failureOf(call: () => unknown): Promise<SnapshotError> {
  try {
    await call();
  } catch (error) {
    if (!(error instanceof SnapshotError)) throw new Error(`expected a SnapshotError, got ${String(error)}`, { cause: error });
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export const UPPER_UUID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;
export const JOB_ID = /^[0-9a-f]{32}$/;
export const CREATION_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** What JSON.parse says about `text`, for asserting the message a malformed JSON field gets. */
export function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} is valid JSON`);
}

export interface ServiceSetup {
  ws: Workspace;
  service: SnapshotService;
  /** The output bucket's folder. */
  out: string;
}

/**
 * The set-up of a service test file, called at its top level: an afterEach
 * that undoes, newest first, everything registered with `cleanup` during a
 * test, and `setup`, which makes a workspace with the buckets `in-bucket` and
 * `out-bucket`, puts the files `inputs` names (object key -> path) in the
 * first, and starts a service on it with `defaults` and the test's options.
 */
export function serviceTests(
  inputs: () => Promise<Record<string, string>>,
  defaults: Partial<SnapshotServiceOptions>,
): { setup: (options?: Partial<SnapshotServiceOptions>) => Promise<ServiceSetup>; cleanup: (undo: () => unknown) => void } {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const undo of cleanups.splice(0).reverse()) await undo();
  });
  const cleanup = (undo: () => unknown): void => {
    cleanups.push(undo);
  };
  const setup = async (options: Partial<SnapshotServiceOptions> = {}): Promise<ServiceSetup> => {
    const ws = workspace(['in-bucket', 'out-bucket']);
    cleanup(() => ws.remove());
    for (const [key, path] of Object.entries(await inputs())) ws.put('in-bucket', key, path);
    const service = new SnapshotService({ root: ws.root, ...defaults, ...options });
    cleanup(() => service.close());
    return { ws, service, out: ws.bucket('out-bucket') };
  };
  return { setup, cleanup };
}

/**
 * A JobTask for tests that run executeJob directly: a series of `count`
 * images `intervalMs` apart from 0, '{Count}.jpg' names, quality 90, one
 * decoder thread, no deadline, the default limits; `fields` overrides any.
 */
export function jobTask(
  fields: Pick<JobTask, 'inputPath' | 'outputBucketDir'> & Partial<JobTask>,
  series: { intervalMs: number; count: number } = { intervalMs: 1000, count: 3 },
): JobTask {
  return {
    jobId: 'test',
    inputKey: 'clip.mp4',
    outputTemplate: '{Count}.jpg',
    times: { kind: 'series', startMs: 0, ...series },
    frameType: 'intra',
    width: 0,
    height: 0,
    quality: 90,
    threads: 1,
    timeoutMs: 0,
    abort: new Int32Array(new SharedArrayBuffer(4)),
    limits: { ...DEFAULT_LIMITS },
    ...fields,
  };
}
