/**
 * How the command ends: one table from what happened to the exit status,
 * and the one shape of an error line, `framesnap: <Code>: <message>`.
 */
import { constants } from 'node:os';

import { ErrorCodes, toSnapshotError, type ErrorCode } from '../core/errors.js';

export const ExitStatus = {
  /** Done. */
  Success: 0,
  /** The work failed: the video could not give the image, or the job failed. */
  Failed: 1,
  /** A bad request, refused before any work: usage, options, JSON, missing or unreadable files. */
  BadRequest: 2,
  /** framesnap's own failure (a bug, or the addon or sharp could not load): InternalError. */
  Internal: 3,
  /** stdout was closed before the output was written (`| head -c 10`): 128 + SIGPIPE, as `cat` ends; nothing printed. */
  StdoutClosed: 128 + constants.signals.SIGPIPE,
} as const;

/** 128 + the signal's number: SIGINT 130, SIGTERM 143. */
export function signalStatus(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

/** Codes that mean the request itself was wrong (when no job was accepted to do the work). */
const BAD_REQUEST_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCodes.InvalidParameter,
  ErrorCodes.JsonFormatInvalid,
  ErrorCodes.OutOfRange,
  ErrorCodes.NullValue,
  ErrorCodes.ResourceNotFound,
  ErrorCodes.PermissionDenied,
]);

/**
 * The status for a failure: InternalError 3; a bad-request code 2 unless a
 * job had been accepted for the work (its failure is the work's, 1); any
 * other code (ResourceContentBad, SnapshotTimeOut, ...) 1.
 */
export function statusFor(code: ErrorCode, acceptedJob: boolean): number {
  if (code === ErrorCodes.InternalError) return ExitStatus.Internal;
  if (!acceptedJob && BAD_REQUEST_CODES.has(code)) return ExitStatus.BadRequest;
  return ExitStatus.Failed;
}

/** The line an error is printed as on stderr (newline included). */
export function errorLine(code: string, message: string): string {
  return `framesnap: ${code}: ${message}\n`;
}

/** Prints `error` as its line and gives its status. */
export function reportFailure(error: unknown): number {
  const failure = toSnapshotError(error);
  process.stderr.write(errorLine(failure.code, failure.message));
  return statusFor(failure.code, failure.jobId !== undefined);
}
