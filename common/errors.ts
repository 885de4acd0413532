// The errors crosstalk throws on purpose share one base: a class named for what failed
// and a stable `code` that logs, metrics, exit statuses and tests key on (the message is
// for people and may change).

/**
 * An error with a stable code.
 *
 * Codes are PascalCase, like the reasons Kubernetes puts in a Status (`NotFound`,
 * `AlreadyExists`): `InvalidDuration`, `StartTimeout`. The one exception is a failure the
 * kernel reported: its code is the errno's name (`EPERM`, `ENOENT`), as the C API and
 * strerror call it, with the number beside it (ProbeError.errno).
 */
export abstract class CodedError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The code of ours or of a Node.js system error (`ECONNRESET`); undefined for others. */
export function errorCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
