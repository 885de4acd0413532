// Owns the kernel probes on this node: nothing is loaded while no session needs this node
// (zero overhead when idle); the union of what the active sessions ask for is loaded, and
// reloaded only when that union changes; everything is detached when the last one ends.
import { existsSync } from 'node:fs';

import { parseDuration, type Backend, type NodeDiagnosticSpec } from '../crds/index.js';
import type { Logger } from '../common/log.js';
import type { KernelBpfStats } from './probe-cost.js';
import { kmodDevice, openOnBackend } from './probe-backend.js';
import {
  ProbeError,
  ProbeSession,
  type CgroupRef,
  type ProbeName,
  type ProbeOptions,
  type ProbeStatus,
} from './probes/index.js';

/** What the agent uses of a ProbeSession (tests hand it recorded windows and events). */
export type Probes = Pick<
  ProbeSession,
  'status' | 'setTargets' | 'attach' | 'read' | 'drainEvents' | 'programStats' | 'close'
>;

export interface ProbeSettings {
  readonly probes: readonly ProbeName[];
  /** spec.backend: kmod when a session insists on it, else ebpf when one does, else auto
   * (the default). */
  readonly backend?: Backend;
  readonly runqSlowNs: number;
  readonly ioSlowNs: number;
  readonly reclaimSlowNs: number;
  readonly captureStacks: boolean;
}

/** What the sessions on this node need from the kernel, merged: every probe any of them
 * enables, the lowest slow-event thresholds, stacks if any asks. */
export function mergeSettings(specs: readonly NodeDiagnosticSpec[]): ProbeSettings | undefined {
  const probes = new Set<ProbeName>();
  let runqSlowNs = Infinity;
  let ioSlowNs = Infinity;
  let reclaimSlowNs = Infinity;
  let captureStacks = false;
  let backend: Backend = 'auto';
  for (const spec of specs) {
    if (spec.probes.cpu.enabled) {
      probes.add('cpu');
      runqSlowNs = Math.min(runqSlowNs, parseDuration(spec.probes.cpu.runqLatencyThreshold) * 1e6);
    }
    if (spec.probes.io.enabled) {
      probes.add('io');
      ioSlowNs = Math.min(ioSlowNs, parseDuration(spec.probes.io.latencyThreshold) * 1e6);
    }
    if (spec.probes.memory.enabled) {
      probes.add('memory');
      reclaimSlowNs = Math.min(reclaimSlowNs, parseDuration(spec.probes.memory.reclaimThreshold) * 1e6);
    }
    if (spec.probes.cache.enabled) probes.add('cache');
    captureStacks ||= spec.captureStacks;
    if (spec.backend === 'kmod' || (spec.backend === 'ebpf' && backend === 'auto')) backend = spec.backend;
  }
  // psi alone needs no kernel probe, but cgroup lifecycle (loaded with any probe) does the
  // pod bookkeeping: keep cpu's cheap on-CPU accounting as the minimum.
  if (specs.length === 0) return undefined;
  if (probes.size === 0) probes.add('cpu');
  const round = (ns: number) => (Number.isFinite(ns) ? Math.round(ns) : 10_000_000);
  return {
    probes: [...probes].sort(),
    runqSlowNs: round(runqSlowNs),
    ioSlowNs: round(ioSlowNs),
    reclaimSlowNs: round(reclaimSlowNs),
    captureStacks,
    backend,
  };
}

/** Tests only: CROSSTALK_TEST_PROBE_SIZES="maps=<entries>,ring=<bytes>" shrinks the
 * kernel maps kept per cgroup or pair and the ring buffers (ProbeOptions.testSizes), so
 * that an e2e test overflows them with a few dozen cgroups. Unset in production. */
export function testSizesFrom(value: string | undefined): ProbeOptions['testSizes'] {
  if (!value) return undefined;
  const fields = new Map(value.split(',').map((kv) => kv.split('=', 2).map((s) => s.trim()) as [string, string]));
  const number = (key: string) => {
    const n = Number(fields.get(key) ?? '0');
    if (!Number.isInteger(n) || n < 0) throw new Error(`CROSSTALK_TEST_PROBE_SIZES: ${key} must be an integer`);
    return n;
  };
  return { mapEntries: number('maps'), ringBytes: number('ring') };
}

export class ProbeHost {
  private session: Probes | undefined;
  private settings: ProbeSettings | undefined;
  /** The probes' states when last attached: a session that ends after the probes were
   * detached still reports what measured it. */
  private lastStatus: ProbeStatus[] = [];
  /** Why the probes could not be loaded at all, for every session's status. */
  failure: string | undefined;
  /** The backend serving the probes (or that served them last). */
  backend: 'ebpf' | 'kmod' = 'ebpf';
  /** Why it is not the one asked for (auto's fallback), prefixed to every probe's reason. */
  private backendReason: string | undefined;
  private releaseStats: (() => void) | undefined;

  /** `stats`, when given, is held while probes are attached: their cost is then counted.
   * `moduleLoaded` says whether auto may fall back to the kernel module. */
  constructor(
    private readonly log: Logger,
    private readonly open: (options: ProbeOptions) => Probes = (o) =>
      ProbeSession.open({ ...o, testSizes: testSizesFrom(process.env.CROSSTALK_TEST_PROBE_SIZES) }),
    private readonly stats?: KernelBpfStats,
    private readonly moduleLoaded: () => boolean = () => existsSync(kmodDevice),
  ) {}

  get active(): Probes | undefined {
    return this.session;
  }

  /** Loads, reloads or unloads to match `wanted`. Returns true when a new session started.
   * A load that failed is not retried for the same settings: the failure is reported in
   * every session's status, and retrying a kernel refusal every tick would only spin. */
  ensure(wanted: ProbeSettings | undefined, targets: readonly CgroupRef[]): boolean {
    if (sameSettings(wanted, this.settings)) return false;
    this.close();
    this.settings = wanted;
    if (!wanted) return false;
    try {
      const { backend = 'auto', ...options } = wanted;
      const opened = openOnBackend(
        this.open,
        { ...options, probes: [...wanted.probes] },
        targets,
        backend,
        this.moduleLoaded,
      );
      const session = opened.session;
      this.session = session;
      this.backend = opened.backend;
      this.backendReason = opened.reason;
      this.releaseStats = this.stats?.hold();
      this.lastStatus = session.status();
      this.failure = undefined;
      this.log.info('probes attached', { probes: wanted.probes, backend: opened.backend, status: this.status() });
      return true;
    } catch (err) {
      if (!(err instanceof ProbeError)) throw err;
      this.failure = err.message;
      this.log.error('probes could not be loaded', { err });
      return false;
    }
  }

  status(): ProbeStatus[] {
    const status = this.session?.status() ?? this.lastStatus;
    const why = this.backendReason;
    return why ? status.map((s) => ({ ...s, reason: s.reason ? `${why}; ${s.reason}` : why })) : status;
  }

  close(): void {
    if (this.session) this.log.info('probes detached');
    this.session?.close();
    this.session = undefined;
    this.releaseStats?.();
    this.releaseStats = undefined;
    this.settings = undefined;
  }
}

function sameSettings(a: ProbeSettings | undefined, b: ProbeSettings | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
