import { expect } from 'chai';

import { sessionFinalizer } from '../../../../crds/names.js';
import { planSession, type SessionPlan } from '../../../../operator/session/plan.js';
import { cpuHog, node, pod, report, session, t0, World } from './fixtures.js';

const spec = { selector: { matchLabels: { app: 'checkout' } }, duration: '5m', interval: '10s' };

function conditions(plan: SessionPlan): Record<string, string> {
  return Object.fromEntries(
    (plan.status?.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}: ${c.message}`]),
  );
}

function expectNothing(plan: SessionPlan): void {
  expect(plan.finalizer, 'finalizer').to.be.undefined;
  expect(plan.children.apply, 'children to apply').to.deep.equal([]);
  expect(plan.children.remove, 'children to remove').to.deep.equal([]);
  expect(plan.status, 'status').to.be.undefined;
  expect(plan.events, 'events').to.deep.equal([]);
}

/** Plans, applies, and checks that planning again changes nothing. */
function settle(world: World): SessionPlan {
  const plan = planSession(world.observe());
  world.apply(plan);
  expectNothing(planSession(world.observe()));
  return plan;
}

describe('session reconcile plan', function () {
  it('starts a session: finalizer, one NodeDiagnostic per node hosting victims, Running, SessionStarted', function () {
    const world = new World(session(spec, { finalizers: [] }), [
      pod('a1'),
      pod('a2'),
      pod('b1', { nodeName: 'node-b' }),
      pod('other', { labels: { app: 'cart' }, nodeName: 'node-c' }),
    ]);
    const plan = planSession(world.observe());
    expect(plan.finalizer).to.equal('add');
    expect(plan.children.apply.map((c) => c.metadata.name)).to.deep.equal(['checkout-node-a', 'checkout-node-b']);
    const childA = plan.children.apply[0]!;
    expect(childA.metadata.ownerReferences[0]).to.include({
      kind: 'DiagnosticSession',
      uid: 'session-uid',
      controller: true,
    });
    expect(childA.metadata.labels).to.deep.equal({
      'app.kubernetes.io/managed-by': 'crosstalk',
      'crosstalk.dev/session-uid': 'session-uid',
    });
    expect(childA.spec).to.deep.include({
      nodeName: 'node-a',
      session: { name: 'checkout', uid: 'session-uid' },
      interval: '10s',
      deadline: '2026-11-25T12:05:00.000Z',
      targets: [
        { namespace: 'shop', name: 'a1', uid: 'uid-a1' },
        { namespace: 'shop', name: 'a2', uid: 'uid-a2' },
      ],
    });
    expect(childA.spec.probes.cpu).to.deep.equal({ enabled: true, runqLatencyThreshold: '5ms' });
    expect(plan.status).to.deep.include({
      phase: 'Running',
      observedGeneration: 1,
      startTime: '2026-11-25T12:00:00.000Z',
      nodes: { total: 2, ready: 0, failed: 0, readyOfTotal: '0/2' },
      summary: { victims: 3, affected: 0 },
    });
    expect(conditions(plan)).to.deep.equal({
      SpecValid: 'True SpecValid: the spec is valid',
      TargetsResolved: 'True TargetsFound: 3 victim pods on 2 nodes',
      NodesReporting:
        'False AwaitingNodes: 0/2 nodes measuring; waiting for the agent on node-a, node-b to apply the current spec (check that the crosstalk agent runs there)',
      Completed: 'False Measuring: measuring until the duration elapses',
    });
    expect(plan.events.map((e) => `${e.reason} ${e.note}`)).to.deep.equal([
      'SessionStarted measuring 3 victim pods on 2 nodes for 5m',
    ]);
    expect(plan.requeueAfterMs).to.equal(300_000);
  });

  it('is idempotent: applying its plan and planning again changes nothing', function () {
    const world = new World(session(spec), [pod('a1'), pod('b1', { nodeName: 'node-b' })]);
    settle(world);
    world.now += 30_000;
    expectNothing(planSession(world.observe()));
  });

  it('aggregates agent reports: ranking, summary, conditions and one event per victim and verdict', function () {
    const world = new World(session(spec), [pod('a1'), pod('a2'), pod('b1', { nodeName: 'node-b' })]);
    settle(world);
    world.report('node-a', {
      pods: [
        report('a1', 'High', 82, { aggressors: [cpuHog] }),
        report('a2', 'Low', 12),
        report('stranger', 'High', 99),
      ],
    });
    world.report('node-b', {
      pods: [report('b1', 'None', 1)],
      probes: [{ name: 'cache', state: 'Unsupported', reason: 'no hardware PMU', lostEvents: 0, mapOverflows: 0 }],
    });
    const plan = settle(world);
    expect(plan.status?.summary).to.deep.equal({
      victims: 3,
      affected: 1,
      verdict: 'High',
      worstPod: 'shop/a1',
      topAggressor: 'batch/etl-7f9c (cpu 81%)',
    });
    expect(plan.status?.nodes?.readyOfTotal).to.equal('2/2');
    expect(
      plan.status?.reports?.map((r) => `${r.name}@${r.node}`),
      'the stranger is not a target',
    ).to.deep.equal(['a1@node-a', 'a2@node-a', 'b1@node-b']);
    expect(conditions(plan)).to.include({
      NodesReporting: 'True AllNodesReporting: 2/2 nodes measuring',
      ProbesHealthy:
        'False ProbeUnsupported: cache unsupported on node-b: no hardware PMU (the other probes keep measuring)',
      InterferenceDetected:
        'True InterferenceDetected: 1 of 3 victims suffer Medium or High interference; worst shop/a1 on node-a (High, score 82): batch/etl-7f9c (cpu 81%)',
    });
    expect(plan.events.map((e) => `${e.reason} ${e.regarding.kind}/${e.regarding.name} ${e.namespace}`)).to.deep.equal([
      'InterferenceDetected Pod/a1 shop',
      'InterferenceDetected DiagnosticSession/checkout shop',
    ]);
    expect(plan.events[0]!.note).to.equal(
      "shop/a1 on node-a: High interference (score 82); top aggressor batch/etl-7f9c (cpu 81%): held CPU 2 for 3.1 s of the victim's 3.8 s wait",
    );
    expect(plan.events[0]!.related?.kind).to.equal('DiagnosticSession');

    // Medium -> High on another victim announces it; the same verdict again does not.
    world.report('node-a', { pods: [report('a1', 'High', 85, { aggressors: [cpuHog] }), report('a2', 'Medium', 40)] });
    const next = settle(world);
    expect(next.events.map((e) => `${e.reason} ${e.regarding.name}`)).to.deep.equal([
      'InterferenceDetected a2',
      'InterferenceDetected checkout',
    ]);
  });

  it('tells a victim slowed by its own limit apart: SelfLimited, no InterferenceDetected, no event', function () {
    const world = new World(session(spec), [pod('a1')]);
    settle(world);
    const quota = {
      resource: 'cpu' as const,
      cause: 'CPUQuota' as const,
      seconds: 3.8,
      percent: 76,
      evidence: 'its own CPU quota: throttled for 3.8 s of 5 s',
    };
    world.report('node-a', { pods: [report('a1', 'None', 0, { selfInflicted: [quota] })] });
    const plan = settle(world);
    expect(plan.status?.summary).to.deep.include({ affected: 0, selfLimited: 1, verdict: 'None' });
    expect(conditions(plan)).to.include({
      InterferenceDetected:
        'False SelfLimited: no victim suffers Medium or High interference from its neighbours (worst verdict None); 1 victim slowed by its own limits, e.g. shop/a1 on node-a (CPUQuota 76%)',
    });
    expect(plan.events).to.deep.equal([]);
  });

  it('announces a confirmation when it starts and when it confirms, on the session and the suspect, once', function () {
    const world = new World(session(spec), [pod('a1')]);
    settle(world);
    const suspect = { namespace: 'batch', name: 'etl-7f9c', uid: 'uid-etl' };
    const confirmed = (result: 'Running' | 'Confirmed') =>
      report('a1', 'High', 82, {
        aggressors: [
          {
            ...cpuHog,
            confirmation: {
              result,
              suspect,
              lossBeforePercent: 62,
              ...(result === 'Confirmed' ? { lossDuringPercent: 4, lossAfterPercent: 58 } : {}),
              restraint: 'cpu.max 10000 100000 (100m)',
            },
          },
        ],
      });
    world.report('node-a', { pods: [confirmed('Running')] });
    const started = settle(world).events.filter((e) => e.reason === 'ConfirmationStarted');
    expect(started.map((e) => `${e.regarding.kind}/${e.regarding.name} ${e.namespace}`)).to.deep.equal([
      'Pod/etl-7f9c batch',
      'DiagnosticSession/checkout shop',
    ]);
    expect(started[0]!.note).to.equal(
      'restraining batch/etl-7f9c (cpu.max 10000 100000 (100m)) to see whether shop/a1 recovers',
    );
    world.now += 1000;
    world.report('node-a', { pods: [confirmed('Running')] });
    expect(settle(world).events.map((e) => e.reason)).to.not.include('ConfirmationStarted');
    world.report('node-a', { pods: [confirmed('Confirmed')] });
    const done = settle(world).events.filter((e) => e.reason === 'InterferenceConfirmed');
    expect(done).to.have.length(2);
    expect(done[0]!.type).to.equal('Warning');
    expect(done[0]!.note).to.equal(
      'shop/a1 recovered while batch/etl-7f9c was restrained (cpu.max 10000 100000 (100m)): its cpu loss went 62% → 4% → 58%',
    );
  });

  it('keeps lastTransitionTime while a condition keeps its status', function () {
    const world = new World(session(spec), [pod('a1')]);
    settle(world);
    const first = world.session.status as { conditions: { type: string; lastTransitionTime: string }[] };
    world.now += 60_000;
    world.report('node-a', { pods: [report('a1', 'Low', 10)] });
    const plan = settle(world);
    const targets = plan.status?.conditions?.find((c) => c.type === 'TargetsResolved');
    const nodes = plan.status?.conditions?.find((c) => c.type === 'NodesReporting');
    expect(targets?.lastTransitionTime).to.equal(
      first.conditions.find((c) => c.type === 'TargetsResolved')?.lastTransitionTime,
    );
    expect(nodes?.lastTransitionTime, 'False -> True moved').to.equal('2026-11-25T12:01:00.000Z');
  });

  it('follows victims: a deleted pod drops its node, a new pod adds one, a moved pod moves', function () {
    const world = new World(session(spec), [pod('a1'), pod('b1', { nodeName: 'node-b' })]);
    settle(world);
    world.pods = [pod('a1')];
    const afterDelete = settle(world);
    expect(afterDelete.children.remove.map((c) => c.metadata.name)).to.deep.equal(['checkout-node-b']);
    expect(afterDelete.status?.summary?.victims).to.equal(1);

    world.pods = [pod('a1', { terminating: true }), pod('c1', { nodeName: 'node-c' })];
    const afterMove = settle(world);
    expect(afterMove.children.apply.map((c) => c.metadata.name)).to.deep.equal(['checkout-node-c']);
    expect(afterMove.children.remove.map((c) => c.metadata.name)).to.deep.equal(['checkout-node-a']);
  });

  it('updates the targets of an existing child in place when its victims change', function () {
    const world = new World(session(spec), [pod('a1')]);
    settle(world);
    world.report('node-a', { pods: [report('a1', 'None', 0)] });
    world.pods.push(pod('a2'));
    const plan = planSession(world.observe());
    expect(plan.children.apply).to.have.length(1);
    expect(plan.children.apply[0]!.spec.targets.map((t) => t.name)).to.deep.equal(['a1', 'a2']);
    expect(plan.status?.nodes?.readyOfTotal, 'not ready until the agent applies the new spec').to.equal('0/1');
  });

  it('follows a selector change to other pods', function () {
    const world = new World(session(spec), [pod('a1'), pod('c1', { labels: { app: 'cart' }, nodeName: 'node-c' })]);
    settle(world);
    world.session = session(
      { ...spec, selector: { matchLabels: { app: 'cart' } } },
      { status: world.session.status as never, generation: 2 },
    );
    const plan = settle(world);
    expect(plan.children.apply.map((c) => c.spec.nodeName)).to.deep.equal(['node-c']);
    expect(plan.children.remove.map((c) => c.nodeName)).to.deep.equal(['node-a']);
    expect(plan.status?.observedGeneration).to.equal(2);
  });

  it('finishes at the deadline and completes once every node’s final window is in, then never changes', function () {
    const world = new World(session(spec), [pod('a1'), pod('b1', { nodeName: 'node-b' })]);
    settle(world);
    world.report('node-a', { pods: [report('a1', 'High', 80, { aggressors: [cpuHog] })] });
    world.report('node-b', { pods: [report('b1', 'None', 0)] });
    settle(world);
    world.now = t0 + 300_000;
    world.report('node-a', { pods: [report('a1', 'High', 81, { aggressors: [cpuHog] })], final: true });
    const finishing = settle(world);
    expect(finishing.status?.phase).to.equal('Finishing');
    expect(finishing.status).to.not.have.property('completionTime');
    expect(conditions(finishing).Completed).to.equal(
      'False Finishing: the duration elapsed; waiting for the final window of node-b',
    );
    expect(finishing.requeueAfterMs).to.equal(30_000); // three 10 s intervals
    expect(finishing.events).to.deep.equal([]);

    world.now += 2000;
    world.report('node-b', { pods: [report('b1', 'Low', 30)], final: true });
    const done = settle(world);
    expect(done.status).to.deep.include({ phase: 'Completed', completionTime: '2026-11-25T12:05:02.000Z' });
    expect(done.status?.reports?.map((r) => `${r.name} ${r.score}`)).to.deep.equal(['a1 81', 'b1 30']);
    expect(conditions(done).Completed).to.equal(
      'True FinalWindowsReported: the final window of 2 nodes is in: the report will not change',
    );
    expect(done.requeueAfterMs).to.be.undefined;
    expect(done.events.map((e) => e.reason)).to.deep.equal(['SessionCompleted']);

    // Whatever agents write afterwards (a restart re-sending its figures), and new pods.
    world.report('node-a', { pods: [report('a1', 'High', 99, { aggressors: [cpuHog] })], final: true });
    world.pods = [pod('c1', { nodeName: 'node-c' })];
    world.now += 60_000;
    expectNothing(planSession(world.observe()));

    // Nor an edit of its spec, even one that could not run: only observedGeneration moves.
    const completed = world.session.status as { reports?: unknown; summary?: unknown; phase?: string };
    world.session = session({ ...spec, interval: 'often' }, { status: completed as never, generation: 2 });
    const edited = planSession(world.observe());
    expect(edited.children).to.deep.equal({ apply: [], remove: [] });
    expect(edited.events).to.deep.equal([]);
    expect(edited.status).to.deep.include({ phase: 'Completed', observedGeneration: 2 });
    expect(edited.status?.reports).to.deep.equal(completed.reports);
    expect(edited.status?.summary).to.deep.equal(completed.summary);
  });

  it('completes without a node whose final window does not arrive within a few intervals, and says so', function () {
    const world = new World(session(spec), [pod('a1'), pod('b1', { nodeName: 'node-b' })]);
    settle(world);
    world.report('node-a', { pods: [report('a1', 'Medium', 55)] });
    world.report('node-b', { pods: [report('b1', 'None', 0)] });
    world.now = t0 + 300_000;
    world.report('node-a', { pods: [report('a1', 'Medium', 56)], final: true });
    expect(settle(world).status?.phase).to.equal('Finishing');
    world.now += 30_000;
    const plan = settle(world);
    expect(plan.status?.phase).to.equal('Completed');
    expect(conditions(plan)).to.include({
      NodesReporting:
        'False FinalWindowMissing: no final window from node-b after the deadline: the session completed without it (check that the crosstalk agent runs there)',
      Completed:
        'True FinalWindowMissing: completed without the final window of node-b: its figures end at its last report',
    });
    expect(plan.status?.reports?.map((r) => r.name)).to.deep.equal(['a1', 'b1']);
  });

  it('runs a session without duration until deleted', function () {
    const world = new World(session({ selector: spec.selector }), [pod('a1')]);
    const plan = settle(world);
    expect(plan.children.apply[0]!.spec).to.not.have.property('deadline');
    expect(plan.requeueAfterMs).to.be.undefined;
    expect(plan.events[0]!.note).to.equal('measuring 1 victim pod on 1 node until deleted');
  });

  it('explains why there is nothing to diagnose', function () {
    const none = planSession(new World(session(spec), [pod('x', { labels: { app: 'cart' } })]).observe());
    expect(none.status?.phase).to.equal('Pending');
    expect(conditions(none).TargetsResolved).to.equal(
      'False NoTargets: no pod in namespace shop matches the selector app=checkout: check spec.selector and spec.namespaces (the session starts measuring when a matching pod runs)',
    );
    expect(none.children.apply).to.deep.equal([]);
    expect(none.events).to.deep.equal([]);

    const unscheduled = planSession(
      new World(session(spec), [pod('a', { nodeName: undefined }), pod('b', { phase: 'Succeeded' })]).observe(),
    );
    expect(conditions(unscheduled).TargetsResolved).to.equal(
      'False NoTargets: 2 pods in namespace shop match app=checkout but none is running on a node (1 not scheduled yet, 1 finished, 0 terminating)',
    );

    const wrongNodes = planSession(
      new World(
        session({ ...spec, nodeSelector: { disk: 'ssd' } }),
        [pod('a')],
        [node('node-a', { disk: 'hdd' })],
      ).observe(),
    );
    expect(conditions(wrongNodes).TargetsResolved).to.equal(
      'False NoTargets: 1 running pod match app=checkout but their nodes (node-a) do not carry spec.nodeSelector disk=ssd',
    );
  });

  it('diagnoses only victims on nodes matching spec.nodeSelector', function () {
    const world = new World(
      session({ ...spec, nodeSelector: { disk: 'ssd' } }),
      [pod('a1'), pod('b1', { nodeName: 'node-b' })],
      [node('node-a', { disk: 'hdd' }), node('node-b', { disk: 'ssd' })],
    );
    expect(settle(world).children.apply.map((c) => c.spec.nodeName)).to.deep.equal(['node-b']);
  });

  it('searches the namespaces listed in spec.namespaces', function () {
    const world = new World(session({ ...spec, namespaces: ['shop', 'cart'] }), [
      pod('a1'),
      pod('c1', { namespace: 'cart', nodeName: 'node-b' }),
      pod('x1', { namespace: 'other', nodeName: 'node-c' }),
    ]);
    expect(settle(world).children.apply.map((c) => c.spec.nodeName)).to.deep.equal(['node-a', 'node-b']);
  });

  it('marks a spec it cannot run as Failed/InvalidSpec, stops measuring, and warns once', function () {
    const world = new World(session({ selector: { matchLabels: { 'bad key!': 'x' } } }), [pod('a1')]);
    world.children = [];
    const plan = settle(world);
    expect(plan.status?.phase).to.equal('Failed');
    expect(conditions(plan)).to.deep.equal({
      SpecValid: `False InvalidSpec: the spec cannot be run: label key "bad key!": the name must be 1-63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit. Fix the session's spec; measurement is stopped until then`,
    });
    expect(plan.events.map((e) => `${e.type} ${e.reason}`)).to.deep.equal(['Warning InvalidSpec']);

    const stored = planSession(new World(session({ ...spec, duration: '5s' }), []).observe());
    expect(conditions(stored).SpecValid).to.contain('spec.duration: duration must be at least one interval long');
    const garbage = planSession(new World(session('not an object'), []).observe());
    expect(conditions(garbage).SpecValid).to.match(/^False InvalidSpec: the spec cannot be run: spec: /);
  });

  it('deletes the children of a session being deleted, then releases the finalizer', function () {
    const world = new World(session(spec), [pod('a1'), pod('b1', { nodeName: 'node-b' })]);
    settle(world);
    world.session = session(spec, { deleting: true, status: world.session.status as never });
    const first = planSession(world.observe());
    expect(first.children.remove).to.have.length(2);
    expect(first.finalizer).to.be.undefined;
    world.apply(first);
    const second = planSession(world.observe());
    expect(second.finalizer).to.equal('remove');
    world.apply(second);
    expect(world.session.metadata.finalizers).to.not.include(sessionFinalizer);
  });

  it('fails the session when every agent failed, and names them', function () {
    const world = new World(session(spec), [pod('a1')]);
    settle(world);
    world.report('node-a', { phase: 'Failed', message: 'kmod backend unavailable: no module for 6.18' });
    const plan = settle(world);
    expect(plan.status?.phase).to.equal('Failed');
    expect(conditions(plan).NodesReporting).to.equal(
      'False NodesFailed: agent failed on node-a: kmod backend unavailable: no module for 6.18',
    );
  });

  it('says which node wrote an unreadable status without hiding the others', function () {
    const world = new World(session(spec), [pod('a1'), pod('b1', { nodeName: 'node-b' })]);
    settle(world);
    world.report('node-b', { pods: [report('b1', 'Low', 5)] });
    Object.assign(
      world.children.find((c) => c.nodeName === 'node-a')!,
      { status: { phase: 'Exploded' } },
    );
    const plan = settle(world);
    expect(conditions(plan).NodesReporting).to.match(/^False StatusUnreadable: cannot read .* node-a: /);
    expect(plan.status?.reports?.map((r) => r.name)).to.deep.equal(['b1']);
  });

  it('picks a hashed child name when the plain one belongs to someone else', function () {
    const world = new World(session(spec), [pod('a1')]);
    world.other = ['checkout-node-a'];
    const plan = settle(world);
    expect(plan.children.apply[0]!.metadata.name).to.match(/^checkout-node-a-[0-9a-f]{10}$/);
  });
});
