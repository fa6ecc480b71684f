/**
 * What a job owns on disk, and taking it back safely.
 *
 * A job owns an object only while it is still the very file the job wrote:
 * the same device and inode, recorded after writing. Removing checks that
 * first, so a job that failed or timed out never removes the object a later
 * job wrote at the same key.
 *
 * Every temporary name is `.framesnap-<pid>-<random>.tmp`, and a job keeps a
 * journal `.framesnap-<pid>-<job>.journal` in each folder it writes to,
 * listing its temporary names and, before each rename, the object it is about
 * to put in place. A job removes its journals when it ends. A journal left
 * behind means its process died mid-job: the service's sweep of a folder
 * (once per service, when it first writes there) takes such a job's objects
 * and temporary files back as soon as the journal's process is gone (same
 * host) or the journal is older than the stale bound, and removes stale
 * temporary files of its own naming.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { lstat, open, readdir, readFile, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { deleteOwnedObject } from './object-store.js';
import type { OwnedFile } from '../types.js';

/** Default age past which a temporary file or journal of framesnap's is stale: one hour. */
export const DEFAULT_STALE_TEMPORARY_MS = 3_600_000;

const PREFIX = '.framesnap-';
const TEMPORARY = /^\.framesnap-\d+-[0-9a-f]+\.tmp$/;
const JOURNAL = /^\.framesnap-\d+-[0-9a-zA-Z]+\.journal$/;
const JOURNAL_HEADER = 'framesnap-journal 1';

/** A fresh temporary name beside `path`. */
export function temporaryNameFor(path: string): string {
  return join(dirname(path), `${PREFIX}${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

export function journalNameIn(folder: string, jobId: string): string {
  return join(folder, `${PREFIX}${process.pid}-${jobId.replace(/[^0-9a-zA-Z]/g, '')}.journal`);
}

/**
 * Removes `file` if it is still the file that was written (same device and
 * inode; for an object in object storage, the same ETag); a file that is
 * gone or has been replaced since is left alone. Resolves with the OS (or
 * store's) error code when the removal failed, else undefined.
 */
export async function removeOwned(file: OwnedFile): Promise<string | undefined> {
  if (file.stored !== undefined) return deleteOwnedObject(file.stored.target, file.stored.key, file.stored.owner);
  try {
    const stats = await lstat(file.path);
    if (stats.dev !== file.dev || stats.ino !== file.ino) return undefined;
    await unlink(file.path);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return code === 'ENOENT' ? undefined : code;
  }
}

/** Removes a file of framesnap's own naming (a temporary file, a journal); quiet when it is gone. */
export async function removeOwnName(path: string): Promise<string | undefined> {
  try {
    await unlink(path);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return code === 'ENOENT' ? undefined : code;
  }
}

/** Removes folders if they are empty, deepest first; a folder in use stays. */
export async function removeEmptyFolders(folders: Iterable<string>): Promise<void> {
  const deepestFirst = [...new Set(folders)].sort((a, b) => b.length - a.length);
  for (const folder of deepestFirst) await rmdir(folder).catch(() => undefined);
}

/**
 * A job's journal in one folder: the names it is writing, and each object
 * with its inode before it is renamed into place. Appends are small writes to
 * one open file; the page cache keeps them across a killed process.
 */
export class Journal {
  private handle: Promise<FileHandle> | undefined;

  constructor(readonly path: string) {}

  /** Records a temporary name about to be created. */
  async temporary(path: string): Promise<void> {
    await this.append(`tmp ${encodeURIComponent(basename(path))}\n`);
  }

  /** Records an object about to be renamed into place. */
  async object(file: OwnedFile): Promise<void> {
    await this.append(`obj ${file.dev} ${file.ino} ${encodeURIComponent(basename(file.path))}\n`);
  }

  /** Closes and removes the journal; resolves with the OS error code when it could not be removed. */
  async remove(): Promise<string | undefined> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle !== undefined) await handle.then((opened) => opened.close()).catch(() => undefined);
    return removeOwnName(this.path);
  }

  private async append(line: string): Promise<void> {
    this.handle ??= open(this.path, 'a', 0o644).then(async (opened) => {
      await opened.write(`${JOURNAL_HEADER} ${encodeURIComponent(hostname())} ${process.pid}\n`);
      return opened;
    });
    const opened = await this.handle;
    await opened.write(line);
  }
}

function processGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Takes back what a dead job's journal lists (objects only while they are still its files), then the journal. */
async function replayJournal(folder: string, path: string, staleMs: number, mtimeMs: number): Promise<void> {
  const text = await readFile(path, 'utf8');
  const lines = text.split('\n');
  const header = /^framesnap-journal 1 (\S+) (\d+)$/.exec(lines[0] ?? '');
  const sameHost = header !== null && decodeURIComponent(header[1]!) === hostname();
  const dead = header !== null && sameHost && processGone(Number(header[2]));
  if (!dead && Date.now() - mtimeMs < staleMs) return;
  for (const line of lines.slice(1)) {
    const parts = line.split(' ');
    // Names only, in this folder: a journal never leads elsewhere.
    if (parts[0] === 'tmp' && parts.length === 2) {
      const name = decodeURIComponent(parts[1]!);
      if (TEMPORARY.test(name)) await removeOwnName(join(folder, name));
    } else if (parts[0] === 'obj' && parts.length === 4) {
      const name = decodeURIComponent(parts[3]!);
      if (name.includes('/') || name.includes('\\') || name === '.' || name === '..' || name === '') continue;
      await removeOwned({ path: join(folder, name), dev: Number(parts[1]), ino: Number(parts[2]) });
    }
  }
  await removeOwnName(path);
}

/**
 * Removes framesnap's leftovers in `folder` (not below it): temporary files
 * older than `staleMs`, and what the journals of dead jobs list. Never throws.
 */
export async function sweepFolder(folder: string, staleMs: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const isTemporary = TEMPORARY.test(name);
    const isJournal = JOURNAL.test(name);
    if (!isTemporary && !isJournal) continue;
    const path = join(folder, name);
    try {
      const stats = await lstat(path);
      if (!stats.isFile()) continue;
      if (isJournal) await replayJournal(folder, path, staleMs, stats.mtimeMs);
      else if (Date.now() - stats.mtimeMs >= staleMs) await removeOwnName(path);
    } catch {
      // Gone meanwhile, or unreadable: nothing to do.
    }
  }
}

/** Sweeps each folder once per instance (one per service), in the background. */
export class Sweeper {
  private readonly visited = new Set<string>();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly staleMs: number) {}

  visit(folder: string): void {
    if (this.visited.has(folder)) return;
    this.visited.add(folder);
    const sweep = sweepFolder(folder, this.staleMs).finally(() => this.running.delete(sweep));
    this.running.add(sweep);
  }

  /** Resolves when the sweeps under way have ended. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }
}
