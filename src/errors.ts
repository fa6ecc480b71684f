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
    super(message);
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
