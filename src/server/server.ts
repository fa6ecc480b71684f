/**
 * createServer(service, options): the cloud API over HTTP, on Fastify, as
 * the official SDK speaks it (MTS-WIRE.md; docs/server.md):
 *
 *   POST /          an RPC call: the action in x-acs-action (V3) or Action (V2),
 *                   its parameters in the query string, signed; answered with
 *                   the action's JSON, or {RequestId, HostId, Code, Message}
 *                   with the code's HTTP status
 *   GET /healthz    200 {"status":"ok"} while the job store answers, else 503
 *   GET /metrics    Prometheus text (metrics.ts)
 *
 * The server is returned unstarted: call listen(). Its close() stops taking
 * connections, refuses new requests on open ones (503 ServiceUnavailable),
 * answers those in flight, and then resolves; the service is the caller's
 * to close after (the CLI does: queued jobs stay queued in a durable store).
 */
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';

import { ErrorCodes, SnapshotError } from '../core/errors.js';
import { expectInteger } from '../core/validate.js';
import type { SnapshotService } from '../service/service.js';
import { newRequestId } from '../service/stores/records.js';
import { ACTIONS, actionOf, requestOf } from './actions.js';
import { ApiError, ApiErrorCodes, toApiError } from './api-error.js';
import { NonceCache, parseAccessKeys, verifyRequest, type AccessKeys, type Signer } from './auth.js';
import { ServerMetrics } from './metrics.js';
import { RateLimiter, type RateLimitOptions } from './rate-limit.js';
import { parseQuery } from './wire.js';

/** The API version of the actions served. */
export const API_VERSION = '2014-06-18';

export interface ServerOptions {
  /**
   * AccessKeyId -> AccessKeySecret, as an object or a Map (the CLI reads it
   * from --access-keys FILE). Required unless insecureNoAuth. An object is
   * copied; a Map is used live: keys set in it or deleted from it later are
   * accepted or refused from the next request on (key rotation).
   */
  accessKeys?: Readonly<Record<string, string>> | ReadonlyMap<string, string>;
  /** Accept unsigned requests (and any signature). For local experiments only. */
  insecureNoAuth?: boolean;
  /**
   * Fastify's logger: false (default), true (pino JSON lines on stdout), pino
   * options, or a pino-compatible logger. Request lines carry the action, the
   * code, the status, the time and the access key id; never a signature, a
   * query string or a secret.
   */
  logger?: boolean | Record<string, unknown> | FastifyBaseLogger;
  /** Requests per access key (or per address without auth); false for none. Default 5000/s, burst 5000. */
  rateLimit?: RateLimitOptions | false;
  /**
   * Failed signatures per remote address (wrong secret, unknown key, replayed
   * nonce, ...): past it, that address's requests are refused with
   * Throttling.User before their signature is checked, until its budget
   * refills. false for none. Default 50/s, burst 500. Behind a reverse proxy,
   * set trustProxy, or every client shares the proxy's budget.
   */
  authFailureLimit?: RateLimitOptions | false;
  /**
   * Fastify's trustProxy: the proxies whose X-Forwarded-For names the client
   * (addresses or CIDR ranges, comma-separated or as a list; true: any).
   * Default: none (the client is the socket's peer).
   */
  trustProxy?: boolean | string | string[];
  /** The largest request body taken, bytes (the API sends none); default 65536. */
  bodyLimit?: number;
  /** x-acs-retry-after (ms) when the job queue is full; default 1000. */
  retryAfterMs?: number;
  /**
   * Nonces remembered for replay protection at most, about 45 bytes each;
   * default 2000000 (about 90 MB): past it, requests get Throttling, so the
   * sustained rate is at most this many per 15 minutes (2222/s by default).
   */
  maxNonces?: number;
  /** How long an idle keep-alive connection stays open, ms; default 10000 (the SDK keeps its connections). */
  keepAliveTimeoutMs?: number;
}

/** What the handler learned about a request, for its log line and metrics. */
interface Exchange {
  action: string;
  accessKeyId?: string;
  code: string;
  /** The answer's RequestId, which the caller sees: the log line carries it too. */
  requestId?: string;
}

const DEFAULT_BODY_LIMIT = 65_536;
const DEFAULT_RETRY_AFTER_MS = 1_000;
const DEFAULT_MAX_NONCES = 2_000_000;
const DEFAULT_KEEP_ALIVE_MS = 10_000;
/** How long GET /healthz waits for the job store. */
const HEALTH_TIMEOUT_MS = 2_000;
/** A request not fully received by then is dropped (slow clients hold no socket forever). */
const REQUEST_TIMEOUT_MS = 60_000;

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A request as logs show it: never its query (a V2 signature lives there) nor its headers. */
function requestForLog(request: FastifyRequest): Record<string, unknown> {
  return { method: request.method, path: String(request.url).split('?', 1)[0], remoteAddress: request.ip };
}

function loggerOption(given: ServerOptions['logger']): Pick<FastifyServerOptions, 'logger' | 'loggerInstance'> {
  if (given === undefined || given === false) return { logger: false };
  const serializers = { req: requestForLog };
  if (given === true) return { logger: { serializers } };
  if (typeof (given as FastifyBaseLogger).child === 'function') return { loggerInstance: given as FastifyBaseLogger };
  return { logger: { ...(given as Record<string, unknown>), serializers } };
}

function accessKeysOf(options: ServerOptions): AccessKeys | undefined {
  if (options.insecureNoAuth === true) {
    if (options.accessKeys !== undefined)
      throw new SnapshotError(ErrorCodes.InvalidParameter, 'give accessKeys or insecureNoAuth, not both');
    return undefined;
  }
  if (options.accessKeys === undefined) {
    throw new SnapshotError(
      ErrorCodes.InvalidParameter,
      'createServer needs accessKeys ({AccessKeyId: AccessKeySecret}); insecureNoAuth: true serves unsigned requests, for local experiments only',
    );
  }
  const checked = parseAccessKeys(options.accessKeys instanceof Map ? Object.fromEntries(options.accessKeys) : options.accessKeys);
  // A Map is used as it is, so its owner can change the keys while the server runs (framesnap serve on SIGHUP).
  return options.accessKeys instanceof Map ? options.accessKeys : checked;
}

/** The cloud API over HTTP for `service`; not listening yet (call listen()). */
export function createServer(service: SnapshotService, options: ServerOptions = {}): FastifyInstance {
  const keys = accessKeysOf(options);
  const bodyLimit = options.bodyLimit === undefined ? DEFAULT_BODY_LIMIT : expectInteger('bodyLimit', options.bodyLimit, 0, 16_777_216);
  const retryAfterMs =
    options.retryAfterMs === undefined ? DEFAULT_RETRY_AFTER_MS : expectInteger('retryAfterMs', options.retryAfterMs, 0, 3_600_000);
  const nonces = new NonceCache(
    options.maxNonces === undefined ? DEFAULT_MAX_NONCES : expectInteger('maxNonces', options.maxNonces, 1, 100_000_000),
  );
  const keepAliveTimeout =
    options.keepAliveTimeoutMs === undefined
      ? DEFAULT_KEEP_ALIVE_MS
      : expectInteger('keepAliveTimeoutMs', options.keepAliveTimeoutMs, 1_000, 600_000);
  const limiter = options.rateLimit === false ? undefined : new RateLimiter(options.rateLimit ?? {});
  const failures =
    options.authFailureLimit === false || keys === undefined
      ? undefined
      : new RateLimiter(
          options.authFailureLimit ?? { requestsPerSecond: 50, burst: 500 },
          'authFailureLimit',
          'Request was denied due to flow control: too many requests with failed signatures from this address',
          50,
        );

  const app = Fastify({
    ...loggerOption(options.logger),
    bodyLimit: Math.max(bodyLimit, 1),
    keepAliveTimeout,
    requestTimeout: REQUEST_TIMEOUT_MS,
    ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
    // Refused with the API's own JSON instead (see preClose below).
    return503OnClosing: false,
    // The API reads the raw query itself (wire.ts): Fastify's own parse would be wasted work.
    routerOptions: { querystringParser: () => ({}) },
    // Each API request gets one line of its own (below), with its action and code.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const metrics = new ServerMetrics(service);
  // Each request's line is built only when it is written.
  const logRequests = (app.log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') ?? false;
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    metrics.dispose();
    done();
  });

  // The API takes no body: any body is read as bytes (bounded by bodyLimit), hashed for a V3 signature and refused.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const sendError = (request: FastifyRequest, reply: FastifyReply, error: ApiError, requestId: string): FastifyReply => {
    const host = headerValue(request, 'host');
    if (error.retryAfterMs !== undefined) void reply.header('x-acs-retry-after', String(error.retryAfterMs));
    if (closing) void reply.header('connection', 'close');
    return reply
      .code(error.status)
      .header('content-type', 'application/json;charset=utf-8')
      .send({
        RequestId: requestId,
        HostId: host !== undefined && host.length <= 255 ? host : 'framesnap',
        Code: error.code,
        Message: error.message,
      });
  };

  const handle = async (request: FastifyRequest, reply: FastifyReply, exchange: Exchange): Promise<object> => {
    if (closing) throw new ApiError(ApiErrorCodes.ServiceUnavailable, 'the server is shutting down; retry on another instance or later');
    const url = request.raw.url ?? '/';
    const at = url.indexOf('?');
    const query = parseQuery(at < 0 ? '' : url.slice(at + 1));
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const headerAction = headerValue(request, 'x-acs-action');
    const queryAction = query.get('Action');
    const name = headerAction ?? queryAction;
    if (name !== undefined && Object.hasOwn(ACTIONS, name)) exchange.action = name;
    let client = request.ip;
    if (keys !== undefined) {
      const now = Date.now();
      failures?.check(request.ip, now);
      let signer: Signer;
      try {
        signer = verifyRequest(
          { method: request.method, path: at < 0 ? url : url.slice(0, at), query, headers: request.headers, body },
          { keys, nonces, now },
        );
      } catch (error) {
        // A full nonce memory is the server's state, not the client's failure.
        if (error instanceof ApiError && error.code !== ApiErrorCodes.Throttling) failures?.spend(request.ip, now);
        throw error;
      }
      exchange.accessKeyId = signer.accessKeyId;
      client = signer.accessKeyId;
    }
    limiter?.take(client, Date.now());
    // V2 signs the query's Action and not the header: the two must agree, so the action run is the one signed.
    if (headerAction !== undefined && queryAction !== undefined && headerAction !== queryAction) {
      throw new ApiError(ApiErrorCodes.InvalidParameter, 'the x-acs-action header and the Action parameter name different actions');
    }
    const version = headerValue(request, 'x-acs-version') ?? query.get('Version');
    if (version !== undefined && version !== API_VERSION) {
      throw new ApiError(
        ApiErrorCodes.InvalidVersion,
        `Specified api version ${JSON.stringify(version.slice(0, 32))} is not valid; framesnap serves ${API_VERSION}`,
      );
    }
    if (body.length > 0) {
      throw new ApiError(
        ApiErrorCodes.InvalidParameter,
        'the API takes its parameters in the query string; the request body must be empty',
      );
    }
    const action = actionOf(name);
    const response = await action.call(service, requestOf(name!, action, query));
    void reply.header('content-type', 'application/json;charset=utf-8');
    return response;
  };

  app.post('/', async (request, reply) => {
    const started = process.hrtime.bigint();
    const exchange: Exchange = { action: 'unknown', code: 'Success' };
    let answer: object | FastifyReply;
    try {
      answer = await handle(request, reply, exchange);
      exchange.requestId = (answer as { RequestId?: string }).RequestId;
    } catch (error) {
      const failure = toApiError(error, retryAfterMs);
      exchange.code = failure.code;
      // Only the unforeseen is an error of the server's; the rest is the request's line below.
      if (failure.code === ApiErrorCodes.InternalError) request.log.error({ err: error }, 'request failed');
      const requestId = (error as { requestId?: unknown }).requestId;
      exchange.requestId = typeof requestId === 'string' ? requestId : newRequestId();
      answer = sendError(request, reply, failure, exchange.requestId);
    }
    // An answer sent while closing ends its connection: a keep-alive socket would hold close() until it idles out.
    if (closing) void reply.header('connection', 'close');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.request(exchange.action, exchange.code, seconds);
    if (logRequests)
      request.log.info(
        {
          req: request,
          action: exchange.action,
          code: exchange.code,
          status: reply.statusCode,
          ms: Math.round(seconds * 1e4) / 10,
          requestId: exchange.requestId,
          ...(exchange.accessKeyId === undefined ? {} : { accessKeyId: exchange.accessKeyId }),
        },
        'request',
      );
    return answer;
  });

  app.get('/healthz', async (_request, reply) => {
    if (closing) return reply.code(503).send({ status: 'closing' });
    let timer: NodeJS.Timeout | undefined;
    try {
      // A store that does not answer (Redis unreachable, its client retrying) is as unready as one that fails.
      await Promise.race([
        service.ready().then(() => service.queryPipelineList({ PipelineIds: service.defaultPipelineId })),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`the job store did not answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
        }),
      ]);
      return { status: 'ok' };
    } catch (error) {
      return reply.code(503).send({ status: 'unavailable', message: error instanceof Error ? error.message : String(error) });
    } finally {
      clearTimeout(timer);
    }
  });

  app.get('/metrics', async (_request, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new ApiError(
        ApiErrorCodes.InvalidActionNotFound,
        `${request.method} ${String(request.url).split('?', 1)[0]} is not served: the API is POST /, with GET /healthz and GET /metrics`,
      ),
      newRequestId(),
    ),
  );

  // Fastify's own refusals (a body over bodyLimit, a malformed request) in the API's JSON.
  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return sendError(
      request,
      reply,
      new ApiError(
        status >= 500 ? ApiErrorCodes.InternalError : ApiErrorCodes.InvalidParameter,
        status >= 500 ? 'the server failed to answer the request' : error.message,
        { status },
      ),
      newRequestId(),
    );
  });

  return app;
}
