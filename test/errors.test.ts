/**
 * Bad input of every kind through every twin of the low-level API (SPEC
 * section 8): each failure is a SnapshotError with the exact code and a
 * message that names the file and the reason; validation errors; and
 * cancellation by AbortSignal and by timeoutMs.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { probe, probeSync, SnapshotError, snapshot, snapshots, snapshotsSync, snapshotSync } from '../dist/index.js';
import { shortenSubject } from '../dist/core/errors.js';
import { fixture, jpegToRgb } from './fixtures.js';

const runFile = promisify(execFile);
const IS_ROOT = process.getuid?.() === 0;

/**
 * The command prefix that runs a child as this same user without the
 * capabilities that let root read any file (util-linux's setpriv drops them
 * from the inheritable and bounding sets, so the exec'd child has none), or
 * why that cannot be done here. Switching to an unprivileged user instead
 * would fail on a checkout in a folder only root can read (a clone in /root).
 */
function withoutFileCapabilities(): { command: string; args: string[] } | { skip: string } {
  if (!IS_ROOT) return { skip: 'not root: the in-process case above already runs without permission overrides' };
  const command = 'setpriv';
  const args = ['--inh-caps=-all', '--bounding-set=-all', '--'];
  const tried = spawnSync(command, [...args, 'true'], { encoding: 'utf8' });
  if ((tried.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return { skip: 'setpriv (util-linux) is not installed, so capabilities cannot be dropped for the child' };
  }
  if (tried.status !== 0) {
    return { skip: `setpriv cannot drop capabilities here: ${(tried.stderr || String(tried.error)).trim()}` };
  }
  return { command, args };
}
const TWINS_CHILD = fileURLToPath(new URL('./helpers/twins-child.mjs', import.meta.url));

/** The 4 s, 25 fps, 320x240 H.264 clip: frames at 0, 40, ..., 3960 ms; keyframes each second. */
let h264: string;
/** A scratch folder: the missing file, the directory and the unreadable file live here. */
let scratch: string;

beforeAll(async () => {
  h264 = await fixture('h264');
  scratch = mkdtempSync(join(tmpdir(), 'framesnap-errors-'));
  mkdirSync(join(scratch, 'folder.mp4'));
  copyFileSync(h264, join(scratch, 'locked.mp4'));
  symlinkSync('loop.mp4', join(scratch, 'loop.mp4'));
  chmodSync(join(scratch, 'locked.mp4'), 0o000);
});

afterAll(() => {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// ---- The twins --------------------------------------------------------------

interface Twin {
  name: string;
  sync: boolean;
  /** Undefined for probe, which has no frame type. */
  frameType?: 'intra' | 'normal';
  /** `time` replaces the default time (1000 ms; for the series, [0, 1000, 2000] becomes [0, time]). */
  call: (path: string, time?: number) => unknown;
}

const FRAME_TYPES = ['intra', 'normal'] as const;

const TWINS: Twin[] = [
  { name: 'probe', sync: false, call: (path) => probe(path) },
  { name: 'probeSync', sync: true, call: (path) => probeSync(path) },
  ...FRAME_TYPES.flatMap((frameType): Twin[] => [
    { name: `snapshot ${frameType}`, sync: false, frameType, call: (path, time = 1000) => snapshot(path, { time, frameType }) },
    { name: `snapshotSync ${frameType}`, sync: true, frameType, call: (path, time = 1000) => snapshotSync(path, { time, frameType }) },
    {
      name: `snapshots ${frameType}`,
      sync: false,
      frameType,
      call: (path, time) => snapshots(path, { times: time === undefined ? [0, 1000, 2000] : [0, time], frameType }),
    },
    {
      name: `snapshotsSync ${frameType}`,
      sync: true,
      frameType,
      call: (path, time) => snapshotsSync(path, { times: time === undefined ? [0, 1000, 2000] : [0, time], frameType }),
    },
  ]),
];

/**
 * The error a twin fails with: a sync twin must throw (not return), an async
 * one must return a promise that rejects (not throw synchronously).
 */
async function failureOf(twin: Twin, run: () => unknown): Promise<SnapshotError> {
  let returned: unknown;
  try {
    returned = run();
  } catch (error) {
    if (!twin.sync) throw new Error(`${twin.name} threw synchronously instead of rejecting: ${String(error)}`, { cause: error });
    return error as SnapshotError;
  }
  if (twin.sync) throw new Error(`${twin.name} returned instead of throwing`);
  expect(returned).toBeInstanceOf(Promise);
  try {
    await returned;
  } catch (error) {
    return error as SnapshotError;
  }
  throw new Error(`${twin.name} resolved instead of rejecting`);
}

function expectSnapshotError(error: SnapshotError, code: string, message: string | RegExp): void {
  expect(error).toBeInstanceOf(SnapshotError);
  expect(error).toBeInstanceOf(Error);
  expect(error.name).toBe('SnapshotError');
  expect({ code: error.code, message: error.message }).toEqual({
    code,
    message: typeof message === 'string' ? message : expect.stringMatching(message),
  });
}

// ---- Bad files ----------------------------------------------------------------

interface BadInput {
  name: string;
  path: () => Promise<string>;
  code: string;
  message: (path: string) => string | RegExp;
  /** Which twins the case applies to (default: all). */
  appliesTo?: (twin: Twin) => boolean;
  /** A time that replaces the twin's default. */
  time?: number;
  skip?: boolean;
}

/**
 * A failure about the file: "<path>: <reason>". The native core's reason never
 * holds the path (nor FFmpeg's "@ 0x..." heap addresses, nor the format
 * whitelist); the API puts the caller's path in front of it.
 */
const aboutFile = (path: string, reason: string): RegExp => new RegExp(`^${escape(shortenSubject(path))}: ${reason}$`);
/** FFmpeg's reason from avformat_open_input, with the demuxer's own detail when it gave one. */
const cannotOpen = (reason: string, context?: string, detail?: string): string =>
  `cannot open the file as a video: ${escape(reason)}${context === undefined ? '' : `( \\(\\[${escape(context)}\\] ${detail}\\))?`}`;

const MOV = 'mov,mp4,m4a,3gp,3g2,mj2';

const BAD_INPUTS: BadInput[] = [
  {
    name: 'a missing file',
    path: async () => join(scratch, 'missing.mp4'),
    code: 'InvalidParameter.ResourceNotFound',
    message: (path) => aboutFile(path, 'cannot open the file: No such file or directory'),
  },
  {
    name: 'a path through a missing folder',
    path: async () => join(scratch, 'no-such-folder', 'clip.mp4'),
    code: 'InvalidParameter.ResourceNotFound',
    message: (path) => aboutFile(path, 'cannot open the file: No such file or directory'),
  },
  {
    name: 'an empty file',
    path: () => fixture('empty'),
    code: 'InvalidParameter.ResourceContentBad',
    message: (path) => aboutFile(path, cannotOpen('Invalid data found when processing input', MOV, 'moov atom not found')),
  },
  {
    name: 'random bytes',
    path: () => fixture('random'),
    code: 'InvalidParameter.ResourceContentBad',
    message: (path) => aboutFile(path, cannotOpen('Invalid data found when processing input', MOV, 'moov atom not found')),
  },
  {
    name: 'a text file',
    path: () => fixture('text'),
    // The tty demuxer (text as pictures) is deliberately not on the format
    // whitelist; the message does not list the whitelist.
    code: 'InvalidParameter.ResourceContentBad',
    message: (path) => aboutFile(path, `cannot open the file as a video: (Invalid argument|Invalid data found when processing input)[^']*`),
  },
  {
    name: 'audio only (no video stream)',
    path: () => fixture('audioOnly'),
    code: 'InvalidParameter.ResourceContentBad',
    message: (path) => `${path}: the file has no video stream`,
  },
  {
    name: 'a truncated MP4 (moov missing)',
    path: () => fixture('truncated'),
    code: 'InvalidParameter.ResourceContentBad',
    message: (path) => aboutFile(path, cannotOpen('Invalid data found when processing input', MOV, 'moov atom not found')),
  },
  {
    name: 'a directory',
    path: async () => join(scratch, 'folder.mp4'),
    // A parameter that names no file: the request is wrong, not the content.
    code: 'InvalidParameter',
    message: (path) => aboutFile(path, 'is a folder, not a file'),
  },
  {
    name: 'a symlink loop',
    path: async () => join(scratch, 'loop.mp4'),
    code: 'PermissionDenied.ResourceAccess',
    message: (path) => aboutFile(path, 'cannot open the file: Too many levels of symbolic links'),
  },
  {
    name: 'a name too long for the file system',
    path: async () => join(scratch, `${'n'.repeat(300)}.mp4`),
    code: 'InvalidParameter',
    // The path (over 300 characters) is shortened in the middle: "/tmp/framesnap-errors-…nnnn.mp4".
    message: (path) => aboutFile(path, 'the name is too long'),
  },
  {
    name: 'a time past the end in normal mode',
    path: () => fixture('h264'),
    time: 60_000,
    appliesTo: (twin) => twin.frameType === 'normal',
    code: 'InvalidParameter.ResourceContentBad',
    message: (path) => `${path}: no frame at or after 60000 ms: the time is past the last frame`,
  },
  {
    name: 'an unreadable file (mode 000)',
    path: async () => join(scratch, 'locked.mp4'),
    // root reads any file whatever its mode: the case runs in-process only for
    // other users; as root the test below runs it in a child without the
    // capabilities that override file permissions.
    skip: IS_ROOT,
    code: 'PermissionDenied.ResourceAccess',
    message: (path) => aboutFile(path, 'cannot open the file( as a video)?: Permission denied'),
  },
];

const CASES = BAD_INPUTS.flatMap((input) =>
  TWINS.filter((twin) => input.appliesTo?.(twin) ?? true).map((twin) => ({ input, twin, label: `${input.name} via ${twin.name}` })),
);

describe('bad inputs through every twin', () => {
  it.for(CASES)('$label', async ({ input, twin }, context) => {
    if (input.skip) context.skip();
    const path = await input.path();
    const error = await failureOf(twin, () => twin.call(path, input.time));
    expectSnapshotError(error, input.code, input.message(path));
    // Nothing internal in any message: heap addresses, the format whitelist.
    expect(error.message).not.toMatch(/0x[0-9a-f]{6,}|whitelist/i);
  });

  it('an unreadable file (mode 000) via every twin, without the capabilities that override file permissions', async (context) => {
    const runner = withoutFileCapabilities();
    if ('skip' in runner) {
      context.skip(runner.skip);
      return;
    }
    const path = join(scratch, 'locked.mp4');
    // The child runs from this checkout as the same user (it may sit in a
    // folder only root can read); only its capabilities are gone.
    const { stdout } = await runFile(runner.command, [...runner.args, process.execPath, TWINS_CHILD, path], { timeout: 60_000 });
    const results = JSON.parse(stdout) as Record<string, { message?: string }>;
    const expected = {
      ok: false,
      isSnapshotError: true,
      code: 'PermissionDenied.ResourceAccess',
      message: expect.stringMatching(aboutFile(path, 'cannot open the file( as a video)?: Permission denied')),
    };
    expect(results).toEqual(Object.fromEntries(TWINS.map((twin) => [twin.name, expected])));
  });

  it('an intra time past the end is not an error: it gives the last keyframe', async () => {
    const [last] = await snapshots(h264, { times: [60_000], frameType: 'intra' });
    expect({ requestedMs: last!.requestedMs, timeMs: last!.timeMs, keyframe: last!.keyframe }).toEqual({
      requestedMs: 60_000,
      timeMs: 3000,
      keyframe: true,
    });
    const [lastSync] = snapshotsSync(h264, { times: [60_000], frameType: 'intra' });
    expect(lastSync!.timeMs).toBe(3000);
    expect(Buffer.compare(lastSync!.jpeg, last!.jpeg)).toBe(0);
  });

  it('leaves the process alive and working', async () => {
    expect(process.exitCode ?? 0).toBe(0);
    for (const jpeg of [
      await snapshot(h264, { time: 1000, frameType: 'normal' }),
      snapshotSync(h264, { time: 1000, frameType: 'normal' }),
      await snapshot(h264, { time: 1000 }),
    ]) {
      const { width, height } = await jpegToRgb(jpeg);
      expect({ width, height }).toEqual({ width: 320, height: 240 });
    }
    expect((await probe(h264)).durationMs).toBe(4000);
    expect(probeSync(h264).durationMs).toBe(4000);
  });
});

// ---- Validation -------------------------------------------------------------

const SNAPSHOT_TWINS = TWINS.filter((twin) => twin.name.startsWith('snapshot ') || twin.name.startsWith('snapshotSync '));
const SERIES_TWINS = TWINS.filter((twin) => twin.name.startsWith('snapshots'));

interface Invalid {
  name: string;
  twins: Twin[];
  call: (twin: Twin) => unknown;
  code: string;
  /** A function when it depends on a fixture's path. */
  message: string | (() => string);
}

/** Calls a twin's function (by the name before its frame type) with raw, unchecked arguments. */
function raw(twin: Twin, path: unknown, options: unknown): unknown {
  const fn = {
    probe,
    probeSync,
    snapshot,
    snapshotSync,
    snapshots,
    snapshotsSync,
  }[twin.name.split(' ')[0]!] as (path: unknown, options: unknown) => unknown;
  return fn(path, options);
}

const withFrameType = (twin: Twin, options: Record<string, unknown>): Record<string, unknown> =>
  twin.frameType === undefined ? options : { ...options, frameType: twin.frameType };

const VALIDATION: Invalid[] = [
  {
    name: 'time -1',
    twins: SNAPSHOT_TWINS,
    call: (twin) => raw(twin, h264, withFrameType(twin, { time: -1 })),
    code: 'InvalidParameter.OutOfRange',
    message: 'Expected a number between 0 and 1000000000000 for time but received -1',
  },
  {
    name: 'times [-1]',
    twins: SERIES_TWINS,
    call: (twin) => raw(twin, h264, withFrameType(twin, { times: [0, -1] })),
    code: 'InvalidParameter.OutOfRange',
    message: 'Expected a number between 0 and 1000000000000 for times[1] but received -1',
  },
  {
    name: 'time NaN',
    twins: SNAPSHOT_TWINS,
    call: (twin) => raw(twin, h264, withFrameType(twin, { time: NaN })),
    code: 'InvalidParameter',
    message: 'Expected a number between 0 and 1000000000000 for time but received NaN',
  },
  {
    name: 'times [NaN]',
    twins: SERIES_TWINS,
    call: (twin) => raw(twin, h264, withFrameType(twin, { times: [NaN] })),
    code: 'InvalidParameter',
    message: 'Expected a number between 0 and 1000000000000 for times[0] but received NaN',
  },
  {
    name: 'time missing',
    twins: SNAPSHOT_TWINS,
    call: (twin) => raw(twin, h264, withFrameType(twin, {})),
    code: 'InvalidParameter.NullValue',
    message: 'Expected a number of milliseconds for time but received undefined',
  },
  {
    name: 'times []',
    twins: SERIES_TWINS,
    call: (twin) => raw(twin, h264, withFrameType(twin, { times: [] })),
    code: 'InvalidParameter',
    message: 'Expected an array of 1 to 7200 times in milliseconds for times but received an array',
  },
  {
    name: 'times not an array (a number)',
    twins: SERIES_TWINS,
    call: (twin) => raw(twin, h264, withFrameType(twin, { times: 1000 })),
    code: 'InvalidParameter',
    message: 'Expected an array of 1 to 7200 times in milliseconds for times but received 1000',
  },
  {
    name: 'times not an array (a string)',
    twins: SERIES_TWINS,
    call: (twin) => raw(twin, h264, withFrameType(twin, { times: '0,1000' })),
    code: 'InvalidParameter',
    message: 'Expected an array of 1 to 7200 times in milliseconds for times but received "0,1000"',
  },
  {
    name: "path ''",
    twins: TWINS,
    call: (twin) => raw(twin, '', withFrameType(twin, twin.name.startsWith('snapshots') ? { times: [0] } : { time: 0 })),
    code: 'InvalidParameter',
    message: 'Expected a non-empty file path without NUL bytes, or an https: or http: URL, for path but received ""',
  },
  {
    name: 'path with a NUL byte',
    twins: TWINS,
    call: (twin) => raw(twin, `${h264}\0.txt`, withFrameType(twin, twin.name.startsWith('snapshots') ? { times: [0] } : { time: 0 })),
    code: 'InvalidParameter',
    // The path is quoted as JSON, the NUL byte escaped.
    message: () =>
      `Expected a non-empty file path without NUL bytes, or an https: or http: URL, for path but received ${JSON.stringify(`${h264}\0.txt`)}`,
  },
  {
    name: 'path not a string',
    twins: TWINS,
    call: (twin) => raw(twin, 42, withFrameType(twin, twin.name.startsWith('snapshots') ? { times: [0] } : { time: 0 })),
    code: 'InvalidParameter',
    message: 'Expected a non-empty file path without NUL bytes, or an https: or http: URL, for path but received 42',
  },
  {
    name: 'options null',
    twins: TWINS,
    call: (twin) => raw(twin, h264, null),
    code: 'InvalidParameter',
    message: 'Expected an options object for options but received null',
  },
  {
    name: 'frameType unknown',
    twins: [...SNAPSHOT_TWINS, ...SERIES_TWINS].filter((twin) => twin.frameType === 'intra'),
    call: (twin) =>
      raw(twin, h264, twin.name.startsWith('snapshots') ? { times: [0], frameType: 'exact' } : { time: 0, frameType: 'exact' }),
    code: 'InvalidParameter',
    message: 'Expected one of intra, normal for frameType but received "exact"',
  },
  {
    name: 'a signal given to a blocking twin',
    twins: TWINS.filter((twin) => twin.name.startsWith('snapshotSync') || twin.name.startsWith('snapshotsSync')),
    call: (twin) =>
      raw(
        twin,
        h264,
        withFrameType(twin, {
          ...(twin.name.startsWith('snapshots') ? { times: [0] } : { time: 0 }),
          signal: new AbortController().signal,
        }),
      ),
    code: 'InvalidParameter',
    message: 'Expected no signal (a blocking call cannot be aborted; use timeoutMs) for signal but received "an AbortSignal"',
  },
];

describe('validation', () => {
  const cases = VALIDATION.flatMap((invalid) =>
    invalid.twins.map((twin) => ({ invalid, twin, label: `${invalid.name} via ${twin.name}` })),
  );

  it.each(cases)('$label', async ({ invalid, twin }) => {
    const error = await failureOf(twin, () => invalid.call(twin));
    expectSnapshotError(error, invalid.code, typeof invalid.message === 'string' ? invalid.message : invalid.message());
  });

  it('names an unknown option and the option it is a typo of (a typo is never ignored)', async () => {
    const error = await failureOf(SNAPSHOT_TWINS[0]!, () => snapshot(h264, { time: 0, tiem: 5 } as never));
    expectSnapshotError(error, 'InvalidParameter', 'Unknown option "tiem" for snapshot(): did you mean "time"?');
  });
});

// ---- Cancellation -----------------------------------------------------------

/** Every frame of the h264 clip in normal mode: 100 decodes and 100 JPEGs, far beyond 1 ms. */
const EVERY_FRAME = Array.from({ length: 100 }, (_, index) => index * 40);

describe('cancellation', () => {
  const ASYNC: Twin = { name: 'async call', sync: false, call: () => undefined };
  const BLOCKING: Twin = { name: 'blocking call', sync: true, call: () => undefined };
  const CANCELLED = 'the snapshot was cancelled';
  const PAST_DEADLINE = 'the snapshot ran past its deadline';

  it.each([
    ['probe', () => probe(h264, { signal: AbortSignal.abort() })],
    ['snapshot intra', () => snapshot(h264, { time: 1000, frameType: 'intra', signal: AbortSignal.abort() })],
    ['snapshot normal', () => snapshot(h264, { time: 1000, frameType: 'normal', signal: AbortSignal.abort() })],
    ['snapshots intra', () => snapshots(h264, { times: [0, 1000], frameType: 'intra', signal: AbortSignal.abort() })],
    [
      'snapshots normal',
      () => snapshots(h264, { times: EVERY_FRAME, frameType: 'normal', signal: AbortSignal.abort(new Error('a reason')) }),
    ],
  ] as const)('an already aborted signal: %s rejects with Aborted', async (_name, call) => {
    const error = await failureOf(ASYNC, call);
    expectSnapshotError(error, 'Aborted', CANCELLED);
  });

  it.each([
    ['probe', (signal: AbortSignal) => probe(h264, { signal })],
    ['snapshot', (signal: AbortSignal) => snapshot(h264, { time: 1000, signal })],
    ['snapshots', (signal: AbortSignal) => snapshots(h264, { times: [0, 1000], signal })],
  ] as const)("an aborted %s's error has the signal's reason as its cause", async (_name, call) => {
    const reason = new Error('the user left');
    const error = await failureOf(ASYNC, () => call(AbortSignal.abort(reason)));
    expectSnapshotError(error, 'Aborted', CANCELLED);
    expect(error.cause).toBe(reason);
    // Without a reason, the signal's own (a DOMException AbortError).
    const controller = new AbortController();
    const pending = call(controller.signal);
    controller.abort();
    const plain = await failureOf(ASYNC, () => pending);
    expect(plain.cause).toBe(controller.signal.reason);
    expect((plain.cause as DOMException).name).toBe('AbortError');
  });

  it('aborting while a long normal-mode series decodes rejects with Aborted', async () => {
    const controller = new AbortController();
    const pending = snapshots(h264, { times: EVERY_FRAME, frameType: 'normal', signal: controller.signal });
    // The native work is queued when snapshots() returns; abort on the next turn of the loop.
    setImmediate(() => controller.abort('stop'));
    const error = await failureOf(ASYNC, () => pending);
    expectSnapshotError(error, 'Aborted', CANCELLED);
    expect(error.cause).toBe('stop');
    // The same file, unaborted, still works afterwards.
    const all = await snapshots(h264, { times: EVERY_FRAME, frameType: 'normal' });
    // (Frame times are milliseconds from a time base and may carry float noise: 3280.0000000000005.)
    expect(all.map((shot) => [shot.requestedMs, Math.round(shot.timeMs)])).toEqual(EVERY_FRAME.map((time) => [time, time]));
  });

  it('a signal aborted after the call finished changes nothing', async () => {
    const controller = new AbortController();
    const jpeg = await snapshot(h264, { time: 500, signal: controller.signal });
    controller.abort();
    expect((await jpegToRgb(jpeg)).width).toBe(320);
  });

  it.each([
    ['snapshots', () => snapshots(h264, { times: EVERY_FRAME, frameType: 'normal', timeoutMs: 1 })],
    ['snapshot', () => snapshot(h264, { time: 3960, frameType: 'normal', timeoutMs: 1 })],
  ] as const)('timeoutMs 1 on a heavy normal-mode %s rejects with SnapshotTimeOut', async (_name, call) => {
    const error = await failureOf(ASYNC, call);
    expectSnapshotError(error, 'SnapshotTimeOut', PAST_DEADLINE);
  });

  it.each([
    ['snapshotsSync', () => snapshotsSync(h264, { times: EVERY_FRAME, frameType: 'normal', timeoutMs: 1 })],
    ['snapshotSync', () => snapshotSync(h264, { time: 3960, frameType: 'normal', timeoutMs: 1 })],
  ] as const)('timeoutMs 1 on a heavy normal-mode %s throws SnapshotTimeOut', async (_name, call) => {
    // Start the helper thread first, so that the 1 ms covers the work and not the thread's start.
    snapshotSync(h264, { time: 0 });
    const error = await failureOf(BLOCKING, call);
    // Whether the helper thread or the waiting thread sees the deadline first, one wording.
    expectSnapshotError(error, 'SnapshotTimeOut', /^the snapshot ran past its deadline$/);
  });

  it('works normally after cancelled and timed-out calls', async () => {
    const shots = await snapshots(h264, { times: [3960, 40], frameType: 'normal' });
    expect(shots.map((shot) => [shot.requestedMs, Math.round(shot.timeMs)])).toEqual([
      [3960, 3960],
      [40, 40],
    ]);
    const [syncShot] = snapshotsSync(h264, { times: [3960], frameType: 'normal', timeoutMs: 30_000 });
    expect(Buffer.compare(syncShot!.jpeg, shots[0]!.jpeg)).toBe(0);
  });
});

// ---- The error object itself ----------------------------------------------------

/** This file's name as it appears in a stack frame. */
const THIS_FILE = /errors\.test\.ts:\d+:\d+/;

describe('the error object, as sharp makes it', () => {
  const failures: [string, boolean, () => unknown][] = [
    ['probe', false, () => probe('/nope.mp4')],
    ['probeSync', true, () => probeSync('/nope.mp4')],
    ['snapshot', false, () => snapshot('/nope.mp4', { time: 0 })],
    ['snapshotSync', true, () => snapshotSync('/nope.mp4', { time: 0 })],
    ['snapshots', false, () => snapshots('/nope.mp4', { times: [0] })],
    ['snapshotsSync', true, () => snapshotsSync('/nope.mp4', { times: [0] })],
    ['snapshot, a bad option', false, () => snapshot(h264, { time: -1 })],
    ['snapshotsSync, a bad option', true, () => snapshotsSync(h264, { times: [0], width: 1 })],
  ];

  it.each(failures)("%s: the stack's first frame is the caller's line in this file", async (name, sync, call) => {
    const error = await failureOf({ name, sync, call }, call);
    expect(error).toBeInstanceOf(SnapshotError);
    const lines = error.stack!.split('\n');
    expect(lines[0]).toBe(`SnapshotError: ${error.message}`);
    // The native failure arrives on a later turn of the loop, from C++: without
    // the graft its stack has no frame of the caller's at all.
    expect(lines[1]).toMatch(THIS_FILE);
    expect(lines.slice(1).every((line) => line.startsWith('    at '))).toBe(true);
  });

  it.each(failures)('%s: the only own enumerable key is code; name is on the prototype', async (name, sync, call) => {
    const error = await failureOf({ name, sync, call }, call);
    expect(Object.keys(error)).toEqual(['code']);
    expect(Object.hasOwn(error, 'name')).toBe(false);
    expect(Object.hasOwn(error, 'requestId')).toBe(false);
    expect(Object.hasOwn(error, 'jobId')).toBe(false);
    expect(Object.hasOwn(error, 'cause')).toBe(false);
    expect(error.name).toBe('SnapshotError');
    expect(Object.keys(error.toJSON())).toEqual(['code', 'message']);
  });

  it('requestId, jobId and cause are own keys when set, and only then', () => {
    const cause = new Error('the disk');
    const error = new SnapshotError('InternalError', 'x', { requestId: 'r', jobId: undefined, cause });
    expect(Object.keys(error)).toEqual(['code', 'requestId']);
    expect(error.cause).toBe(cause);
    expect(error.toJSON()).toEqual({ code: 'InternalError', message: 'x', requestId: 'r' });
    expect(Object.keys(SnapshotError.fromJSON({ code: 'InternalError', message: 'y' }))).toEqual(['code']);
  });
});

// ---- The shared vocabulary (core's helpers the job API uses too) --------------------

describe('one vocabulary', () => {
  it('unknownKey: a near miss gets "did you mean", anything else the list, an object that takes none says so', async () => {
    const { unknownKey, nearestKey } = await import('../dist/core/validate.js');
    const allowed = ['Time', 'Num', 'Interval', 'OutputFile'];
    expect(unknownKey('Tme', allowed, 'SnapshotConfig', 'field').message).toBe(
      'Unknown field "Tme" for SnapshotConfig: did you mean "Time"?',
    );
    expect(unknownKey('outputfile', allowed, 'SnapshotConfig', 'field').message).toBe(
      'Unknown field "outputfile" for SnapshotConfig: did you mean "OutputFile"?',
    );
    expect(unknownKey('Colour', allowed, 'SnapshotConfig', 'field').message).toBe(
      'Unknown field "Colour" for SnapshotConfig: expected one of Time, Num, Interval, OutputFile',
    );
    expect(unknownKey('x', [], 'request').message).toBe('Unknown option "x" for request: it takes none');
    expect(unknownKey('a\nb', allowed, 'request').code).toBe('InvalidParameter');
    expect(unknownKey('a\nb', allowed, 'request').message).toBe(
      'Unknown option "a\\nb" for request: expected one of Time, Num, Interval, OutputFile',
    );
    // Within a third of the shorter name: "Nu" is one edit from "Num", "Nmb" two (too far for 3 letters).
    expect([nearestKey('Nu', allowed), nearestKey('Nmb', allowed), nearestKey('Intreval', allowed)]).toEqual([
      'Num',
      undefined,
      'Interval',
    ]);
  });

  it('parseJsonObject: JSON text or an object, own fields only; bad JSON and non-objects are JsonFormatInvalid', async () => {
    const { parseJsonObject } = await import('../dist/core/validate.js');
    expect({ ...parseJsonObject('SnapshotConfig', '{"Time":5}') }).toEqual({ Time: 5 });
    expect({ ...parseJsonObject('SnapshotConfig', Object.assign(Object.create({ Num: 3 }) as object, { Time: 5 })) }).toEqual({ Time: 5 });
    const bad = (value: unknown): { code: string; message: string } => {
      try {
        parseJsonObject('SnapshotConfig', value);
      } catch (error) {
        return { code: (error as SnapshotError).code, message: (error as SnapshotError).message };
      }
      throw new Error('accepted');
    };
    expect(bad('{"Time":')).toEqual({
      code: 'InvalidParameter.JsonFormatInvalid',
      message: expect.stringMatching(/^SnapshotConfig is not valid JSON: /),
    });
    expect(bad('[1]')).toEqual({
      code: 'InvalidParameter.JsonFormatInvalid',
      message: 'Expected a JSON object for SnapshotConfig but received "[1]"',
    });
    expect(bad(7)).toEqual({
      code: 'InvalidParameter.JsonFormatInvalid',
      message: 'Expected a JSON object for SnapshotConfig but received 7',
    });
  });

  it.each([
    ['ENOENT', 'InvalidParameter.ResourceNotFound', 'the object a.jpg does not exist'],
    ['ENOTDIR', 'InvalidParameter.ResourceNotFound', 'the object a.jpg does not exist'],
    ['EACCES', 'PermissionDenied.ResourceAccess', 'the file system refused access to the object a.jpg (EACCES)'],
    ['EPERM', 'PermissionDenied.ResourceAccess', 'the file system refused access to the object a.jpg (EPERM)'],
    ['EROFS', 'PermissionDenied.ResourceAccess', 'the file system refused access to the object a.jpg (EROFS)'],
    ['ELOOP', 'PermissionDenied.ResourceAccess', 'the object a.jpg goes through too many links (ELOOP)'],
    ['ENAMETOOLONG', 'InvalidParameter', 'the object a.jpg: the name is too long (ENAMETOOLONG)'],
    ['EISDIR', 'InvalidParameter', 'the object a.jpg is a folder, not a file'],
    ['ENOSPC', 'InternalError', 'the object a.jpg: no space left on device (ENOSPC)'],
  ])('systemError: %s is %s, the OS error as cause', async (errno, code, message) => {
    const { systemError, codeForSystemError } = await import('../dist/core/errors.js');
    const { constants } = await import('node:os');
    const osError = Object.assign(new Error(`${errno}: /srv/secret/a.jpg`), {
      code: errno,
      errno: -(constants.errno as Record<string, number>)[errno]!,
    });
    const error = systemError(osError, 'the object a.jpg');
    expect({ code: error.code, message: error.message }).toEqual({ code, message });
    expect(error.cause).toBe(osError);
    expect(codeForSystemError(errno)).toBe(code);
  });

  it('systemError when writing: what is missing is the folder', async () => {
    const { systemError } = await import('../dist/core/errors.js');
    const error = systemError(Object.assign(new Error('x'), { code: 'ENOENT' }), 'the object a/b.jpg', { writing: true });
    expect(error.message).toBe('the folder of the object a/b.jpg does not exist');
  });

  it('toSnapshotError: a SnapshotError as it is, anything else an InternalError with it as the cause', async () => {
    const { toSnapshotError, withMessage } = await import('../dist/core/errors.js');
    const own = new SnapshotError('Aborted', 'stop', { jobId: 'j' });
    expect(toSnapshotError(own)).toBe(own);
    const thrown = new TypeError('not a function');
    const wrapped = toSnapshotError(thrown);
    expect({ code: wrapped.code, message: wrapped.message, cause: wrapped.cause }).toEqual({
      code: 'InternalError',
      message: 'not a function',
      cause: thrown,
    });
    expect(toSnapshotError('a string').message).toBe('a string');
    const renamed = withMessage(own, 'x: stop');
    expect({ code: renamed.code, message: renamed.message, jobId: renamed.jobId }).toEqual({
      code: 'Aborted',
      message: 'x: stop',
      jobId: 'j',
    });
  });
});
