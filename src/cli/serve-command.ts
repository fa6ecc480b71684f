/**
 * `framesnap serve`: the cloud API over HTTP (src/server, docs/server.md)
 * until SIGTERM or SIGINT. Jobs are kept in SQLite by default
 * (<root>/.framesnap/jobs.db, or --database FILE), or in Redis, so a restart
 * loses nothing. On a signal it stops taking connections, answers the
 * requests in flight, gives running jobs the grace to finish, and hands the
 * rest back to the store (they run again after the restart); it exits 0.
 * SIGHUP reads the access-key file again (key rotation without a restart).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { debug } from '../core/debug.js';
import { ErrorCodes, SnapshotError } from '../core/errors.js';
import { oneOf, parseCommand, usageError, wholeNumber } from './args.js';
import { readBucketsFile } from './buckets-file.js';
import { ExitStatus } from './exit-status.js';
import type { Interrupts } from './signals.js';
import { parseTime } from './times.js';

const OPTIONS = {
  root: { type: 'string' },
  buckets: { type: 'string' },
  database: { type: 'string' },
  redis: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'access-keys': { type: 'string' },
  'insecure-no-auth': { type: 'boolean' },
  workers: { type: 'string' },
  'sync-timeout': { type: 'string' },
  'max-queue': { type: 'string' },
  'rate-limit': { type: 'string' },
  'trust-proxy': { type: 'string' },
  grace: { type: 'string' },
  'log-level': { type: 'string' },
  isolation: { type: 'string' },
  'limit-input-pixels': { type: 'string' },
  'limit-output-pixels': { type: 'string' },
  'limit-sprite-pixels': { type: 'string' },
} as const;

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 8080;
/**
 * A synchronous SubmitSnapshotJob's deadline unless --sync-timeout says
 * otherwise: the SDK's default client gives up after 3 s (MTS-WIRE.md
 * section 1), so SnapshotTimeOut must reach it before then.
 */
export const DEFAULT_SERVE_SYNC_TIMEOUT_MS = 2_500;
/** The grace running jobs get after a signal unless --grace says otherwise. */
const DEFAULT_GRACE_MS = 30_000;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Runs until a signal; resolves with the exit status (0 after a clean stop). */
export async function serveCommand(args: string[], interrupts: Interrupts): Promise<number | 'help'> {
  const { values, help } = parseCommand('serve', args, OPTIONS, 0);
  if (help) return 'help';
  if (values.root === undefined) throw usageError('serve', 'framesnap serve needs --root');
  if (values.database !== undefined && values.redis !== undefined) {
    throw usageError('serve', '--database and --redis contradict each other: give one store');
  }
  const insecure = values['insecure-no-auth'] === true;
  if (insecure === (values['access-keys'] !== undefined)) {
    throw usageError(
      'serve',
      insecure
        ? '--access-keys and --insecure-no-auth contradict each other'
        : 'framesnap serve needs --access-keys FILE (a JSON object of AccessKeyId to AccessKeySecret), or --insecure-no-auth for local experiments',
    );
  }
  const host = values.host ?? DEFAULT_HOST;
  const port = wholeNumber('port', values.port) ?? DEFAULT_PORT;
  if (port > 65_535) throw usageError('serve', `--port must be 0..65535, not ${port}`);
  const rateLimit = wholeNumber('rate-limit', values['rate-limit']);
  const graceMs = values.grace === undefined ? DEFAULT_GRACE_MS : parseTime('--grace', values.grace);
  const logLevel = oneOf('log-level', values['log-level'], LOG_LEVELS) ?? 'info';
  const { readAccessKeys, createServer } = await import('../server/index.js');
  const keyFile = values['access-keys'];
  // A Map the server uses live: SIGHUP reads the file again into it.
  const accessKeys = keyFile === undefined ? undefined : new Map(readAccessKeys(keyFile));
  const reloadKeys = (): void => {
    if (keyFile === undefined || accessKeys === undefined) return;
    try {
      const fresh = readAccessKeys(keyFile);
      accessKeys.clear();
      for (const [id, secret] of fresh) accessKeys.set(id, secret);
      process.stderr.write(`framesnap serve: SIGHUP: ${accessKeys.size} access key(s) read from ${keyFile}\n`);
    } catch (error) {
      process.stderr.write(`framesnap serve: SIGHUP: the access keys are unchanged: ${(error as Error).message}\n`);
    }
  };
  let database = values.database;
  if (database === undefined && values.redis === undefined) {
    // Inside the root, in a folder no bucket can name (bucket names are a-z, 0-9 and -).
    const folder = join(values.root, '.framesnap');
    try {
      mkdirSync(folder, { recursive: true });
    } catch (error) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        `cannot make ${folder} for the job database (${(error as NodeJS.ErrnoException).code ?? 'error'}); give --database FILE`,
      );
    }
    database = join(folder, 'jobs.db');
  }
  const buckets = await readBucketsFile('serve', values.buckets);
  interrupts.signal.throwIfAborted();
  const { SnapshotService } = await import('../service/service.js');
  const service = new SnapshotService({
    root: values.root,
    ...(buckets === undefined ? {} : { buckets }),
    ...(database === undefined ? {} : { database }),
    ...(values.redis === undefined ? {} : { redis: values.redis }),
    workers: wholeNumber('workers', values.workers),
    syncTimeoutMs:
      values['sync-timeout'] === undefined ? DEFAULT_SERVE_SYNC_TIMEOUT_MS : parseTime('--sync-timeout', values['sync-timeout']),
    maxQueue: wholeNumber('max-queue', values['max-queue']),
    isolation: values.isolation as 'thread' | 'process' | undefined,
    limitInputPixels: wholeNumber('limit-input-pixels', values['limit-input-pixels']),
    limitOutputPixels: wholeNumber('limit-output-pixels', values['limit-output-pixels']),
    limitSpritePixels: wholeNumber('limit-sprite-pixels', values['limit-sprite-pixels']),
  });
  let server: ReturnType<typeof createServer> | undefined;
  try {
    await service.ready();
    server = createServer(service, {
      ...(accessKeys === undefined ? { insecureNoAuth: true } : { accessKeys }),
      logger: { level: logLevel },
      rateLimit: rateLimit === 0 ? false : rateLimit === undefined ? {} : { requestsPerSecond: rateLimit },
      ...(values['trust-proxy'] === undefined ? {} : { trustProxy: values['trust-proxy'].split(',').map((entry) => entry.trim()) }),
    });
    let address: string;
    try {
      address = await server.listen({ host, port });
    } catch (error) {
      throw new SnapshotError(
        ErrorCodes.InvalidParameter,
        `cannot listen on ${host}:${port} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
    const store = values.redis === undefined ? `SQLite ${database}` : 'Redis';
    const auth = accessKeys === undefined ? 'NO AUTHENTICATION (--insecure-no-auth)' : `${accessKeys.size} access key(s)`;
    process.stderr.write(`framesnap serve: listening on ${address} (${store}, ${auth}, pid ${process.pid}); SIGTERM or Ctrl-C stops\n`);
    if (accessKeys === undefined && !isLoopback(host)) {
      process.stderr.write(`framesnap serve: WARNING: anyone who can reach ${host}:${port} can submit jobs: there is no authentication\n`);
    }
    // The service's timers do not hold the process; the server's socket does, until close.
    process.on('SIGHUP', reloadKeys);
    try {
      await new Promise<void>((resolve) => {
        if (interrupts.signal.aborted) resolve();
        else interrupts.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      process.off('SIGHUP', reloadKeys);
    }
    process.stderr.write(
      `framesnap serve: ${interrupts.received ?? 'stop'}: answering the requests in flight, then finishing running jobs (up to ${graceMs} ms) and handing back the rest\n`,
    );
    debug('closing the server');
    await server.close();
  } finally {
    await server?.close();
    await service.close({ graceMs });
  }
  process.stderr.write('framesnap serve: stopped\n');
  return ExitStatus.Success;
}
