/**
 * The low-level API's edges on hostile input (issue 8): pixel limits as
 * options (own properties only, a requested size refused before any native
 * call), messages that name the caller's path shortened and escaped and stay
 * under 1 KB, the encoder's failures as SnapshotErrors, answers at the
 * deadline and on abort while work that cannot be stopped is under way, and
 * memory that does not grow with the number of times.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeImage } from '../dist/core/encode.js';
import { shortenSubject } from '../dist/core/errors.js';
import { probe, probeSync, SnapshotError, snapshot, snapshots, snapshotsSync, snapshotSync } from '../dist/index.js';
import { fixture, jpegToRgb } from './fixtures.js';

const runFile = promisify(execFile);
const MEMORY_CHILD = fileURLToPath(new URL('./helpers/memory-child.mjs', import.meta.url));

/** The 4 s, 25 fps, 320x240 H.264 clip (76800 pixels a frame): frames every 40 ms, keyframes each second. */
let h264: string;
/** 320x240 stored, sample aspect ratio 2:1: displays at 640x240 (153600 pixels). */
let anamorphic: string;
let scratch: string;

beforeAll(async () => {
  h264 = await fixture('h264');
  anamorphic = await fixture('anamorphic');
  scratch = mkdtempSync(join(tmpdir(), 'framesnap-edges-'));
});

afterAll(() => {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

type Call = (path: string, options: Record<string, unknown>) => unknown;

/** Every entry point, each given `options` on top of what it needs. */
const TWINS: [string, Call][] = [
  ['probe', (path, options) => probe(path, options)],
  ['probeSync', (path, options) => probeSync(path, options)],
  ['snapshot', (path, options) => snapshot(path, { time: 0, ...options })],
  ['snapshotSync', (path, options) => snapshotSync(path, { time: 0, ...options })],
  ['snapshots', (path, options) => snapshots(path, { times: [0, 1000], ...options })],
  ['snapshotsSync', (path, options) => snapshotsSync(path, { times: [0, 1000], ...options })],
];
const SNAPSHOT_TWINS = TWINS.filter(([name]) => name.startsWith('snapshot'));

/** The SnapshotError a call throws or rejects with. */
async function failureOf(call: () => unknown): Promise<SnapshotError> {
  try {
    await call();
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshotError);
    return error as SnapshotError;
  }
  throw new Error('the call succeeded');
}

async function expectFailure(call: () => unknown, code: string, message: string): Promise<void> {
  const error = await failureOf(call);
  expect({ code: error.code, message: error.message }).toEqual({ code, message });
}

describe('pixel limits as options', () => {
  const BAD_VALUES: [string, unknown, string, string][] = [
    [
      'limitInputPixels',
      0,
      'InvalidParameter.OutOfRange',
      'Expected an integer between 1 and 2147483647 for limitInputPixels but received 0',
    ],
    [
      'limitInputPixels',
      2 ** 31,
      'InvalidParameter.OutOfRange',
      'Expected an integer between 1 and 2147483647 for limitInputPixels but received 2147483648',
    ],
    ['limitInputPixels', 1.5, 'InvalidParameter', 'Expected an integer between 1 and 2147483647 for limitInputPixels but received 1.5'],
    [
      'limitOutputPixels',
      '1000',
      'InvalidParameter',
      'Expected an integer between 1 and 2147483647 for limitOutputPixels but received "1000"',
    ],
    [
      'limitOutputPixels',
      -1,
      'InvalidParameter.OutOfRange',
      'Expected an integer between 1 and 2147483647 for limitOutputPixels but received -1',
    ],
  ];
  it.each(TWINS.flatMap(([twin, call]) => BAD_VALUES.map(([name, value, code, message]) => ({ twin, call, name, value, code, message }))))(
    '$twin refuses $name $value',
    async ({ call, name, value, code, message }) => {
      await expectFailure(() => call(h264, { [name]: value }), code, message);
    },
  );

  it.each(TWINS)('%s refuses a video whose frames are over limitInputPixels, naming the limit and the size', async (_name, call) => {
    await expectFailure(
      () => call(h264, { limitInputPixels: 76_799 }),
      'InvalidParameter.ResourceContentBad',
      `${h264}: the video's frames are 320x240 (76800 pixels), over limitInputPixels (76799)`,
    );
  });

  it.each(TWINS)('%s takes a video whose frames are exactly limitInputPixels', async (_name, call) => {
    expect(await call(h264, { limitInputPixels: 76_800 })).toBeTruthy();
  });

  it.each(SNAPSHOT_TWINS)('%s refuses a display size over limitOutputPixels', async (_name, call) => {
    await expectFailure(
      () => call(anamorphic, { limitOutputPixels: 153_599 }),
      'InvalidParameter.ResourceContentBad',
      `${anamorphic}: the video's pictures display at 640x240 (153600 pixels), over limitOutputPixels (153599)`,
    );
  });

  it.each(SNAPSHOT_TWINS)('%s refuses a requested size over limitOutputPixels before opening anything', async (_name, call) => {
    // The file does not exist: the refusal comes before the native core is asked.
    await expectFailure(
      () => call(join(scratch, 'missing.mp4'), { width: 4096, height: 4096, limitOutputPixels: 1_000_000 }),
      'InvalidParameter.OutOfRange',
      'the requested images are 4096x4096 (16777216 pixels), over limitOutputPixels (1000000)',
    );
  });

  it.each(SNAPSHOT_TWINS)('%s refuses a size that follows the aspect ratio over limitOutputPixels', async (_name, call) => {
    await expectFailure(
      () => call(h264, { width: 1000, limitOutputPixels: 100_000 }),
      'InvalidParameter.OutOfRange',
      `${h264}: the requested image would be 1000x750 (750000 pixels), over limitOutputPixels (100000)`,
    );
  });

  it("inherited limits do not count: only the options object's own properties", async () => {
    const options = Object.assign(Object.create({ limitInputPixels: 1, limitOutputPixels: 1 }) as object, { time: 0 });
    const { width } = await jpegToRgb(await snapshot(h264, options as { time: number }));
    expect(width).toBe(320);
  });
});

describe('options are own properties', () => {
  const inheriting = (inherited: Record<string, unknown>, own: Record<string, unknown>): never =>
    Object.assign(Object.create(inherited) as object, own) as never;

  it('an inherited time is not a time', async () => {
    await expectFailure(
      () => snapshot(h264, inheriting({ time: 1000 }, {})),
      'InvalidParameter.NullValue',
      'Expected a number of milliseconds for time but received undefined',
    );
    await expectFailure(
      () => snapshotsSync(h264, inheriting({ times: [0] }, {})),
      'InvalidParameter',
      'Expected an array of 1 to 7200 times in milliseconds for times but received undefined',
    );
  });

  it('inherited options, even invalid ones, are ignored', async () => {
    const bogus = { width: 1e9, frameType: 'bogus', quality: -4, timeoutMs: 'soon', signal: 'nope', threads: 1e6 };
    const [shot] = await snapshots(h264, inheriting(bogus, { times: [1000] }));
    expect({ width: shot!.width, height: shot!.height, timeMs: shot!.timeMs, keyframe: shot!.keyframe }).toEqual({
      width: 320,
      height: 240,
      timeMs: 1000,
      keyframe: true,
    });
    expect((await probe(h264, inheriting(bogus, {}))).width).toBe(320);
    expect(probeSync(h264, inheriting(bogus, {})).width).toBe(320);
  });

  it('a hole in a sparse times array is a missing time', async () => {
    // eslint-disable-next-line no-sparse-arrays
    const times = [, 1000] as number[];
    await expectFailure(
      () => snapshots(h264, { times }),
      'InvalidParameter',
      'Expected a number between 0 and 1000000000000 for times[0] but received undefined',
    );
  });

  it('an unknown own option of probe is refused, naming it and the option it is a typo of', async () => {
    await expectFailure(
      () => probe(h264, { timeout: 5 } as never),
      'InvalidParameter',
      'Unknown option "timeout" for probe(): did you mean "timeoutMs"?',
    );
    await expectFailure(
      () => probe(h264, { verbose: true } as never),
      'InvalidParameter',
      'Unknown option "verbose" for probe(): expected one of timeoutMs, signal, limitInputPixels, limitOutputPixels, allowPrivateNetwork, caFile',
    );
    await expectFailure(
      () => probeSync(h264, { limitinputpixels: 5 } as never),
      'InvalidParameter',
      'Unknown option "limitinputpixels" for probeSync(): did you mean "limitInputPixels"?',
    );
  });

  it('a signal given to probeSync is refused as to the other blocking twins', async () => {
    await expectFailure(
      () => probeSync(h264, { signal: AbortSignal.abort() } as never),
      'InvalidParameter',
      'Expected no signal (a blocking call cannot be aborted; use timeoutMs) for signal but received "an AbortSignal"',
    );
  });
});

describe('messages name the path, shortened, and leak nothing', () => {
  it.each(TWINS)('%s: a 1 MB path gives a short message with the path shortened in the middle', async (_name, call) => {
    const path = join(scratch, 'x'.repeat(1_000_000));
    const error = await failureOf(() => call(path, {}));
    expect({ code: error.code, message: error.message }).toEqual({
      code: 'InvalidParameter',
      message: `${shortenSubject(path)}: the name is too long`,
    });
    expect(error.message.length).toBeLessThan(200);
  });

  it.each(TWINS)('%s: control characters in a path are escaped (one line)', async (_name, call) => {
    const path = join(scratch, 'a\nb\r\u001b.mp4');
    const error = await failureOf(() => call(path, {}));
    expect(error.code).toBe('InvalidParameter.ResourceNotFound');
    expect(error.message).toMatch(
      new RegExp(
        `^${scratch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/a\\\\x0ab\\\\x0d\\\\x1b\\.mp4: cannot open the file( as a video)?: No such file or directory$`,
      ),
    );
  });

  it('a 1 MB string option value is shortened in the message', async () => {
    const error = await failureOf(() => snapshot(h264, { time: 0, frameType: 'y'.repeat(1_000_000) as never }));
    expect({ code: error.code, message: error.message }).toEqual({
      code: 'InvalidParameter',
      message: `Expected one of intra, normal for frameType but received "${'y'.repeat(60)}…${'y'.repeat(59)}"`,
    });
  });

  it('a 1 MB unknown option name is shortened in the message', async () => {
    const error = await failureOf(() => snapshot(h264, { time: 0, ['k'.repeat(1_000_000)]: 1 } as never));
    expect(error.code).toBe('InvalidParameter');
    expect(error.message).toBe(
      `Unknown option "${'k'.repeat(30)}…${'k'.repeat(29)}" for snapshot(): expected one of time, frameType, width, height, format, quality, timeoutMs, signal, threads, limitInputPixels, limitOutputPixels, allowPrivateNetwork, caFile, resolveWithObject`,
    );
  });
});

describe('the encoder fails with SnapshotErrors', () => {
  it('an image over the largest side is OutOfRange, naming the side, before sharp is asked', async () => {
    const frame = { requestedMs: 0, timeMs: 0, keyframe: true, width: 16_384, height: 1, rgb: Buffer.alloc(16_384 * 3) };
    await expectFailure(
      () => encodeImage(frame, { quality: 90 }),
      'InvalidParameter.OutOfRange',
      'the image would be 16384x1, over the largest side an image can have (16383)',
    );
    const tall = { ...frame, width: 1, height: 20_000, rgb: Buffer.alloc(20_000 * 3) };
    await expectFailure(
      () => encodeImage(tall, { quality: 90 }),
      'InvalidParameter.OutOfRange',
      'the image would be 1x20000, over the largest side an image can have (16383)',
    );
  });

  it('the largest side itself encodes', async () => {
    const frame = { requestedMs: 0, timeMs: 0, keyframe: true, width: 16_383, height: 8, rgb: Buffer.alloc(16_383 * 8 * 3, 128) };
    const { width, height } = await jpegToRgb(await encodeImage(frame, { quality: 90 }));
    expect({ width, height }).toEqual({ width: 16_383, height: 8 });
  });

  it('pixels that are not width x height RGB triplets are an InternalError', async () => {
    const frame = { requestedMs: 0, timeMs: 0, keyframe: true, width: 10, height: 10, rgb: Buffer.alloc(299) };
    await expectFailure(
      () => encodeImage(frame, { quality: 90 }),
      'InternalError',
      'cannot encode 299 bytes as a 10x10 RGB image (300 bytes)',
    );
  });

  it("sharp's own failure is an InternalError that says what it was encoding", async () => {
    const frame = { requestedMs: 0, timeMs: 0, keyframe: true, width: 10, height: 10, rgb: Buffer.alloc(300) };
    const error = await failureOf(() => encodeImage(frame, { quality: 1000 }));
    expect(error.code).toBe('InternalError');
    expect(error.message).toMatch(
      /^the JPEG encoder failed on a 10x10 image: Expected integer between 1 and 100 for quality but received 1000 of type number$/,
    );
  });
});

describe('snapshots() in batches', () => {
  it('returns the order of `times`; repeated times share one JPEG', async () => {
    const times = [2000, 0, 2000, 40, 0, 3960];
    const shots = await snapshots(h264, { times, frameType: 'normal' });
    expect(shots.map((shot) => [shot.requestedMs, Math.round(shot.timeMs)])).toEqual([
      [2000, 2000],
      [0, 0],
      [2000, 2000],
      [40, 40],
      [0, 0],
      [3960, 3960],
    ]);
    expect(shots[2]!.jpeg).toBe(shots[0]!.jpeg);
    expect(shots[4]!.jpeg).toBe(shots[1]!.jpeg);
  });

  it('times that land on one frame share its JPEG', async () => {
    const shots = await snapshots(h264, { times: [1500, 0, 500, 1000], frameType: 'intra' });
    expect(shots.map((shot) => [shot.requestedMs, shot.timeMs])).toEqual([
      [1500, 1000],
      [0, 0],
      [500, 0],
      [1000, 1000],
    ]);
    expect(shots[3]!.jpeg).toBe(shots[0]!.jpeg);
    expect(shots[2]!.jpeg).toBe(shots[1]!.jpeg);
  });

  it('many batches give the same JPEGs as one call per time', async () => {
    const times = Array.from({ length: 30 }, (_, index) => 3960 - index * 120);
    const together = await snapshots(h264, { times, frameType: 'normal' });
    for (const [index, time] of times.entries()) {
      const alone = await snapshot(h264, { time, frameType: 'normal' });
      expect(Buffer.compare(together[index]!.jpeg, alone), `time ${time}`).toBe(0);
    }
  });

  it('a time past the end after several batches fails, naming the time and the path', async () => {
    const times = [...Array.from({ length: 20 }, (_, index) => index * 100), 60_000];
    await expectFailure(
      () => snapshots(h264, { times, frameType: 'normal' }),
      'InvalidParameter.ResourceContentBad',
      `${h264}: no frame at or after 60000 ms: the time is past the last frame`,
    );
  });

  it('peak memory does not grow with the number of times (every frame at 1920x1080, in a child)', async () => {
    // 100 distinct frames upscaled to 1920x1080: 6.2 MB of RGB each, 622 MB if
    // all were kept; the child reports its peak RSS after one warm-up image and after all.
    const { stdout } = await runFile(process.execPath, [MEMORY_CHILD, h264], { timeout: 120_000 });
    const { warmMiB, peakMiB, images } = JSON.parse(stdout) as { warmMiB: number; peakMiB: number; images: number };
    expect(images).toBe(100);
    // Measured here: 187 MiB above the warm-up (631 MiB when every frame was kept to the end).
    expect(peakMiB - warmMiB).toBeLessThan(350);
  });
});

describe('answers at the deadline and on abort', () => {
  /** Keyframes scaled to 4096x4096: quick to decode, slow to encode (sharp's encode cannot be stopped). */
  const HEAVY = { times: [0, 1000, 2000, 3000, 500, 1500, 2500, 3500], frameType: 'intra', width: 4096, height: 4096 } as const;
  /**
   * How long HEAVY takes here, warm. The deadline and the abort fall at 30% of
   * it, when every frame is decoded and sharp has most of the encoding ahead:
   * the answer must not wait for it.
   */
  let fullMs = 0;

  beforeAll(async () => {
    await snapshot(h264, { time: 0, width: 4096, height: 4096 }); // sharp and the addon loaded
    const startedAt = Date.now();
    await snapshots(h264, HEAVY);
    fullMs = Date.now() - startedAt;
  });

  it('timeoutMs: SnapshotTimeOut at the deadline, while work is under way', async () => {
    const timeoutMs = Math.round(fullMs * 0.3);
    const startedAt = Date.now();
    const error = await failureOf(() => snapshots(h264, { ...HEAVY, timeoutMs }));
    const late = Date.now() - startedAt - timeoutMs;
    expect({ code: error.code, message: error.message }).toEqual({
      code: 'SnapshotTimeOut',
      message: 'the snapshot ran past its deadline',
    });
    // Due within 100 ms; measured here 2-80 ms late on a loaded machine (hundreds of ms
    // when the encodes under way were awaited). The bound is generous for loaded machines.
    expect(late, `${late} ms late with a deadline of ${timeoutMs} ms`).toBeLessThan(250);
  });

  it('an abort while work is under way rejects with Aborted at once', async () => {
    const controller = new AbortController();
    const pending = snapshots(h264, { ...HEAVY, signal: controller.signal });
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = Date.now();
      controller.abort();
    }, fullMs * 0.3);
    const error = await failureOf(() => pending);
    const answeredAfter = Date.now() - abortedAt;
    expect({ code: error.code, message: error.message }).toEqual({ code: 'Aborted', message: 'the snapshot was cancelled' });
    expect(abortedAt).toBeGreaterThan(0);
    // Measured here: 0-1 ms (113-398 ms when the encodes under way were awaited);
    // the bound is generous for loaded machines.
    expect(answeredAfter, `answered ${answeredAfter} ms after the abort`).toBeLessThan(250);
    // The file works afterwards (the late results were dropped).
    const [shot] = await snapshots(h264, { times: [3000], frameType: 'intra' });
    expect(shot!.timeMs).toBe(3000);
  });

  it('probe with an aborted signal rejects with Aborted before any work', async () => {
    await expectFailure(() => probe(h264, { signal: AbortSignal.abort() }), 'Aborted', 'the snapshot was cancelled');
  });
});

describe('NODE_DEBUG=framesnap', () => {
  const INDEX = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  const debugRun = (env: NodeJS.ProcessEnv): Promise<{ stderr: string }> =>
    runFile(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { snapshots } from ${JSON.stringify(INDEX)};
         await snapshots(${JSON.stringify(h264)}, { times: [1010, 1020, 40], format: 'png' });`,
      ],
      { env },
    );

  it('says which frame each time got, and when a time shares an image already made', async () => {
    const { stderr } = await debugRun({ ...process.env, NODE_DEBUG: 'framesnap' });
    const lines = stderr.split('\n').map((line) => line.replace(/^FRAMESNAP \d+: /, ''));
    expect(lines).toContain(`snapshots of ${shortenSubject(h264)}: 3 time(s), normal, png, autoxauto, timeout 0 ms`);
    expect(lines).toContain('frame for 40 ms: the frame at 40 ms');
    expect(lines).toContain('frame for 1010 ms: the frame at 1040 ms');
    expect(lines).toContain('frame for 1020 ms: the frame at 1040 ms, its image already made (shared)');
  });

  it('prints nothing without it', async () => {
    const env = { ...process.env };
    delete env['NODE_DEBUG'];
    expect((await debugRun(env)).stderr).toBe('');
  });
});
