import { expect } from 'chai';

import { Experiment, type ExperimentPlan } from '../../../../agent/confirm/experiment.js';
import { emptyCounters, type SubjectCounters } from '../../../../agent/measure/counters.js';

const plan: ExperimentPlan = {
  victimUid: 'v',
  suspect: { namespace: 'batch', name: 'etl', uid: 'e' },
  resource: 'cpu',
  phaseMs: 5000,
  restraint: 'cpu.max 10000 100000 (100m)',
};

/** One second in which the victim waits `waitMs` behind others and runs the rest. */
function second(waitMs: number): Map<string, SubjectCounters> {
  const c = emptyCounters({ kind: 'Pod', namespace: 'shop', name: 'checkout', uid: 'v' });
  c.cpu.waitNs = waitMs * 1e6;
  c.cpu.oncpuNs = (1000 - waitMs) * 1e6;
  return new Map([['pod/v', c]]);
}

/** Runs the three phases with the victim waiting before/during/after ms each second. */
function run(before: number, during: number, after: number) {
  const e = new Experiment(plan, 0);
  const steps: string[] = [];
  for (let t = 1000; t <= 15_000; t += 1000) {
    e.add(second(t <= 5000 ? before : t <= 10_000 ? during : after));
    const step = e.step(t);
    if (step === 'restrain') e.restrained(t);
    if (step === 'release') e.released(t);
    if (step) steps.push(`${step}@${t}`);
  }
  return { e, steps };
}

describe('a confirmation experiment', function () {
  it('restrains after the first phase, releases after the second, and finishes after the third', function () {
    const { steps } = run(600, 50, 600);
    expect(steps).to.deep.equal(['restrain@5000', 'release@10000', 'finish@15000']);
  });

  it('confirms a suspect whose restraint halves the victim’s loss, which comes back after', function () {
    const { e } = run(600, 50, 600);
    expect(e.result()).to.deep.equal({
      result: 'Confirmed',
      suspect: plan.suspect,
      lossBeforePercent: 60,
      lossDuringPercent: 5,
      lossAfterPercent: 60,
      restrainedSeconds: 5,
      restraint: plan.restraint,
    });
  });

  it('does not confirm when the loss does not fall by half, or does not come back', function () {
    expect(run(600, 400, 600).e.result()).to.include({
      result: 'NotConfirmed',
      reason: "the victim's loss did not fall by half while the suspect was restrained",
    });
    expect(run(600, 50, 60).e.result()).to.include({
      result: 'NotConfirmed',
      reason: "the victim's loss did not come back once the suspect was released",
    });
    expect(run(5, 0, 5).e.result()).to.include({
      result: 'NotConfirmed',
      reason: 'the victim lost almost nothing before the restraint',
    });
  });

  it('times the restraint from when it was written to when it was undone, and watches it that long', function () {
    const e = new Experiment(plan, 0);
    expect(e.step(5000)).to.equal('restrain');
    e.restrained(5200); // the tick's probe read took 200 ms
    expect(e.phaseEndsMs).to.equal(10_200);
    e.released(10_200); // its deadline timer
    e.released(10_203); // the release step, just after: no second say
    expect(e.step(10_203)).to.equal('release');
    expect(e.step(15_203)).to.equal('finish');
    expect(e.result().restrainedSeconds).to.equal(5);
  });

  it('reports Running with the figures so far, then never steps again once done', function () {
    const e = new Experiment(plan, 0);
    e.add(second(500));
    expect(e.result()).to.deep.equal({ result: 'Running', suspect: plan.suspect, lossBeforePercent: 50 });
    const { e: done } = run(600, 50, 600);
    expect(done.step(60_000)).to.be.undefined;
  });
});
