/**
 * JSON arguments (`--input`, `--config`): the JSON itself, `@FILE` for a
 * file's contents, or `-` for standard input (one argument at most). The
 * text is returned as it is: the API parses it, so a malformed one is
 * refused the API's way (InvalidParameter.JsonFormatInvalid).
 */
import { readFile } from 'node:fs/promises';

import { shortenSubject, systemError } from '../core/errors.js';
import { debug } from '../core/debug.js';
import { usageError } from './args.js';

export class JsonArguments {
  private stdinTakenBy: string | undefined;

  constructor(
    private readonly command: string,
    private readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin,
  ) {}

  /** The JSON text of `--<option> value`; undefined stays undefined. */
  async read(option: string, value: string | undefined): Promise<string | undefined> {
    if (value === undefined) return undefined;
    if (value === '-') return this.readStdin(option);
    if (!value.startsWith('@')) return value;
    const path = value.slice(1);
    if (path === '') throw usageError(this.command, `--${option} @ needs a file name after the @`);
    debug('reading --%s from %s', option, path);
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw systemError(error, `the --${option} file ${shortenSubject(path)}`);
    }
  }

  private async readStdin(option: string): Promise<string> {
    if (this.stdinTakenBy !== undefined) {
      throw usageError(
        this.command,
        `--${this.stdinTakenBy} and --${option} both read standard input (-); give one of them as JSON or @FILE`,
      );
    }
    this.stdinTakenBy = option;
    if (this.stdin.isTTY === true) process.stderr.write(`framesnap: reading --${option} from the terminal; end it with Ctrl-D\n`);
    debug('reading --%s from standard input', option);
    const chunks: Buffer[] = [];
    for await (const chunk of this.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return Buffer.concat(chunks).toString('utf8');
  }
}
