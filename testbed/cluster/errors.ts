import { CodedError } from '../../common/errors.js';

/** Why the e2e control plane could not do what was asked. */
export type ControlPlaneErrorCode =
  | 'BuildFailed' // testbed/cluster/build.sh did not produce the binaries
  | 'ComponentExited' // etcd, kube-apiserver or kube-controller-manager died while starting
  | 'StartTimeout' // a component did not become healthy in time
  | 'InvalidIdentity' // an identity name that cannot become a client certificate
  | 'InvalidDirectory' // the requested working directory is not empty
  | 'CommandFailed' // openssl, kubectl or taskset failed
  | 'CrdNotEstablished'; // a CRD was applied but never became Established

export class ControlPlaneError extends CodedError<ControlPlaneErrorCode> {}
