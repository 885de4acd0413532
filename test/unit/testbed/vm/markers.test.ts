import { expect } from 'chai';

import { applyMarker, emptyReport } from '../../../../testbed/vm/markers.js';

describe('vm lane serial markers', function () {
  it('collects the guest facts and its exit status, ignoring other console lines', function () {
    const report = emptyReport();
    const lines = [
      '\x1bc\x1b[?7l\x1b[2JCROSSTALK-VM: kernel 6.1.0-56-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2',
      'CROSSTALK-VM: controllers cpuset cpu io memory hugetlb pids rdma misc',
      'CROSSTALK-VM: subtree_control cpuset cpu io memory pids',
      'CROSSTALK-VM: addon 3452abcd',
      '[   28.237721] reboot: Power down',
      'CROSSTALK-VM: warning insmod crc32c-intel.ko failed',
      'CROSSTALK-VM: exit 3',
    ];
    expect(lines.map((l) => applyMarker(report, l))).to.deep.equal([true, true, true, true, false, true, true]);
    expect(report).to.deep.include({
      kernel: '6.1.0-56-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2',
      controllers: 'cpuset cpu io memory hugetlb pids rdma misc',
      subtreeControl: 'cpuset cpu io memory pids',
      addonSha256: '3452abcd',
      exitCode: 3,
    });
    expect(report.warnings).to.deep.equal(['insmod crc32c-intel.ko failed']);
    expect(report.errors).to.deep.equal([]);
  });

  it('keeps guest errors and rejects an exit status that is not a number', function () {
    const report = emptyReport();
    applyMarker(report, 'CROSSTALK-VM: error cannot mount the results share');
    applyMarker(report, 'CROSSTALK-VM: exit ');
    expect(report.exitCode).to.equal(undefined);
    expect(report.errors).to.deep.equal(['cannot mount the results share', 'unreadable exit status ""']);
  });

  it('keeps the kernel lines of a BUG, WARNING, soft lockup, RCU stall or hung task', function () {
    const report = emptyReport();
    const problems = [
      '[  101.5] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [MainThread:412]',
      '[  102.0] WARNING: CPU: 1 PID: 7 at kmod/io.c:300 hook+0x1c/0x2e0 [crosstalk]',
      '[  103.0] BUG: sleeping function called from invalid context at mm/slab.h:723',
      '[  104.0] rcu: INFO: rcu_preempt self-detected stall on CPU',
      '[  105.0] INFO: task MainThread:412 blocked for more than 120 seconds.',
    ];
    const ordinary = ['[    9.0] crosstalk: loading out-of-tree module taints kernel.', '[  207.6] reboot: Power down'];
    expect(
      [...problems, ...ordinary].some((l) => applyMarker(report, l)),
      'a marker',
    ).to.equal(false);
    expect(report.kernelProblems).to.deep.equal(problems);
  });
});
