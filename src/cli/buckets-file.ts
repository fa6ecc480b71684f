/**
 * `--buckets FILE` (submit, worker, serve): a JSON object of bucket name to a
 * folder or a bucket in S3-compatible object storage, the service's
 * `buckets` option (docs/object-storage.md). Only a file, never the JSON on
 * the command line: the entries hold secrets, and a command line is visible
 * to every user of the machine. The service checks the entries.
 */
import { readFile } from 'node:fs/promises';

import { debug } from '../core/debug.js';
import { shortenSubject, systemError } from '../core/errors.js';
import type { SnapshotServiceOptions } from '../service/service.js';
import { usageError } from './args.js';

/** The buckets map in `path`, or undefined when no --buckets was given. */
export async function readBucketsFile(command: string, path: string | undefined): Promise<SnapshotServiceOptions['buckets']> {
  if (path === undefined) return undefined;
  debug('reading --buckets from %s', path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw systemError(error, `the --buckets file ${shortenSubject(path)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw usageError(command, `the --buckets file ${shortenSubject(path)} is not JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw usageError(command, `the --buckets file ${shortenSubject(path)} holds no JSON object of bucket names`);
  }
  return parsed as SnapshotServiceOptions['buckets'];
}
