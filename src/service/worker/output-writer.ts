/**
 * Writes a job's objects (images, sprites, the WebVTT track): each confined to
 * its bucket and written atomically (a temporary name `.framesnap-<pid>-<random>.tmp`
 * in the same folder, then a rename). Before each step the job's cancel flag
 * is read: a cancelled or timed-out job puts nothing in place. Each object is
 * recorded with its device and inode right after writing, announced to the
 * service and noted in the job's journal in that folder (see cleanup.ts)
 * before its rename, so a failed job -- or the service, when a worker dies --
 * removes only the files the job wrote, never a later job's object at the same
 * key. One per job; not shared between threads.
 */
import { existsSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';

import { ErrorCodes, SnapshotError, shortenSubject, systemError } from '../../core/errors.js';
import { journalNameIn, Journal, removeEmptyFolders, removeOwned, removeOwnName, temporaryNameFor } from '../storage/cleanup.js';
import { checkKey, prepareOutputPath } from '../storage/storage.js';
import type { ProgressMessage } from '../types.js';
import type { OwnedFile } from '../types.js';

/** Where a job's announcements go: the service, across a thread or process boundary. */
export type Announce = (message: ProgressMessage) => void;

export interface WrittenFile extends OwnedFile {
  key: string;
}

export function cancelledError(): SnapshotError {
  return new SnapshotError(ErrorCodes.Aborted, 'the job was cancelled');
}

export class OutputWriter {
  /** Objects written so far, with their inodes. */
  private readonly written: WrittenFile[] = [];
  /** Temporary files that may exist now. */
  private readonly temporaries = new Set<string>();
  /** Folder -> the job's journal in it. */
  private readonly journals = new Map<string, Journal>();
  /** Folders this job made (removed again when the job fails and they are empty). */
  private readonly madeFolders: string[] = [];
  /** Path -> the request field whose template named it, and its bucket. */
  private readonly claimed = new Map<string, { key: string; where: string; bucketDir: string }>();

  constructor(
    private readonly announce: Announce | undefined,
    private readonly abort: Int32Array,
    private readonly jobId: string,
  ) {}

  get cancelled(): boolean {
    return Atomics.load(this.abort, 0) !== 0;
  }

  /**
   * The path for `key` in its bucket, its folders made inside the bucket.
   * Two outputs of different kinds (an image and a sprite, say) naming one
   * object are refused: one would silently replace the other.
   */
  reserve(bucketDir: string, key: string, where: string): string {
    checkKey(key, where);
    const path = this.prepare(bucketDir, key, where);
    const earlier = this.claimed.get(path);
    if (earlier !== undefined && earlier.where !== where) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        `${where} names the object ${shortenSubject(key)}, which the job also writes for ${earlier.where}`,
      );
    }
    this.claimed.set(path, { key, where, bucketDir });
    return path;
  }

  /**
   * Writes `data` at `path` (from reserve) atomically; resolves with the file
   * as written. A failure names the object by its `key`.
   */
  async write(path: string, key: string, data: Uint8Array): Promise<OwnedFile> {
    if (this.cancelled) throw cancelledError();
    let attempt = 0;
    for (;;) {
      try {
        return await this.writeOnce(path, key, data);
      } catch (error) {
        // A folder removed by a failing job that shared it: made again, once.
        const code = (error as { code?: string }).code;
        const claim = this.claimed.get(path);
        if (error instanceof SnapshotError) throw error;
        if (code !== 'ENOENT' || attempt > 0 || claim === undefined)
          throw systemError(error, `the object ${shortenSubject(key)}`, { writing: true });
        attempt += 1;
        this.prepare(claim.bucketDir, claim.key, claim.where);
      }
    }
  }

  post(message: ProgressMessage): void {
    this.announce?.(message);
  }

  /** The job succeeded: its objects stand, its journals go. */
  async commit(): Promise<void> {
    for (const journal of this.journals.values()) await journal.remove();
    this.journals.clear();
  }

  /**
   * The job failed: removes every object it wrote that is still its own
   * file, its temporary files, its journals and the folders it made that are
   * now empty. Resolves with the objects that could not be removed, as
   * "key (OS code)"; their journal stays for the service's sweep to retry.
   */
  async removeAll(): Promise<string[]> {
    const failures: string[] = [];
    for (const temporary of this.temporaries) await removeOwnName(temporary);
    this.temporaries.clear();
    for (const file of this.written.splice(0)) {
      const code = await removeOwned(file);
      if (code !== undefined) failures.push(`${shortenSubject(file.key)} (${code})`);
    }
    if (failures.length === 0) {
      for (const journal of this.journals.values()) await journal.remove();
    }
    this.journals.clear();
    await removeEmptyFolders(this.madeFolders.splice(0));
    return failures;
  }

  private prepare(bucketDir: string, key: string, where: string): string {
    // The folders missing now are the ones this job makes.
    const missing: string[] = [];
    const candidate = resolve(bucketDir, key);
    if (candidate.startsWith(bucketDir + sep)) {
      for (let folder = dirname(candidate); folder.length > bucketDir.length && folder.startsWith(bucketDir); folder = dirname(folder)) {
        if (!existsSync(folder)) missing.push(folder);
      }
    }
    const path = prepareOutputPath(bucketDir, key, where);
    for (const folder of missing) {
      if (!this.madeFolders.includes(folder)) this.madeFolders.push(folder);
      this.post({ type: 'folder', path: folder });
    }
    return path;
  }

  private journal(folder: string): Journal {
    let journal = this.journals.get(folder);
    if (journal === undefined) {
      journal = new Journal(journalNameIn(folder, this.jobId));
      this.journals.set(folder, journal);
      this.post({ type: 'writing', temporary: journal.path });
    }
    return journal;
  }

  private async writeOnce(path: string, key: string, data: Uint8Array): Promise<OwnedFile> {
    const journal = this.journal(dirname(path));
    const temporary = temporaryNameFor(path);
    this.post({ type: 'writing', temporary });
    await journal.temporary(temporary);
    this.temporaries.add(temporary);
    try {
      let file: OwnedFile;
      const handle = await open(temporary, 'wx', 0o644);
      try {
        await handle.writeFile(data);
        const stats = await handle.stat();
        file = { path, dev: stats.dev, ino: stats.ino };
      } finally {
        await handle.close();
      }
      if (this.cancelled) throw cancelledError();
      await journal.object(file);
      this.post({ type: 'placing', ...file });
      // The last look before the object is put in place.
      if (this.cancelled) throw cancelledError();
      await rename(temporary, path);
      this.temporaries.delete(temporary);
      this.written.push({ ...file, key });
      this.post({ type: 'written', path });
      return file;
    } catch (error) {
      await removeOwnName(temporary);
      this.temporaries.delete(temporary);
      throw error;
    }
  }
}
