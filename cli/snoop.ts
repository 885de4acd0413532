// The engine the snoop tools (bio-snoop, dr-snoop, runq-snoop) share: open one probe in
// every-cgroup mode, learn the cgroup tree, drain its slow-event records, filter them,
// name their owners, print one line (or one JSON object) per event as it comes, and a
// summary when Ctrl-C, SIGTERM or the duration ends the run.
import { diskNamer } from '../agent/disks.js';
import { subjectText } from '../agent/measure/subjects.js';
import type {
  BlockDevice,
  CgroupRef,
  ProbeEvent,
  ProbeHealth,
  ProbeName,
  ProbeOptions,
} from '../agent/probes/index.js';
import type { SubjectRef } from '../agent/report/assess.js';
import { threadNamer } from '../agent/threads.js';
import type { PodName } from '../common/arguments.js';
import { CliError } from './errors.js';
import { EventFilter, type EventSubject } from './event-filter.js';
import { CgroupOwners, PodNames } from './owners.js';
import { openProbes } from './probes.js';
import { runUntilStopped } from './run-loop.js';

export interface SnoopOptions {
  readonly thresholdNs: number;
  readonly pid?: number | undefined;
  readonly cgroup?: string | undefined;
  readonly pod?: PodName | undefined;
  readonly disk?: string | undefined;
  readonly stack?: boolean | undefined;
  /** Show the owning pod (or cgroup) of each event. */
  readonly owner?: boolean | undefined;
  readonly json?: boolean | undefined;
  readonly kubeconfig?: string | undefined;
  readonly node?: string | undefined;
  readonly durationMs?: number | undefined;
}

/** What a tool's formatting may look up. */
export interface SnoopContext {
  /** CLOCK_MONOTONIC when tracing began. */
  readonly startNs: bigint;
  readonly options: SnoopOptions;
  diskName(device: BlockDevice): string;
  path(ref: CgroupRef): string;
  owner(ref: CgroupRef): SubjectRef;
  /** The name of a thread of the root cgroup (kworker/1:1). */
  threadName(pid: number): string;
}

export interface SnoopTool<E extends ProbeEvent> {
  /** e.g. "Tracing block device I/O". */
  readonly announce: string;
  readonly probe: ProbeName;
  /** Probe options beyond the probe itself and every-cgroup mode. */
  probeOptions(options: SnoopOptions): Omit<ProbeOptions, 'probes'>;
  select(event: ProbeEvent): E | undefined;
  subject(event: E): EventSubject;
  /** Every cgroup the output names (to learn their pods' names in time). */
  cgroups(event: E): CgroupRef[];
  header(ctx: SnoopContext): string;
  /** The event's line, plus any lines below it (a kernel stack). */
  lines(event: E, ctx: SnoopContext): string[];
  json(event: E, ctx: SnoopContext): Record<string, unknown>;
  /** Accumulates what was shown, for the closing summary. */
  summary(ctx: SnoopContext): SnoopSummary<E>;
}

export interface SnoopSummary<E> {
  add(event: E): void;
  /** e.g. "48 MiB, slowest 3.1 ms" (the event count is printed anyway). */
  text(): string;
  json(): Record<string, unknown>;
}

const nameThread = threadNamer();

const pollMs = 100;

export async function runSnoop<E extends ProbeEvent>(tool: SnoopTool<E>, options: SnoopOptions): Promise<void> {
  const owners = new CgroupOwners();
  const warn = (message: string) => process.stderr.write(`crosstalk: ${message}\n`);
  const names =
    options.owner || options.pod ? PodNames.connect(options.kubeconfig, owners.pods, warn, options.node) : undefined;
  if (options.pod && !names)
    throw new CliError(
      'Usage',
      '--pod needs the Kubernetes API to find the pod: pass --kubeconfig (or use --cgroup with its path)',
    );
  const podUid = options.pod && names ? await names.uidOf(options.pod) : undefined;
  const nameDisk = diskNamer();
  const session = openProbes({
    probes: [tool.probe],
    allCgroups: true,
    captureStacks: options.stack ?? false,
    ...tool.probeOptions(options),
  });
  try {
    const startNs = process.hrtime.bigint();
    owners.scan();
    const filter = new EventFilter(
      {
        pid: options.pid,
        cgroupPath: options.cgroup === undefined ? undefined : owners.relativePath(options.cgroup),
        podUid,
        disk: options.disk,
      },
      owners,
      nameDisk,
    );
    const ctx: SnoopContext = {
      startNs,
      options,
      diskName: nameDisk,
      path: (ref) => owners.path(ref),
      owner: (ref) => owners.owner(ref),
      threadName: (pid) => subjectText(nameThread(pid).ref),
    };
    const summary = tool.summary(ctx);
    let count = 0;
    const out = (text: string) => process.stdout.write(`${text}\n`);
    if (!options.json) out(tool.header(ctx));

    const poll = async () => {
      const events: E[] = [];
      for (const event of session.drainEvents()) {
        if (event.type === 'cgroup') owners.observe(event);
        const e = tool.select(event);
        if (e && filter.accepts(tool.subject(e))) events.push(e);
      }
      if (events.length === 0) return;
      if (names && options.owner) await names.learn(owners.unknownPods(events.flatMap((e) => tool.cgroups(e))));
      for (const e of events) {
        if (options.json) out(JSON.stringify({ type: tool.probe, ...tool.json(e, ctx) }));
        else for (const line of tool.lines(e, ctx)) out(line);
        count++;
        summary.add(e);
      }
    };
    await runUntilStopped({ announce: tool.announce, durationMs: options.durationMs, pollMs, poll });
    const { health } = await session.read();
    const lost = lostEvents(health, tool.probe);
    if (options.json) out(JSON.stringify({ type: 'summary', events: count, lost, ...summary.json() }));
    else {
      const text = summary.text();
      process.stderr.write(
        `${count} ${count === 1 ? 'event' : 'events'}${text ? `; ${text}` : ''}` +
          `${lost > 0 ? `; ${lost} lost (the buffers were full)` : ''}\n`,
      );
    }
  } finally {
    session.close();
  }
}

/** Records the kernel or the library could not deliver. */
function lostEvents(health: readonly ProbeHealth[], probe: ProbeName): number {
  const h = health.find((x) => x.probe === probe);
  return h ? h.eventsDropped + h.queueDropped : 0;
}
