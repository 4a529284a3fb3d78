import type { CliIo } from './cli-context.js';

/** One progress reading. */
export interface Progress {
  readonly done: number;
  readonly total: number;
  /** Events per second since the start, or 0 when unknown. */
  readonly rate: number;
}

/** Render `[#####.....]  1234/5000  25%  812 ev/s  ETA 5s`. */
export function formatProgress(p: Progress, width = 30): string {
  const fraction = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const filled = Math.round(fraction * width);
  const eta = p.rate > 0 ? formatSeconds(Math.max(0, p.total - p.done) / p.rate) : '?';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]  ${p.done}/${p.total}  ${Math.floor(fraction * 100)}%  ${Math.round(p.rate)} ev/s  ETA ${eta}`;
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${Math.ceil(seconds % 60)}s` : `${Math.floor(m / 60)}h${m % 60}m`;
}

/**
 * A progress bar on stderr: redrawn in place on a terminal; elsewhere (CI logs, pipes) one line
 * every `lineIntervalMs`, so logs stay readable.
 */
export class ProgressBar {
  readonly #io: CliIo['stderr'];
  readonly #label: string;
  readonly #lineIntervalMs: number;
  #lastLine = 0;
  #drawn = false;

  constructor(stderr: CliIo['stderr'], label: string, lineIntervalMs = 2_000) {
    this.#io = stderr;
    this.#label = label;
    this.#lineIntervalMs = lineIntervalMs;
  }

  /** Show a reading. */
  update(p: Progress): void {
    const text = `${this.#label} ${formatProgress(p)}`;
    if (this.#io.isTTY === true) {
      this.#io.write(`\r\u001b[2K${text}`);
      this.#drawn = true;
    } else if (Date.now() - this.#lastLine >= this.#lineIntervalMs) {
      this.#lastLine = Date.now();
      this.#io.write(`${text}\n`);
    }
  }

  /** Show the last reading and end the line. */
  finish(p: Progress): void {
    const text = `${this.#label} ${formatProgress(p)}`;
    this.#io.write(this.#io.isTTY === true && this.#drawn ? `\r\u001b[2K${text}\n` : `${text}\n`);
  }
}
