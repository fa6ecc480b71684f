/**
 * JSON arguments (`--input`, `--config`): the JSON itself, `@FILE` for a
 * file's contents, or `-` for standard input (one argument at most). The
 * text is returned as it is: the API parses it, so a malformed one is
 * refused the API's way (InvalidParameter.JsonFormatInvalid).
 */
import { readFile } from 'node:fs/promises';
import { addAbortSignal, type Readable } from 'node:stream';

import { debug } from '../core/debug.js';
import { shortenSubject, systemError } from '../core/errors.js';
import { usageError } from './args.js';

/**
 * The text of each `--<option> value` given (absent ones stay absent), read
 * in order. Reading standard input stops when `signal` aborts (Ctrl-C while
 * it waits for the end of what is typed).
 */
export async function readJsonArguments<K extends string>(
  command: string,
  given: Record<K, string | undefined>,
  signal: AbortSignal,
  stdin: Readable & { isTTY?: boolean } = process.stdin,
): Promise<Record<K, string | undefined>> {
  const fromStdin = (Object.keys(given) as K[]).filter((option) => given[option] === '-');
  if (fromStdin.length > 1) {
    throw usageError(
      command,
      `${fromStdin.map((option) => `--${option}`).join(' and ')} ${fromStdin.length === 2 ? 'both' : 'all'} read standard input (-); give one of them as JSON or @FILE`,
    );
  }
  const texts = {} as Record<K, string | undefined>;
  for (const option of Object.keys(given) as K[]) texts[option] = await readOne(command, option, given[option], signal, stdin);
  return texts;
}

async function readOne(
  command: string,
  option: string,
  value: string | undefined,
  signal: AbortSignal,
  stdin: Readable & { isTTY?: boolean },
): Promise<string | undefined> {
  if (value === undefined) return undefined;
  if (value === '-') return readStdin(option, signal, stdin);
  if (!value.startsWith('@')) return value;
  const path = value.slice(1);
  if (path === '') throw usageError(command, `--${option} @ needs a file name after the @`);
  debug('reading --%s from %s', option, path);
  try {
    return await readFile(path, { encoding: 'utf8', signal });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw systemError(error, `the --${option} file ${shortenSubject(path)}`);
  }
}

async function readStdin(option: string, signal: AbortSignal, stdin: Readable & { isTTY?: boolean }): Promise<string> {
  if (stdin.isTTY === true) process.stderr.write(`framesnap: reading --${option} from the terminal; end it with Ctrl-D\n`);
  debug('reading --%s from standard input', option);
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of addAbortSignal(signal, stdin))
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  } catch (error) {
    throw signal.aborted ? signal.reason : error;
  }
  return Buffer.concat(chunks).toString('utf8');
}
