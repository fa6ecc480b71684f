/**
 * The HTTP face of an error: the cloud API's JSON error body
 * {RequestId, HostId, Code, Message} with the status each code gets
 * (MTS-WIRE.md section 5; the table is in docs/server.md).
 *
 * The job API's own failures are SnapshotErrors (core/errors.ts); the codes
 * only the HTTP layer has -- signatures, access keys, actions, rate limits --
 * are ApiErrors.
 */
import { ErrorCodes, SnapshotError } from '../core/errors.js';

export const ApiErrorCodes = {
  InvalidParameter: 'InvalidParameter',
  /** The Authorization header or a V2 signature parameter is missing or malformed. */
  IncompleteSignature: 'IncompleteSignature',
  SignatureDoesNotMatch: 'SignatureDoesNotMatch',
  InvalidAccessKeyIdNotFound: 'InvalidAccessKeyId.NotFound',
  SignatureNonceUsed: 'SignatureNonceUsed',
  InvalidTimeStampExpired: 'InvalidTimeStamp.Expired',
  InvalidTimeStampFormat: 'InvalidTimeStamp.Format',
  /** An STS token: framesnap has no token service to check it against. */
  InvalidSecurityToken: 'InvalidSecurityToken.Malformed',
  InvalidActionNotFound: 'InvalidAction.NotFound',
  InvalidVersion: 'InvalidVersion',
  /** Too many requests for one access key (the rate limit). */
  ThrottlingUser: 'Throttling.User',
  /** The job queue is full, or the server is shutting down. */
  Throttling: 'Throttling',
  ServiceUnavailable: 'ServiceUnavailable',
  InternalError: 'InternalError',
} as const;

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  /** For Throttling codes: the x-acs-retry-after header, in ms. */
  readonly retryAfterMs: number | undefined;
  declare readonly name: 'ApiError';

  constructor(code: string, message: string, options: { status?: number; retryAfterMs?: number } = {}) {
    super(message);
    this.code = code;
    this.status = options.status ?? statusOf(code);
    this.retryAfterMs = options.retryAfterMs;
  }
}
Object.defineProperty(ApiError.prototype, 'name', { value: 'ApiError', writable: true, configurable: true, enumerable: false });

/**
 * The HTTP status of a code: Aliyun POP's convention where it has one
 * (MTS-WIRE.md section 5), and the nearest HTTP meaning for framesnap's own.
 */
export function statusOf(code: string): number {
  if (code.startsWith('InvalidParameter')) return 400;
  switch (code) {
    case ApiErrorCodes.IncompleteSignature:
    case ApiErrorCodes.SignatureDoesNotMatch:
    case ApiErrorCodes.SignatureNonceUsed:
    case ApiErrorCodes.InvalidTimeStampExpired:
    case ApiErrorCodes.InvalidTimeStampFormat:
    case ApiErrorCodes.InvalidSecurityToken:
    case ApiErrorCodes.InvalidVersion:
      return 400;
    case ErrorCodes.PermissionDenied:
      return 403;
    case ApiErrorCodes.InvalidAccessKeyIdNotFound:
    case ApiErrorCodes.InvalidActionNotFound:
      return 404;
    case ErrorCodes.Canceled:
      return 409;
    case ApiErrorCodes.ThrottlingUser:
      return 429;
    case ErrorCodes.Throttling:
    case ErrorCodes.TransientNetWorkError:
    case ErrorCodes.Aborted:
    case ApiErrorCodes.ServiceUnavailable:
      return 503;
    default:
      // InternalError, SnapshotTimeOut, anything unforeseen.
      return 500;
  }
}

/** An ApiError or SnapshotError as it goes out; anything else is an InternalError whose detail stays in the log. */
export function toApiError(error: unknown, retryAfterMs: number): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof SnapshotError) {
    return new ApiError(error.code, error.message, error.code === ErrorCodes.Throttling ? { retryAfterMs } : {});
  }
  return new ApiError(ApiErrorCodes.InternalError, 'the server failed to answer the request');
}
