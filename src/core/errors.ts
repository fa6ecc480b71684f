/**
 * The one error class of framesnap. `code` is the cloud service's code string
 * (SPEC section 8); native failures arrive as instances of it, with FFmpeg's
 * reason in the message.
 */
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
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class SnapshotError extends Error {
  readonly code: ErrorCode;
  requestId?: string;
  jobId?: string;

  constructor(code: ErrorCode, message: string, details: { requestId?: string; jobId?: string } = {}) {
    super(capMessage(message));
    this.name = 'SnapshotError';
    this.code = code;
    if (details.requestId !== undefined) this.requestId = details.requestId;
    if (details.jobId !== undefined) this.jobId = details.jobId;
  }

  /** The plain form that crosses a worker boundary. */
  toJSON(): { code: ErrorCode; message: string; requestId?: string; jobId?: string } {
    return { code: this.code, message: this.message, requestId: this.requestId, jobId: this.jobId };
  }

  static fromJSON(value: { code: ErrorCode; message: string; requestId?: string; jobId?: string }): SnapshotError {
    return new SnapshotError(value.code, value.message, value);
  }
}

/** Anything thrown below the API edge becomes a SnapshotError. */
export function toSnapshotError(error: unknown): SnapshotError {
  if (error instanceof SnapshotError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SnapshotError(ErrorCodes.InternalError, message);
}

/** Longest message any error carries: what a request or a file contains cannot grow it further. */
export const MAX_MESSAGE_LENGTH = 1000;
/** Longest rendering of a caller's path or object key inside a message. */
export const MAX_SUBJECT_LENGTH = 120;

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
  return new SnapshotError(failure.code, `${shortenSubject(subject)}: ${failure.message}`, failure);
}
