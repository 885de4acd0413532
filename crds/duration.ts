// Durations in the API are Go duration strings (`30s`, `5m`, `1h30m`, `250ms`), the form
// kubectl users know and the one CEL's `duration()` parses, so the CRD's cross-field rules
// and this parser agree on every value the schema's pattern admits.
import { CodedError } from '../common/errors.js';

/** Go duration syntax without sign: one or more `<number><unit>` terms. Go RE2-safe. */
export const goDurationPattern = '^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$';

const unitMs: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export class DurationError extends CodedError<'InvalidDuration'> {
  constructor(readonly input: string) {
    super('InvalidDuration', `"${input}" is not a duration: write it like 30s, 5m, 1h30m or 250ms`);
  }
}

const termRe = /([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s|m|h)/gy;

/** Parses a Go duration string into milliseconds. Throws DurationError. */
export function parseDuration(text: string): number {
  if (!new RegExp(goDurationPattern).test(text)) throw new DurationError(text);
  let total = 0;
  termRe.lastIndex = 0;
  for (let m = termRe.exec(text); m; m = termRe.exec(text)) total += Number(m[1]) * (unitMs[m[2] ?? ''] ?? NaN);
  if (!Number.isFinite(total)) throw new DurationError(text);
  return total;
}

/** Formats milliseconds the way Go prints durations, shortest exact form (`1h30m`, `250ms`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1) return ms * 1000 >= 1 ? `${round(ms * 1000)}us` : `${round(ms * 1e6)}ns`;
  if (ms < 1000) return `${round(ms)}ms`;
  let rest = ms;
  let out = '';
  const hours = Math.floor(rest / 3_600_000);
  if (hours) out += `${hours}h`;
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  if (minutes) out += `${minutes}m`;
  rest -= minutes * 60_000;
  if (rest) out += `${round(rest / 1000)}s`;
  return out;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
