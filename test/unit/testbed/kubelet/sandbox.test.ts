import { expect } from 'chai';

import { keptCapabilities } from '../../../../testbed/kubelet/sandbox.js';

const security = {
  privileged: false,
  add: [],
  drop: [],
  readOnlyRootFilesystem: false,
  allowPrivilegeEscalation: true,
};

describe('harness sandbox capabilities', function () {
  it('keeps what the security context keeps of the runtime defaults', function () {
    expect(keptCapabilities({ ...security, drop: ['ALL'], add: ['BPF', 'PERFMON'] }).sort()).to.deep.equal([
      'cap_bpf',
      'cap_perfmon',
    ]);
    const defaults = keptCapabilities(security);
    expect(defaults).to.include('cap_chown').and.not.include('cap_sys_admin');
    expect(keptCapabilities({ ...security, drop: ['chown'] })).to.not.include('cap_chown');
    expect(keptCapabilities({ ...security, privileged: true })).to.include('cap_sys_admin');
  });
});
