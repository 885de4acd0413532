import { expect } from 'chai';

import { HarnessError } from '../../../../testbed/kubelet/errors.js';
import { parseRunnablePod } from '../../../../testbed/kubelet/pod-spec.js';

function pod(container: Record<string, unknown>, annotations: Record<string, string> = {}) {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u-1', annotations },
    spec: { nodeName: 'node-a', containers: [{ name: 'main', image: 'img', ...container }] },
    status: { qosClass: 'Burstable' },
  };
}

describe('harness pod spec', function () {
  it('takes command, args, env, pinning and limits from the pod', function () {
    const runnable = parseRunnablePod(
      pod(
        {
          command: ['sh', '-c'],
          args: ['echo $A'],
          env: [{ name: 'A', value: 'b' }],
          resources: { requests: { cpu: '100m' }, limits: { memory: '1Mi' } },
        },
        { 'harness.crosstalk.dev/cpus.main': '0-1' },
      ),
    );
    expect(runnable).to.deep.include({ namespace: 'ns', name: 'p', uid: 'u-1', qosClass: 'Burstable' });
    expect(runnable.containers[0]).to.deep.equal({
      name: 'main',
      image: 'img',
      argv: ['sh', '-c', 'echo $A'],
      env: { A: 'b' },
      cpus: '0-1',
      limits: { cpuShares: 102, memoryBytes: 2 ** 20 },
    });
  });

  it('refuses, with the reason, what it cannot run', function () {
    const cases: [unknown, RegExp][] = [
      [pod({}), /has no command/],
      [pod({ command: ['x'], env: [{ name: 'A', valueFrom: { fieldRef: {} } }] }), /valueFrom/],
      [pod({ command: ['x'] }, { 'harness.crosstalk.dev/cpus.main': 'all' }), /not a CPU list/],
      [{ metadata: {} }, /not a runnable pod/],
    ];
    for (const [input, reason] of cases) {
      expect(() => parseRunnablePod(input))
        .to.throw(HarnessError, reason)
        .with.property('code', 'UnrunnablePod');
    }
  });
});
