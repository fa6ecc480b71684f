/**
 * The low-level API's public types as users see them in dist/: the result
 * type follows resolveWithObject, options refuse typos and wrong kinds at
 * compile time, ProbeResult and FfmpegVersions stand alone (no internal
 * module's type leaks), and the README's low-level examples compile.
 */
import { describe, expectTypeOf, test } from 'vitest';

import {
  ffmpegVersions,
  formatFromExtension,
  probe,
  probeSync,
  snapshot,
  snapshots,
  snapshotsSync,
  snapshotSync,
  SnapshotError,
  type CommonOptions,
  type FfmpegVersions,
  type FrameType,
  type ImageFormat,
  type ProbeOptions,
  type ProbeResult,
  type Snapshot,
  type SnapshotInfo,
  type SnapshotOptions,
  type SnapshotResult,
  type SnapshotsOptions,
  type NetworkOptions,
} from '../../dist/index.js';

describe('snapshot() and snapshotSync()', () => {
  test('resolve a Buffer by default, { data, info } with resolveWithObject: true', () => {
    expectTypeOf(snapshot('movie.mp4', { time: 5000 })).toEqualTypeOf<Promise<Buffer>>();
    expectTypeOf(snapshot('movie.mp4', { time: 5000, resolveWithObject: false })).toEqualTypeOf<Promise<Buffer>>();
    expectTypeOf(snapshot('movie.mp4', { time: 5000, resolveWithObject: true })).toEqualTypeOf<Promise<SnapshotResult>>();
    expectTypeOf(snapshotSync('movie.mp4', { time: 5000 })).toEqualTypeOf<Buffer>();
    expectTypeOf(snapshotSync('movie.mp4', { time: 5000, resolveWithObject: true })).toEqualTypeOf<SnapshotResult>();
    // A flag known only at run time gives either.
    const flag = Math.random() > 0.5;
    expectTypeOf(snapshot('movie.mp4', { time: 5000, resolveWithObject: flag })).toEqualTypeOf<Promise<Buffer | SnapshotResult>>();
  });

  test('take a URL (string or URL object) with the network options', () => {
    expectTypeOf(snapshot(new URL('https://example.com/movie.mp4'), { time: 5000, allowPrivateNetwork: true })).toEqualTypeOf<
      Promise<Buffer>
    >();
    expectTypeOf(snapshotSync(new URL('https://example.com/movie.mp4'), { time: 5000, caFile: 'ca.pem' })).toEqualTypeOf<Buffer>();
    expectTypeOf<NetworkOptions>().toEqualTypeOf<{ allowPrivateNetwork?: boolean | readonly string[]; caFile?: string }>();
    expectTypeOf(snapshot('https://minio.internal/movie.mp4', { time: 0, allowPrivateNetwork: ['minio.internal'] })).toEqualTypeOf<
      Promise<Buffer>
    >();
    // @ts-expect-error: allowPrivateNetwork is a boolean or a list of hosts
    void snapshot('https://example.com/movie.mp4', { time: 0, allowPrivateNetwork: 'yes' });
  });

  test('info says which frame the image shows', () => {
    expectTypeOf<SnapshotResult>().toEqualTypeOf<{ data: Buffer; info: SnapshotInfo }>();
    expectTypeOf<SnapshotInfo>().toEqualTypeOf<{ timeMs: number; keyframe: boolean; width: number; height: number; format: ImageFormat }>();
  });

  test('refuse typos and wrong kinds', () => {
    // @ts-expect-error: tme is not an option (time is)
    void snapshot('movie.mp4', { tme: 5000 });
    // @ts-expect-error: time is required
    void snapshot('movie.mp4', { frameType: 'normal' });
    // @ts-expect-error: Time is not time
    void snapshot('movie.mp4', { time: 0, Time: 5000 });
    // @ts-expect-error: time is milliseconds, a number
    void snapshot('movie.mp4', { time: '5s' });
    // @ts-expect-error: exact is not a frame type
    void snapshot('movie.mp4', { time: 0, frameType: 'exact' });
    // @ts-expect-error: gif is not an output format
    void snapshot('movie.mp4', { time: 0, format: 'gif' });
    // @ts-expect-error: jpg is spelled jpeg
    void snapshot('movie.mp4', { time: 0, format: 'jpg' });
    // @ts-expect-error: a blocking call takes no signal
    void snapshotSync('movie.mp4', { time: 0, signal: new AbortController().signal });
    // @ts-expect-error: resolveWithObject is snapshot()'s only
    void snapshots('movie.mp4', { times: [0], resolveWithObject: true });
    // @ts-expect-error: times, not time
    void snapshots('movie.mp4', { time: 0 });
  });
});

describe('snapshots() and snapshotsSync()', () => {
  test('give one Snapshot per time', () => {
    expectTypeOf(snapshots('movie.mp4', { times: [0, 1000] })).toEqualTypeOf<Promise<Snapshot[]>>();
    expectTypeOf(snapshotsSync('movie.mp4', { times: [0, 1000], format: 'webp' })).toEqualTypeOf<Snapshot[]>();
    expectTypeOf<Snapshot['data']>().toEqualTypeOf<Buffer>();
    expectTypeOf<Snapshot['format']>().toEqualTypeOf<ImageFormat>();
    expectTypeOf<Snapshot['requestedMs']>().toEqualTypeOf<number>();
    expectTypeOf<Snapshot>().toMatchTypeOf<SnapshotInfo>();
  });

  test('options interfaces', () => {
    expectTypeOf<FrameType>().toEqualTypeOf<'intra' | 'normal'>();
    expectTypeOf<ImageFormat>().toEqualTypeOf<'jpeg' | 'webp' | 'avif' | 'png'>();
    expectTypeOf<CommonOptions['format']>().toEqualTypeOf<ImageFormat | undefined>();
    expectTypeOf<SnapshotOptions['time']>().toEqualTypeOf<number>();
    expectTypeOf<SnapshotsOptions['times']>().toEqualTypeOf<number[]>();
    const options: SnapshotsOptions = { times: [0], width: 320, quality: 80, format: 'avif', threads: 0, limitOutputPixels: 1e6 };
    void options;
    // @ts-expect-error: qualty is not an option
    const typo: SnapshotsOptions = { times: [0], qualty: 80 };
    void typo;
  });
});

describe('probe()', () => {
  test('ProbeResult stands alone', () => {
    expectTypeOf(probe('movie.mp4')).toEqualTypeOf<Promise<ProbeResult>>();
    expectTypeOf(probeSync('movie.mp4')).toEqualTypeOf<ProbeResult>();
    expectTypeOf<ProbeResult['durationMs']>().toEqualTypeOf<number | null>();
    expectTypeOf<ProbeResult['hdr']>().toEqualTypeOf<boolean>();
    expectTypeOf<ProbeResult['sampleAspectRatio']>().toEqualTypeOf<[number, number]>();
    expectTypeOf<ProbeResult['keyframeCount']>().toEqualTypeOf<number | null>();
  });

  test('refuses typos', () => {
    // @ts-expect-error: timeout is timeoutMs
    void probe('movie.mp4', { timeout: 5 });
    // @ts-expect-error: a blocking call takes no signal
    void probeSync('movie.mp4', { signal: new AbortController().signal });
    const options: ProbeOptions = { timeoutMs: 5, limitInputPixels: 1e6 };
    void options;
  });
});

describe('the rest', () => {
  test('FfmpegVersions is a plain, named interface', () => {
    expectTypeOf(ffmpegVersions()).toEqualTypeOf<FfmpegVersions>();
    expectTypeOf<FfmpegVersions>().toEqualTypeOf<{
      ffmpeg: string;
      libavformat: string;
      libavcodec: string;
      libswscale: string;
      libavutil: string;
    }>();
  });

  test('formatFromExtension', () => {
    expectTypeOf(formatFromExtension('.png')).toEqualTypeOf<ImageFormat | undefined>();
  });

  test('SnapshotError: name is the literal, cause and ids are optional', () => {
    expectTypeOf<SnapshotError['name']>().toEqualTypeOf<'SnapshotError'>();
    expectTypeOf<SnapshotError['requestId']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<SnapshotError['cause']>().toEqualTypeOf<unknown>();
  });

  test("the README's low-level examples compile as written", async () => {
    const info = await probe('movie.mp4');
    const jpeg: Buffer = await snapshot('movie.mp4', { time: 5000 });
    const { data, info: frame } = await snapshot('movie.mp4', { time: 5500, resolveWithObject: true });
    const key = await snapshot('movie.mp4', { time: 5000, frameType: 'intra' });
    const thumbs = await snapshots('movie.mp4', { times: [0, 10000, 20000], width: 320, format: 'webp' });
    const blocking = snapshotSync('movie.mp4', { time: 5000 });
    void [info.durationMs, jpeg, data, frame.timeMs, frame.keyframe, key, thumbs[0]?.data, blocking];
  });
});
