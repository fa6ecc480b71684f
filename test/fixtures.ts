/**
 * Test clips: the clips of the project's one recipe list (scripts/clips.mjs),
 * made on first use into test/.cache, plus the few the tests derive from them
 * byte by byte (truncated, patched headers, not videos at all); and reference
 * frames from a full sequential decode by the ffmpeg CLI.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import sharp from 'sharp';

import { clip, findFfmpeg, TEST_CLIPS } from '../scripts/clips.mjs';
import { withJpegSize, withPasp } from './helpers/hostile-media.js';

const run = promisify(execFile);
export const CACHE_DIR = join(dirname(fileURLToPath(import.meta.url)), '.cache');
export const FFMPEG = findFfmpeg();
const FFPROBE = FFMPEG.replace(/ffmpeg$/, 'ffprobe');

/** A clip the tests make from others, byte by byte; `version` changes when `make` does. */
interface Derived {
  file: string;
  version: number;
  make: (path: string) => Promise<void>;
}

const DERIVED = {
  /** The first 40% of the h264 clip: the moov atom (at the end) is missing. */
  truncated: {
    file: 'truncated.mp4',
    version: 1,
    make: async (path: string) => {
      const whole = readFileSync(await fixture('h264'));
      writeFileSync(path, whole.subarray(0, Math.floor(whole.length * 0.4)));
    },
  },
  empty: { file: 'empty.mp4', version: 1, make: async (path: string) => writeFileSync(path, Buffer.alloc(0)) },
  /** Deterministic noise (not a video). */
  random: {
    file: 'random.mp4',
    version: 1,
    make: async (path: string) => {
      const bytes = Buffer.alloc(64 * 1024);
      let state = 12345;
      for (let i = 0; i < bytes.length; i++) {
        state = (state * 1103515245 + 12345) >>> 0;
        bytes[i] = state >>> 24;
      }
      writeFileSync(path, bytes);
    },
  },
  /** 1080p VP9 in MP4 whose pasp box says 500:1 (a 960000x1080 display if believed). */
  paspAbsurd: {
    file: 'pasp-500.mp4',
    version: 1,
    make: async (path: string) => writeFileSync(path, withPasp(readFileSync(await fixture('vp9Sar1080p')), 500, 1)),
  },
  /** One MJPEG frame claiming 16000x16000 (scan data padded to fit), in Matroska (the header states the size too). */
  mjpeg16000: {
    file: 'mjpeg-16000.mkv',
    version: 1,
    make: async (path: string) => {
      const raw = `${path}.source.mjpeg`;
      writeFileSync(raw, withJpegSize(readFileSync(await fixture('rawMjpeg')), 16000, 16000));
      await run(FFMPEG, ['-v', 'error', '-y', '-f', 'mjpeg', '-i', raw, '-c', 'copy', path]);
      rmSync(raw);
    },
  },
  text: {
    file: 'notes.txt',
    version: 1,
    make: async (path: string) => writeFileSync(path, 'These are not the frames you are looking for.\n'.repeat(200)),
  },
} satisfies Record<string, Derived>;

/** Every fixture the tests name: the shared clips, and the derived ones. */
export const RECIPES = { ...TEST_CLIPS, ...DERIVED };
export type FixtureName = keyof typeof TEST_CLIPS | keyof typeof DERIVED;

const pending = new Map<string, Promise<string>>();

/** The path of a fixture, made once and cached between runs. */
export function fixture(name: FixtureName): Promise<string> {
  if (!(name in DERIVED)) return clip(name, CACHE_DIR);
  const recipe: Derived = DERIVED[name as keyof typeof DERIVED];
  const path = join(CACHE_DIR, `derived-v${recipe.version}-${recipe.file}`);
  if (existsSync(path)) return Promise.resolve(path);
  let made = pending.get(path);
  if (made === undefined) {
    made = (async () => {
      mkdirSync(CACHE_DIR, { recursive: true });
      const temporary = `${path}.${process.pid}.tmp${recipe.file.slice(recipe.file.lastIndexOf('.'))}`;
      await recipe.make(temporary);
      renameSync(temporary, path);
      return path;
    })();
    pending.set(path, made);
  }
  return made;
}

export interface ReferenceFrames {
  width: number;
  height: number;
  /** Presentation times in ms from the file's start, ascending. */
  times: number[];
  /** Packed RGB of each frame, in presentation order. */
  frames: Buffer[];
  /** Whether each frame is a keyframe. */
  keyframes: boolean[];
}

/**
 * Every frame of a clip's first video stream (or only its keyframes) as the
 * ffmpeg CLI decodes it sequentially, scaled to width x height, as packed RGB.
 */
export async function decodeRgb(path: string, width: number, height: number, options: { keyframesOnly?: boolean } = {}): Promise<Buffer[]> {
  const skip = options.keyframesOnly === true ? ['-skip_frame', 'nokey'] : [];
  // prettier-ignore
  const args = [
    '-v', 'error', ...skip, '-i', path, '-map', '0:v:0', '-fps_mode', 'passthrough',
    '-vf', `scale=${width}:${height}:flags=bicubic`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-',
  ];
  const raw = await run(FFMPEG, args, { encoding: 'buffer', maxBuffer: 1 << 30 });
  const frameSize = width * height * 3;
  const frames: Buffer[] = [];
  for (let offset = 0; offset + frameSize <= raw.stdout.length; offset += frameSize) {
    frames.push(raw.stdout.subarray(offset, offset + frameSize));
  }
  return frames;
}

const references = new Map<string, Promise<ReferenceFrames>>();

/**
 * Every frame of a clip as the ffmpeg CLI decodes it sequentially (no seek),
 * with its time and keyframe flag from ffprobe.
 */
export function referenceFrames(path: string, width: number, height: number): Promise<ReferenceFrames> {
  const key = `${path}@${width}x${height}`;
  let made = references.get(key);
  if (made === undefined) {
    made = (async () => {
      const probe = await run(
        FFPROBE,
        [
          '-v',
          'error',
          '-select_streams',
          'v:0',
          '-show_entries',
          'format=start_time:frame=best_effort_timestamp_time,key_frame',
          '-of',
          'json',
          path,
        ],
        { maxBuffer: 64 << 20 },
      );
      const parsed = JSON.parse(probe.stdout) as {
        format: { start_time?: string };
        frames: { best_effort_timestamp_time: string; key_frame: number }[];
      };
      const start = Number(parsed.format.start_time ?? 0);
      const frames = await decodeRgb(path, width, height);
      const times = parsed.frames.map((frame) => Math.round((Number(frame.best_effort_timestamp_time) - start) * 1e6) / 1e3);
      if (times.length !== frames.length) {
        throw new Error(`ffprobe saw ${times.length} frames but ffmpeg decoded ${frames.length} in ${path}`);
      }
      return { width, height, times, frames, keyframes: parsed.frames.map((frame) => frame.key_frame === 1) };
    })();
    references.set(key, made);
  }
  return made;
}

/** Decodes a JPEG to packed RGB. */
export async function jpegToRgb(jpeg: Buffer): Promise<{ width: number; height: number; rgb: Buffer }> {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgb: data };
}

/** Mean squared error between two packed RGB images of one size. */
export function meanSquaredError(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) throw new Error(`size mismatch: ${a.length} vs ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const difference = a[i]! - b[i]!;
    sum += difference * difference;
  }
  return sum / a.length;
}

/** Index of the first reference frame at or after `timeMs` (the exact frame). */
export function exactFrameIndex(reference: ReferenceFrames, timeMs: number): number {
  return reference.times.findIndex((time) => time >= timeMs - 1e-6);
}

/** Index of the last keyframe at or before `timeMs`. */
export function keyframeIndexBefore(reference: ReferenceFrames, timeMs: number): number {
  let found = -1;
  reference.times.forEach((time, index) => {
    if (reference.keyframes[index] && time <= timeMs + 1e-6) found = index;
  });
  return found;
}
