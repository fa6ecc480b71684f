/**
 * `framesnap snapshot`: one image of one frame (see help.ts). Loads the
 * low-level API only (no service, no worker pool); sharp loads while the
 * frame decodes.
 */
import { debug } from '../core/debug.js';
import { shortenSubject } from '../core/errors.js';
import { FRAME_TYPES } from '../core/options.js';
import { oneOf, parseCommand, usageError, wholeNumber } from './args.js';
import { ExitStatus } from './exit-status.js';
import { checkTarget, imageTarget, writeImage, writeToStdout } from './output.js';
import type { Interrupts } from './signals.js';
import { formatClock, parseTime } from './times.js';

const OPTIONS = {
  time: { type: 'string', short: 't' },
  output: { type: 'string', short: 'o' },
  format: { type: 'string', short: 'f' },
  'frame-type': { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
  quality: { type: 'string' },
  timeout: { type: 'string' },
  'limit-input-pixels': { type: 'string' },
  'limit-output-pixels': { type: 'string' },
  'allow-private-network': { type: 'boolean' },
  'ca-file': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

/** What --json prints. */
export interface SnapshotReport {
  file: string;
  /** The output file as given, or "-" for standard output. */
  output: string;
  format: string;
  requestedMs: number;
  timeMs: number;
  keyframe: boolean;
  width: number;
  height: number;
  bytes: number;
}

export async function snapshotCommand(args: string[], interrupts: Interrupts): Promise<number | 'help'> {
  const { values, positionals, help } = parseCommand('snapshot', args, OPTIONS, 1);
  if (help) return 'help';
  const file = positionals[0];
  if (file === undefined || values.time === undefined || values.output === undefined) {
    const absent = [
      file === undefined ? 'FILE' : '',
      values.time === undefined ? '--time' : '',
      values.output === undefined ? '-o' : '',
    ].filter(Boolean);
    throw usageError(
      'snapshot',
      `framesnap snapshot needs FILE, --time and -o; ${absent.join(' and ')} ${absent.length > 1 ? 'are' : 'is'} missing`,
    );
  }
  if (values.json === true && values.quiet === true) throw usageError('snapshot', '--json and --quiet contradict each other');
  if (values.json === true && values.output === '-')
    throw usageError('snapshot', '--json prints on standard output, where -o - writes the image; give -o a file name');
  const requestedMs = parseTime('--time', values.time);
  const target = imageTarget(values.output, values.format);
  const options = {
    time: requestedMs,
    format: target.format,
    frameType: oneOf('frame-type', values['frame-type'], FRAME_TYPES),
    width: wholeNumber('width', values.width),
    height: wholeNumber('height', values.height),
    quality: wholeNumber('quality', values.quality),
    timeoutMs: values.timeout === undefined ? undefined : parseTime('--timeout', values.timeout),
    limitInputPixels: wholeNumber('limit-input-pixels', values['limit-input-pixels']),
    limitOutputPixels: wholeNumber('limit-output-pixels', values['limit-output-pixels']),
    allowPrivateNetwork: values['allow-private-network'],
    caFile: values['ca-file'],
    signal: interrupts.signal,
    resolveWithObject: true as const,
  };
  checkTarget('snapshot', target);
  const { snapshot } = await import('../core/snapshot.js');
  debug('snapshot %s at %d ms as %s to %s', shortenSubject(file.replace(/[?#].*$/s, '')), requestedMs, target.format, target.label);
  const { data, info } = await snapshot(file, options);
  // The signal's abort rejects the call at once; this is for one that came as it resolved.
  interrupts.signal.throwIfAborted();
  await writeImage(target, data);
  const report: SnapshotReport = {
    file,
    output: values.output,
    format: info.format,
    requestedMs,
    timeMs: info.timeMs,
    keyframe: info.keyframe,
    width: info.width,
    height: info.height,
    bytes: data.length,
  };
  if (values.json === true) await writeToStdout(`${JSON.stringify(report, null, 2)}\n`);
  else if (values.quiet !== true) process.stderr.write(`${summary(target.label, report)}\n`);
  return ExitStatus.Success;
}

/** "out.jpg: the frame at 00:00:04.960 (4960 ms, a keyframe), 1920x1080 jpeg, 123456 bytes". */
export function summary(label: string, report: SnapshotReport): string {
  const frame = `the frame at ${formatClock(report.timeMs)} (${report.timeMs} ms${report.keyframe ? ', a keyframe' : ''})`;
  return `${shortenSubject(label)}: ${frame}, ${report.width}x${report.height} ${report.format}, ${report.bytes} bytes`;
}
