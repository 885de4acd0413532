// Parsers for command-line values: each turns the text into a checked value or throws
// commander's InvalidArgumentError, whose message commander prints with the option name.
import { InvalidArgumentError } from '@commander-js/extra-typings';

import { DurationError, parseDuration } from '../crds/duration.js';

function number(text: string): number {
  const n = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`"${text}" is not a number`);
  return n;
}

/** A latency threshold in milliseconds (fractions allowed, 0 shows everything) -> ns. */
export function thresholdMs(text: string): number {
  const ms = number(text);
  if (ms < 0) throw new InvalidArgumentError('a threshold cannot be negative');
  return Math.round(ms * 1e6);
}

/** How long to run: plain seconds as the BCC tools take them (`10`), or a Go duration
 * (`30s`, `5m`, `1m30s`) -> ms. */
export function runDuration(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) {
    const seconds = Number(text);
    if (seconds <= 0) throw new InvalidArgumentError('the duration must be positive');
    return seconds * 1000;
  }
  try {
    const ms = parseDuration(text);
    if (ms <= 0) throw new InvalidArgumentError('the duration must be positive');
    return ms;
  } catch (err) {
    if (err instanceof DurationError) throw new InvalidArgumentError(`${err.message} (or plain seconds)`);
    throw err;
  }
}

/** A refresh interval in seconds (fractions allowed, at least 0.1 s) -> ms. */
export function intervalSeconds(text: string): number {
  const s = number(text);
  if (s < 0.1) throw new InvalidArgumentError('the interval must be at least 0.1 s');
  return Math.round(s * 1000);
}

export function processId(text: string): number {
  const pid = number(text);
  if (!Number.isInteger(pid) || pid <= 0) throw new InvalidArgumentError(`"${text}" is not a process id`);
  return pid;
}

export function positiveInteger(text: string): number {
  const n = number(text);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`"${text}" is not a positive integer`);
  return n;
}

export function percent(text: string): number {
  const p = number(text);
  if (p < 0 || p > 100) throw new InvalidArgumentError('a percentage is between 0 and 100');
  return p;
}

export interface PodName {
  readonly namespace: string;
  readonly name: string;
}

/** NAMESPACE/NAME. */
export function podName(text: string): PodName {
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(text);
  if (!match) throw new InvalidArgumentError(`"${text}" is not NAMESPACE/NAME`);
  return { namespace: match[1] ?? '', name: match[3] ?? '' };
}
