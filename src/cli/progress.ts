/**
 * Progress of a series on stderr. On a terminal, one bar redrawn in place:
 *   [##########..........]  50%  5/10 images  2.5/s  ETA 0:02
 * Otherwise (a log, a pipe) plain lines, one each time the whole percent
 * changes, so a long series writes at most 101 lines:
 *   progress: 5/10 images (50%), 2.5 images/s, ETA 0:02
 * The rate counts from the first image, so the pool's start-up does not
 * inflate the ETA; the first image alone has no rate yet.
 */
import { formatDuration } from './times.js';

export interface Progress {
  Done: number;
  Expected: number;
  Percent: number;
}

export interface ProgressView {
  update(progress: Progress): void;
  /** Ends the bar's line (a terminal); nothing otherwise. */
  end(): void;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Least time between two redraws of the bar; the last image is always drawn. */
const REDRAW_MS = 100;
const MIN_BAR = 10;
const MAX_BAR = 40;

/** Images per second since the first image, and the time left at that rate. */
class Rate {
  private first: { done: number; at: number } | undefined;

  measure(progress: Progress, now: number): { rate: string; eta: string } | undefined {
    this.first ??= { done: progress.Done, at: now };
    const remaining = Math.max(0, progress.Expected - progress.Done);
    const elapsedMs = now - this.first.at;
    if (progress.Done <= this.first.done || elapsedMs <= 0) return undefined;
    const perSecond = ((progress.Done - this.first.done) * 1000) / elapsedMs;
    return {
      rate: perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(1),
      eta: formatDuration((remaining / perSecond) * 1000),
    };
  }
}

export function progressView(stream: ProgressStream, now: () => number = () => performance.now()): ProgressView {
  return stream.isTTY === true ? new Bar(stream, now) : new Lines(stream, now);
}

class Bar implements ProgressView {
  private readonly rate = new Rate();
  private drawnAt = -Infinity;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly now: () => number,
  ) {}

  update(progress: Progress): void {
    const time = this.now();
    const measured = this.rate.measure(progress, time);
    if (time - this.drawnAt < REDRAW_MS && progress.Done < progress.Expected) return;
    this.drawnAt = time;
    const rate = measured === undefined ? '' : `  ${measured.rate}/s  ETA ${measured.eta}`;
    const text = `${String(progress.Percent).padStart(3)}%  ${progress.Done}/${progress.Expected} images${rate}`;
    const columns = this.stream.columns ?? 80;
    const width = Math.max(MIN_BAR, Math.min(MAX_BAR, columns - text.length - 4));
    const filled = Math.round((progress.Percent / 100) * width);
    this.stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
    this.drawn = true;
  }

  end(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

class Lines implements ProgressView {
  private readonly rate = new Rate();
  private lastPercent = -1;

  constructor(
    private readonly stream: ProgressStream,
    private readonly now: () => number,
  ) {}

  update(progress: Progress): void {
    const measured = this.rate.measure(progress, this.now());
    if (progress.Percent === this.lastPercent) return;
    this.lastPercent = progress.Percent;
    const rate = measured === undefined ? '' : `, ${measured.rate} images/s, ETA ${measured.eta}`;
    this.stream.write(`progress: ${progress.Done}/${progress.Expected} images (${progress.Percent}%)${rate}\n`);
  }

  end(): void {}
}
