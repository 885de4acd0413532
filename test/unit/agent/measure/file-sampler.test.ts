import { expect } from 'chai';

import type { CgroupFigures } from '../../../../agent/cgroups/files.js';
import type { Hierarchy } from '../../../../agent/cgroups/mounts.js';
import { CgroupRegistry } from '../../../../agent/cgroups/registry.js';
import { PodIndex } from '../../../../agent/kube/pod-index.js';
import { FileSampler } from '../../../../agent/measure/file-sampler.js';

const uid = '0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const id = 'ab'.repeat(32);

describe('cgroup file sampler', function () {
  it('turns each pod’s cumulative figures, read at each hierarchy’s own path, into deltas', function () {
    const registry = new CgroupRegistry();
    // A hybrid host: the memory hierarchy nests everything beneath a cgroup of its own.
    registry.add('unified', 1n, `/kubepods/pod${uid}`);
    registry.add('memory', 1n, `/process_api/x/kubepods/pod${uid}`);
    registry.add('cpu', 2n, `/kubepods/pod${uid}/${id}`);
    registry.add('memory', 2n, `/process_api/x/kubepods/pod${uid}/${id}`);
    const pods = new PodIndex();
    pods.upsert({ metadata: { uid, namespace: 'batch', name: 'hog' } });
    const figures = new Map<string, CgroupFigures>();
    const read = (paths: ReadonlyMap<Hierarchy, string>) => {
      const memoryPath = paths.get('memory') ?? '';
      return figures.get(memoryPath) ?? { throttledNs: undefined, memoryBytes: undefined, memoryLimitHits: undefined };
    };
    const sampler = new FileSampler(
      { mountPoints: new Map(), unifiedControllers: [] },
      registry,
      pods,
      read,
      () => undefined,
    );
    const pod = `/process_api/x/kubepods/pod${uid}`;
    const container = `${pod}/${id}`;
    figures.set(pod, { throttledNs: 0, memoryBytes: 10e6, memoryLimitHits: 0 });
    figures.set(container, { throttledNs: 1e9, memoryBytes: 9e6, memoryLimitHits: 2 });
    // Baselines only, and what the pod holds now (no request: all of it).
    expect(sampler.sample().get(`pod/${uid}`)!.files).to.deep.equal({
      throttledNs: 0,
      memoryGrowthBytes: 0,
      memoryLimitHits: 0,
      memoryOverRequestSum: 10e6,
      memorySamples: 1,
    });
    figures.set(pod, { throttledNs: 0, memoryBytes: 60e6, memoryLimitHits: 0 });
    figures.set(container, { throttledNs: 1.5e9, memoryBytes: 59e6, memoryLimitHits: 5 });
    const hog = sampler.sample().get(`pod/${uid}`)!;
    expect(hog.ref).to.deep.include({ kind: 'Pod', name: 'hog' });
    // Growth counted once (pod level); throttling and limit hits from every cgroup.
    expect(hog.files).to.deep.equal({
      throttledNs: 0.5e9,
      memoryGrowthBytes: 50e6,
      memoryLimitHits: 3,
      memoryOverRequestSum: 60e6,
      memorySamples: 1,
    });
  });

  it('counts what a pod born while watched took before its first sample', function () {
    const registry = new CgroupRegistry();
    registry.add('unified', 1n, `/kubepods/pod${uid}`, true);
    const pods = new PodIndex();
    const sampler = new FileSampler(
      { mountPoints: new Map(), unifiedControllers: [] },
      registry,
      pods,
      () => ({ throttledNs: 0, memoryBytes: 160e6, memoryLimitHits: 0 }),
      () => undefined,
    );
    expect(sampler.sample().get(`pod/${uid}`)!.files.memoryGrowthBytes).to.equal(160e6);
  });
});
