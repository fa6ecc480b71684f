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
 *
 * A bucket in object storage takes each object whole with PutObject (atomic
 * per object: a reader never sees part of one), and a failed job deletes
 * what it uploaded while its ETag is unchanged (object-store.ts). The
 * uploads run here, in the job's worker, rather than in the service's main
 * thread: the writer already owns each write's life cycle (the cancel flag,
 * taking back on failure), uploads overlap with decoding without a message
 * per object, and behind submitSnapshotJobSync the main thread is blocked
 * in Atomics.wait, so it could not upload anything. The bucket's
 * credentials reach the worker in the task, an in-process message that no
 * job store keeps.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';

import { ErrorCodes, SnapshotError, shortenSubject, systemError } from '../../core/errors.js';
import { journalNameIn, Journal, removeEmptyFolders, removeOwned, removeOwnName, temporaryNameFor } from '../storage/cleanup.js';
import { isObjectStore, objectIdentity, putObject } from '../storage/object-store.js';
import { checkKey, prepareOutputPath } from '../storage/storage.js';
import type { ObjectStoreTarget, OutputBucket, ProgressMessage } from '../types.js';
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
  /** Path (or an object's identity in object storage) -> the request field whose template named it, and its bucket. */
  private readonly claimed = new Map<string, { key: string; where: string; bucket: OutputBucket }>();

  constructor(
    private readonly announce: Announce | undefined,
    private readonly abort: Int32Array,
    private readonly jobId: string,
  ) {}

  get cancelled(): boolean {
    return Atomics.load(this.abort, 0) !== 0;
  }

  /**
   * The path for `key` in its bucket, its folders made inside the bucket (in
   * object storage: the object's identity, nothing made). Two outputs of
   * different kinds (an image and a sprite, say) naming one object are
   * refused: one would silently replace the other.
   */
  reserve(bucket: OutputBucket, key: string, where: string): string {
    checkKey(key, where);
    const path = isObjectStore(bucket) ? objectIdentity(bucket, key) : this.prepare(bucket, key, where);
    const earlier = this.claimed.get(path);
    if (earlier !== undefined && earlier.where !== where) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        `${where} names the object ${shortenSubject(key)}, which the job also writes for ${earlier.where}`,
      );
    }
    this.claimed.set(path, { key, where, bucket });
    return path;
  }

  /**
   * Writes `data` at `path` (from reserve) atomically; resolves with the file
   * as written. A failure names the object by its `key`.
   */
  async write(path: string, key: string, data: Uint8Array): Promise<OwnedFile> {
    if (this.cancelled) throw cancelledError();
    const bucket = this.claimed.get(path)?.bucket;
    if (isObjectStore(bucket)) return this.upload(bucket, path, key, data);
    let attempt = 0;
    for (;;) {
      try {
        return await this.writeOnce(path, key, data);
      } catch (error) {
        // A folder removed by a failing job that shared it: made again, once.
        const code = (error as { code?: string }).code;
        const claim = this.claimed.get(path);
        if (error instanceof SnapshotError) throw error;
        if (code !== 'ENOENT' || attempt > 0 || claim === undefined || typeof claim.bucket !== 'string')
          throw systemError(error, `the object ${shortenSubject(key)}`, { writing: true });
        attempt += 1;
        this.prepare(claim.bucket, claim.key, claim.where);
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

  /**
   * Uploads an object to a bucket in object storage, marked with an owner
   * token of its own. It counts as written from the moment it is sent: it is
   * announced before the upload starts, so a job cancelled or failed
   * meanwhile deletes it once the upload has settled (removeAll waits for
   * the writes in flight), and the service deletes it if this worker dies
   * with the upload in flight -- in every case only while the object at the
   * key still carries the token.
   */
  private async upload(target: ObjectStoreTarget, path: string, key: string, data: Uint8Array): Promise<OwnedFile> {
    const stored = { target, key, owner: randomUUID() };
    const file: WrittenFile = { path, dev: 0, ino: 0, key, stored };
    this.post({ type: 'placing', path, dev: 0, ino: 0, stored });
    // Listed before it is sent: an upload whose answer is lost may still have been stored.
    this.written.push(file);
    try {
      await putObject(target, key, data, stored.owner);
    } catch (error) {
      // Refused outright (credentials, a missing bucket): nothing was stored, nothing to take back.
      if (!(error instanceof SnapshotError) || error.code !== ErrorCodes.TransientNetWorkError)
        this.written.splice(this.written.indexOf(file), 1);
      throw error;
    }
    this.post({ type: 'written', path });
    // Cancelled while it uploaded: the job fails, and removeAll takes it back.
    if (this.cancelled) throw cancelledError();
    return { path, dev: 0, ino: 0, stored };
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
