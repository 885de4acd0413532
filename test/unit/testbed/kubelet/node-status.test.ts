import { expect } from 'chai';

import { nodeManifest, nodeStatus, type NodeFacts } from '../../../../testbed/kubelet/node-status.js';

const facts: NodeFacts = {
  name: 'node-a',
  labels: { zone: 'z1' },
  address: '127.0.0.1',
  cpus: 2,
  memoryBytes: 4 * 2 ** 30,
  kernelVersion: '6.18.0',
  osImage: 'Debian',
  architecture: 'amd64',
  kubeletVersion: 'crosstalk-node-harness',
};

describe('harness node status', function () {
  it('labels the node as kubelet does, plus the extra labels', function () {
    expect(nodeManifest(facts)).to.deep.include({
      metadata: {
        name: 'node-a',
        labels: {
          'kubernetes.io/hostname': 'node-a',
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          zone: 'z1',
        },
      },
    });
  });

  it('reports Ready with a fresh heartbeat, capacity and addresses', function () {
    const since = new Date('2026-01-01T00:00:00Z');
    const now = new Date('2026-01-01T00:00:10Z');
    const status = nodeStatus(facts, now, since);
    expect(status.capacity).to.deep.equal({ cpu: '2', memory: `${4 * 2 ** 20}Ki`, pods: '110' });
    const ready = (status.conditions as Record<string, string>[]).find((c) => c.type === 'Ready');
    expect(ready).to.deep.include({
      status: 'True',
      lastHeartbeatTime: '2026-01-01T00:00:10Z',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    expect(status.addresses).to.deep.include({ type: 'InternalIP', address: '127.0.0.1' });
  });
});
