import { CodedError } from '../../common/errors.js';

/** Why the node harness could not do what was asked. */
export type HarnessErrorCode =
  | 'InvalidNodeName' // not an RFC 1123 subdomain
  | 'UnrunnablePod' // a pod the harness cannot run (no command, env from references, ...)
  | 'ControllerUnavailable' // a limit needs a cgroup controller this host does not offer
  | 'StartTimeout' // a pod was created but never started on this node
  | 'Closed'; // the harness was closed

export class HarnessError extends CodedError<HarnessErrorCode> {}
