// One confirmation experiment, as a pure state machine fed the agent's ticks: it watches
// the victim's loss of one resource for `phaseMs` (before), asks for the suspect to be
// restrained and watches as long again (during), asks for the restraint to be undone and
// watches once more (after), then judges. The agent does the I/O its steps ask for and
// says when the restraint was actually written and undone.
import type { Confirmation } from '../../crds/index.js';
import { addAll, type SubjectCounters } from '../measure/counters.js';
import { podKey } from '../measure/subjects.js';
import { lossShare } from '../windows/session-measure.js';

export interface Suspect {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export interface ExperimentPlan {
  readonly victimUid: string;
  readonly suspect: Suspect;
  readonly resource: 'cpu' | 'io';
  readonly phaseMs: number;
  /** What the restraint writes, for the report ("cpu.max 10000 100000 (100m)"). */
  readonly restraint: string;
}

export type Phase = 'before' | 'during' | 'after' | 'done';
/** What the agent must do now: restrain the suspect, undo it, or report the result. */
export type Step = 'restrain' | 'release' | 'finish';

/** The loss must fall at least this much while restrained (to half or less)... */
const confirmedFall = 0.5;
/** ...and come back at least half the way after; a victim losing less than this before
 * has nothing to recover. */
const minLoss = 0.01;

export class Experiment {
  phase: Phase = 'before';
  /** When the phase in progress ends; the agent ticks at that moment so that a restraint
   * lasts phaseMs, not up to a tick more. */
  phaseEndsMs: number;
  private restrainedAtMs: number | undefined;
  private restrainedMs: number | undefined;
  private readonly victimKey: string;
  private readonly observed: Record<Exclude<Phase, 'done'>, Map<string, SubjectCounters>> = {
    before: new Map(),
    during: new Map(),
    after: new Map(),
  };

  constructor(
    readonly plan: ExperimentPlan,
    startMs: number,
  ) {
    this.phaseEndsMs = startMs + plan.phaseMs;
    this.victimKey = podKey(plan.victimUid);
  }

  /** A tick's counters, counted in the phase in progress. */
  add(tick: ReadonlyMap<string, SubjectCounters>): void {
    if (this.phase === 'done') return;
    const victim = tick.get(this.victimKey);
    if (victim) addAll(this.observed[this.phase], new Map([[this.victimKey, victim]]));
  }

  /** The step due at `nowMs`, if a phase ended; moves to the next phase. */
  step(nowMs: number): Step | undefined {
    if (this.phase === 'done' || nowMs < this.phaseEndsMs) return undefined;
    this.phaseEndsMs = nowMs + this.plan.phaseMs;
    switch (this.phase) {
      case 'before':
        this.phase = 'during';
        return 'restrain';
      case 'during':
        this.phase = 'after';
        return 'release';
      case 'after':
        this.phase = 'done';
        return 'finish';
    }
  }

  /** The restraint was written at `atMs`: the watch while restrained lasts phaseMs from then. */
  restrained(atMs: number): void {
    this.restrainedAtMs = atMs;
    this.phaseEndsMs = atMs + this.plan.phaseMs;
  }

  /** The restraint was undone at `atMs` (by its deadline or the release step, whichever came first). */
  released(atMs: number): void {
    if (this.restrainedAtMs !== undefined) this.restrainedMs ??= atMs - this.restrainedAtMs;
  }

  /** How it stands (Running until done). */
  result(): Confirmation {
    const [before, during, after] = (['before', 'during', 'after'] as const).map((p) =>
      lossShare(this.plan.resource, this.victimKey, this.observed[p].get(this.victimKey)),
    ) as [number, number, number];
    const pct = (x: number) => Math.round(x * 1000) / 10;
    const figures = {
      suspect: this.plan.suspect,
      lossBeforePercent: pct(before),
      ...(this.phase !== 'before' ? { lossDuringPercent: pct(during), restraint: this.plan.restraint } : {}),
      ...(this.phase === 'done'
        ? { lossAfterPercent: pct(after), restrainedSeconds: (this.restrainedMs ?? 0) / 1000 }
        : {}),
    };
    if (this.phase !== 'done') return { result: 'Running', ...figures };
    const fell = before >= minLoss && during <= confirmedFall * before;
    const cameBack = after - during >= 0.5 * (before - during);
    if (fell && cameBack) return { result: 'Confirmed', ...figures };
    const reason =
      before < minLoss
        ? 'the victim lost almost nothing before the restraint'
        : !fell
          ? "the victim's loss did not fall by half while the suspect was restrained"
          : "the victim's loss did not come back once the suspect was released";
    return { result: 'NotConfirmed', reason, ...figures };
  }
}
