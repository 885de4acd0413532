// `crosstalk top`: every cgroup is measured (cpu, io, memory and, with a PMU, cache
// probes), each window is folded into pods and cgroups and assessed the way the agent
// assesses a victim, and the frame is redrawn in place on a terminal, printed as plain
// blocks when piped, or as one JSON object per window.
import { createLogUpdate } from 'log-update';

import { diskNamer } from '../../agent/disks.js';
import { addAll } from '../../agent/measure/counters.js';
import { FileSampler } from '../../agent/measure/file-sampler.js';
import { foldWindow } from '../../agent/measure/fold.js';
import type { ProbeStatus } from '../../agent/probes/index.js';
import { defaultAssessOptions } from '../../agent/report/assess.js';
import { formatPercent } from '../../agent/report/format.js';
import { threadNamer } from '../../agent/threads.js';
import type { Resource } from '../../agent/report/thresholds.js';
import { SessionMeasure } from '../../agent/windows/session-measure.js';
import { CgroupOwners, ownerText, PodNames } from '../owners.js';
import { openProbes } from '../probes.js';
import { runUntilStopped } from '../run-loop.js';
import { activeSubjects, frameOverhead, renderTop, topJson, topRows, type TopFrame } from '../top-view.js';

export interface TopOptions {
  readonly intervalMs: number;
  /** Table rows at most; the terminal's height on a terminal, all when piped. */
  readonly rows?: number | undefined;
  readonly json?: boolean | undefined;
  readonly kubeconfig?: string | undefined;
  readonly node?: string | undefined;
  readonly durationMs?: number | undefined;
}

const measured: readonly Resource[] = ['cpu', 'io', 'memory', 'cache'];

export async function runTop(o: TopOptions): Promise<void> {
  const owners = new CgroupOwners();
  const names = PodNames.connect(o.kubeconfig, owners.pods, (m) => process.stderr.write(`crosstalk: ${m}\n`), o.node);
  const session = openProbes({ probes: ['cpu', 'io', 'memory', 'cache'], allCgroups: true }, ['cpu']);
  try {
    const status = session.status();
    const enabled = new Set(measured.filter((r) => status.some((s) => s.probe === r && s.state === 'active')));
    owners.scan();
    const files = new FileSampler(owners.mounts, owners.registry, owners.pods);
    files.sample(); // the control files' starting point
    const startMs = Date.now();
    // Every active subject is a victim: keys are subject keys, not pod UIDs.
    const measure = new SessionMeasure(o.intervalMs, startMs, startMs, enabled, defaultAssessOptions, (key) => key);
    const seen = new Set<string>();
    const fold = { resolve: owners.resolve, nameDisk: diskNamer(), nameThread: threadNamer() };
    const tty = !o.json && process.stdout.isTTY;
    const draw = tty ? createLogUpdate(process.stdout) : undefined;
    let nextFrameMs = startMs + o.intervalMs;

    const frame = async (): Promise<void> => {
      await names?.learn(owners.unknownPods());
      const window = await session.read();
      const counters = foldWindow(window, fold);
      addAll(counters, files.sample());
      measure.add(counters);
      const keys = activeSubjects(counters);
      for (const key of keys) seen.add(key);
      const closed = measure.closeWindow(keys, Date.now());
      const shown: TopFrame = {
        time: new Date(),
        intervalMs: o.intervalMs,
        window: closed.sequence,
        rows: topRows(counters, closed.window, window.durationNs),
        notes: notes(status),
      };
      if (o.json) process.stdout.write(`${JSON.stringify(topJson(shown))}\n`);
      else if (draw) {
        const height = process.stdout.rows || 24;
        draw(
          renderTop(shown, {
            cpi: enabled.has('cache'),
            width: process.stdout.columns || 80,
            maxRows: Math.min(o.rows ?? Infinity, height - frameOverhead(shown)),
          }),
        );
      } else process.stdout.write(`${renderTop(shown, { cpi: enabled.has('cache'), maxRows: o.rows })}\n\n`);
    };

    await runUntilStopped({
      announce: `Measuring every pod and cgroup, a window every ${o.intervalMs / 1000} s`,
      durationMs: o.durationMs,
      pollMs: 100,
      poll: async () => {
        for (const e of session.drainEvents()) if (e.type === 'cgroup') owners.observe(e);
        if (Date.now() < nextFrameMs) return;
        nextFrameMs += o.intervalMs * Math.max(1, Math.ceil((Date.now() - nextFrameMs) / o.intervalMs));
        await frame();
      },
    });
    draw?.done();
    // On a terminal the echoed ^C sits where the cursor was: start on a line of our own.
    process.stderr.write(`${draw ? '\n' : ''}${summaryLine(measure, seen)}\n`);
  } finally {
    session.close();
  }
}

/** The whole run: the subject hurt most over all windows, and by whom. */
function summaryLine(measure: SessionMeasure, seen: ReadonlySet<string>): string {
  let worst: { key: string; score: number; verdict: string; aggressor?: string } | undefined;
  for (const key of seen) {
    const { assessment, counters } = measure.summary(key);
    if (!counters || (worst && assessment.score <= worst.score)) continue;
    const top = assessment.aggressors[0];
    worst = {
      key: ownerText(counters.ref),
      score: assessment.score,
      verdict: assessment.verdict,
      ...(top ? { aggressor: `${ownerText(top.ref)} (${top.resource} ${formatPercent(top.share)})` } : {}),
    };
  }
  const windows = `${measure.windowsReported} ${measure.windowsReported === 1 ? 'window' : 'windows'}`;
  if (!worst || worst.verdict === 'None') return `${windows}; no interference over the run`;
  return (
    `${windows}; worst over the run: ${worst.key} (${worst.verdict}, score ${Math.round(worst.score)})` +
    (worst.aggressor ? `, top aggressor ${worst.aggressor}` : '')
  );
}

function notes(status: readonly ProbeStatus[]): string[] {
  const cost: Partial<Record<string, string>> = { io: 'no IO p99', memory: 'no reclaim stalls', cache: 'no CPI' };
  return status
    .filter((s) => s.probe !== 'lifecycle' && s.state !== 'active')
    .map((s) => `${s.probe} probe ${s.state}: ${s.reason ?? s.code ?? ''} (${cost[s.probe] ?? 'not measured'})`);
}
