import { expect } from 'chai';

import { kernelCommandLine, parseVmHwm, qemuArgs, type BootPlan } from '../../../../testbed/vm/qemu.js';

const plan: BootPlan = {
  vmlinuz: '/c/vmlinuz',
  initrd: '/c/initramfs.cpio.gz',
  disk: '/r/disk.img',
  resultsDir: '/r/results',
  guestScript: '/repo/testbed/vm/guest.sh',
  repo: '/repo',
  nodeBinDir: '/cache/node/bin',
  memoryMiB: 1024,
  cpus: 2,
};

describe('vm lane qemu', function () {
  it('boots a pure cgroup-v2 kernel that runs stage 2 from the checkout', function () {
    const cmdline = kernelCommandLine(plan).split(' ');
    expect(cmdline).to.include.members([
      'console=ttyS0',
      'cgroup_no_v1=all',
      'panic=-1',
      'crosstalk_guest=/repo/testbed/vm/guest.sh',
      'crosstalk_repo=/repo',
      'crosstalk_node=/cache/node/bin',
    ]);
    // Warnings reach the console, after quiet lowered its level.
    expect(cmdline.indexOf('loglevel=5')).to.be.above(cmdline.indexOf('quiet'));
  });

  it('uses TCG with a bounded translation cache, no network, the read-only host root and a writable share', function () {
    const args = qemuArgs(plan);
    const after = (flag: string) => args[args.indexOf(flag) + 1];
    expect(after('-accel')).to.equal('tcg,tb-size=256');
    expect(after('-m')).to.equal('1024');
    expect(after('-smp')).to.equal('2');
    expect(after('-nic')).to.equal('none');
    expect(args).to.include('-no-reboot');
    expect(args).not.to.include('-enable-kvm');
    expect(args).to.include('local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap');
    expect(args).to.include('local,path=/r/results,mount_tag=results,security_model=none');
    expect(after('-drive')).to.equal('file=/r/disk.img,format=raw,if=virtio');
  });

  it('reads the peak resident set from /proc/<pid>/status', function () {
    expect(
      parseVmHwm('Name:\tqemu-system-x86\nVmPeak:\t 2000000 kB\nVmHWM:\t  824576 kB\nVmRSS:\t 800000 kB\n'),
    ).to.equal(824576);
    expect(parseVmHwm('Name:\tzombie\n')).to.equal(undefined);
  });
});
