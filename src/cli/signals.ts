/**
 * SIGINT (Ctrl-C) and SIGTERM while a command runs: the first cancels the
 * work through an AbortSignal (the command then removes what it wrote and
 * ends with 128 + the signal's number, 130 or 143); a second one ends the
 * process at once, without waiting for the clean-up.
 */
import { ErrorCodes, SnapshotError } from '../core/errors.js';
import { debug } from '../core/debug.js';
import { signalStatus } from './exit-status.js';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export class Interrupts {
  private readonly controller = new AbortController();
  /** The first signal received, if any. */
  received: NodeJS.Signals | undefined;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.received !== undefined) {
      debug('second signal (%s): exiting at once', signal);
      process.exit(signalStatus(signal));
    }
    debug('%s: cancelling', signal);
    this.received = signal;
    this.controller.abort(new SnapshotError(ErrorCodes.Aborted, `interrupted by ${signal}`));
  };

  constructor() {
    for (const signal of SIGNALS) process.on(signal, this.onSignal);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The exit status the signal asks for, if one was received. */
  get status(): number | undefined {
    return this.received === undefined ? undefined : signalStatus(this.received);
  }

  dispose(): void {
    for (const signal of SIGNALS) process.off(signal, this.onSignal);
  }
}
