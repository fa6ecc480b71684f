/**
 * Set-up shared by the sprite, WebVTT and black-frame suites: a fresh root
 * with an input bucket, an image bucket and a sprite bucket, a service with
 * 2 workers on it, and ways to run a job to its end and read it back.
 */
import { afterEach } from 'vitest';

import { SnapshotService, type SnapshotJob } from '../../dist/index.js';
import { fixture, type FixtureName } from '../fixtures.js';
import { workspace, type Workspace } from './service-clips.js';

export const IN = 'example-bucket';
export const OUT = 'example-001';
export const SPRITES = 'sprite-bucket';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

export interface FeatureSetup {
  ws: Workspace;
  service: SnapshotService;
  /** Folders of the image and sprite buckets. */
  out: string;
  sprites: string;
  /** Submits `config` for the input `key`; an asynchronous job is waited for. Returns the job as querySnapshotJobList shows it. */
  run(config: Record<string, unknown>, key?: string): Promise<SnapshotJob>;
}

/** A root with the three buckets, the clip `name` copied in as `key` (default clip.mp4), and a service; all go after the test. */
export async function setup(name: FixtureName = 'h264', key = 'clip.mp4'): Promise<FeatureSetup> {
  const ws = workspace([IN, OUT, SPRITES]);
  cleanups.push(() => ws.remove());
  ws.put(IN, key, await fixture(name));
  const service = new SnapshotService({ root: ws.root, workers: 2 });
  cleanups.push(() => service.close());
  return {
    ws,
    service,
    out: ws.bucket(OUT),
    sprites: ws.bucket(SPRITES),
    run: async (config, inputKey = key) => {
      const answer = await service.submitSnapshotJob({ Input: { Bucket: IN, Object: inputKey }, SnapshotConfig: config });
      await service.waitForJob(answer.SnapshotJob.Id);
      return queryJob(service, answer.SnapshotJob.Id);
    },
  };
}

export async function queryJob(service: SnapshotService, id: string): Promise<SnapshotJob> {
  const [job] = (await service.querySnapshotJobList({ SnapshotJobIds: [id] })).SnapshotJobList.SnapshotJob;
  if (job === undefined) throw new Error(`the job ${id} is not listed`);
  return job;
}

/** OutputFile / TileOutputFile values. */
export const output = (object: string, bucket = OUT): { Bucket: string; Location: string; Object: string } => ({
  Bucket: bucket,
  Location: 'oss-cn-hangzhou',
  Object: object,
});

/** Packed RGB of `rect` out of a packed RGB image `width` pixels wide. */
export function region(rgb: Buffer, width: number, rect: { x: number; y: number; width: number; height: number }): Buffer {
  const rows: Buffer[] = [];
  for (let row = 0; row < rect.height; row++) {
    const start = ((rect.y + row) * width + rect.x) * 3;
    rows.push(rgb.subarray(start, start + rect.width * 3));
  }
  return Buffer.concat(rows);
}

/** Mean luma (BT.601) of packed RGB. */
export function meanLuma(rgb: Buffer): number {
  let sum = 0;
  for (let i = 0; i < rgb.length; i += 3) sum += 0.299 * rgb[i]! + 0.587 * rgb[i + 1]! + 0.114 * rgb[i + 2]!;
  return sum / (rgb.length / 3);
}
