/**
 * `framesnap submit`: one SubmitSnapshotJob on local folders (see help.ts).
 * The service is loaded only here, and only once the arguments are good.
 */
import { debug } from '../core/debug.js';
import { ErrorCodes } from '../core/errors.js';
import type { JobProgress } from '../service/types.js';
import { parseCommand, usageError, wholeNumber } from './args.js';
import { readBucketsFile } from './buckets-file.js';
import { errorLine, statusFor, ExitStatus } from './exit-status.js';
import { readJsonArguments } from './json-argument.js';
import { writeToStdout } from './output.js';
import { progressView } from './progress.js';
import type { Interrupts } from './signals.js';
import { parseTime } from './times.js';

const OPTIONS = {
  root: { type: 'string' },
  buckets: { type: 'string' },
  input: { type: 'string' },
  config: { type: 'string' },
  'user-data': { type: 'string' },
  'pipeline-id': { type: 'string' },
  database: { type: 'string' },
  redis: { type: 'string' },
  workers: { type: 'string' },
  'sync-timeout': { type: 'string' },
  isolation: { type: 'string' },
  'limit-input-pixels': { type: 'string' },
  'limit-output-pixels': { type: 'string' },
  'limit-sprite-pixels': { type: 'string' },
  'no-wait': { type: 'boolean' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
} as const;

/** Runs the command; resolves with its exit status (failures of the job are printed here, others thrown). */
export async function submitCommand(args: string[], interrupts: Interrupts): Promise<number | 'help'> {
  const { values, help } = parseCommand('submit', args, OPTIONS, 0);
  if (help) return 'help';
  if (values.root === undefined || values.input === undefined || values.config === undefined) {
    const absent = (['root', 'input', 'config'] as const).filter((name) => values[name] === undefined).map((name) => `--${name}`);
    throw usageError(
      'submit',
      `framesnap submit needs --root, --input and --config; ${absent.join(' and ')} ${absent.length > 1 ? 'are' : 'is'} missing`,
    );
  }
  if (values.progress === true && values['no-progress'] === true)
    throw usageError('submit', '--progress and --no-progress contradict each other');
  const showProgress = values.progress ?? (values['no-progress'] === true ? false : process.stderr.isTTY === true);
  const { input, config } = await readJsonArguments('submit', { input: values.input, config: values.config }, interrupts.signal);
  if (values.database !== undefined && values.redis !== undefined) {
    throw usageError('submit', '--database and --redis contradict each other: give one store');
  }
  const store = values.database !== undefined || values.redis !== undefined;
  const buckets = await readBucketsFile('submit', values.buckets);
  const serviceOptions = {
    root: values.root,
    ...(buckets === undefined ? {} : { buckets }),
    ...(values.database === undefined ? {} : { database: values.database }),
    ...(values.redis === undefined ? {} : { redis: values.redis }),
    // With a store, its workers run the job unless --workers says this process helps.
    workers: wholeNumber('workers', values.workers) ?? (store ? 0 : 1),
    syncTimeoutMs: values['sync-timeout'] === undefined ? undefined : parseTime('--sync-timeout', values['sync-timeout']),
    isolation: values.isolation as 'thread' | 'process' | undefined,
    limitInputPixels: wholeNumber('limit-input-pixels', values['limit-input-pixels']),
    limitOutputPixels: wholeNumber('limit-output-pixels', values['limit-output-pixels']),
    limitSpritePixels: wholeNumber('limit-sprite-pixels', values['limit-sprite-pixels']),
  };
  interrupts.signal.throwIfAborted();
  const { SnapshotService } = await import('../service/service.js');
  const service = new SnapshotService(serviceOptions);
  // A signal closes the service at once: its running job is cancelled (Fail,
  // code Aborted) and what it wrote is removed; waitForJob then has its end.
  const cancel = (): void => {
    debug('closing the service: its job is cancelled');
    void service.close();
  };
  interrupts.signal.addEventListener('abort', cancel, { once: true });
  try {
    const response = await service.submitSnapshotJob({
      Input: input!,
      SnapshotConfig: config!,
      ...(values['user-data'] === undefined ? {} : { UserData: values['user-data'] }),
      ...(values['pipeline-id'] === undefined ? {} : { PipelineId: values['pipeline-id'] }),
    });
    const jobId = response.SnapshotJob.Id;
    debug('job %s: %s', jobId, response.SnapshotJob.State);
    if (response.SnapshotJob.State === 'Submitted') {
      if (values['no-wait'] === true) {
        await writeToStdout(`${JSON.stringify(response, null, 2)}\n`);
        // A store keeps the job for its workers; without one, this process runs it.
        if (!store) await service.waitForJob(jobId);
        return ExitStatus.Success;
      }
      const view = showProgress ? progressView(process.stderr) : undefined;
      const onProgress = (progress: JobProgress): void => {
        if (progress.JobId === jobId) view?.update(progress);
      };
      service.on('progress', onProgress);
      try {
        response.SnapshotJob = await service.waitForJob(jobId);
      } finally {
        service.off('progress', onProgress);
        view?.end();
      }
    }
    await writeToStdout(`${JSON.stringify(response, null, 2)}\n`);
    const job = response.SnapshotJob;
    if (job.State === 'Fail') {
      // An interrupted job's line is the interruption's (see run.ts).
      if (interrupts.received !== undefined) return ExitStatus.Failed;
      const code = job.Code === '' ? ErrorCodes.InternalError : job.Code;
      process.stderr.write(errorLine(code, job.Message));
      return statusFor(code, true);
    }
    return ExitStatus.Success;
  } finally {
    interrupts.signal.removeEventListener('abort', cancel);
    await service.close();
  }
}
