// spec.backend: which backend opens the probes, auto's fallback and the reason it gives,
// and how sessions' wishes merge.
import { expect } from 'chai';

import type { NodeDiagnosticSpec } from '../../../crds/index.js';
import { openOnBackend } from '../../../agent/probe-backend.js';
import { mergeSettings, ProbeHost } from '../../../agent/probe-host.js';
import { ProbeError, type ProbeOptions } from '../../../agent/probes/index.js';
import { FakeProbes } from '../../support/fake-probes.js';
import { quietLog } from '../../support/quiet-log.js';

const options = { probes: ['cpu'] as const, runqSlowNs: 1, ioSlowNs: 1, reclaimSlowNs: 1, captureStacks: false };
const targets = [{ hierarchyId: 0, id: 42n }];

/** Opens FakeProbes except on the backends listed, which refuse as a kernel would. */
function opener(refused: readonly string[]) {
  const opened: FakeProbes[] = [];
  const open = (o: ProbeOptions) => {
    if (refused.includes(o.backend ?? 'ebpf')) throw new ProbeError(`${o.backend} refused`, 'EPERM', 1, 'load', 'cpu');
    const p = new FakeProbes(o);
    opened.push(p);
    return p;
  };
  return { open, opened };
}

describe('probe backend choice', function () {
  it('auto prefers eBPF and does not look for the module', function () {
    const { open, opened } = opener([]);
    const r = openOnBackend(open, { ...options, probes: ['cpu'] }, targets, 'auto', () => {
      throw new Error('looked for the module');
    });
    expect(r.backend).to.equal('ebpf');
    expect(r.reason).to.equal(undefined);
    expect(opened[0]?.attached).to.equal(true);
    expect(opened[0]?.targets).to.deep.equal(targets);
  });

  it('auto falls back to the loaded module when eBPF cannot load, and says why', function () {
    const { open, opened } = opener(['ebpf']);
    const r = openOnBackend(open, { ...options, probes: ['cpu'] }, targets, 'auto', () => true);
    expect(r.backend).to.equal('kmod');
    expect(r.reason).to.equal('kernel module: eBPF could not serve (ebpf refused)');
    expect(opened.map((p) => p.options.backend)).to.deep.equal(['kmod']);
    expect(opened[0]?.attached).to.equal(true);
  });

  it('auto keeps eBPF’s error when the module is not loaded', function () {
    const { open } = opener(['ebpf']);
    expect(() => openOnBackend(open, { ...options, probes: ['cpu'] }, targets, 'auto', () => false)).to.throw(
      ProbeError,
      'ebpf refused',
    );
  });

  it('kmod insists: no eBPF attempt, the module’s error when it cannot serve', function () {
    const { open, opened } = opener(['kmod']);
    expect(() => openOnBackend(open, { ...options, probes: ['cpu'] }, targets, 'kmod', () => true)).to.throw(
      ProbeError,
      'kmod refused',
    );
    expect(opened).to.have.length(0);
  });

  it('the probe host reports the module and the fallback’s reason with every probe', function () {
    const { open } = opener(['ebpf']);
    const host = new ProbeHost(quietLog, open, undefined, () => true);
    expect(host.ensure({ ...options, probes: ['cpu'], backend: 'auto' }, targets)).to.equal(true);
    expect(host.backend).to.equal('kmod');
    expect(host.status().map((s) => s.reason)).to.deep.equal(['kernel module: eBPF could not serve (ebpf refused)']);
    host.close();
  });

  it('merges sessions: kmod if one insists, else ebpf if one insists, else auto', function () {
    const spec = (backend: NodeDiagnosticSpec['backend']) =>
      ({
        backend,
        captureStacks: false,
        probes: {
          cpu: { enabled: true, runqLatencyThreshold: '10ms' },
          io: { enabled: false, latencyThreshold: '10ms' },
          memory: { enabled: false, reclaimThreshold: '10ms' },
          cache: { enabled: false },
        },
      }) as unknown as NodeDiagnosticSpec;
    expect(mergeSettings([spec('auto'), spec('auto')])?.backend).to.equal('auto');
    expect(mergeSettings([spec('auto'), spec('ebpf')])?.backend).to.equal('ebpf');
    expect(mergeSettings([spec('ebpf'), spec('kmod'), spec('auto')])?.backend).to.equal('kmod');
  });
});
