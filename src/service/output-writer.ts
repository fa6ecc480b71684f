/**
 * Writes a job's objects (images, sprites, the WebVTT track): each confined to
 * its bucket, written atomically, announced to the service before it is
 * written (so a worker that dies leaves nothing behind), and remembered so a
 * failed job can take back everything it wrote. One per job; not shared
 * between threads.
 */
import { existsSync } from 'node:fs';
import { dirname, posix, sep } from 'node:path';
import type { MessagePort } from 'node:worker_threads';

import { ErrorCodes, SnapshotError } from '../errors.js';
import type { ProgressMessage } from './execute.js';
import { checkKey, prepareOutputPath, removeQuietly, temporaryPathFor, writeAtomically } from './storage.js';

export class OutputWriter {
  /** Final paths written so far. */
  private readonly written: string[] = [];
  /** Path -> the request field whose template named it. */
  private readonly claimed = new Map<string, { key: string; where: string }>();

  constructor(private readonly progress: MessagePort | undefined) {}

  /**
   * The path for `key` in its bucket, its folders made inside the bucket.
   * Two outputs of different kinds (an image and a sprite, say) naming one
   * object are refused: one would silently replace the other.
   */
  reserve(bucketDir: string, key: string, where: string): string {
    checkKey(key, where);
    const path = prepareOutputPath(bucketDir, key, where);
    const earlier = this.claimed.get(path);
    if (earlier !== undefined && earlier.where !== where) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        `${where} names the object ${key}, which the job also writes for ${earlier.where}`,
      );
    }
    this.claimed.set(path, { key, where });
    return path;
  }

  /** Writes `data` at `path` (from reserve) atomically; a failure names the object by its `key`. */
  async write(path: string, key: string, data: Uint8Array): Promise<void> {
    const temporary = temporaryPathFor(path);
    // A new object is announced before the rename too: a worker killed right
    // after the rename could not say 'written' any more. An object that
    // already exists is not (its old content is gone once replaced, and a
    // dead job must not delete what another job wrote).
    this.post({ type: 'writing', temporary, ...(existsSync(path) ? {} : { creates: path }) });
    try {
      await writeAtomically(path, data, temporary);
    } catch (error) {
      throw byKey(error, path, key);
    }
    this.written.push(path);
    this.post({ type: 'written', path });
  }

  post(message: ProgressMessage): void {
    this.progress?.postMessage(message);
  }

  /** Removes every object written (a failed job leaves nothing behind). */
  async removeAll(): Promise<void> {
    await removeQuietly(this.written.splice(0));
  }
}

/** The server's folders are not the caller's business: a message names the object's folder by its key. */
function byKey(error: unknown, path: string, key: string): unknown {
  if (!(error instanceof SnapshotError)) return error;
  const keyFolder = posix.dirname(key) === '.' ? '' : `${posix.dirname(key)}/`;
  return new SnapshotError(error.code, error.message.replaceAll(`${dirname(path)}${sep}`, keyFolder));
}
