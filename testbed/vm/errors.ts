import { CodedError } from '../../common/errors.js';

/** Why the VM lane could not produce a result; `code` is stable for scripts and tests. */
export type VmLaneErrorCode =
  | 'BadArgument' // the command line names something that cannot run
  | 'NotBuilt' // the native addon the guest must load is missing
  | 'KernelUnresolved' // apt does not name a Debian kernel package
  | 'CommandFailed'; // a host tool (apt-get, dpkg-deb, modprobe, mkfs, cpio) failed

export class VmLaneError extends CodedError<VmLaneErrorCode> {}
