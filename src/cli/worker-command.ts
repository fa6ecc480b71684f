/**
 * `framesnap worker`: runs the queued jobs of a shared store (a SQLite file
 * on this machine, or Redis for many machines) until SIGTERM or SIGINT
 * (see help.ts). Then it takes no more jobs, lets the running ones finish
 * within the grace (--grace), and hands the rest back to the store, which
 * runs them again from the start in another worker or after a restart.
 * A worker killed outright (SIGKILL, a crash) loses nothing either: its jobs
 * are taken back once their lease or lock runs out (on SQLite at once, when
 * the store sees that the process is gone).
 */
import { debug } from '../core/debug.js';
import { parseCommand, usageError, wholeNumber } from './args.js';
import { readBucketsFile } from './buckets-file.js';
import { ExitStatus } from './exit-status.js';
import type { Interrupts } from './signals.js';
import { parseTime } from './times.js';

const OPTIONS = {
  root: { type: 'string' },
  buckets: { type: 'string' },
  database: { type: 'string' },
  redis: { type: 'string' },
  concurrency: { type: 'string' },
  grace: { type: 'string' },
  'lock-duration': { type: 'string' },
  subscribe: { type: 'string' },
  isolation: { type: 'string' },
  'limit-input-pixels': { type: 'string' },
  'limit-output-pixels': { type: 'string' },
  'limit-sprite-pixels': { type: 'string' },
} as const;

/** The grace running jobs get after a signal unless --grace says otherwise. */
const DEFAULT_GRACE_MS = 30_000;

/**
 * --subscribe TOPIC=URL[,TOPIC=URL...]: the topics whose completion messages
 * this worker POSTs (a job's message is sent by the process that finished it).
 */
function parseSubscriptions(text: string | undefined): [topic: string, url: string][] {
  if (text === undefined) return [];
  return text.split(',').map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1) throw usageError('worker', `--subscribe takes TOPIC=URL pairs, not ${JSON.stringify(pair)}`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
}

/** Runs until a signal; resolves with the exit status (0 after a clean stop). */
export async function workerCommand(args: string[], interrupts: Interrupts): Promise<number | 'help'> {
  const { values, help } = parseCommand('worker', args, OPTIONS, 0);
  if (help) return 'help';
  if (values.root === undefined) throw usageError('worker', 'framesnap worker needs --root');
  if ((values.database === undefined) === (values.redis === undefined)) {
    throw usageError('worker', 'framesnap worker needs one store: --database FILE or --redis URL');
  }
  const concurrency = wholeNumber('concurrency', values.concurrency);
  if (concurrency === 0) throw usageError('worker', '--concurrency must be at least 1');
  const graceMs = values.grace === undefined ? DEFAULT_GRACE_MS : parseTime('--grace', values.grace);
  const lockDurationMs = values['lock-duration'] === undefined ? undefined : parseTime('--lock-duration', values['lock-duration']);
  const subscriptions = parseSubscriptions(values.subscribe);
  const buckets = await readBucketsFile('worker', values.buckets);
  interrupts.signal.throwIfAborted();
  const { SnapshotService } = await import('../service/service.js');
  const service = new SnapshotService({
    root: values.root,
    ...(buckets === undefined ? {} : { buckets }),
    ...(values.database === undefined ? {} : { database: values.database }),
    ...(values.redis === undefined ? {} : { redis: values.redis }),
    ...(concurrency === undefined ? {} : { workers: concurrency }),
    ...(lockDurationMs === undefined ? {} : { queue: { lockDurationMs } }),
    isolation: values.isolation as 'thread' | 'process' | undefined,
    limitInputPixels: wholeNumber('limit-input-pixels', values['limit-input-pixels']),
    limitOutputPixels: wholeNumber('limit-output-pixels', values['limit-output-pixels']),
    limitSpritePixels: wholeNumber('limit-sprite-pixels', values['limit-sprite-pixels']),
  });
  try {
    for (const [topic, url] of subscriptions) service.subscribe(topic, url);
  } catch (error) {
    await service.close();
    throw error;
  }
  try {
    await service.ready();
    const store = values.database === undefined ? 'Redis' : `SQLite ${values.database}`;
    process.stderr.write(`framesnap worker: running the queued jobs of ${store} (pid ${process.pid}); SIGTERM or Ctrl-C stops\n`);
    // The store's timers do not hold the process (a service must not keep its
    // host alive); a worker lives until it is told to stop.
    const alive = setInterval(() => undefined, 1 << 30);
    await new Promise<void>((resolve) => {
      if (interrupts.signal.aborted) resolve();
      else interrupts.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    clearInterval(alive);
    debug('stopping: no more jobs; %d ms for the running ones', graceMs);
    process.stderr.write(
      `framesnap worker: ${interrupts.received ?? 'stop'}: finishing running jobs (up to ${graceMs} ms), then handing back the rest\n`,
    );
  } finally {
    await service.close({ graceMs });
  }
  process.stderr.write('framesnap worker: stopped\n');
  return ExitStatus.Success;
}
