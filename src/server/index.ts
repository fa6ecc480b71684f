/**
 * framesnap/server: the cloud API over HTTP for a SnapshotService
 * (docs/server.md). A subpath of its own, so that the library alone never
 * loads Fastify or prom-client.
 */
export { createServer, API_VERSION, type ServerOptions } from './server.js';
export { readAccessKeys, parseAccessKeys, MAX_CLOCK_SKEW_MS, type AccessKeys } from './auth.js';
export { ApiError, ApiErrorCodes, statusOf } from './api-error.js';
export type { RateLimitOptions } from './rate-limit.js';
