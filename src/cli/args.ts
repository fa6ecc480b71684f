/**
 * A command's arguments, checked the way the API checks its options: one
 * message shape for a bad value ("Expected ... for --width but received
 * ..."), "did you mean" for a misspelt option, every refusal an
 * InvalidParameter (exit status 2). Built on util.parseArgs, non-strict, so
 * that framesnap, not Node, words the messages.
 */
import { parseArgs } from 'node:util';

import { ErrorCodes, SnapshotError } from '../core/errors.js';
import { invalid, unknownKey } from '../core/validate.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

/** The values given: strings for string options, true for boolean ones, absent when not given. */
export type OptionValues<T extends OptionSpecs> = {
  [K in keyof T]?: T[K]['type'] extends 'string' ? string : boolean;
};

export interface ParsedCommand<T extends OptionSpecs> {
  values: OptionValues<T>;
  positionals: string[];
  /** -h or --help was given: print the command's help, whatever else is there. */
  help: boolean;
}

/** A usage error: an InvalidParameter whose message ends by pointing at the command's help. */
export function usageError(command: string, message: string): SnapshotError {
  return new SnapshotError(ErrorCodes.InvalidParameter, `${message} (see framesnap ${command} --help)`);
}

/**
 * Parses `args` for `command` (its name as typed: "snapshot"); -h/--help are
 * added. Refused: unknown options, a string option without a value or given
 * twice, a value given to a boolean option, and more positionals than
 * `maxPositionals`.
 */
export function parseCommand<T extends OptionSpecs>(command: string, args: string[], specs: T, maxPositionals: number): ParsedCommand<T> {
  const options = { ...specs, help: { type: 'boolean', short: 'h' } } as OptionSpecs;
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const help = tokens.some((token) => token.kind === 'option' && token.name === 'help');
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const longNames = Object.keys(specs).map((name) => `--${name}`);
  if (help) return { values: {}, positionals, help };
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind === 'option-terminator') continue;
    const spec = specs[token.name];
    if (spec === undefined) {
      throw unknownCommandOption(command, token.rawName, longNames);
    }
    const name = `--${token.name}`;
    if (Object.hasOwn(values, token.name)) throw usageError(command, `${name} is given twice`);
    if (spec.type === 'boolean') {
      if (token.inlineValue === true) throw usageError(command, `${name} takes no value`);
      values[token.name] = true;
    } else {
      if (token.value === undefined)
        throw new SnapshotError(ErrorCodes.NullValue, `${name} needs a value (see framesnap ${command} --help)`);
      values[token.name] = token.value;
    }
  }
  if (positionals.length > maxPositionals) {
    const extra = positionals[maxPositionals]!;
    throw usageError(
      command,
      maxPositionals === 0
        ? `framesnap ${command} takes no argument ${JSON.stringify(extra)}`
        : `unexpected argument ${JSON.stringify(extra)}`,
    );
  }
  return { values: values as OptionValues<T>, positionals, help };
}

function unknownCommandOption(command: string, given: string, longNames: string[]): SnapshotError {
  const error = unknownKey(given, longNames, `framesnap ${command}`);
  return new SnapshotError(error.code, `${error.message.replace(/: expected one of .*$/, '')} (see framesnap ${command} --help)`);
}

/** A whole number as typed ("0", "320"); anything else (a sign, a fraction, an exponent) is refused. */
export function wholeNumber(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw invalid('a whole number', `--${option}`, text);
  return Number(text);
}

/** One of `allowed`, as typed. */
export function oneOf<T extends string>(option: string, text: string | undefined, allowed: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) {
    throw invalid(
      allowed
        .map((value) => JSON.stringify(value))
        .join(' or ')
        .replace(/ or (?=.* or )/g, ', '),
      `--${option}`,
      text,
    );
  }
  return text as T;
}
