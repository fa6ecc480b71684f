#!/usr/bin/env node
// Every clip the project generates, in one list: the vitest suites
// (test/fixtures.ts), the native suite (scripts/native-tests.sh) and the
// benchmark (bench/clips.mjs) all make their clips from these recipes, with
// the ffmpeg CLI from lavfi sources. Nothing is downloaded.
//
// A clip is made once into a cache folder (each user has its own) as
// DIR/FILE, beside DIR/FILE.recipe: the recipe it was made from, with the
// recipes of the clips it derives from. A changed recipe remakes the clip
// (and what derives from it); an unchanged one is kept.
//
//   node scripts/clips.mjs DIR NAME...   makes the named clips in DIR, prints their paths
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Where the ffmpeg command-line tool is (framesnap itself never runs it):
 * FFMPEG_PATH, else `ffmpeg` on PATH (Debian's ffmpeg package, which
 * scripts/setup.sh installs).
 */
export function findFfmpeg() {
  const fromEnvironment = process.env.FFMPEG_PATH;
  return fromEnvironment !== undefined && fromEnvironment !== '' ? fromEnvironment : 'ffmpeg';
}

/** 4 s of testsrc2 (a moving picture: neighbouring frames differ) at 25 fps. */
const SOURCE = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '4'];
const X264_1S_GOP = ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-bf', '3'];
const X265_1S_GOP = ['-c:v', 'libx265', '-preset', 'veryfast', '-x265-params', 'keyint=25:min-keyint=25:bframes=3:log-level=error'];

/** The benchmark's clips: 30 fps, B-frames, a keyframe every 3 s (90 frames). */
export const BENCH_FPS = 30;
export const BENCH_KEYFRAME_INTERVAL_MS = 3000;
/**
 * Pictures that decode like real footage, not like a flat test card:
 * testsrc2's moving pattern under strong temporal noise (detail that changes
 * every frame), at a realistic constant bitrate. testsrc2 alone compresses to
 * almost nothing and decodes unrealistically fast, which flatters every
 * in-process ratio.
 */
// prettier-ignore
const realistic = (size, bitrate) => [
  '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${BENCH_FPS}`,
  '-vf', 'noise=c0s=24:c0f=t+u:c1s=8:c1f=t+u:c2s=8:c2f=t+u',
  '-t', '60',
  '-c:v', 'libx264', '-preset', 'veryfast', '-g', '90', '-keyint_min', '90', '-sc_threshold', '0', '-bf', '3', '-pix_fmt', 'yuv420p',
  '-b:v', bitrate, '-maxrate', bitrate, '-bufsize', `${parseFloat(bitrate) * 2}M`,
];

/** `count` maps of input 0's video (one stream repeated). */
const mapVideo = (count) => Array.from({ length: count }, () => ['-map', '0:v']).flat();

/**
 * The recipes (kept as Prettier leaves them alone: one recipe reads best as
 * the ffmpeg command line it is). `args`: the whole ffmpeg command line but its output;
 * `from` + `args`: made from another clip (`-i` it, then the args);
 * `concat`: another clip joined to itself `times` times (stream copy).
 * The test clips serve the vitest suites and the native suite.
 */
// prettier-ignore
export const TEST_CLIPS = {
  /** H.264 with B-frames (3, pyramid), a keyframe each second: keyframes at 0, 1, 2, 3 s. */
  h264: { file: 'h264.mp4', args: [...SOURCE, ...X264_1S_GOP, '-pix_fmt', 'yuv420p'] },
  /** HEVC in Matroska, x265's open GOPs with B-frames. */
  hevc: { file: 'hevc.mkv', args: [...SOURCE, ...X265_1S_GOP, '-pix_fmt', 'yuv420p'] },
  /** VP9 in WebM (hidden alt-ref frames). */
  vp9: { file: 'vp9.webm', args: [...SOURCE, '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '25', '-b:v', '300k', '-pix_fmt', 'yuv420p'] },
  /** MPEG-2 in MPEG-TS, B-frames, GOP of 12: no seek index, inexact seeks (the CLI's -ss is not exact here). */
  mpeg2: { file: 'mpeg2.ts', args: [...SOURCE, '-c:v', 'mpeg2video', '-g', '12', '-bf', '2', '-b:v', '1500k', '-pix_fmt', 'yuv420p'] },
  /** 10-bit HEVC. */
  hevc10: { file: 'hevc10.mkv', args: [...SOURCE, '-c:v', 'libx265', '-preset', 'veryfast', '-x265-params', 'keyint=25:log-level=error', '-pix_fmt', 'yuv420p10le'] },
  /** Anamorphic: 320x240 stored, sample aspect ratio 2:1, shown as 640x240. */
  anamorphic: { file: 'anamorphic.mp4', args: [...SOURCE, '-vf', 'setsar=2/1', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-pix_fmt', 'yuv420p'] },
  /** Odd size (321x241), 4:4:4 inside the source graph: testsrc2 rounds a 4:2:0 size down. */
  odd: { file: 'odd.mp4', args: ['-f', 'lavfi', '-i', 'testsrc2=size=321x241:rate=25,format=yuv444p', '-t', '2', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-pix_fmt', 'yuv444p'] },
  /** Pure red, 1280x720, converted with the BT.709 matrix and tagged so. */
  red709: {
    file: 'red709.mp4',
    args: ['-f', 'lavfi', '-i', 'color=c=red:size=1280x720:rate=25', '-t', '1', '-vf', 'scale=out_color_matrix=bt709:out_range=tv,format=yuv420p', '-c:v', 'libx264', '-preset', 'veryfast', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv'],
  },
  /** One second of black, then 3 s of testsrc2; a keyframe each second (the first non-black frame is one). */
  blackStart: {
    file: 'black-start.mp4',
    args: ['-filter_complex', 'color=c=black:s=320x240:r=25:d=1[b];testsrc2=s=320x240:r=25:d=3[t];[b][t]concat=n=2:v=1:a=0,format=yuv420p', ...X264_1S_GOP],
  },
  /** Tagged as HDR (PQ transfer, BT.2020), 10-bit: framesnap converts it without tone mapping. */
  hdrTagged: { file: 'hdr-pq.mp4', args: [...SOURCE, '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p10le', '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc'] },
  /** Sound only, in an MP4 container. */
  audioOnly: { file: 'audio.m4a', args: ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac'] },
  /** A display matrix asking for a quarter turn (the h264 clip, stream-copied). */
  rotated: { file: 'rotated.mp4', from: 'h264', args: ['-c', 'copy', '-metadata:s:v:0', 'rotate=90'] },
  /** Raw MJPEG, 2 s at 25 fps. */
  rawMjpeg: { file: 'raw.mjpeg', args: [...SOURCE.slice(0, 4), '-t', '2', '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-f', 'mjpeg'] },
  /** The raw MJPEG in Matroska. */
  mjpegMkv: { file: 'mjpeg.mkv', from: 'rawMjpeg', args: ['-c', 'copy'] },
  /** One 64x48 H.264 stream in MPEG-TS, 2 s, a keyframe each second. */
  oneStream: { file: 'one-stream.ts', args: ['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-f', 'mpegts'] },
  /** 64 copies of that stream in one MPEG-TS. */
  streams64: { file: 'streams-64.ts', from: 'oneStream', args: [...mapVideo(64), '-c', 'copy', '-f', 'mpegts'] },
  /** 1000 copies of it (stream-copied, about 9 MB): only the chosen stream may be decoded. */
  thousandStreams: { file: 'streams-1000.ts', from: 'oneStream', args: [...mapVideo(1000), '-c', 'copy', '-f', 'mpegts'] },
  /** The h264 clip with AAC sound in MPEG-TS: the sound starts about 23 ms before the picture (encoder priming). */
  h264WithSoundTs: {
    file: 'h264-sound.ts',
    from: 'h264',
    args: ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=4', '-map', '1:a', '-map', '0:v', '-c:v', 'copy', '-c:a', 'aac', '-f', 'mpegts'],
  },
  /** The h264 and vp9 clips starting at 10 s (same bitstreams: same pixels). */
  h264At10s: { file: 'h264-at-10s.mkv', from: 'h264', args: ['-c', 'copy', '-output_ts_offset', '10'] },
  vp9At10s: { file: 'vp9-at-10s.webm', from: 'vp9', args: ['-c', 'copy', '-output_ts_offset', '10'] },
  /** Raw elementary streams of the h264, hevc and mpeg2 clips (same bitstreams). */
  rawH264: { file: 'raw.h264', from: 'h264', args: ['-c', 'copy', '-bsf:v', 'h264_mp4toannexb', '-f', 'h264'] },
  rawHevc: { file: 'raw.hevc', from: 'hevc', args: ['-c', 'copy', '-f', 'hevc'] },
  rawM2v: { file: 'raw.m2v', from: 'mpeg2', args: ['-c', 'copy', '-f', 'mpeg2video'] },
  /** 6 s of black, then 1 s of testsrc2 (the black-frame filter gives up after 5 s). */
  blackLong: {
    file: 'black-6s.mp4',
    args: ['-filter_complex', 'color=c=black:s=320x240:r=25:d=6[b];testsrc2=s=320x240:r=25:d=1[t];[b][t]concat=n=2:v=1:a=0,format=yuv420p', ...X264_1S_GOP],
  },
  /** 200 s of H.264 in MP4 for the job API's series, keyframes at 0, 10, 20, ... s (moov first). */
  long200s: {
    file: 'long-200s.mp4',
    args: ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '200', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '40', '-g', '250', '-keyint_min', '250', '-sc_threshold', '0', '-bf', '0', '-pix_fmt', 'yuv420p', '-movflags', '+faststart'],
  },
  /** That clip stream-copied into FLV (the cloud API page's example.flv). */
  long200sFlv: { file: 'long-200s.flv', from: 'long200s', args: ['-c', 'copy', '-f', 'flv'] },
  /** 1080p VP9 in MP4 with a pasp box (2:1; the hostile-media tests write 500:1 into a copy). */
  vp9Sar1080p: {
    file: 'vp9-1080p-sar2.mp4',
    args: ['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=25', '-t', '0.2', '-vf', 'setsar=2/1', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-pix_fmt', 'yuv420p'],
  },
  /** 40 s at 640x360 for the native suite's deadline and abort tests: a full decode takes far longer than their deadlines. */
  long360p: { file: 'long-360p.mp4', args: ['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '40', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '250', '-pix_fmt', 'yuv420p'] },
  /**
   * A "slow file" for deadline and teardown tests: 20 s of 1080p at 30 fps with
   * one keyframe at the start (a 600-frame GOP). A `normal` snapshot late in it
   * decodes hundreds of 1080p frames: seconds of native work.
   */
  slow1080p: {
    file: 'slow-1080p.mp4',
    args: ['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-t', '20', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30', '-g', '600', '-keyint_min', '600', '-sc_threshold', '0', '-bf', '0', '-pix_fmt', 'yuv420p'],
  },
};

/** The benchmark's clips (bench/clips.mjs), made in bench/.cache. */
// prettier-ignore
export const BENCH_CLIPS = {
  /** 1080p H.264, 60 s, 6 Mb/s. */
  h264_1080p_60s: { file: 'h264-1080p-60s-6mbps.mp4', args: realistic('1920x1080', '6M') },
  /** 480p H.264, 60 s, 1.5 Mb/s: the piece the 1-hour file is made of. */
  h264_480p_60s: { file: 'h264-480p-60s-1500k.mp4', args: realistic('854x480', '1.5M') },
  /** 1080p H.264, 4 minutes: the 60 s clip stream-copied 4 times. */
  h264_1080p_240s: { file: 'h264-1080p-240s-6mbps.mp4', concat: { of: 'h264_1080p_60s', times: 4 } },
  /** 480p H.264, 1 hour: the 1-minute clip stream-copied 60 times with the concat demuxer. */
  h264_480p_1h: { file: 'h264-480p-1h-1500k.mp4', concat: { of: 'h264_480p_60s', times: 60 } },
};

export const CLIPS = { ...TEST_CLIPS, ...BENCH_CLIPS };

function recipeOf(name) {
  const recipe = CLIPS[name];
  if (recipe === undefined) throw new Error(`unknown clip ${name}; the clips are ${Object.keys(CLIPS).join(', ')}`);
  return recipe;
}

/** The recipe with those it derives from: what the sidecar holds (a clip made from the same lineage is current). */
export function lineage(name) {
  const recipe = recipeOf(name);
  const source = recipe.from ?? recipe.concat?.of;
  return JSON.stringify({
    ffmpegArgs: recipe.args ?? null,
    concat: recipe.concat?.times ?? null,
    source: source === undefined ? null : lineage(source),
  });
}

async function make(name, dir, path) {
  const recipe = recipeOf(name);
  const temporary = join(dir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}-${recipe.file}`);
  const ffmpeg = findFfmpeg();
  try {
    if (recipe.concat !== undefined) {
      const piece = await clip(recipe.concat.of, dir);
      const list = `${temporary}.txt`;
      writeFileSync(list, `file '${piece.replaceAll("'", "'\\''")}'\n`.repeat(recipe.concat.times));
      try {
        await run(ffmpeg, ['-nostdin', '-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', temporary]);
      } finally {
        rmSync(list, { force: true });
      }
    } else if (recipe.from !== undefined) {
      const source = await clip(recipe.from, dir);
      await run(ffmpeg, ['-nostdin', '-v', 'error', '-y', '-i', source, ...recipe.args, temporary]);
    } else {
      await run(ffmpeg, ['-nostdin', '-v', 'error', '-y', ...recipe.args, temporary], { maxBuffer: 1 << 20 });
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  writeFileSync(`${path}.recipe`, lineage(name));
}

const making = new Map();

/** The path of clip `name` in the cache folder `dir`, made first when missing or made from another recipe. */
export async function clip(name, dir) {
  const recipe = recipeOf(name);
  const path = join(dir, recipe.file);
  const key = `${dir}\0${name}`;
  if (!making.has(key)) {
    const current = () => existsSync(path) && existsSync(`${path}.recipe`) && readFileSync(`${path}.recipe`, 'utf8') === lineage(name);
    making.set(
      key,
      current()
        ? Promise.resolve(path)
        : (async () => {
            mkdirSync(dir, { recursive: true });
            await make(name, dir, path);
            return path;
          })(),
    );
  }
  try {
    return await making.get(key);
  } catch (error) {
    making.delete(key);
    throw error;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dir, ...names] = process.argv.slice(2);
  if (dir === undefined || names.length === 0) {
    process.stderr.write('usage: node scripts/clips.mjs DIR NAME...\n');
    process.exit(2);
  }
  for (const name of names) process.stdout.write(`${await clip(name, dir)}\n`);
}
