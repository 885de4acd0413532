import { CodedError } from '../common/errors.js';

/** Why the demo could not run (as opposed to running and missing the aggressor). */
export type DemoErrorCode =
  | 'MissingRequirement' // not root, no kernel BTF, a workload program missing
  | 'SessionStuck' // the session never reached Running or Completed in time
  | 'CommandFailed' // a command shown to the user (kubectl apply, kubectl crosstalk report) failed
  | 'Interrupted'; // Ctrl-C or SIGTERM

export class DemoError extends CodedError<DemoErrorCode> {}
