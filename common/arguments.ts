// Parsers for command-line values, shared by the CLI, the agent and the operator: each
// turns the text into a checked value or throws commander's InvalidArgumentError, whose
// message commander prints with the option name.
import { InvalidArgumentError, Option } from '@commander-js/extra-typings';

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
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : durationMs(text, ' (or plain seconds)');
  if (ms <= 0) throw new InvalidArgumentError('the duration must be positive');
  return ms;
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

/** A Go duration (`500ms`, `2s`, `5m`) -> ms. */
export function goDuration(text: string): number {
  return durationMs(text, '');
}

function durationMs(text: string, hint: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof DurationError ? `${err.message}${hint}` : String(err));
  }
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** host:port, [v6]:port, or :port for every address. */
export function hostPort(text: string): HostPort {
  const m = /^(.*):(\d+)$/.exec(text);
  if (!m) throw new InvalidArgumentError(`"${text}" is not host:port (e.g. 0.0.0.0:8080, or 127.0.0.1:0 for any port)`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1') || '0.0.0.0', port: Number(m[2]) };
}

/** The daemons' --http-address: where /healthz, /readyz and /metrics are served. */
export function httpAddressOption(defaultPort: number) {
  return new Option('--http-address <host:port>', 'serve /healthz, /readyz and /metrics here (port 0: any free port)')
    .argParser(hostPort)
    .default({ host: '0.0.0.0', port: defaultPort }, `0.0.0.0:${defaultPort}`);
}

/** The daemons' --log-level. */
export function logLevelOption() {
  return new Option('--log-level <level>', 'least severe level logged')
    .choices(['error', 'warn', 'info', 'debug'] as const)
    .default('info' as const);
}
