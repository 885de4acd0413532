// Opens the kernel probes a tool needs and attaches them, or explains in one line why
// it cannot: the privilege to grant or the kernel feature that is missing.
import {
  ProbeError,
  ProbeSession,
  type ProbeName,
  type ProbeOptions,
  type ProbeStatus,
} from '../agent/probes/index.js';
import { CliError, permissionDenied, probeFailure } from './errors.js';

/** Loads `options.probes` and attaches them; every probe in `required` must run, else
 * `explain` says why not. */
export function openProbes(
  options: ProbeOptions,
  required: readonly ProbeName[] = options.probes,
  explain: (s: ProbeStatus) => CliError = unavailable,
): ProbeSession {
  let session: ProbeSession;
  try {
    session = ProbeSession.open(options);
  } catch (err) {
    throw err instanceof ProbeError ? probeFailure(err) : err;
  }
  try {
    requireRunning(session.status(), required, 'loaded', explain);
    session.attach();
    requireRunning(session.status(), required, 'active', explain);
  } catch (err) {
    session.close();
    throw err instanceof ProbeError ? probeFailure(err) : err;
  }
  return session;
}

function requireRunning(
  status: readonly ProbeStatus[],
  required: readonly ProbeName[],
  state: 'loaded' | 'active',
  explain: (s: ProbeStatus) => CliError,
) {
  for (const name of required) {
    const s = status.find((p) => p.probe === name);
    if (!s || s.state === state) continue;
    throw explain(s);
  }
}

/** Why one probe cannot run, as the CliError that says so. */
export function unavailable(s: ProbeStatus): CliError {
  const why = `${s.reason ?? `the ${s.probe} probe is ${s.state}`}${s.code ? ` (${s.code})` : ''}`;
  if (s.code === 'EPERM') return permissionDenied(s.probe, s);
  if (s.state === 'unsupported') return new CliError('Unsupported', `not supported here: ${why}`);
  return new CliError('Failed', `the ${s.probe} probe cannot run: ${why}`);
}
