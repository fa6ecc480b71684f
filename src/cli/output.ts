/**
 * Where `framesnap snapshot` puts its image: a file, whose extension names
 * the format (.jpg/.jpeg, .webp, .avif, .png), or standard output (`-o -`).
 * `--format` chooses the format where no extension does, and must agree
 * with the extension where one does.
 */
import { lstatSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';

import { ErrorCodes, SnapshotError, shortenSubject, systemError } from '../core/errors.js';
import { formatFromExtension, IMAGE_FORMATS, WRITTEN_EXTENSIONS, type ImageFormat } from '../core/formats.js';
import { oneOf, usageError } from './args.js';

export interface ImageTarget {
  /** The file, or undefined for standard output. */
  path: string | undefined;
  format: ImageFormat;
  /** How messages name it: the path as typed, or "stdout". */
  label: string;
}

/** The target of `-o OUTPUT [--format FORMAT]`. */
export function imageTarget(output: string, formatOption: string | undefined): ImageTarget {
  const forced = oneOf('format', formatOption, IMAGE_FORMATS);
  if (output === '-') return { path: undefined, format: forced ?? 'jpeg', label: 'stdout' };
  const extension = extname(output);
  const named = extension === '' ? undefined : formatFromExtension(extension);
  if (forced !== undefined && named !== undefined && forced !== named) {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      `--format ${forced} does not match the extension of ${shortenSubject(output)} (${extension} is ${named})`,
    );
  }
  if (forced === undefined && extension !== '' && named === undefined) {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      `the extension ${shortenSubject(extension)} of ${shortenSubject(output)} names no format framesnap writes (${WRITTEN_EXTENSIONS}); give --format to write one under this name`,
    );
  }
  return { path: output, format: forced ?? named ?? 'jpeg', label: output };
}

/**
 * Refuses, before any decoding, a target that cannot be written: a folder,
 * a file in a missing folder, standard output on a terminal.
 */
export function checkTarget(command: string, target: ImageTarget): void {
  if (target.path === undefined) {
    if (process.stdout.isTTY === true) {
      throw usageError(command, '-o - would write the image to the terminal; redirect standard output or give a file name');
    }
    return;
  }
  const subject = `the output file ${shortenSubject(target.path)}`;
  let exists = true;
  try {
    if (statSync(target.path).isDirectory()) throw Object.assign(new Error('a folder'), { code: 'EISDIR' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw systemError(error, subject);
    exists = false;
  }
  if (!exists) {
    try {
      if (!statSync(dirname(target.path)).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    } catch (error) {
      throw systemError(error, subject, { writing: true });
    }
  }
}

/**
 * The image written to its target. A regular file left half-written by a
 * failure is removed; anything else (a device such as /dev/stdout, a FIFO,
 * a symbolic link) is never removed.
 */
export async function writeImage(target: ImageTarget, data: Buffer): Promise<void> {
  if (target.path === undefined) return writeToStdout(data);
  try {
    writeFileSync(target.path, data);
  } catch (error) {
    removeIfRegularFile(target.path);
    throw systemError(error, `the output file ${shortenSubject(target.path)}`, { writing: true });
  }
}

function removeIfRegularFile(path: string): void {
  try {
    if (lstatSync(path).isFile()) unlinkSync(path);
  } catch {
    // Nothing was made, or it went meanwhile.
  }
}

/** Thrown when standard output was closed before everything was written (EPIPE): the command ends quietly. */
export class StdoutClosed extends Error {}

export function writeToStdout(data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(data, (error) => {
      if (error === null || error === undefined) resolve();
      else if ((error as NodeJS.ErrnoException).code === 'EPIPE') reject(new StdoutClosed('standard output was closed'));
      else reject(systemError(error, 'standard output'));
    });
  });
}
