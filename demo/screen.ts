// What the demo prints: persistent lines (steps, commands and their output, results) and
// one live status line beneath them. On a terminal the status line and running steps are
// redrawn in place; in CI (or when piped) everything is plain lines, the status at most
// every few seconds, so that a log reads top to bottom.
import { createLogUpdate } from 'log-update';
import { styleText } from 'node:util';

export interface Screen {
  /** Persistent text (one or more lines). */
  print(text: string): void;
  /** Runs a step: shown while it runs, then ✔ with its detail and duration, or ✘. */
  step<T>(label: string, run: () => Promise<T>, detail?: (result: T) => string): Promise<T>;
  /** The live status line: replaced by every call. */
  status(text: string): void;
  /** Clears the live status line; further output is plain. */
  close(): void;
}

export interface PlainScreenOptions {
  readonly write: (text: string) => void;
  readonly now?: () => number;
  /** Least time between two printed status lines (default 5 s). */
  readonly statusEveryMs?: number;
}

type Mark = 'ok' | 'failed' | 'running';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function stepLine(mark: Mark, label: string, detail: string, ms: number | undefined, colour: boolean): string {
  const symbol = { ok: '✔', failed: '✘', running: '…' }[mark];
  const styled = !colour
    ? symbol
    : mark === 'ok'
      ? styleText('green', symbol)
      : mark === 'failed'
        ? styleText('red', symbol)
        : styleText('cyan', symbol);
  const time = ms === undefined ? '' : colour ? styleText('dim', ` (${seconds(ms)})`) : ` (${seconds(ms)})`;
  return `${styled} ${label}${detail ? `: ${detail}` : ''}${time}`;
}

async function timed<T>(
  now: () => number,
  run: () => Promise<T>,
): Promise<{ ms: number; result: T } | { ms: number; error: unknown }> {
  const start = now();
  try {
    const result = await run();
    return { ms: now() - start, result };
  } catch (error: unknown) {
    return { ms: now() - start, error };
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
}

/** Plain lines, for CI logs and pipes. */
export class PlainScreen implements Screen {
  private lastStatusAt = -Infinity;
  private readonly now: () => number;
  private readonly statusEveryMs: number;

  constructor(private readonly options: PlainScreenOptions) {
    this.now = options.now ?? Date.now;
    this.statusEveryMs = options.statusEveryMs ?? 5000;
  }

  print(text: string): void {
    this.options.write(`${text}\n`);
  }

  async step<T>(label: string, run: () => Promise<T>, detail?: (result: T) => string): Promise<T> {
    this.print(stepLine('running', label, '', undefined, false));
    const outcome = await timed(this.now, run);
    if ('error' in outcome) {
      this.print(stepLine('failed', label, errorText(outcome.error), outcome.ms, false));
      throw outcome.error;
    }
    this.print(stepLine('ok', label, detail?.(outcome.result) ?? '', outcome.ms, false));
    return outcome.result;
  }

  status(text: string): void {
    const now = this.now();
    if (now - this.lastStatusAt < this.statusEveryMs) return;
    this.lastStatusAt = now;
    this.print(text);
  }

  close(): void {
    this.lastStatusAt = -Infinity;
  }
}

const spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Redraws running steps (with a spinner) and the status line in place on a terminal. */
export class LiveScreen implements Screen {
  private readonly log = createLogUpdate(process.stdout);
  private readonly running = new Map<number, { label: string; start: number }>();
  private nextId = 0;
  private statusText = '';
  private frame = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => {
      this.frame++;
      if (this.running.size > 0) this.redraw();
    }, 100);
    this.timer.unref();
  }

  print(text: string): void {
    this.log.clear();
    process.stdout.write(`${text}\n`);
    this.redraw();
  }

  async step<T>(label: string, run: () => Promise<T>, detail?: (result: T) => string): Promise<T> {
    const id = this.nextId++;
    this.running.set(id, { label, start: Date.now() });
    this.redraw();
    const outcome = await timed(Date.now, run);
    this.running.delete(id);
    if ('error' in outcome) {
      this.print(stepLine('failed', label, errorText(outcome.error), outcome.ms, true));
      throw outcome.error;
    }
    this.print(stepLine('ok', label, detail?.(outcome.result) ?? '', outcome.ms, true));
    return outcome.result;
  }

  status(text: string): void {
    this.statusText = text;
    this.redraw();
  }

  close(): void {
    clearInterval(this.timer);
    this.running.clear();
    this.statusText = '';
    this.log.clear();
  }

  private redraw(): void {
    const lines = [...this.running.values()].map(({ label, start }) => {
      const mark = styleText('cyan', spinner[this.frame % spinner.length]!);
      return `${mark} ${label} ${styleText('dim', seconds(Date.now() - start))}`;
    });
    if (this.statusText) lines.push(this.statusText);
    this.log(lines.join('\n'));
  }
}
