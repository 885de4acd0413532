import { expect } from 'chai';

import { kubeTime, podPhase, podStatus, type ContainerView } from '../../../../testbed/kubelet/pod-status.js';

const t0 = new Date('2026-01-02T03:04:05.678Z');
const t1 = new Date('2026-01-02T03:04:09.000Z');
const running: ContainerView = {
  name: 'a',
  image: 'img',
  id: 'f'.repeat(64),
  state: { kind: 'running', startedAt: t0 },
};
const exited = (exitCode: number): ContainerView => ({
  name: 'b',
  image: 'img',
  id: 'e'.repeat(64),
  state: { kind: 'terminated', startedAt: t0, finishedAt: t1, exitCode },
});

describe('harness pod status', function () {
  it('derives the phase from the containers', function () {
    expect(podPhase([running, exited(0)])).to.equal('Running');
    expect(podPhase([exited(0), exited(0)])).to.equal('Succeeded');
    expect(podPhase([exited(0), exited(2)])).to.equal('Failed');
    expect(podPhase([{ name: 'c', image: '', state: { kind: 'waiting', reason: 'R', message: 'm' } }])).to.equal(
      'Pending',
    );
  });

  it('writes whole-second RFC 3339 times', function () {
    expect(kubeTime(t0)).to.equal('2026-01-02T03:04:05Z');
  });

  it('publishes a running pod as Ready with containerd container IDs', function () {
    const status = podStatus({
      startTime: t0,
      hostIP: '127.0.0.1',
      podIP: '127.0.0.1',
      qosClass: 'BestEffort',
      containers: [running],
    });
    expect(status).to.deep.include({
      phase: 'Running',
      qosClass: 'BestEffort',
      startTime: '2026-01-02T03:04:05Z',
      podIP: '127.0.0.1',
    });
    const conditions = status.conditions as { type: string; status: string }[];
    expect(conditions.find((c) => c.type === 'Ready')?.status).to.equal('True');
    expect(status.containerStatuses).to.deep.equal([
      {
        name: 'a',
        image: 'img',
        imageID: '',
        containerID: `containerd://${'f'.repeat(64)}`,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: '2026-01-02T03:04:05Z' } },
      },
    ]);
  });

  it('publishes exits with their codes and the pod as completed', function () {
    const status = podStatus({
      startTime: t0,
      hostIP: 'h',
      podIP: 'p',
      qosClass: 'Guaranteed',
      containers: [exited(3)],
    });
    expect(status.phase).to.equal('Failed');
    const [container] = status.containerStatuses as { state: unknown; ready: boolean }[];
    expect(container?.ready).to.equal(false);
    expect(container?.state).to.deep.equal({
      terminated: {
        exitCode: 3,
        reason: 'Error',
        startedAt: '2026-01-02T03:04:05Z',
        finishedAt: '2026-01-02T03:04:09Z',
      },
    });
    const ready = (
      status.conditions as { type: string; status: string; reason?: string; lastTransitionTime: string }[]
    ).find((c) => c.type === 'Ready');
    expect(ready).to.deep.include({
      status: 'False',
      reason: 'PodCompleted',
      lastTransitionTime: '2026-01-02T03:04:09Z',
    });
  });
});
