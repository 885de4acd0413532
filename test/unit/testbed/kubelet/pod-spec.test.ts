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

const placement = { podIP: '127.1.0.2', hostIP: '127.0.0.1', hasImage: (image: string) => image === 'crosstalk:1' };

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
      placement,
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
      [pod({}), /has no command and its image "img" is not loaded/],
      [pod({ command: ['x'], env: [{ name: 'A', valueFrom: { secretKeyRef: {} } }] }), /valueFrom/],
      [pod({ image: 'crosstalk:1', volumeMounts: [{ name: 'v', mountPath: '/v' }] }), /names no volume/],
      [pod({ command: ['x'] }, { 'harness.crosstalk.dev/cpus.main': 'all' }), /not a CPU list/],
      [{ metadata: {} }, /not a runnable pod/],
    ];
    for (const [input, reason] of cases) {
      expect(() => parseRunnablePod(input, placement))
        .to.throw(HarnessError, reason)
        .with.property('code', 'UnrunnablePod');
    }
  });

  it('runs an image: downward-API env, $(VAR) args, security context, volumes and readiness', function () {
    const input = pod({
      image: 'crosstalk:1',
      args: ['/app/main.js', '--http-address=$(POD_IP):8080'],
      env: [
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      ],
      securityContext: { capabilities: { drop: ['ALL'], add: ['BPF'] }, readOnlyRootFilesystem: true },
      volumeMounts: [{ name: 'cg', mountPath: '/sys/fs/cgroup', readOnly: true }],
      ports: [{ name: 'http', containerPort: 8080 }],
      readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5 },
    }) as { spec: Record<string, unknown> };
    input.spec.volumes = [{ name: 'cg', hostPath: { path: '/sys/fs/cgroup', type: 'Directory' } }];
    input.spec.hostPID = true;
    const runnable = parseRunnablePod(input, placement);
    expect(runnable).to.deep.include({ podIP: '127.1.0.2', hostPID: true, serviceAccountName: 'default' });
    const c = runnable.containers[0]!;
    expect(c.env).to.deep.equal({ POD_IP: '127.1.0.2', NODE_NAME: 'node-a' });
    expect(c.argv).to.deep.equal([]);
    expect(c.imageRun).to.deep.equal({
      args: ['/app/main.js', '--http-address=127.1.0.2:8080'],
      security: {
        privileged: false,
        add: ['BPF'],
        drop: ['ALL'],
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: true,
      },
      mounts: [
        {
          volume: 'cg',
          source: { kind: 'hostPath', path: '/sys/fs/cgroup', create: false },
          mountPath: '/sys/fs/cgroup',
          readOnly: true,
        },
      ],
      readiness: { path: '/readyz', port: 8080, periodSeconds: 5 },
    });
  });
});
