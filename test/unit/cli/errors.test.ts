import { expect } from 'chai';

import { ProbeError } from '../../../agent/probes/index.js';
import { asCliError, CliError, exitCodes } from '../../../cli/errors.js';

describe('cli errors', function () {
  it('classifies probe failures by errno: privilege, kernel feature, anything else', function () {
    const eperm = asCliError(new ProbeError('loading eBPF needs root', 'EPERM', 1, 'load', 'io'));
    expect(eperm).to.include({ code: 'PermissionDenied', exitCode: exitCodes.permission });
    expect(eperm.message).to.equal(
      'permission denied loading the io probe: run as root, or grant CAP_BPF and CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8)',
    );
    const enoent = asCliError(new ProbeError('no BTF', 'ENOENT', 2, 'open', 'crosstalk'));
    expect(enoent).to.include({
      code: 'Unsupported',
      exitCode: exitCodes.unsupported,
      message: 'not supported here: no BTF',
    });
    const einval = asCliError(new ProbeError('rejected', 'EINVAL', 22, 'load', 'cpu'));
    expect(einval).to.include({ code: 'Failed', exitCode: exitCodes.failure });
    expect(einval.message).to.equal('the cpu probe failed (load, EINVAL): rejected');
  });

  it('keeps CliErrors and wraps anything else as a failure', function () {
    const usage = new CliError('Usage', 'bad');
    expect(asCliError(usage)).to.equal(usage);
    expect(usage.exitCode).to.equal(exitCodes.usage);
    expect(asCliError(new Error('boom'))).to.include({ code: 'Failed', message: 'boom', exitCode: 1 });
    expect(asCliError('text')).to.include({ code: 'Failed', message: 'text' });
  });
});
