/**
 * Progress of a series on stderr. On a terminal, one bar redrawn in place:
 *   [##########..........]  50%  5/10 images  2.5/s  ETA 0:02
 * Otherwise (a log, a pipe) plain lines, one each time the whole percent
 * changes, so a long series writes at most 101 lines:
 *   progress: 5/10 images (50%), 2.5 images/s, ETA 0:02
 * The rate counts from `startedAt` (the job's submission).
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

function rateAndEta(progress: Progress, elapsedMs: number): { rate: string; eta: string } {
  const perSecond = elapsedMs > 0 ? (progress.Done * 1000) / elapsedMs : 0;
  const remaining = Math.max(0, progress.Expected - progress.Done);
  const eta = perSecond > 0 ? formatDuration((remaining / perSecond) * 1000) : '-:--';
  return { rate: perSecond >= 10 ? perSecond.toFixed(0) : perSecond.toFixed(1), eta };
}

/** `startedAt`: when the work began, on the clock of `now` (milliseconds). */
export function progressView(
  stream: ProgressStream,
  startedAt: number = performance.now(),
  now: () => number = () => performance.now(),
): ProgressView {
  return stream.isTTY === true ? new Bar(stream, startedAt, now) : new Lines(stream, startedAt, now);
}

class Bar implements ProgressView {
  private drawnAt = -Infinity;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly startedAt: number,
    private readonly now: () => number,
  ) {}

  update(progress: Progress): void {
    const time = this.now();
    if (time - this.drawnAt < REDRAW_MS && progress.Done < progress.Expected) return;
    this.drawnAt = time;
    const { rate, eta } = rateAndEta(progress, time - this.startedAt);
    const text = `${String(progress.Percent).padStart(3)}%  ${progress.Done}/${progress.Expected} images  ${rate}/s  ETA ${eta}`;
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
  private lastPercent = -1;

  constructor(
    private readonly stream: ProgressStream,
    private readonly startedAt: number,
    private readonly now: () => number,
  ) {}

  update(progress: Progress): void {
    if (progress.Percent === this.lastPercent) return;
    this.lastPercent = progress.Percent;
    const { rate, eta } = rateAndEta(progress, this.now() - this.startedAt);
    this.stream.write(`progress: ${progress.Done}/${progress.Expected} images (${progress.Percent}%), ${rate} images/s, ETA ${eta}\n`);
  }

  end(): void {}
}
