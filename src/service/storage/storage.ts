/**
 * Buckets (SPEC section 2): bucket B is the folder <root>/B, or any folder
 * named in a map, or a bucket in S3-compatible object storage named in that
 * map (object-store.ts). Keys are URL-decoded once and confined to their
 * bucket: nothing is read or written outside a bucket's folder, ever, and an
 * object store gets the same keys a folder would take.
 */
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';

import { ErrorCodes, SnapshotError, shortenSubject, systemError } from '../../core/errors.js';
import { quoted } from '../../core/validate.js';
import type { ObjectStoreBucket, OutputBucket } from '../types.js';

export interface BucketConfig {
  /** Folder holding one subfolder per bucket. */
  root?: string;
  /**
   * Bucket name -> folder, for buckets kept elsewhere; or -> an S3-compatible
   * store (endpoint, region, credentials, ...), for buckets in object storage.
   */
  buckets?: Record<string, string | ObjectStoreBucket>;
}

/** Bucket names as the object store allows them. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

function denied(message: string): SnapshotError {
  return new SnapshotError(ErrorCodes.PermissionDenied, message);
}

/** A key or bucket name as messages quote it: as JSON, shortened in the middle when long. */
const quoteKey = quoted;

function notAFile(subject: string, folder: boolean): SnapshotError {
  return new SnapshotError(ErrorCodes.InvalidParameter, `${subject} ${folder ? 'is a folder, not a file' : 'is not a regular file'}`);
}

/**
 * The folder of a bucket, with symlinks resolved; or, for a bucket in object
 * storage, its store (whose bucket is checked over the network when the job
 * is prepared, see object-store.ts).
 */
export function bucketFolder(config: BucketConfig, bucket: string, where: string): OutputBucket {
  let folder: string | undefined;
  if (config.buckets !== undefined && Object.hasOwn(config.buckets, bucket)) {
    const entry = config.buckets[bucket]!;
    if (typeof entry !== 'string') return { name: bucket, store: entry };
    folder = entry;
  } else if (config.root !== undefined) {
    if (!BUCKET_NAME.test(bucket)) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        `${where}.Bucket ${quoteKey(bucket)} is not a valid bucket name (3-63 of a-z, 0-9 and -)`,
      );
    }
    folder = join(config.root, bucket);
  }
  if (folder === undefined) {
    throw new SnapshotError(ErrorCodes.ResourceNotFound, `the bucket ${shortenSubject(bucket)} does not exist`);
  }
  try {
    const real = realpathSync(folder);
    if (!statSync(real).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    return real;
  } catch (error) {
    throw systemError(error, `the bucket ${shortenSubject(bucket)}`);
  }
}

/** URL-decodes a key once (a key with no % is taken as is) and checks its shape. */
export function decodeKey(key: string, where: string): string {
  let decoded = key;
  if (key.includes('%')) {
    try {
      decoded = decodeURIComponent(key);
    } catch {
      throw new SnapshotError(ErrorCodes.InvalidParameter, `${where} ${quoteKey(key)} is not a valid URL-encoded key`);
    }
  }
  return checkKey(decoded, where);
}

/** C0 control characters and DEL: no object name holds one (a newline in a key forges log lines and listings). */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0001-\u001f\u007f]/;

/** Refuses keys that could leave their bucket or name no object. */
export function checkKey(decoded: string, where: string): string {
  if (decoded.includes('\0')) throw denied(`${where} contains a NUL byte`);
  const control = CONTROL_CHARACTER.exec(decoded);
  if (control !== null) {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      `${where} ${quoteKey(decoded)} contains a control character (${shortenSubject(control[0])}); keys may not`,
    );
  }
  if (isAbsolute(decoded) || decoded.startsWith('\\')) throw denied(`${where} ${quoteKey(decoded)} is an absolute path`);
  if (decoded.split(/[/\\]/).some((segment) => segment === '..')) {
    throw denied(`${where} ${quoteKey(decoded)} leads out of its bucket`);
  }
  if (decoded === '' || decoded.endsWith('/')) {
    throw new SnapshotError(ErrorCodes.InvalidParameter, `${where} ${quoteKey(decoded)} does not name an object`);
  }
  return decoded;
}

function inside(folder: string, path: string): boolean {
  return path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}

/** The real path of an existing input object, refusing symlinks out of the bucket. */
export function resolveInputObject(bucketDir: string, key: string, where: string): string {
  const candidate = resolve(bucketDir, key);
  if (!inside(bucketDir, candidate)) throw denied(`${where} leads out of its bucket`);
  const subject = `the object ${shortenSubject(key)}`;
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch (error) {
    throw systemError(error, subject);
  }
  if (!inside(bucketDir, real)) throw denied(`${where} ${quoteKey(key)} is a link that leads out of its bucket`);
  let kind: ReturnType<typeof statSync>;
  try {
    kind = statSync(real);
  } catch (error) {
    throw systemError(error, subject);
  }
  if (!kind.isFile()) throw notAFile(subject, kind.isDirectory());
  return real;
}

/**
 * The path to write an output object at: its folders are created inside the
 * bucket one at a time, each checked before the next is made in it, so a
 * folder that is a link leading out is refused before anything is made there.
 */
export function prepareOutputPath(bucketDir: string, key: string, where: string): string {
  const candidate = resolve(bucketDir, key);
  if (!inside(bucketDir, candidate)) throw denied(`${where} leads out of its bucket`);
  const segments = candidate.slice(bucketDir.length + 1).split(sep);
  const name = segments.pop()!;
  let folder = bucketDir;
  for (const segment of segments) {
    const next = join(folder, segment);
    try {
      // mkdir never follows a link at `next`: an existing link is EEXIST.
      mkdirSync(next);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw systemError(error, `the folder of ${shortenSubject(key)}`);
    }
    let real: string;
    try {
      real = realpathSync(next);
    } catch (error) {
      throw systemError(error, `the folder of ${shortenSubject(key)}`);
    }
    if (!inside(bucketDir, real)) {
      throw denied(`${where} ${quoteKey(key)} goes through a link that leads out of its bucket`);
    }
    if (!statSync(real).isDirectory()) {
      throw new SnapshotError(ErrorCodes.InvalidParameter, `${where} ${quoteKey(key)} goes through an object that is a file, not a folder`);
    }
    folder = real;
  }
  return join(folder, name);
}
