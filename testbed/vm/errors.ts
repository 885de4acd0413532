/** Why the VM lane could not produce a result; `code` is stable for scripts and tests. */
export type VmLaneErrorCode =
  | 'BAD_ARGUMENT' // the command line names something that cannot run
  | 'NOT_BUILT' // the native addon the guest must load is missing
  | 'KERNEL_UNRESOLVED' // apt does not name a Debian kernel package
  | 'COMMAND_FAILED'; // a host tool (apt-get, dpkg-deb, modprobe, mkfs, cpio) failed

export class VmLaneError extends Error {
  override readonly name = 'VmLaneError';

  constructor(
    readonly code: VmLaneErrorCode,
    message: string,
  ) {
    super(message);
  }
}
