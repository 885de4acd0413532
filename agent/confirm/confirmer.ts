// Runs confirmation experiments on this node for the sessions that ask for them: at most
// one at a time, at most once per suspect and resource per session, never on a pod of
// kube-system, a pod annotated crosstalk.dev/no-confirm, a namespace the session excludes
// or another victim. The restraint is undone at its deadline by a timer of its own (not
// by the agent's next probe read, which may fail), when the session goes, when the agent
// stops, and (through the journal) when a killed agent restarts.
import type { Clock, Timer } from '../../common/clock.js';
import type { Logger } from '../../common/log.js';
import type { Confirmation } from '../../crds/index.js';
import type { CgroupMounts, Hierarchy } from '../cgroups/mounts.js';
import type { CgroupRegistry } from '../cgroups/registry.js';
import type { PodIndex } from '../kube/pod-index.js';
import type { SubjectCounters } from '../measure/counters.js';
import type { BlockDevice } from '../probes/index.js';
import type { Assessment } from '../report/assess.js';
import type { SessionRunner } from '../session-runner.js';
import type { ClosedWindow } from '../windows/session-measure.js';
import { Experiment, type Suspect } from './experiment.js';
import { cpuRestraint, ioRestraint, type RestraintJournal, type RestraintPlan } from './restraint.js';

export interface ConfirmerOptions {
  readonly mounts: CgroupMounts;
  readonly registry: CgroupRegistry;
  readonly pods: PodIndex;
  readonly journal: RestraintJournal;
  readonly log: Logger;
  readonly clock: Clock;
  /** A disk's device number by name (sysfs). */
  readonly diskDevice: (name: string) => BlockDevice | undefined;
}

interface Running {
  readonly runner: SessionRunner;
  readonly experiment: Experiment;
  readonly restraint: RestraintPlan;
  /** Undoes the restraint at its deadline, set while the suspect is restrained. */
  deadline?: Timer;
}

export class Confirmer {
  private running: Running | undefined;

  constructor(private readonly o: ConfirmerOptions) {}

  /** After a window closed: starts an experiment for the first victim whose window scored
   * high enough, on its top suspect, unless one is running on this node. */
  consider(runner: SessionRunner, closed: ClosedWindow, nowMs: number): void {
    const confirm = runner.nd.spec.confirm;
    if (!confirm.enabled || this.running || runner.stopped) return;
    for (const [victimUid, assessment] of closed.window) {
      if (assessment.score < confirm.minScore) continue;
      const top = topSuspect(assessment, confirm);
      if (!top || runner.testedSuspect(top.suspect.uid, top.resource)) continue;
      const skip = this.reasonToSkip(runner, top.suspect);
      if (skip) {
        runner.recordConfirmation(victimUid, top.resource, { result: 'Skipped', reason: skip, suspect: top.suspect });
        continue;
      }
      try {
        const restraint = this.restraintFor(runner, top.suspect, top.resource, top.disk);
        const experiment = new Experiment(
          {
            victimUid,
            suspect: top.suspect,
            resource: top.resource,
            phaseMs: confirm.maxSeconds * 1000,
            restraint: restraint.what,
          },
          nowMs,
        );
        this.running = { runner, experiment, restraint };
        runner.recordConfirmation(victimUid, top.resource, experiment.result());
        this.o.log.info('confirmation started', {
          suspect: top.suspect,
          resource: top.resource,
          restraint: restraint.what,
        });
        return;
      } catch (err) {
        const reason = err instanceof Error ? err.message.slice(0, 200) : String(err);
        runner.recordConfirmation(victimUid, top.resource, { result: 'Skipped', reason, suspect: top.suspect });
      }
    }
  }

  /** A tick: the experiment watches it and takes its steps. Returns the runner whose
   * status changed (a phase ended), if any. */
  tick(counters: ReadonlyMap<string, SubjectCounters>, nowMs: number): SessionRunner | undefined {
    const r = this.running;
    if (!r) return undefined;
    r.experiment.add(counters);
    const step = r.experiment.step(nowMs);
    if (!step) return undefined;
    this.o.log.info('confirmation step', { step, suspect: r.experiment.plan.suspect, atMs: nowMs });
    if (step === 'restrain') {
      try {
        this.o.journal.apply(r.restraint);
      } catch (err) {
        this.o.log.error('confirmation could not restrain the suspect', { err });
        this.finish(r, {
          result: 'Skipped',
          reason: `the restraint could not be applied (${r.restraint.what})`,
          suspect: r.experiment.plan.suspect,
        });
        return r.runner;
      }
      r.experiment.restrained(this.o.clock.now());
      r.deadline = this.o.clock.setTimer(() => this.release(r), r.experiment.plan.phaseMs);
    } else if (step === 'release') this.release(r);
    if (step === 'finish') this.finish(r, r.experiment.result());
    else r.runner.recordConfirmation(r.experiment.plan.victimUid, r.experiment.plan.resource, r.experiment.result());
    return r.runner;
  }

  /** When the running experiment's phase ends, if one is running. */
  nextStepAtMs(): number | undefined {
    return this.running?.experiment.phaseEndsMs;
  }

  /** The session ended or went: its experiment, if any, ends and the suspect is released. */
  cancel(runner: SessionRunner): void {
    const r = this.running;
    if (r?.runner !== runner) return;
    this.finish(r, {
      ...r.experiment.result(),
      result: 'Skipped',
      reason: 'the session ended before the experiment was done',
    });
  }

  /** The agent stops: whatever is restrained is released. */
  releaseAll(): void {
    if (this.running) this.release(this.running);
    this.running = undefined;
  }

  /** Undoes the restraint, once, whichever comes first: its deadline or a step. */
  private release(r: Running): void {
    const now = this.o.clock.now();
    if (r.deadline)
      this.o.log.info('confirmation released the suspect', { suspect: r.experiment.plan.suspect, atMs: now });
    r.deadline?.cancel();
    r.deadline = undefined;
    this.o.journal.restore(r.restraint.podUid);
    r.experiment.released(now);
  }

  private finish(r: Running, result: Confirmation): void {
    this.release(r);
    r.runner.recordConfirmation(r.experiment.plan.victimUid, r.experiment.plan.resource, result);
    this.o.log.info('confirmation done', { suspect: result.suspect, result: result.result, reason: result.reason });
    this.running = undefined;
  }

  private reasonToSkip(runner: SessionRunner, suspect: Suspect): string | undefined {
    if (suspect.namespace === 'kube-system') return 'pods in kube-system are never restrained';
    if (runner.nd.spec.confirm.excludeNamespaces.includes(suspect.namespace))
      return `the session excludes namespace ${suspect.namespace} from confirmation`;
    if (runner.victimUids().includes(suspect.uid)) return 'the suspect is a victim of this session';
    const pod = this.o.pods.get(suspect.uid);
    if (!pod) return 'the suspect pod is no longer known on this node';
    if (pod.noConfirm) return 'the pod is annotated crosstalk.dev/no-confirm';
    return undefined;
  }

  private restraintFor(
    runner: SessionRunner,
    suspect: Suspect,
    resource: 'cpu' | 'io',
    disk: string | undefined,
  ): RestraintPlan {
    const paths = new Map<Hierarchy, string>();
    const containers: string[] = [];
    for (const e of this.o.registry.all()) {
      if (e.kubelet?.podUid !== suspect.uid || e.diedAtMs !== undefined) continue;
      if (!e.kubelet.container) paths.set(e.hierarchy, e.path);
      else if (e.hierarchy === 'blkio') containers.push(e.path);
    }
    const confirm = runner.nd.spec.confirm;
    if (resource === 'cpu') return cpuRestraint(this.o.mounts, suspect.uid, paths, confirm.cpu.quotaMillicores);
    const device = disk === undefined ? undefined : this.o.diskDevice(disk);
    if (!device) throw new Error(`the victim's disk ${disk ?? '?'} is not known`);
    return ioRestraint(this.o.mounts, suspect.uid, paths, containers, device, confirm.io.bytesPerSecond);
  }
}

/** The victim's top aggressor, when it is a pod and its resource may be restrained. */
function topSuspect(
  assessment: Assessment,
  confirm: SessionRunner['nd']['spec']['confirm'],
): { suspect: Suspect; resource: 'cpu' | 'io'; disk: string | undefined } | undefined {
  const top = assessment.aggressors[0];
  if (!top || top.ref.kind !== 'Pod') return undefined;
  if (top.resource !== 'cpu' && top.resource !== 'io') return undefined;
  if (!confirm[top.resource].enabled) return undefined;
  const { namespace, name, uid } = top.ref;
  return { suspect: { namespace, name, uid }, resource: top.resource, disk: top.disk };
}
