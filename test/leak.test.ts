/**
 * Memory stays bounded over many calls (SPEC section 8: nothing a request
 * contains can leak memory). Each run is a child process with --expose-gc
 * (test/helpers/leak-child.mjs) that measures its resident set after a
 * warm-up and after the calls, each time after garbage collection. The bounds
 * are far below what a per-call leak of one frame would cost: a leaked
 * 320x240 RGB frame is 230 KB, so 300 of them would be 69 MB; a leaked
 * decoder or demuxer context costs about as much.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, it } from 'vitest';

import { fixture } from './fixtures.js';

const runFile = promisify(execFile);
const LEAK_CHILD = fileURLToPath(new URL('./helpers/leak-child.mjs', import.meta.url));
const MB = 1024 * 1024;

interface Usage {
  rss: number;
  external: number;
  arrayBuffers: number;
}
interface LeakReport {
  before: Usage;
  after: Usage;
  jpegBytes: number;
  failures: number;
  codes: Record<string, number>;
}

let clips: string[];
let bad: string[];

beforeAll(async () => {
  clips = await Promise.all((['h264', 'hevc', 'vp9', 'mpeg2'] as const).map((name) => fixture(name)));
  bad = [
    '/nonexistent/framesnap/missing.mp4',
    ...(await Promise.all((['random', 'audioOnly', 'truncated', 'empty', 'text'] as const).map((name) => fixture(name)))),
  ];
});

async function measure(options: { calls: number; warmUp: number; failingOnly?: boolean }): Promise<LeakReport> {
  const { stdout } = await runFile(process.execPath, ['--expose-gc', LEAK_CHILD, JSON.stringify({ clips, bad, ...options })], {
    timeout: 90_000,
  });
  return JSON.parse(stdout) as LeakReport;
}

describe('memory over many calls', () => {
  it('300 mixed calls (intra, normal, series, probe, sync, failing) grow RSS by less than 60 MB', { timeout: 120_000 }, async () => {
    const report = await measure({ calls: 300, warmUp: 60 });
    // Every tenth call fails on purpose: 6 in the warm-up, 30 in the measured run.
    expect(report.failures).toBe(36);
    expect(Object.keys(report.codes).sort()).toEqual([
      'Aborted',
      'InvalidParameter.ResourceContentBad',
      'InvalidParameter.ResourceNotFound',
      'SnapshotTimeOut',
    ]);
    expect(report.jpegBytes).toBeGreaterThan(0);
    const growth = report.after.rss - report.before.rss;
    expect(growth, `RSS grew by ${(growth / MB).toFixed(1)} MB`).toBeLessThan(60 * MB);
    // JavaScript-visible buffers (pixels handed over by the addon, JPEGs) are all collected.
    expect(report.after.arrayBuffers - report.before.arrayBuffers).toBeLessThan(1 * MB);
  });

  it('1000 failing calls (bad files, times past the end, timeouts, aborts) grow RSS by less than 30 MB', { timeout: 120_000 }, async () => {
    // Failing calls are cheap, so more of them: a demuxer context leaked with
    // its 32 KB read buffer on each would exceed the bound.
    const report = await measure({ calls: 1000, warmUp: 100, failingOnly: true });
    expect(report.failures).toBe(1100);
    // A quarter each: bad files, times past the end, timeouts, aborts.
    expect(report.codes).toEqual({
      'InvalidParameter.ResourceNotFound': expect.any(Number),
      'InvalidParameter.ResourceContentBad': expect.any(Number),
      SnapshotTimeOut: 275,
      Aborted: 275,
    });
    expect(report.codes['InvalidParameter.ResourceNotFound']! + report.codes['InvalidParameter.ResourceContentBad']!).toBe(550);
    const growth = report.after.rss - report.before.rss;
    expect(growth, `RSS grew by ${(growth / MB).toFixed(1)} MB`).toBeLessThan(30 * MB);
    expect(report.after.arrayBuffers - report.before.arrayBuffers).toBeLessThan(1 * MB);
  });
});
