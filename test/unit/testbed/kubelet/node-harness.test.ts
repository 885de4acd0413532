import { expect } from 'chai';

import { podManifest } from '../../../../testbed/kubelet/node-harness.js';

describe('harness pod manifest', function () {
  it('binds the pod to the node, never restarts it and carries pinning as annotations', function () {
    const manifest = podManifest('node-a', {
      name: 'p',
      labels: { app: 'x' },
      containers: [
        { name: 'main', command: ['sleep'], args: ['1'], env: { A: 'b' }, cpus: '1' },
        { name: 'side', command: ['true'] },
      ],
    });
    expect(manifest.metadata).to.deep.equal({
      name: 'p',
      namespace: 'default',
      labels: { app: 'x' },
      annotations: { 'harness.crosstalk.dev/cpus.main': '1' },
    });
    expect(manifest.spec?.nodeName).to.equal('node-a');
    expect(manifest.spec?.restartPolicy).to.equal('Never');
    expect(manifest.spec?.containers[0]).to.deep.equal({
      name: 'main',
      image: 'harness.crosstalk.dev/process',
      command: ['sleep'],
      args: ['1'],
      env: [{ name: 'A', value: 'b' }],
    });
  });
});
