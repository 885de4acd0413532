// Load failures reach TypeScript as ProbeError values naming probe, operation and errno.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { ProbeError, ProbeSession } from '../../../agent/probes/index.js';
import { missingBpf, missingRoot, requireOrSkip } from '../../../testbed/host/requirements.js';

describe('native probe errors', function () {
  it('reports unreadable kernel BTF as ENOENT before loading anything', function () {
    requireOrSkip(this, missingBpf());
    const err = catchProbeError(() => ProbeSession.open({ probes: ['cpu'], btfPath: '/nonexistent/vmlinux' }));
    expect(err.code).to.equal('ENOENT');
    expect(err.op).to.equal('open');
    expect(err.message).to.contain('/nonexistent/vmlinux');
  });

  it('reports a BTF file that is not BTF as a load failure of the cpu probe', function () {
    requireOrSkip(this, missingBpf());
    const err = catchProbeError(() => ProbeSession.open({ probes: ['cpu'], btfPath: '/etc/hostname' }));
    expect(err.probe).to.equal('cpu');
    expect(err.op).to.equal('load');
  });

  it('refuses more victims than a probe can hold as E2BIG, naming the probe', function () {
    requireOrSkip(this, missingBpf());
    const session = ProbeSession.open({ probes: ['cpu'] });
    try {
      const targets = Array.from({ length: 1025 }, (_, i) => ({ hierarchyId: 0, id: BigInt(i + 1) }));
      const err = catchProbeError(() => session.setTargets(targets));
      expect(err).to.include({ code: 'E2BIG', op: 'targets', probe: 'cpu' });
      expect(err.message).to.contain('at most 1024');
    } finally {
      session.close();
    }
  });

  it('reports a missing privilege as EPERM with what to grant', async function () {
    requireOrSkip(this, missingRoot());
    // Drop to nobody in a child process: the only way to lose CAP_BPF for one call.
    const { stdout } = await promisify(execFile)('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      '--no-experimental-strip-types',
      '--no-deprecation',
      '--import',
      './scripts/register-ts.mjs',
      'test/fixtures/open-cpu-probe.ts',
    ]);
    const result = JSON.parse(stdout) as { name: string; code: string; op: string; probe: string; message: string };
    expect(result).to.include({ name: 'ProbeError', code: 'EPERM', op: 'load', probe: 'cpu' });
    expect(result.message).to.contain('CAP_BPF');
  });
});

function catchProbeError(fn: () => unknown): ProbeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProbeError) return err;
    throw err;
  }
  throw new Error('expected a ProbeError');
}
