import { CodedError } from '../../common/errors.js';

/** A kernel-side failure: which probe, which operation, and the errno behind it. Its code
 * is the errno name such as `EPERM`, or `ELIBBPF` for libbpf's own error numbers. */
export class ProbeError extends CodedError {
  constructor(
    message: string,
    code: string,
    readonly errno: number,
    /** what was being done: `open`, `load`, `attach`, `read`. */
    readonly op: string,
    /** the probe that failed, or `crosstalk` when none in particular did. */
    readonly probe: string,
  ) {
    super(code, message);
  }

  /** Converts what the addon threw; anything else is rethrown unchanged. */
  static fromNative(err: unknown): ProbeError {
    if (
      err instanceof Error &&
      'code' in err &&
      typeof err.code === 'string' &&
      'errno' in err &&
      typeof err.errno === 'number' &&
      'op' in err &&
      typeof err.op === 'string' &&
      'probe' in err &&
      typeof err.probe === 'string'
    ) {
      return new ProbeError(err.message, err.code, err.errno, err.op, err.probe);
    }
    throw err;
  }
}
