/**
 * The pool's own memory (issue 8, item 12):
 * - a job frees each frame's pixels as soon as its image (and sprite cell)
 *   is done with them, not at some later garbage collection: V8 does not see
 *   the native memory behind a frame's buffer, so nothing made it collect;
 * - the addon tunes glibc's malloc once per process (a fixed mmap threshold,
 *   a few arenas), unless the user tunes malloc or sets
 *   FRAMESNAP_MALLOC_TUNING=0. Checked in child processes, since it is a
 *   per-process setting, by what the addon reports and by a live probe of
 *   glibc's behaviour (a 1 MiB block right after a freed 8 MiB one is mapped
 *   on its own only with the fixed threshold).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import sharp from 'sharp';
import { afterAll, describe, expect, test } from 'vitest';

import { snapshots } from '../dist/index.js';
import { DEFAULT_LIMITS } from '../dist/core/limits.js';
import { nativeAddon, type NativeAddon } from '../dist/core/native.js';
import { executeJob } from '../dist/service/worker/execute.js';
import type { JobTask } from '../dist/service/types.js';
import { fixture } from './fixtures.js';
import { jobTask } from './helpers/service-clips.js';

const runFile = promisify(execFile);

type MemoryHooks = Pick<NativeAddon, 'framePixelBytesHeld' | 'releaseFramePixels' | 'mallocTuning'>;
const hooks = (): MemoryHooks => nativeAddon() as unknown as MemoryHooks;

/** Two turns of the event loop: a detached buffer's finalizer runs on one. */
const turns = async (): Promise<void> => {
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
};

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function task(inputPath: string, out: string, extra: Partial<JobTask> = {}): JobTask {
  return jobTask(
    { jobId: 'memory', inputPath, outputBucketDir: out, frameType: 'normal', quality: 80, ...extra },
    { intervalMs: 400, count: 8 },
  );
}

describe('frame pixels', () => {
  test('a job has freed every frame it decoded by the time it is done', async () => {
    const out = mkdtempSync(join(tmpdir(), 'framesnap-memory-'));
    folders.push(out);
    const input = await fixture('h264');
    await turns();
    expect(hooks().framePixelBytesHeld()).toBe(0);
    const outcome = await executeJob(task(input, out));
    await turns();
    expect(outcome.count).toBe(8);
    expect(readdirSync(out).filter((name) => name.endsWith('.jpg'))).toHaveLength(8);
    // Without the release, the 8 frames (320x240 RGB, 230400 bytes each) wait for a garbage collection.
    expect(hooks().framePixelBytesHeld()).toBe(0);
  });

  test('frames that also become sprite cells are freed once on their sheet', async () => {
    const out = mkdtempSync(join(tmpdir(), 'framesnap-memory-'));
    folders.push(out);
    const sprites = mkdtempSync(join(tmpdir(), 'framesnap-memory-'));
    folders.push(sprites);
    const outcome = await executeJob(
      task(await fixture('h264'), out, {
        sprites: {
          lines: 2,
          columns: 2,
          cellWidth: 0,
          cellHeight: 0,
          margin: 0,
          padding: 0,
          background: [0, 0, 0],
          keepCellPictures: false,
          cellStep: 1,
          bucketDir: sprites,
          template: '{TileCount}.jpg',
          limitSpritePixels: DEFAULT_LIMITS.limitSpritePixels,
        },
      }),
    );
    await turns();
    expect(outcome.sprites.map((sprite) => sprite.key)).toEqual(['00001.jpg', '00002.jpg']);
    expect(hooks().framePixelBytesHeld()).toBe(0);
  });

  test('snapshots() has freed every frame it decoded by the time it answers, and the JPEGs stand', async () => {
    const input = await fixture('h264');
    await turns();
    expect(hooks().framePixelBytesHeld()).toBe(0);
    const times = Array.from({ length: 12 }, (_, i) => i * 300);
    const shots = await snapshots(input, { times, frameType: 'normal' });
    await turns();
    // Without the release, 12 frames of 320x240 RGB (230400 bytes each) wait for a garbage collection.
    expect(hooks().framePixelBytesHeld()).toBe(0);
    expect(shots.map((shot) => shot.requestedMs)).toEqual(times);
    for (const shot of shots) expect((await sharp(shot.jpeg).metadata()).width).toBe(320);
  });

  test('releaseFramePixels empties a frame buffer and leaves other buffers alone', async () => {
    const [frame] = nativeAddon().extractFramesSync({
      path: await fixture('h264'),
      times: [0],
      frameType: 'intra',
      width: 0,
      height: 0,
      threads: 1,
    });
    expect(frame!.rgb.length).toBe(320 * 240 * 3);
    expect(hooks().framePixelBytesHeld()).toBe(320 * 240 * 3);
    hooks().releaseFramePixels(frame!.rgb);
    expect(frame!.rgb.length).toBe(0);
    await turns();
    expect(hooks().framePixelBytesHeld()).toBe(0);
    // A slice of Node's shared pool is not detached (that would empty its neighbours).
    const pooled = Buffer.from('abc');
    hooks().releaseFramePixels(pooled);
    expect(pooled.toString()).toBe('abc');
    // Not a buffer, or already released: nothing happens.
    hooks().releaseFramePixels('abc');
    hooks().releaseFramePixels(frame!.rgb);
    expect(frame!.rgb.length).toBe(0);
  });
});

const glibc = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime;
const NATIVE_JS = fileURLToPath(new URL('../dist/core/native.js', import.meta.url));
/** The addon's report, from a fresh node process with this environment added to a malloc-neutral one. */
async function tuningIn(env: Record<string, string>): Promise<ReturnType<MemoryHooks['mallocTuning']>> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('MALLOC_') && name !== 'GLIBC_TUNABLES' && name !== 'FRAMESNAP_MALLOC_TUNING',
    ),
  );
  const script = `import(${JSON.stringify(NATIVE_JS)}).then((m) => console.log(JSON.stringify(m.nativeAddon().mallocTuning())))`;
  const { stdout } = await runFile(process.execPath, ['-e', script], { env: { ...clean, ...env } });
  return JSON.parse(stdout);
}

describe.skipIf(glibc === undefined)('malloc tuning (glibc)', () => {
  test('applied when the addon loads: 4 arenas, a fixed 128 KiB mmap threshold', async () => {
    expect(await tuningIn({})).toEqual({
      applied: true,
      reason: null,
      arenaMax: 4,
      mmapThresholdBytes: 131072,
      largeAllocationsMapped: true,
    });
  });

  test('FRAMESNAP_MALLOC_TUNING=0 leaves malloc as it is', async () => {
    expect(await tuningIn({ FRAMESNAP_MALLOC_TUNING: '0' })).toEqual({
      applied: false,
      reason: 'FRAMESNAP_MALLOC_TUNING=0',
      arenaMax: 0,
      mmapThresholdBytes: 0,
      largeAllocationsMapped: false,
    });
  });

  test("the user's own malloc settings stand", async () => {
    expect(await tuningIn({ MALLOC_ARENA_MAX: '8' })).toEqual({
      applied: false,
      reason: 'MALLOC_ARENA_MAX is set',
      arenaMax: 0,
      mmapThresholdBytes: 0,
      largeAllocationsMapped: false,
    });
    expect(await tuningIn({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1048576' })).toMatchObject({
      applied: false,
      reason: 'GLIBC_TUNABLES is set',
    });
    // Any other value of the switch keeps the tuning.
    expect(await tuningIn({ FRAMESNAP_MALLOC_TUNING: '1' })).toMatchObject({ applied: true, largeAllocationsMapped: true });
  });
});
