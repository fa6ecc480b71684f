/**
 * The `framesnap` command: dispatches to a command, loading only what it
 * needs (`--help` and `--version` load no decoding code; `snapshot` loads
 * the low-level API; `submit` and `worker` the job service; `serve` the service and the
 * HTTP server), and turns every outcome into
 * an exit status (exit-status.ts).
 */
import { debug } from '../core/debug.js';
import { ErrorCodes, SnapshotError } from '../core/errors.js';
import { errorLine, ExitStatus, reportFailure } from './exit-status.js';
import { COMMANDS, helpText, type CommandName } from './help.js';
import { StdoutClosed } from './output.js';
import { Interrupts } from './signals.js';
import { packageVersion } from './version.js';

function isCommand(name: string | undefined): name is CommandName {
  return (COMMANDS as readonly (string | undefined)[]).includes(name);
}

async function dispatch(argv: string[], interrupts: Interrupts): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(helpText(undefined, packageVersion()));
    return ExitStatus.BadRequest;
  }
  if (first === '--help' || first === '-h') return printHelp(undefined);
  if (first === '--version' || first === '-v' || first === '-V') {
    process.stdout.write(`${packageVersion()}\n`);
    return ExitStatus.Success;
  }
  if (first === 'help') {
    const topic = rest[0];
    if (topic !== undefined && !isCommand(topic)) throw unknownCommand(topic);
    return printHelp(topic);
  }
  if (!isCommand(first)) throw unknownCommand(first);
  const command =
    first === 'snapshot'
      ? (await import('./snapshot-command.js')).snapshotCommand
      : first === 'submit'
        ? (await import('./submit-command.js')).submitCommand
        : first === 'worker'
          ? (await import('./worker-command.js')).workerCommand
          : (await import('./serve-command.js')).serveCommand;
  const status = await command(rest, interrupts);
  return status === 'help' ? printHelp(first) : status;
}

function printHelp(command: CommandName | undefined): number {
  process.stdout.write(helpText(command, packageVersion()));
  return ExitStatus.Success;
}

function unknownCommand(name: string): SnapshotError {
  const hint = name.startsWith('-') ? 'an option before the command' : 'an unknown command';
  return new SnapshotError(
    ErrorCodes.InvalidParameter,
    `${JSON.stringify(name)} is ${hint}; the commands are snapshot, submit, worker and serve (see framesnap --help)`,
  );
}

/** Runs the command line `argv` (without node and the script); resolves with the exit status. */
export async function run(argv: string[]): Promise<number> {
  const interrupts = new Interrupts();
  // A reader gone (framesnap ... -o - | head -c 10) ends the command quietly;
  // without a listener Node would throw the EPIPE at the next write.
  let stdoutClosed = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') stdoutClosed = true;
  });
  process.stderr.on('error', () => undefined);
  try {
    let status: number;
    try {
      status = await dispatch(argv, interrupts);
    } catch (error) {
      if (error instanceof StdoutClosed || stdoutClosed) {
        status = ExitStatus.StdoutClosed;
      } else if (interrupts.received !== undefined) {
        // The failure the signal caused: reported below as the interruption.
        status = ExitStatus.Failed;
      } else {
        debug('failed: %o', error);
        return reportFailure(error);
      }
    }
    // A signal that came as the command finished its work changes nothing:
    // what it made stands, and so does its success.
    if (interrupts.received !== undefined && status !== ExitStatus.Success) {
      process.stderr.write(
        errorLine(ErrorCodes.Aborted, `interrupted by ${interrupts.received}; the work was cancelled and what it wrote removed`),
      );
      return interrupts.status!;
    }
    return stdoutClosed ? ExitStatus.StdoutClosed : status;
  } finally {
    interrupts.dispose();
  }
}
