import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { CgroupMounts } from '../../../../agent/cgroups/mounts.js';
import { CgroupRegistry } from '../../../../agent/cgroups/registry.js';
import { Confirmer } from '../../../../agent/confirm/confirmer.js';
import { RestraintJournal } from '../../../../agent/confirm/restraint.js';
import { PodIndex, podSchema } from '../../../../agent/kube/pod-index.js';
import { emptyCounters, type SubjectCounters } from '../../../../agent/measure/counters.js';
import type { Assessment } from '../../../../agent/report/assess.js';
import { SessionRunner } from '../../../../agent/session-runner.js';
import type { ClosedWindow } from '../../../../agent/windows/session-measure.js';
import type { Confirmation } from '../../../../crds/index.js';
import { nodeDiagnostic, pod, podRef, type PodObject } from '../../../fixtures/api-objects.js';
import { FakeClock } from '../../../support/fake-clock.js';
import { quietLog } from '../../../support/quiet-log.js';

const checkout = pod('shop', 'checkout', { uid: '6b1f2f6e-0c55-4a8e-9d0a-3f1c2b7d9e01' });
const cart = pod('shop', 'cart', { uid: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d' });
const etl = pod('batch', 'etl', { uid: '0f6a7d1e-3b2c-4d5e-8f90-a1b2c3d4e5f6' });
const dns = pod('kube-system', 'dns', { uid: '1a2b3c4d-5e6f-4a0b-9c1d-2e3f4a5b6c7d' });
const ledger = pod('payments', 'ledger', { uid: '2b3c4d5e-6f7a-4b1c-8d2e-3f4a5b6c7d8e' });
const backup = pod('batch', 'backup', { uid: '3c4d5e6f-7a8b-4c2d-9e3f-4a5b6c7d8e9f' });
const backupAnnotated = {
  ...backup,
  metadata: { ...backup.metadata, annotations: { 'crosstalk.dev/no-confirm': '' } },
};

const phaseMs = 5000;

describe('Confirmer', function () {
  let dir: string;
  let clock: FakeClock;
  let journal: RestraintJournal;
  let confirmer: Confirmer;

  const podPath = (p: PodObject) =>
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${p.metadata.uid.replaceAll('-', '_')}.slice`;
  const cpuMax = (p: PodObject) => readFileSync(join(dir, 'unified', podPath(p), 'cpu.max'), 'utf8');
  const setCpuMax = (p: PodObject, text: string) => writeFileSync(join(dir, 'unified', podPath(p), 'cpu.max'), text);

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'crosstalk-confirmer-'));
    clock = new FakeClock();
    journal = new RestraintJournal(join(dir, 'state'), quietLog);
    const registry = new CgroupRegistry();
    const pods = new PodIndex();
    [checkout, cart, etl, dns, ledger, backupAnnotated].forEach((p, i) => {
      mkdirSync(join(dir, 'unified', podPath(p)), { recursive: true });
      setCpuMax(p, 'max 100000\n');
      registry.add('unified', BigInt(i + 1), podPath(p));
      pods.upsert(podSchema.parse(p));
    });
    const mounts: CgroupMounts = {
      mountPoints: new Map([['unified', join(dir, 'unified')]]),
      unifiedControllers: ['cpu', 'io', 'memory'],
    };
    confirmer = new Confirmer({ mounts, registry, pods, journal, log: quietLog, clock, diskDevice: () => undefined });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A session on this node with confirmation on (maxSeconds 5), excluding `payments`. */
  function session(name: string, victims: PodObject[]): SessionRunner {
    const nd = nodeDiagnostic({ namespace: 'shop', name }, 'node-a', victims.map(podRef), { interval: '2s' });
    const confirm = { ...nd.spec.confirm, enabled: true, maxSeconds: phaseMs / 1000, excludeNamespaces: ['payments'] };
    return new SessionRunner({ ...nd, spec: { ...nd.spec, confirm } }, clock.now());
  }

  /** A window in which `victim` scored High with `suspect` its top CPU aggressor. */
  function window(victim: PodObject, suspect: PodObject): ClosedWindow {
    const { namespace, name, uid } = suspect.metadata;
    const assessment: Assessment = {
      verdict: 'High',
      score: 80,
      scores: { cpu: 80 },
      selfInflicted: [],
      aggressors: [
        { ref: { kind: 'Pod', namespace, name, uid }, resource: 'cpu', share: 0.9, evidence: 'held its CPU' },
      ],
    };
    return {
      sequence: 1,
      startMs: clock.now() - 2000,
      endMs: clock.now(),
      window: new Map([[victim.metadata.uid, assessment]]),
    };
  }

  /** A second of the victim's: it waits `waitMs` behind others and runs the rest. */
  function second(victim: PodObject, waitMs: number): Map<string, SubjectCounters> {
    const { namespace, name, uid } = victim.metadata;
    const c = emptyCounters({ kind: 'Pod', namespace, name, uid });
    c.cpu.waitNs = waitMs * 1e6;
    c.cpu.oncpuNs = (1000 - waitMs) * 1e6;
    return new Map([[`pod/${uid}`, c]]);
  }

  /** The agent's ticks for `ms`, one a second, with the victim waiting `waitMs` each. */
  function ticks(victim: PodObject, ms: number, waitMs = 600): void {
    for (let t = 0; t < ms; t += 1000) {
      clock.advance(1000);
      confirmer.tick(second(victim, waitMs), clock.now());
    }
  }

  const confirmation = (runner: SessionRunner, suspect: PodObject): Confirmation | undefined =>
    runner.snapshot().confirmations.find(([key]) => key.includes(`/${suspect.metadata.uid}/`))?.[1];

  it('never restrains a pod of kube-system, of an excluded namespace, annotated no-confirm, or a victim', function () {
    const runner = session('checkout', [checkout, cart]);
    const cases: [PodObject, string][] = [
      [dns, 'pods in kube-system are never restrained'],
      [ledger, 'the session excludes namespace payments from confirmation'],
      [backup, 'the pod is annotated crosstalk.dev/no-confirm'],
      [cart, 'the suspect is a victim of this session'],
    ];
    for (const [suspect, reason] of cases) {
      confirmer.consider(runner, window(checkout, suspect), clock.now());
      expect(confirmation(runner, suspect), suspect.metadata.name).to.deep.equal({
        result: 'Skipped',
        reason,
        suspect: podRef(suspect),
      });
      expect(confirmer.nextStepAtMs(), 'no experiment').to.be.undefined;
      ticks(checkout, 2 * phaseMs);
      expect(cpuMax(suspect)).to.equal('max 100000\n');
    }
    expect(journal.active()).to.deep.equal([]);
  });

  it('runs one experiment per node at a time, and tests a suspect once per session', function () {
    const first = session('checkout', [checkout]);
    const second = session('cart', [cart]);
    confirmer.consider(first, window(checkout, etl), clock.now());
    confirmer.consider(second, window(cart, etl), clock.now());
    expect(confirmation(first, etl)?.result).to.equal('Running');
    expect(confirmation(second, etl), 'while the first runs').to.be.undefined;

    ticks(checkout, 3 * phaseMs);
    const judged = confirmation(first, etl);
    expect(judged?.result).to.equal('NotConfirmed'); // the victim waited as much throughout
    confirmer.consider(first, window(checkout, etl), clock.now());
    expect(confirmer.nextStepAtMs(), 'etl was tested in this session').to.be.undefined;
    expect(confirmation(first, etl)).to.deep.equal(judged);

    confirmer.consider(second, window(cart, etl), clock.now());
    expect(confirmation(second, etl)?.result, 'another session may test it').to.equal('Running');
  });

  it('restores at its deadline, with no probe read, the value the suspect had when restrained', function () {
    const runner = session('checkout', [checkout]);
    confirmer.consider(runner, window(checkout, etl), clock.now());
    setCpuMax(etl, '300000 100000\n'); // changed after the experiment was planned
    ticks(checkout, phaseMs);
    expect(cpuMax(etl), 'restrained').to.equal('10000 100000');
    // The probe reads fail from here on: no tick comes.
    clock.advance(phaseMs - 1);
    expect(cpuMax(etl)).to.equal('10000 100000');
    clock.advance(1);
    expect(cpuMax(etl), 'restored at the deadline').to.equal('300000 100000');
    expect(journal.active()).to.deep.equal([]);
    // Reads come back: the experiment goes on and reports how long the restraint lasted.
    ticks(checkout, 2 * phaseMs);
    expect(confirmation(runner, etl)).to.include({ result: 'NotConfirmed', restrainedSeconds: 5 });
    expect(cpuMax(etl)).to.equal('300000 100000');
  });

  it('restores the suspect when its session goes or the agent stops mid-experiment', function () {
    const deleted = session('checkout', [checkout]);
    confirmer.consider(deleted, window(checkout, etl), clock.now());
    ticks(checkout, phaseMs);
    expect(cpuMax(etl)).to.equal('10000 100000');
    confirmer.cancel(deleted);
    expect(cpuMax(etl)).to.equal('max 100000');
    expect(confirmation(deleted, etl)).to.include({
      result: 'Skipped',
      reason: 'the session ended before the experiment was done',
    });

    const stopping = session('cart', [cart]);
    confirmer.consider(stopping, window(cart, etl), clock.now());
    ticks(cart, phaseMs);
    expect(cpuMax(etl)).to.equal('10000 100000');
    confirmer.releaseAll(); // SIGTERM
    expect(cpuMax(etl)).to.equal('max 100000');
    expect(journal.active()).to.deep.equal([]);
    expect(clock.timers, 'no deadline left to fire').to.equal(0);
    expect(confirmer.nextStepAtMs()).to.be.undefined;
  });
});
