/**
 * The "slow file" for deadline and teardown tests (scripts/clips.mjs,
 * slow1080p): 20 s of 1080p with one keyframe at the start, so a `normal`
 * snapshot late in it decodes hundreds of 1080p frames: seconds of native
 * work, and a deadline of a few hundred ms lands in the middle of the decode.
 */
import { fixture } from '../fixtures.js';

/** A time late in the slow clip's one GOP, ms. */
export const SLOW_TIME_MS = 19_000;

/** The slow clip's path (made on first use). */
export function slowClip(): Promise<string> {
  return fixture('slow1080p');
}
