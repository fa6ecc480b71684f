/**
 * Times on the command line: milliseconds (`5000`, `1500.5`), seconds with
 * an `s` (`5s`, `1.5s`), or a clock (`01:05`, `00:01:05.250`, as ffmpeg's
 * `[HH:]MM:SS[.m...]`), and nothing else: no sign, no exponent, no hex, no
 * spaces. Each is turned into milliseconds from its digits, so `1.005s` is
 * exactly 1005 ms (not 1004.9999999999999).
 */
import { ErrorCodes } from '../core/errors.js';
import { invalid } from '../core/validate.js';

/** What --time accepts, as messages and the help name it. */
export const TIME_FORMS = 'milliseconds (5000), seconds (5s, 1.5s) or a clock (01:05, 00:01:05.250)';

const MILLISECONDS = /^(\d+)(?:\.(\d+))?$/;
const SECONDS = /^(\d+)(?:\.(\d+))?s$/;
/** [hh:]mm:ss[.fff]: minutes and seconds two digits each (minutes alone may be one), both below 60. */
const CLOCK = /^(?:(\d+):([0-5]\d)|([0-5]?\d)):([0-5]\d)(?:\.(\d+))?$/;

/** "1500" and "25" as 1500.25 (the fraction's digits kept as they are, never through a binary fraction). */
function decimal(whole: string, fraction: string | undefined): number {
  return Number(fraction === undefined ? whole : `${whole}.${fraction}`);
}

/** Seconds and their decimal digits as milliseconds: ("1", "005") -> 1005. */
function secondsToMs(seconds: number, fraction: string | undefined): number {
  if (fraction === undefined) return seconds * 1000;
  const milliseconds = fraction.slice(0, 3).padEnd(3, '0');
  return seconds * 1000 + decimal(milliseconds, fraction.length > 3 ? fraction.slice(3) : undefined);
}

/**
 * Milliseconds for a time as written on the command line; InvalidParameter
 * naming `option` and the accepted forms for anything else. Negative times
 * get their own message.
 */
export function parseTime(option: string, text: string): number {
  let ms: number | undefined;
  const milliseconds = MILLISECONDS.exec(text);
  const seconds = SECONDS.exec(text);
  const clock = CLOCK.exec(text);
  if (milliseconds !== null) {
    ms = decimal(milliseconds[1]!, milliseconds[2]);
  } else if (seconds !== null) {
    ms = secondsToMs(Number(seconds[1]), seconds[2]);
  } else if (clock !== null) {
    const [, hours, minutesAfterHours, minutesAlone, secondsOfClock, fraction] = clock;
    const minutes = Number(hours ?? 0) * 60 + Number(minutesAfterHours ?? minutesAlone);
    ms = secondsToMs(minutes * 60 + Number(secondsOfClock), fraction);
  }
  if (ms === undefined || !Number.isFinite(ms)) {
    if (text.startsWith('-') && isTime(text.slice(1))) throw invalid('a time at or after 0', option, text, ErrorCodes.OutOfRange);
    throw invalid(`a time in ${TIME_FORMS}`, option, text);
  }
  return ms;
}

function isTime(text: string): boolean {
  return MILLISECONDS.test(text) || SECONDS.test(text) || CLOCK.test(text);
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** Milliseconds as a clock, `hh:mm:ss.mmm` (whole milliseconds, rounded). */
export function formatClock(ms: number): string {
  const whole = Math.round(ms);
  const hours = Math.floor(whole / 3_600_000);
  const minutes = Math.floor(whole / 60_000) % 60;
  const seconds = Math.floor(whole / 1000) % 60;
  return `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(whole % 1000, 3)}`;
}

/** A duration for a person: "0:07", "12:05", "1:02:03" (whole seconds, rounded up). */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor(total / 60) % 60;
  const seconds = total % 60;
  return hours > 0 ? `${hours}:${pad(minutes, 2)}:${pad(seconds, 2)}` : `${minutes}:${pad(seconds, 2)}`;
}
