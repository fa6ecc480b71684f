/**
 * The one error class of framesnap. `code` is the cloud service's code string
 * (SPEC section 8); native failures arrive as instances of it, with FFmpeg's
 * reason in the message. Also here: the one normaliser (toSnapshotError), the
 * one errno-to-code table of the TypeScript side (systemError), and the
 * caller's stack grafted onto failures (callerStack, withCallerStack).
 */
import { getSystemErrorMap } from 'node:util';

export const ErrorCodes = {
  InvalidParameter: 'InvalidParameter',
  JsonFormatInvalid: 'InvalidParameter.JsonFormatInvalid',
  OutOfRange: 'InvalidParameter.OutOfRange',
  NullValue: 'InvalidParameter.NullValue',
  ResourceNotFound: 'InvalidParameter.ResourceNotFound',
  ResourceContentBad: 'InvalidParameter.ResourceContentBad',
  PermissionDenied: 'PermissionDenied.ResourceAccess',
  SnapshotTimeOut: 'SnapshotTimeOut',
  TransientNetWorkError: 'TransientNetWorkError',
  InternalError: 'InternalError',
  /** framesnap's own: the caller cancelled the call through its AbortSignal. */
  Aborted: 'Aborted',
  /** framesnap's own: the service's job queue is full; retry later. */
  Throttling: 'Throttling',
  /** framesnap's own: cancelSnapshotJob() cancelled the job. */
  Canceled: 'Canceled',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** What a SnapshotError may carry besides its code and message; absent keys stay absent. */
export interface SnapshotErrorDetails {
  requestId?: string | undefined;
  jobId?: string | undefined;
  /** What caused it: the AbortSignal's reason, the OS error, the encoder's error. */
  cause?: unknown;
}

/** The plain form of a SnapshotError that crosses a worker or process boundary. */
export interface SnapshotErrorJSON {
  code: ErrorCode;
  message: string;
  requestId?: string;
  jobId?: string;
}

export class SnapshotError extends Error {
  readonly code: ErrorCode;
  // `declare`: no own property unless set (a class field would make an own `undefined` key).
  declare requestId?: string;
  declare jobId?: string;
  declare readonly name: 'SnapshotError';

  constructor(code: ErrorCode, message: string, details: SnapshotErrorDetails = {}) {
    super(capMessage(message), details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.requestId !== undefined) this.requestId = details.requestId;
    if (details.jobId !== undefined) this.jobId = details.jobId;
  }

  /** The plain form that crosses a worker boundary (the cause stays behind). */
  toJSON(): SnapshotErrorJSON {
    const plain: SnapshotErrorJSON = { code: this.code, message: this.message };
    if (this.requestId !== undefined) plain.requestId = this.requestId;
    if (this.jobId !== undefined) plain.jobId = this.jobId;
    return plain;
  }

  static fromJSON(value: SnapshotErrorJSON): SnapshotError {
    return new SnapshotError(value.code, value.message, value);
  }
}

// On the prototype, as Error.prototype.name is: not an own enumerable key of every error.
Object.defineProperty(SnapshotError.prototype, 'name', { value: 'SnapshotError', writable: true, configurable: true, enumerable: false });

/**
 * The one normaliser: anything thrown below the API edge becomes a
 * SnapshotError. A SnapshotError is returned as is; anything else becomes an
 * InternalError with its message, and itself as the cause.
 */
export function toSnapshotError(error: unknown): SnapshotError {
  if (error instanceof SnapshotError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SnapshotError(ErrorCodes.InternalError, message, { cause: error });
}

/** A copy of `error` with another message (same code, ids and cause). */
export function withMessage(error: SnapshotError, message: string): SnapshotError {
  if (message === error.message) return error;
  const copy = new SnapshotError(error.code, message, { requestId: error.requestId, jobId: error.jobId, cause: error.cause });
  if (error.stack !== undefined) copy.stack = `${copy.name}: ${copy.message}${framesOf(error.stack)}`;
  return copy;
}

/** Longest message any error carries: what a request or a file contains cannot grow it further. */
export const MAX_MESSAGE_LENGTH = 1000;
/** Longest rendering of a caller's path or object key inside a message. */
const MAX_SUBJECT_LENGTH = 120;

function capMessage(message: string): string {
  return message.length <= MAX_MESSAGE_LENGTH ? message : `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
}

/**
 * A path or key as a message shows it: control characters escaped, long ones
 * shortened in the middle ("first…last"), so a 1 MB key makes a short message.
 */
export function shortenSubject(subject: string, max = MAX_SUBJECT_LENGTH): string {
  // eslint-disable-next-line no-control-regex
  const visible = subject.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  if (visible.length <= max) return visible;
  const head = Math.ceil((max - 1) / 2);
  const tail = Math.floor((max - 1) / 2);
  return `${visible.slice(0, head)}…${visible.slice(visible.length - tail)}`;
}

/** `error` as a SnapshotError whose message starts with the subject it is about (a path or an object key). */
export function aboutSubject(error: unknown, subject: string): SnapshotError {
  const failure = toSnapshotError(error);
  return withMessage(failure, `${shortenSubject(subject)}: ${failure.message}`);
}

// ---- The OS's errors ----------------------------------------------------------

/**
 * The one errno-to-code table of the TypeScript side (the native core has
 * its own, in C++): the code a caller sees for a failed file system call.
 * An errno not listed is an InternalError.
 */
export const SYSTEM_ERROR_CODES: Readonly<Record<string, ErrorCode>> = Object.freeze({
  ENOENT: ErrorCodes.ResourceNotFound,
  ENOTDIR: ErrorCodes.ResourceNotFound,
  EACCES: ErrorCodes.PermissionDenied,
  EPERM: ErrorCodes.PermissionDenied,
  EROFS: ErrorCodes.PermissionDenied,
  ELOOP: ErrorCodes.PermissionDenied,
  ENAMETOOLONG: ErrorCodes.InvalidParameter,
  EISDIR: ErrorCodes.InvalidParameter,
});

/** The code for an OS error's `code` string ("ENOENT"); InternalError when not in the table. */
export function codeForSystemError(errno: string | undefined): ErrorCode {
  return (
    (errno !== undefined && Object.hasOwn(SYSTEM_ERROR_CODES, errno) ? SYSTEM_ERROR_CODES[errno] : undefined) ?? ErrorCodes.InternalError
  );
}

/**
 * An OS error (Node's ErrnoException) about `subject` (a file named as the
 * caller knows it: a shortened path, "the object <key>", never a server
 * folder) as a SnapshotError, the OS error as its cause. Node's own message
 * is never passed on: it holds the server's folders. `writing`: the call
 * was making the file, so what is missing is its folder.
 */
export function systemError(error: unknown, subject: string, options: { writing?: boolean } = {}): SnapshotError {
  if (error instanceof SnapshotError) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  const code = codeForSystemError(errno);
  const cause = { cause: error };
  switch (errno) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new SnapshotError(code, `${options.writing === true ? `the folder of ${subject}` : subject} does not exist`, cause);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new SnapshotError(code, `the file system refused access to ${subject} (${errno})`, cause);
    case 'ELOOP':
      return new SnapshotError(code, `${subject} goes through too many links (ELOOP)`, cause);
    case 'ENAMETOOLONG':
      return new SnapshotError(code, `${subject}: the name is too long (ENAMETOOLONG)`, cause);
    case 'EISDIR':
      return new SnapshotError(code, `${subject} is a folder, not a file`, cause);
    default: {
      const number = (error as NodeJS.ErrnoException | undefined)?.errno;
      const known = typeof number === 'number' ? getSystemErrorMap().get(number) : undefined;
      const reason = known === undefined ? 'an unexpected file system failure' : `${known[1]} (${known[0]})`;
      return new SnapshotError(code, `${subject}: ${reason}`, cause);
    }
  }
}

// ---- The caller's stack ---------------------------------------------------------

/** The stack frames of a public entry point's caller, taken when it was called. */
export interface CallerStack {
  readonly frames: string;
}

/** The lines after the first ("Name: message") of a stack; '' when there are none. */
function framesOf(stack: string): string {
  const start = stack.indexOf('\n    at ');
  return start === -1 ? '' : stack.slice(start);
}

/**
 * Captures the caller's stack at a public entry point (sharp's `new Error()`
 * before the native call), without the frames of `entryPoint` and above, so
 * the first frame is the line that called framesnap. Call it first thing in
 * the entry point, before any await.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export function callerStack(entryPoint: Function = callerStack): CallerStack {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, entryPoint);
  return { frames: framesOf(holder.stack ?? '') };
}

/**
 * `error` as a SnapshotError whose stack is the caller's (sharp's
 * is.nativeError(err, stack)): a failure from the native core or from work
 * that ran after an await otherwise has no frame of the caller's code.
 * Returns the same object when it already is a SnapshotError.
 */
export function withCallerStack(error: unknown, caller: CallerStack): SnapshotError {
  const failure = toSnapshotError(error);
  failure.stack = `${failure.name}: ${failure.message}${caller.frames}`;
  return failure;
}
