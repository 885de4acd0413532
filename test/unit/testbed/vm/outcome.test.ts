import { expect } from 'chai';

import { emptyReport, type GuestReport } from '../../../../testbed/vm/markers.js';
import { failureReasons, type RunFacts } from '../../../../testbed/vm/outcome.js';

const healthy: GuestReport = {
  ...emptyReport(),
  kernel: '6.1.0-56-amd64',
  subtreeControl: 'cpuset cpu io memory pids',
  addonSha256: 'aa',
  node: 'v24.21.0',
  exitCode: 0,
};

function facts(report: Partial<GuestReport>, run: Partial<RunFacts> = {}): RunFacts {
  return {
    report: { ...healthy, ...report },
    timedOut: false,
    timeoutMs: 600_000,
    hostAddonSha256: 'aa',
    hostNode: 'v24.21.0',
    ...run,
  };
}

describe('vm lane outcome', function () {
  it('passes only a guest that reported exit 0 on a pure v2 root with the host addon', function () {
    expect(failureReasons(facts({}))).to.deep.equal([]);
  });

  it('fails a guest killed by the timeout, even one whose suite had reported success', function () {
    expect(failureReasons(facts({}, { timedOut: true }))).to.deep.equal([
      'the guest was still running after 600 s and was killed',
    ]);
  });

  it('fails a guest that powered off without an exit status', function () {
    expect(failureReasons(facts({ exitCode: undefined }))).to.deep.equal([
      'the guest powered off without an exit status',
    ]);
  });

  it('fails a failing suite, a missing controller, another addon and guest errors', function () {
    const reasons = failureReasons(
      facts({
        exitCode: 1,
        subtreeControl: 'cpu memory',
        addonSha256: 'bb',
        node: 'v20.20.2',
        errors: ['cannot mount cgroup2'],
      }),
    );
    expect(reasons).to.deep.equal([
      'guest error: cannot mount cgroup2',
      "the guest's root cgroup does not delegate io, cpuset, pids",
      'the guest read another native addon (sha256 bb) than the host built',
      "the guest ran Node v20.20.2, not the host's v24.21.0",
      "the guest's mocha exited with status 1",
    ]);
  });

  it('fails a passing suite whose kernel printed a BUG, a WARNING or a soft lockup, with its first lines', function () {
    const lockup = '[  101.5] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [MainThread:412]';
    expect(failureReasons(facts({ kernelProblems: Array<string>(5).fill(lockup) }))).to.deep.equal([
      ...Array<string>(3).fill(`guest kernel: ${lockup}`),
      'guest kernel: 2 more such lines in the serial log',
    ]);
  });
});
