/**
 * Image encoding with sharp, loaded once, on first use, with libvips'
 * operation cache off. The one place framesnap asks sharp for an image: the
 * low-level API, the job API's images and its sprite sheets all encode here.
 *
 * Settings, measured on a 1920x1080 frame (one libvips thread):
 * - jpeg: Huffman tables not optimised (6.7 ms instead of 17.7 ms at quality
 *   90, files about 13% larger);
 * - webp: sharp's defaults (effort 4);
 * - avif: effort 2 instead of sharp's 4 (a noisy 1080p frame took 16 s at
 *   effort 4, 1.4 s at 2, for a file 20% larger);
 * - png: sharp's defaults (compression level 6); lossless, so no quality.
 * Whatever sharp throws leaves here as a SnapshotError.
 */
import { createRequire } from 'node:module';

import type sharp from 'sharp';

import { debug } from './debug.js';
import { ErrorCodes, SnapshotError } from './errors.js';
import { formatFromExtension, formatFromName, IMAGE_FORMATS, type ImageFormat } from './formats.js';
import { DEFAULT_QUALITY, MAX_AVIF_PIXELS, MAX_IMAGE_SIDE } from './limits.js';

export { formatFromExtension, formatFromName, IMAGE_FORMATS, type ImageFormat };

export type Sharp = typeof sharp;
const requireModule = createRequire(import.meta.url);
let sharpModule: Promise<Sharp> | undefined;

/**
 * sharp, loaded on first use (about 60 ms: libvips is large), with libvips'
 * operation cache off: every encode is of new pixels, so the cache (50 MB by
 * default) would only hold memory. A failure to load is an InternalError,
 * and a later call tries again.
 */
export function loadSharp(): Promise<Sharp> {
  if (sharpModule !== undefined) return sharpModule;
  const startedAt = performance.now();
  // sharp's CommonJS build through require(): its ES module entry goes
  // through the ES loader for every module it pulls in (semver, crypto,
  // child_process), which cost about 150 ms more at a command's start (measured
  // with `framesnap snapshot`: 90 ms instead of 200-290 ms).
  sharpModule = new Promise<Sharp>((resolve) => resolve(requireModule('sharp') as Sharp)).then(
    (loaded) => {
      loaded.cache(false);
      debug('sharp %s loaded in %d ms (libvips cache off)', loaded.versions.sharp, Math.round(performance.now() - startedAt));
      return loaded;
    },
    (error: unknown) => {
      sharpModule = undefined;
      throw new SnapshotError(ErrorCodes.InternalError, `cannot load the image encoder (sharp): ${reasonOf(error)}`, { cause: error });
    },
  );
  return sharpModule;
}

/**
 * Starts loading sharp without waiting, so that a first call loads it while
 * its frames decode on another thread.
 */
export function preloadEncoder(): void {
  loadSharp().catch(() => undefined); // the encode that needs it reports the failure
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Tightly packed RGB pixels (3 bytes each, rows without padding). */
export interface RgbPixels {
  width: number;
  height: number;
  rgb: Buffer;
}

export interface EncodeOptions {
  /** Default jpeg. */
  format?: ImageFormat;
  /** 1..100 for jpeg, webp and avif (default 90); ignored for png, which is lossless. */
  quality?: number;
}

const FORMAT_NAMES: Readonly<Record<ImageFormat, string>> = { jpeg: 'JPEG', webp: 'WebP', avif: 'AVIF', png: 'PNG' };

/**
 * Refuses what sharp would refuse, before sharp is asked: a side over
 * MAX_IMAGE_SIDE or an AVIF image over MAX_AVIF_PIXELS (OutOfRange, naming
 * it), or pixels that are not width * height RGB triplets.
 */
export function checkEncodable(pixels: RgbPixels, format: ImageFormat = 'jpeg'): void {
  const { width, height } = pixels;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new SnapshotError(ErrorCodes.InternalError, `cannot encode an image of ${width}x${height} pixels`);
  }
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    throw new SnapshotError(
      ErrorCodes.OutOfRange,
      `the image would be ${width}x${height}, over the largest side an image can have (${MAX_IMAGE_SIDE})`,
    );
  }
  if (format === 'avif' && width * height > MAX_AVIF_PIXELS) {
    throw new SnapshotError(
      ErrorCodes.OutOfRange,
      `the AVIF image would be ${width}x${height} (${width * height} pixels), over the largest AVIF image (${MAX_AVIF_PIXELS} pixels, 4096x4096): its encoder is slow and cannot be stopped; use a smaller size or another format`,
    );
  }
  if (pixels.rgb.length !== width * height * 3) {
    throw new SnapshotError(
      ErrorCodes.InternalError,
      `cannot encode ${pixels.rgb.length} bytes as a ${width}x${height} RGB image (${width * height * 3} bytes)`,
    );
  }
}

/**
 * Encodes RGB pixels as `format` (default jpeg). The options are trusted
 * (validated at the API edge); sharp's own refusal still arrives as an
 * InternalError that names the format and the size, sharp's error as cause.
 */
export async function encodeImage(pixels: RgbPixels, options: EncodeOptions = {}): Promise<Buffer> {
  const format = options.format ?? 'jpeg';
  checkEncodable(pixels, format);
  if (!IMAGE_FORMATS.includes(format)) throw new SnapshotError(ErrorCodes.InternalError, `cannot encode an image as ${String(format)}`);
  const quality = options.quality ?? DEFAULT_QUALITY;
  const sharp = await loadSharp();
  try {
    // Sizes were checked above (checkEncodable, and limitOutputPixels or
    // limitSpritePixels before the pixels were made): sharp's own input
    // limit would only refuse a sprite sheet the caller allowed.
    const image = sharp(pixels.rgb, { raw: { width: pixels.width, height: pixels.height, channels: 3 }, limitInputPixels: false });
    switch (format) {
      case 'jpeg':
        return await image.jpeg({ quality, optimiseCoding: false }).toBuffer();
      case 'webp':
        return await image.webp({ quality }).toBuffer();
      case 'avif':
        return await image.avif({ quality, effort: 2 }).toBuffer();
      case 'png':
        return await image.png().toBuffer();
    }
  } catch (error) {
    throw new SnapshotError(
      ErrorCodes.InternalError,
      `the ${FORMAT_NAMES[format]} encoder failed on a ${pixels.width}x${pixels.height} image: ${reasonOf(error)}`,
      { cause: error },
    );
  }
}
