/**
 * Resource limits, in the spirit of sharp's `limitInputPixels`: every size a
 * request or a media file can make is checked against one of these before a
 * buffer of that size is allocated. Each is an option with a safe default;
 * the defaults admit every real video up to 8K (7680x4320) and square 8192.
 */
import { expectInteger } from './validate.js';

/** Largest side of any image framesnap makes (JPEG's and sharp's safe bound). */
export const MAX_IMAGE_SIDE = 16383;

export interface Limits {
  /** Decoded frame width * height (the coded size). Default 8192 * 8192. */
  limitInputPixels: number;
  /** Output image width * height, after aspect ratio, rotation and requested size. Default 8192 * 8192. */
  limitOutputPixels: number;
  /** One sprite sheet's width * height (job API only). Default 8192 * 8192. */
  limitSpritePixels: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  limitInputPixels: 8192 * 8192,
  limitOutputPixels: 8192 * 8192,
  limitSpritePixels: 8192 * 8192,
});

export const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as (keyof Limits)[];

/** The largest value a limit may be set to: 2^31 - 1 pixels (a side of 46340). */
const MAX_LIMIT = 2 ** 31 - 1;

/** Reads the limits present in `options` (own properties only); absent ones take their default. */
export function resolveLimits(options: Partial<Record<keyof Limits, unknown>>): Limits {
  const resolved = { ...DEFAULT_LIMITS };
  for (const name of LIMIT_NAMES) {
    if (!Object.hasOwn(options, name) || options[name] === undefined) continue;
    resolved[name] = expectInteger(name, options[name], 1, MAX_LIMIT);
  }
  return resolved;
}

/** Most images one job may produce (the cloud API's SnapshotConfig.Num bound). */
export const MAX_NUM = 10_000;
