// What the command line reports when it cannot do its job: a named error with a stable
// code and the exit status that goes with it, so scripts can tell a missing privilege
// from a missing kernel feature from a typo.
import { ProbeError } from '../agent/probes/index.js';
import { CodedError } from '../common/errors.js';

/** Exit statuses (README "Command line"). */
export const exitCodes = {
  ok: 0,
  /** Something went wrong at run time (API unreachable, session not found, I/O error). */
  failure: 1,
  /** Bad option or argument. */
  usage: 2,
  /** The kernel or machine lacks what the command needs (BTF, a tracepoint, a PMU). */
  unsupported: 3,
  /** Not allowed: loading eBPF needs root or CAP_BPF + CAP_PERFMON. */
  permission: 4,
} as const;

export type CliErrorCode = 'Usage' | 'Unsupported' | 'PermissionDenied' | 'NotFound' | 'ApiUnavailable' | 'Failed';

const exitOf: Record<CliErrorCode, number> = {
  Usage: exitCodes.usage,
  Unsupported: exitCodes.unsupported,
  PermissionDenied: exitCodes.permission,
  NotFound: exitCodes.failure,
  ApiUnavailable: exitCodes.failure,
  Failed: exitCodes.failure,
};

export class CliError extends CodedError<CliErrorCode> {
  get exitCode(): number {
    return exitOf[this.code];
  }
}

/** A missing privilege, which the kernel answers with EPERM, and what to grant. */
export function permissionDenied(probe: string, cause?: unknown): CliError {
  return new CliError(
    'PermissionDenied',
    `permission denied loading the ${probe} probe: run as root, or grant CAP_BPF and CAP_PERFMON ` +
      '(CAP_SYS_ADMIN on kernels before 5.8)',
    { cause },
  );
}

const unsupportedCodes = new Set(['ENOENT', 'EOPNOTSUPP', 'ENODEV', 'ESRCH', 'ENOSYS']);

/** Classifies a probe failure by its errno: a missing privilege, a missing kernel
 * feature, or anything else. */
export function probeFailure(err: ProbeError): CliError {
  if (err.code === 'EPERM') return permissionDenied(err.probe, err);
  if (unsupportedCodes.has(err.code))
    return new CliError('Unsupported', `not supported here: ${err.message}`, { cause: err });
  return new CliError('Failed', `the ${err.probe} probe failed (${err.op}, ${err.code}): ${err.message}`, {
    cause: err,
  });
}

/** Any error as a CliError; errors nobody anticipated keep their message and cause. */
export function asCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof ProbeError) return probeFailure(err);
  return new CliError('Failed', err instanceof Error ? err.message : String(err), { cause: err });
}
