// Progress bars for long prebuild stages: a redrawn line on a terminal, a line every few seconds
// otherwise (CI logs), always with rate and ETA, so a person can tell a slow run from a stuck one.

export interface Progress {
  /** Advance by n units (default 1), optionally replacing the detail text. */
  tick(n?: number, detail?: string): void;
  /** Set the total when it becomes known later. */
  setTotal(total: number): void;
  /** Finish the bar and print a one-line summary. */
  done(summary?: string): void;
}

export interface ProgressOptions {
  label: string;
  total?: number;
  unit?: string;
  stream?: NodeJS.WriteStream;
  /** Minimum milliseconds between redraws. */
  intervalMs?: number;
  quiet?: boolean;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function formatCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(Math.round(n));
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY);
  const interval = opts.intervalMs ?? (tty ? 100 : 5000);
  const unit = opts.unit ?? 'items';
  const start = performance.now();
  let total = opts.total ?? 0;
  let count = 0;
  let detail = '';
  let lastDraw = 0;
  let finished = false;

  const line = (): string => {
    const elapsed = (performance.now() - start) / 1000;
    const rate = elapsed > 0 ? count / elapsed : 0;
    let text = `${opts.label} `;
    if (total > 0) {
      const frac = Math.min(1, count / total);
      const width = 24;
      const filled = Math.round(frac * width);
      text += `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% `;
      text += `${formatCount(count)}/${formatCount(total)} ${unit}`;
      const eta = rate > 0 ? (total - count) / rate : NaN;
      text += ` ${formatCount(rate)} ${unit}/s ETA ${formatDuration(eta)}`;
    } else {
      text += `${formatCount(count)} ${unit} ${formatCount(rate)} ${unit}/s`;
    }
    if (detail) text += ` ${detail}`;
    return text;
  };

  const draw = (force: boolean): void => {
    if (opts.quiet) return;
    const now = performance.now();
    if (!force && now - lastDraw < interval) return;
    lastDraw = now;
    if (tty) stream.write(`\r\x1b[2K${line().slice(0, (stream.columns ?? 120) - 1)}`);
    else stream.write(`${line()}\n`);
  };

  return {
    tick(n = 1, d?: string) {
      count += n;
      if (d !== undefined) detail = d;
      draw(false);
    },
    setTotal(t: number) {
      total = t;
    },
    done(summary?: string) {
      if (finished) return;
      finished = true;
      if (opts.quiet) return;
      const elapsed = (performance.now() - start) / 1000;
      if (tty) stream.write('\r\x1b[2K');
      stream.write(`${opts.label}: ${summary ?? `${formatCount(count)} ${unit}`} in ${formatDuration(elapsed)}\n`);
    },
  };
}
