// The TypeScript API of crosstalk's kernel probes: open a set of probes (each loads
// independently), name the victim cgroups, attach, then read one window of deltas per
// read() and poll drainEvents() for cgroup lifecycle and slow events.
import { z } from 'zod';

import { systemClock, type Clock } from '../../common/clock.js';

import { NativeProbes, probeBackends, probeNames, ProbeError, type ProbeName } from '../native/index.js';
import { decodeEvents } from './events.js';
import { kernelSymbols } from './kallsyms.js';
import type { CgroupRef, ProbeEvent, ProbeStatus, ProbeWindow } from './types.js';
import { diffWindow, type Snapshot } from '../windows/probe-deltas.js';

const optionsSchema = z.object({
  /** Probes to load. lifecycle is always loaded with any other: it retires dead cgroups. */
  probes: z.array(z.enum(probeNames)).min(1),
  /** Kernel BTF for CO-RE relocation; the running kernel's by default. */
  btfPath: z.string().min(1).optional(),
  /** Slow-IO record threshold (victims only), insert/issue to completion. */
  ioSlowNs: z.number().int().nonnegative().default(10_000_000),
  /** Slow-reclaim record threshold (victims only). */
  reclaimSlowNs: z.number().int().nonnegative().default(10_000_000),
  /** Kernel stacks in slow events, symbolized from /proc/kallsyms. */
  captureStacks: z.boolean().default(false),
  /** Tests only: load the raw_tp fallback programs instead of tp_btf. */
  forceRawTracepoints: z.boolean().default(false),
  /** Tests only: software perf events stand in for the cache probe's hardware counters
   * (page faults, major faults, cpu-clock ns, context switches). */
  softwareCounters: z.boolean().default(false),
  /** Node-local tools: every cgroup is a victim (run-queue waits and their attribution,
   * IO latency, slow IO and reclaim records), without setTargets. */
  allCgroups: z.boolean().default(false),
  /** Slow run-queue wait records (with who held the CPU) above this wait, victims only;
   * none when absent. */
  runqSlowNs: z.number().int().nonnegative().optional(),
  /** The cache probe also counts per process and CPU (CacheWindow.tasks). */
  cacheByTask: z.boolean().default(false),
  /** eBPF programs, or the kernel module's probes (/dev/crosstalk: cpu, io, memory and
   * lifecycle; cache reports unsupported). status()'s attachMode says which runs. */
  backend: z.enum(probeBackends).default('ebpf'),
  /** Tests only: shrink the maps kept per cgroup or per (victim, holder) pair to
   * mapEntries entries (0: built-in sizes) and every ring buffer to ringBytes (0: built-in;
   * otherwise a power-of-two multiple of the page size), so that a test overflows them
   * with a few dozen cgroups or a burst of events (CROSSTALK_TEST_PROBE_SIZES, probe-host.ts). */
  testSizes: z
    .object({
      mapEntries: z.number().int().nonnegative(),
      ringBytes: z
        .number()
        .int()
        .nonnegative()
        .refine((n) => n === 0 || (n >= 4096 && (n & (n - 1)) === 0), 'a power of two of at least 4096'),
    })
    .optional(),
});

export type ProbeOptions = z.input<typeof optionsSchema>;

const targetsSchema = z.array(z.object({ hierarchyId: z.number().int().nonnegative(), id: z.bigint().nonnegative() }));

export class ProbeSession {
  private snapshot: Snapshot = new Map();
  private windowStart: bigint;

  private constructor(
    private readonly native: NativeProbes,
    private readonly clock: Clock,
    private readonly captureStacks: boolean,
    private readonly cacheByTask: boolean,
  ) {
    this.windowStart = clock.monotonicNs();
  }

  /** Loads the probes (not yet attached). Throws ProbeError when none can load; a probe
   * that cannot load is reported by status() and the others carry on. */
  static open(options: ProbeOptions, clock: Clock = systemClock): ProbeSession {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success)
      throw new ProbeError(
        `invalid probe options: ${z.prettifyError(parsed.error)}`,
        'EINVAL',
        22,
        'open',
        'crosstalk',
      );
    const o = parsed.data;
    return new ProbeSession(NativeProbes.open(o), clock, o.captureStacks, o.cacheByTask);
  }

  /** Every requested probe (and lifecycle) with its state and, if not running, why. */
  status(): ProbeStatus[] {
    const out: ProbeStatus[] = [];
    for (const s of this.native.status()) {
      if (s.state === 'off') continue;
      out.push({
        probe: s.probe,
        state: s.state,
        ...(s.attachMode ? { attachMode: s.attachMode } : {}),
        ...(s.hierarchyId !== undefined ? { hierarchyId: s.hierarchyId } : {}),
        ...(s.message ? { reason: s.message } : {}),
        ...(s.errno ? { errno: s.errno } : {}),
        ...(s.code ? { code: s.code } : {}),
        ...(s.op ? { op: s.op } : {}),
      });
    }
    return out;
  }

  /** Replaces the victim set. Each probe takes the ids of its own hierarchy (see
   * status().hierarchyId): on a hybrid host pass a victim's unified id and its blkio id. */
  setTargets(targets: readonly CgroupRef[]): void {
    const parsed = targetsSchema.safeParse(targets);
    if (!parsed.success)
      throw new ProbeError(`invalid targets: ${z.prettifyError(parsed.error)}`, 'EINVAL', 22, 'targets', 'crosstalk');
    this.native.setTargets(parsed.data.map((t) => ({ hierarchyId: t.hierarchyId, cgroupId: t.id })));
  }

  /** Attaches every loaded probe; throws ProbeError only when none could attach. The
   * first window starts here. */
  attach(): void {
    this.native.attach();
    this.windowStart = this.clock.monotonicNs();
    this.snapshot = new Map();
  }

  /** Deltas since the previous read (the first read: since attach). */
  async read(): Promise<ProbeWindow> {
    const raw = await this.native.readWindow();
    // When the maps were read (not when this promise resolved: the loop may be busy).
    const endNs = raw.window[0]?.timeNs ?? this.clock.monotonicNs();
    const active = new Map<ProbeName, number | undefined>();
    for (const s of this.native.status()) if (s.state === 'active') active.set(s.probe, s.hierarchyId);
    const { window, snapshot } = diffWindow(this.snapshot, raw, {
      startNs: this.windowStart,
      endNs,
      active,
      cacheByTask: this.cacheByTask,
    });
    this.snapshot = snapshot;
    this.windowStart = endNs;
    return window;
  }

  /** Cgroup lifecycle, slow-IO, slow-reclaim and slow run-queue events since the last
   * call, oldest first. Cheap (a copy from ring buffers): poll it often (e.g. every 100 ms) so that
   * new containers are seen at once and nothing queues up. */
  drainEvents(): ProbeEvent[] {
    const raw = this.native.drainEvents();
    const monotonicNow = this.clock.monotonicNs();
    const wallNow = this.clock.now();
    const hierarchy = new Map(this.native.status().map((s) => [s.probe, s.hierarchyId ?? 0]));
    const symbols =
      this.captureStacks && (raw.ioEvents.length > 0 || raw.reclaimEvents.length > 0) ? kernelSymbols() : undefined;
    return decodeEvents(raw, {
      ioHierarchyId: hierarchy.get('io') ?? 0,
      memoryHierarchyId: hierarchy.get('memory') ?? 0,
      cpuHierarchyId: hierarchy.get('cpu') ?? 0,
      wallTime: (ns) => new Date(wallNow - Number(monotonicNow - ns) / 1e6),
      ...(symbols ? { symbolize: (address: bigint) => symbols.symbolize(address) } : {}),
    });
  }

  /** Run time and count of every loaded BPF program (times move only while
   * kernel.bpf_stats_enabled=1). */
  programStats(): ReturnType<NativeProbes['programStats']> {
    return this.native.programStats();
  }

  /** Detaches and frees the probes; safe to call more than once. */
  close(): void {
    this.native.close();
  }
}
