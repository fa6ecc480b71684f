/**
 * The WebVTT thumbnail track (SPEC section 6): one cue per image, from the
 * time it was taken for to the next one's, the last ending at the video's
 * end; each cue's text is the image's URL relative to the track, with
 * #xywh=x,y,w,h when it points into a sprite.
 */
import { posix } from 'node:path';

import type { CellRect } from '../request/tile-layout.js';

export interface ThumbnailEntry {
  /** When the cue starts, ms. */
  startMs: number;
  /** The object the cue points at, as a key in the track's bucket. */
  key: string;
  /** The cell, for a cue into a sprite. */
  rect?: CellRect;
}

/** The track's key: `{FileName}.vtt` in the folder of `firstKey`. */
export function vttKey(firstKey: string, fileName: string): string {
  const folder = posix.dirname(firstKey);
  return folder === '.' ? `${fileName}.vtt` : `${folder}/${fileName}.vtt`;
}

/**
 * `toKey` as a URL relative to the object `fromKey`, each path segment
 * percent-encoded (so spaces, `&`, `<` and `-->` cannot break the cue).
 */
export function relativeUrl(fromKey: string, toKey: string): string {
  const relative = posix.relative(posix.dirname(`/${fromKey}`), `/${toKey}`);
  return relative
    .split('/')
    .map((segment) => (segment === '..' ? segment : encodeURIComponent(segment)))
    .join('/');
}

/** HH:MM:SS.mmm (hours grow past 99 when they must). */
export function vttTimestamp(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor(total / 60_000) % 60;
  const seconds = Math.floor(total / 1000) % 60;
  const millis = total % 1000;
  const two = (value: number): string => String(value).padStart(2, '0');
  return `${two(hours)}:${two(minutes)}:${two(seconds)}.${String(millis).padStart(3, '0')}`;
}

/**
 * The track for `entries` (in time order) written at `trackKey`; the last
 * cue ends at `endMs`.
 */
export function formatVtt(trackKey: string, entries: readonly ThumbnailEntry[], endMs: number): string {
  const lines = ['WEBVTT', ''];
  entries.forEach((entry, index) => {
    const next = entries[index + 1];
    const cueEnd = next === undefined ? endMs : next.startMs;
    const fragment = entry.rect === undefined ? '' : `#xywh=${entry.rect.x},${entry.rect.y},${entry.rect.width},${entry.rect.height}`;
    lines.push(`${vttTimestamp(entry.startMs)} --> ${vttTimestamp(cueEnd)}`, `${relativeUrl(trackKey, entry.key)}${fragment}`, '');
  });
  return lines.join('\n');
}
