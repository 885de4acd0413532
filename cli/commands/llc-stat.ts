// `crosstalk llc-stat`: last-level cache references, misses and hit rate per process and
// CPU (llcstat's rows) or per cgroup, counted by the cache probe over the run and printed
// at its end. Without a hardware PMU there is nothing to count: one line says so.
import type { CacheWindow, ProbeSession } from '../../agent/probes/index.js';
import { cacheMetrics } from '../../agent/probes/index.js';
import { CliError } from '../errors.js';
import { CgroupOwners } from '../owners.js';
import { openProbes, unavailable } from '../probes.js';
import { runUntilStopped } from '../run-loop.js';
import { renderTable } from '../table.js';

export type LlcGrouping = 'pid' | 'cgroup';

export interface LlcRow {
  /** Process id (by pid) or cgroup path (by cgroup). */
  readonly key: string;
  readonly name?: string;
  readonly cpu?: number;
  readonly references: number;
  readonly misses: number;
  readonly hitPercent: number | undefined;
  readonly cpi: number | undefined;
}

export interface LlcFilter {
  /** Rows with fewer references are left out (BCC's sample period: see the README). */
  readonly minReferences: number;
  /** Only rows whose hit rate is below this percentage. */
  readonly hitBelow?: number | undefined;
}

/** Rows of one window (the whole run), the most references first. */
export function llcRows(
  cache: CacheWindow,
  by: LlcGrouping,
  filter: LlcFilter,
  cgroupPath: (id: bigint) => string,
): LlcRow[] {
  const rows: LlcRow[] =
    by === 'pid'
      ? (cache.tasks ?? []).map((t) => ({ key: String(t.pid), name: t.comm, cpu: t.cpu, ...figures(t) }))
      : cache.counters.map((c) => ({ key: cgroupPath(c.cgroupId), ...figures(c) }));
  return rows
    .filter((r) => r.references >= filter.minReferences && r.references > 0)
    .filter((r) => filter.hitBelow === undefined || (r.hitPercent ?? 100) < filter.hitBelow)
    .sort((a, b) => b.references - a.references || a.key.localeCompare(b.key));
}

function figures(c: { llcReferences: number; llcMisses: number; cycles: number; instructions: number }) {
  const m = cacheMetrics(c);
  return { references: c.llcReferences, misses: c.llcMisses, hitPercent: m.llcHitPercent, cpi: m.cpi };
}

const percent = (p: number | undefined) => (p === undefined ? '-' : `${p.toFixed(2)}%`);

export function renderLlc(rows: readonly LlcRow[], by: LlcGrouping): string {
  const head =
    by === 'pid'
      ? ['PID', 'NAME', 'CPU', 'REFERENCE', 'MISS', 'HIT%', 'CPI']
      : ['CGROUP', 'REFERENCE', 'MISS', 'HIT%', 'CPI'];
  const cells = rows.map((r) => [
    r.key,
    ...(by === 'pid' ? [r.name ?? '', String(r.cpu ?? '')] : []),
    String(r.references),
    String(r.misses),
    percent(r.hitPercent),
    r.cpi === undefined ? '-' : r.cpi.toFixed(2),
  ]);
  const references = rows.reduce((n, r) => n + r.references, 0);
  const misses = rows.reduce((n, r) => n + r.misses, 0);
  const hit = references > 0 ? (100 * Math.max(0, references - misses)) / references : undefined;
  return `${renderTable(head, cells)}\n\nTotal References: ${references} Total Misses: ${misses} Hit Rate: ${percent(hit)}`;
}

export interface LlcStatOptions extends LlcFilter {
  readonly by: LlcGrouping;
  readonly json?: boolean | undefined;
  readonly durationMs?: number | undefined;
  /** Tests only: software perf events stand in for the hardware counters. */
  readonly softwareCounters?: boolean | undefined;
}

export async function runLlcStat(options: LlcStatOptions): Promise<void> {
  const session = openCacheProbe(options.softwareCounters ?? false);
  try {
    const owners = new CgroupOwners();
    owners.scan();
    await runUntilStopped({
      announce: 'Counting last-level cache references and misses',
      durationMs: options.durationMs,
      pollMs: 200,
      poll: () => {
        for (const e of session.drainEvents()) if (e.type === 'cgroup') owners.observe(e);
      },
    });
    const { cache } = await session.read();
    if (!cache) throw new CliError('Failed', 'the cache probe stopped counting');
    const rows = llcRows(cache, options.by, options, (id) => owners.path({ hierarchyId: cache.hierarchyId, id }));
    process.stdout.write(
      options.json ? rows.map((r) => `${JSON.stringify(r)}\n`).join('') : `${renderLlc(rows, options.by)}\n`,
    );
  } finally {
    session.close();
  }
}

/** The cache probe, or the one line that says why it cannot count here. */
function openCacheProbe(softwareCounters: boolean): ProbeSession {
  return openProbes({ probes: ['cache'], cacheByTask: true, softwareCounters }, ['cache'], (s) =>
    s.state === 'unsupported'
      ? new CliError(
          'Unsupported',
          `no hardware PMU: this machine cannot count last-level cache references and misses ` +
            `(perf_event_open: ${s.code ?? 'unsupported'}; virtual machines often hide the PMU)`,
        )
      : unavailable(s),
  );
}
