import { expect } from 'chai';

import { noConfirmAnnotation, PodIndex, podSchema } from '../../../../agent/kube/pod-index.js';

function pod(name: string, metadata: Record<string, unknown> = {}, status: Record<string, unknown> = {}) {
  return podSchema.parse({ metadata: { uid: `uid-${name}`, namespace: 'batch', name, ...metadata }, status });
}

describe('PodIndex', function () {
  it('groups a pod by its controller, else by its application label, else not at all', function () {
    const pods = new PodIndex();
    pods.upsert(
      pod('job-1', { ownerReferences: [{ kind: 'Job', name: 'etl', controller: true }], labels: { app: 'x' } }),
    );
    pods.upsert(pod('task-1', { labels: { 'app.kubernetes.io/name': 'airflow-task', app: 'other' } }));
    pods.upsert(pod('task-2', { labels: { app: 'airflow-task' } }));
    pods.upsert(pod('alone', { ownerReferences: [{ kind: 'Node', name: 'n', controller: false }] }));
    expect(pods.get('uid-job-1')?.owner).to.deep.equal({ kind: 'Job', name: 'etl' });
    // app.kubernetes.io/name first, then app: both stream pods land in one workload.
    expect(pods.get('uid-task-1')?.owner).to.deep.equal({ kind: 'app', name: 'airflow-task' });
    expect(pods.get('uid-task-2')?.owner).to.deep.equal({ kind: 'app', name: 'airflow-task' });
    expect(pods.get('uid-alone')?.owner).to.be.undefined;
  });

  it('keeps every container id a pod had and the no-confirm annotation', function () {
    const pods = new PodIndex();
    const statuses = (id: string) => ({ containerStatuses: [{ name: 'app', containerID: `containerd://${id}` }] });
    const [first, restarted] = ['a'.repeat(64), 'b'.repeat(64)];
    const annotated = { annotations: { [noConfirmAnnotation]: '' } };
    pods.upsert(pod('p', annotated, statuses(first)));
    pods.upsert(pod('p', annotated, statuses(restarted)));
    pods.upsert(pod('q', {}, { containerStatuses: [{ name: 'app', containerID: 'containerd://not-an-id' }] }));
    const p = pods.get('uid-p')!;
    expect([...p.containers]).to.deep.equal([
      [first, 'app'],
      [restarted, 'app'],
    ]);
    expect(p.noConfirm).to.equal(true);
    expect(pods.get('uid-q')?.containers.size).to.equal(0);
    expect(pods.get('uid-q')?.noConfirm).to.equal(false);
  });

  it('remembers a deleted pod for its retention, then forgets it', function () {
    const pods = new PodIndex(1000);
    pods.upsert(pod('short'));
    pods.markDeleted('uid-short', 5000);
    pods.prune(5900);
    expect(pods.get('uid-short')?.name).to.equal('short');
    pods.prune(6100);
    expect(pods.get('uid-short')).to.be.undefined;
  });
});
