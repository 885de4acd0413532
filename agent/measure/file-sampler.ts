// Samples the cgroup control files of this node's pods once per tick and hands back what
// changed, per pod: throttled time, memory growth, own-limit hits and pressure stalls, and
// the memory each pod holds beyond its request.
// Cumulative kernel figures become deltas here, so they add up like the probes' windows.
import type { CgroupMounts, Hierarchy } from '../cgroups/mounts.js';
import { readCgroupFigures, type CgroupFigures } from '../cgroups/files.js';
import type { CgroupEntry, CgroupRegistry } from '../cgroups/registry.js';
import { readPsi, type PsiSnapshot } from '../psi.js';
import { emptyCounters, type SubjectCounters } from './counters.js';
import type { PodIndex } from '../kube/pod-index.js';
import { subjectOfEntry } from './subjects.js';

interface Previous {
  figures: CgroupFigures;
  psi: PsiSnapshot | undefined;
}

export class FileSampler {
  private previous = new Map<string, Previous>();

  constructor(
    private readonly mounts: CgroupMounts,
    private readonly registry: CgroupRegistry,
    private readonly pods: PodIndex,
    private readonly readFigures: (paths: ReadonlyMap<Hierarchy, string>) => CgroupFigures = (paths) =>
      readCgroupFigures(mounts, paths),
    private readonly readPressure: (path: string) => PsiSnapshot | undefined = (path) => readPsiOrNone(mounts, path),
  ) {}

  /** Deltas since the previous sample, by subject key. A cgroup seen for the first time
   * only sets its baseline. */
  sample(): Map<string, SubjectCounters> {
    const out = new Map<string, SubjectCounters>();
    const next = new Map<string, Previous>();
    for (const cgroup of this.liveKubeletCgroups()) {
      const podLevel = cgroup.entry.kubelet?.container === undefined;
      const figures = this.readFigures(cgroup.paths);
      const unifiedPath = cgroup.paths.get('unified');
      const psi = podLevel && unifiedPath !== undefined ? this.readPressure(unifiedPath) : undefined;
      next.set(cgroup.key, { figures, psi });
      // A cgroup born while watched started empty: what it took before its first sample
      // (a hog allocating at once) counts. One found by a scan only sets its baseline.
      const before = this.previous.get(cgroup.key) ?? (cgroup.entry.bornWatched ? emptyFigures : undefined);
      const subject = subjectOfEntry(cgroup.entry, this.pods);
      let counters = out.get(subject.key);
      if (!counters) out.set(subject.key, (counters = emptyCounters(subject.ref)));
      const f = counters.files;
      // What it holds now, beyond what it asked for: who fills a shared memory budget.
      if (podLevel && figures.memoryBytes !== undefined) {
        const request = this.pods.get(cgroup.entry.kubelet?.podUid ?? '')?.memoryRequestBytes ?? 0;
        f.memoryOverRequestSum += Math.max(0, figures.memoryBytes - request);
        f.memorySamples++;
      }
      if (!before) continue;
      f.throttledNs += delta(before.figures.throttledNs, figures.throttledNs);
      f.memoryLimitHits += delta(before.figures.memoryLimitHits, figures.memoryLimitHits);
      // Usage is hierarchical: only the pod-level cgroup counts, or containers count twice.
      if (podLevel && before.figures.memoryBytes !== undefined && figures.memoryBytes !== undefined) {
        f.memoryGrowthBytes += figures.memoryBytes - before.figures.memoryBytes;
      }
      if (before.psi && psi) {
        counters.psi = {
          cpu: psiDelta(before.psi.cpu, psi.cpu),
          io: psiDelta(before.psi.io, psi.io),
          memory: psiDelta(before.psi.memory, psi.memory),
        };
      }
    }
    this.previous = next;
    return out;
  }

  /** Each live pod or container cgroup once, with its path in every hierarchy. */
  private liveKubeletCgroups(): Array<{ key: string; entry: CgroupEntry; paths: Map<Hierarchy, string> }> {
    const byCgroup = new Map<string, { key: string; entry: CgroupEntry; paths: Map<Hierarchy, string> }>();
    for (const entry of this.registry.all()) {
      if (!entry.kubelet || entry.diedAtMs !== undefined) continue;
      const key = `${entry.kubelet.podUid}/${entry.kubelet.container?.id ?? ''}`;
      let cgroup = byCgroup.get(key);
      if (!cgroup) byCgroup.set(key, (cgroup = { key, entry, paths: new Map() }));
      cgroup.paths.set(entry.hierarchy, entry.path);
    }
    return [...byCgroup.values()];
  }
}

const emptyFigures: Previous = {
  figures: { throttledNs: 0, memoryBytes: 0, memoryLimitHits: 0 },
  psi: undefined,
};

/** Growth of a counter; a counter that went down was reset (cgroup recreated): 0. */
function delta(before: number | undefined, after: number | undefined): number {
  return before !== undefined && after !== undefined && after >= before ? after - before : 0;
}

function psiDelta(before: PsiSnapshot['cpu'], after: PsiSnapshot['cpu']) {
  const d = (a: bigint | undefined, b: bigint | undefined) =>
    a !== undefined && b !== undefined && b >= a ? Number(b - a) : 0;
  return { someUs: d(before.someUs, after.someUs), fullUs: d(before.fullUs, after.fullUs) };
}

function readPsiOrNone(mounts: CgroupMounts, path: string): PsiSnapshot | undefined {
  const unified = mounts.mountPoints.get('unified');
  if (!unified || !mounts.unifiedControllers.includes('cpu')) return undefined;
  try {
    return readPsi(`${unified}${path}`);
  } catch {
    return undefined;
  }
}
