#!/usr/bin/env node
/**
 * The `framesnap` command:
 *   framesnap submit --root DIR --input JSON --config JSON [--user-data S] [--pipeline-id ID] [--no-wait]
 *                    [--isolation thread|process] [--limit-input-pixels N] [--limit-output-pixels N] [--limit-sprite-pixels N]
 *   framesnap snapshot FILE --time MS [--frame-type normal|intra] [--width N] [--height N] [--quality Q]
 *                    [--limit-input-pixels N] [--limit-output-pixels N] -o OUT.jpg
 * --no-wait prints the "Submitted" answer at once; the job runs in this
 * process, so the command still exits only when it has finished.
 * Exit status: 0 success, 2 bad request (refused before any work), 1 failure
 * of the work itself; the error code and message go to stderr.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { shortenSubject, toSnapshotError } from './core/errors.js';

const USAGE = `usage:
  framesnap --version | --help
  framesnap submit --root DIR --input JSON --config JSON [--user-data S] [--pipeline-id ID] [--workers N] [--sync-timeout MS] [--no-wait] [--progress]
                   [--isolation thread|process] [--limit-input-pixels N] [--limit-output-pixels N] [--limit-sprite-pixels N]
  framesnap snapshot FILE --time MS [--frame-type normal|intra] [--width N] [--height N] [--quality Q]
                     [--limit-input-pixels N] [--limit-output-pixels N] -o OUT.jpg`;

const EXIT_FAILURE = 1;
const EXIT_BAD_REQUEST = 2;

/** Codes that mean the request itself was wrong, when no job says otherwise. */
const BAD_REQUEST_CODES = new Set([
  'InvalidParameter',
  'InvalidParameter.JsonFormatInvalid',
  'InvalidParameter.OutOfRange',
  'InvalidParameter.NullValue',
  'InvalidParameter.ResourceNotFound',
  'PermissionDenied.ResourceAccess',
]);

class UsageError extends Error {}

function integerOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} expects a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new UsageError(`--${name} expects a number, got ${JSON.stringify(value)}`);
  return parsed;
}

/** Draws the images done of expected on stderr while a series runs; returns the function that ends it. */
function progressBar(service: import('./service/service.js').SnapshotService, jobId: string): () => void {
  const width = 30;
  let drawn = false;
  const draw = (progress: { JobId: string; Done: number; Expected: number; Percent: number }): void => {
    if (progress.JobId !== jobId) return;
    const filled = Math.round((progress.Percent / 100) * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${progress.Done}/${progress.Expected} images`);
    drawn = true;
  };
  service.on('progress', draw);
  return () => {
    service.off('progress', draw);
    if (drawn) process.stderr.write('\n');
  };
}

async function submit(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      root: { type: 'string' },
      input: { type: 'string' },
      config: { type: 'string' },
      'user-data': { type: 'string' },
      'pipeline-id': { type: 'string' },
      workers: { type: 'string' },
      'sync-timeout': { type: 'string' },
      isolation: { type: 'string' },
      'limit-input-pixels': { type: 'string' },
      'limit-output-pixels': { type: 'string' },
      'limit-sprite-pixels': { type: 'string' },
      'no-wait': { type: 'boolean', default: false },
      progress: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.root === undefined || values.input === undefined || values.config === undefined) {
    throw new UsageError('submit needs --root, --input and --config');
  }
  const { SnapshotService } = await import('./service/service.js');
  const service = new SnapshotService({
    root: values.root,
    workers: integerOption('workers', values.workers) ?? 1,
    syncTimeoutMs: integerOption('sync-timeout', values['sync-timeout']),
    isolation: values.isolation as 'thread' | 'process' | undefined,
    limitInputPixels: integerOption('limit-input-pixels', values['limit-input-pixels']),
    limitOutputPixels: integerOption('limit-output-pixels', values['limit-output-pixels']),
    limitSpritePixels: integerOption('limit-sprite-pixels', values['limit-sprite-pixels']),
  });
  try {
    const response = await service.submitSnapshotJob({
      Input: values.input,
      SnapshotConfig: values.config,
      ...(values['user-data'] === undefined ? {} : { UserData: values['user-data'] }),
      ...(values['pipeline-id'] === undefined ? {} : { PipelineId: values['pipeline-id'] }),
    });
    if (response.SnapshotJob.State === 'Submitted' && !values['no-wait']) {
      const showProgress = values.progress || process.stderr.isTTY === true;
      const stopProgress = showProgress ? progressBar(service, response.SnapshotJob.Id) : () => undefined;
      response.SnapshotJob = await service.waitForJob(response.SnapshotJob.Id);
      stopProgress();
    }
    console.log(JSON.stringify(response, null, 2));
    if (response.SnapshotJob.State === 'Fail') {
      console.error(`framesnap: ${response.SnapshotJob.Code}: ${response.SnapshotJob.Message}`);
      return EXIT_FAILURE;
    }
    return 0;
  } finally {
    await service.close();
  }
}

async function snapshotCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      time: { type: 'string' },
      'frame-type': { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      quality: { type: 'string' },
      'limit-input-pixels': { type: 'string' },
      'limit-output-pixels': { type: 'string' },
      output: { type: 'string', short: 'o' },
    },
    strict: true,
  });
  if (positionals.length !== 1 || values.time === undefined || values.output === undefined) {
    throw new UsageError('snapshot needs FILE, --time and -o');
  }
  const { snapshot } = await import('./core/snapshot.js');
  const jpeg = await snapshot(positionals[0]!, {
    time: numberOption('time', values.time)!,
    frameType: values['frame-type'] as 'intra' | 'normal' | undefined,
    width: integerOption('width', values.width),
    height: integerOption('height', values.height),
    quality: integerOption('quality', values.quality),
    limitInputPixels: integerOption('limit-input-pixels', values['limit-input-pixels']),
    limitOutputPixels: integerOption('limit-output-pixels', values['limit-output-pixels']),
  });
  try {
    writeFileSync(values.output, jpeg);
  } catch (error) {
    const { fileSystemError } = await import('./service/storage/storage.js');
    throw fileSystemError(error, `the output file ${shortenSubject(values.output)}`, true);
  }
  return 0;
}

/** framesnap's own version, from the package.json beside dist/. */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'submit') return await submit(rest);
    if (command === 'snapshot') return await snapshotCommand(rest);
    if (command === '--help' || command === '-h') {
      console.log(USAGE);
      return 0;
    }
    if (command === '--version' || command === '-v') {
      console.log(packageVersion());
      return 0;
    }
    throw new UsageError(command === undefined ? 'a command is needed' : `unknown command ${command}`);
  } catch (error) {
    if (error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`framesnap: ${(error as Error).message}\n${USAGE}`);
      return EXIT_BAD_REQUEST;
    }
    // Whatever failed, the answer has a code (an unexpected failure is an InternalError).
    const failure = toSnapshotError(error);
    console.error(`framesnap: ${failure.code}: ${failure.message}`);
    const badRequest = failure.jobId === undefined && BAD_REQUEST_CODES.has(failure.code);
    return badRequest ? EXIT_BAD_REQUEST : EXIT_FAILURE;
  }
}

process.exitCode = await main(process.argv.slice(2));
