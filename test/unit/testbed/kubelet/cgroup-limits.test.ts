import { expect } from 'chai';

import { containerLimits, podLimits, sharesToWeight } from '../../../../testbed/kubelet/cgroup-limits.js';

describe('harness cgroup limits', function () {
  it('turns a container CPU request into shares and a CPU limit into a CFS quota', function () {
    expect(containerLimits({ requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '64Mi' } })).to.deep.equal({
      cpuShares: 256,
      cpuQuotaUs: 50_000,
      memoryBytes: 64 * 2 ** 20,
    });
  });

  it('gives a container without a request the minimum share and no limits', function () {
    expect(containerLimits()).to.deep.equal({ cpuShares: 2 });
  });

  it('sums requests for the pod and sets a pod limit only when every container has one', function () {
    const limited = { requests: { cpu: '100m' }, limits: { cpu: '200m', memory: '10Mi' } };
    expect(podLimits([limited, limited])).to.deep.equal({
      cpuShares: 204,
      cpuQuotaUs: 40_000,
      memoryBytes: 20 * 2 ** 20,
    });
    expect(podLimits([limited, {}])).to.deep.equal({ cpuShares: 102 });
    expect(podLimits([{}])).to.deep.equal({ cpuShares: 2 });
  });

  it('converts shares to cgroup v2 weights as the OCI runtimes do', function () {
    expect(sharesToWeight(2)).to.equal(1);
    expect(sharesToWeight(1024)).to.equal(39);
    expect(sharesToWeight(262144)).to.equal(10000);
  });
});
