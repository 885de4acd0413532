import { expect } from 'chai';

import { ProbeError } from '../../../agent/probes/index.js';
import { CliError } from '../../../cli/errors.js';
import { errorCode } from '../../../common/errors.js';
import { ApiError } from '../../../common/kube/client.js';
import { DurationError } from '../../../crds/duration.js';

describe('coded errors', function () {
  it('are named for their class, so logs and stack traces say which kind failed', function () {
    expect(new CliError('Usage', 'bad option').name).to.equal('CliError');
    expect(new DurationError('5 minutes').name).to.equal('DurationError');
    expect(new ProbeError('no BTF', 'ENOENT', 2, 'open', 'crosstalk')).to.include({
      name: 'ProbeError',
      code: 'ENOENT',
      errno: 2,
    });
  });

  it("take an API error's code from its reason, else its HTTP status, else the network", function () {
    expect(new ApiError(409, 'AlreadyExists', 'exists', 'POST', '/x').code).to.equal('AlreadyExists');
    expect(new ApiError(502, '', 'bad gateway', 'GET', '/x').code).to.equal('HTTP502');
    expect(new ApiError(0, '', 'ECONNREFUSED', 'GET', '/x').code).to.equal('NetworkError');
  });

  it("reads the code of ours and of Node's system errors, and none of other errors", function () {
    expect(errorCode(new DurationError('soon'))).to.equal('InvalidDuration');
    expect(errorCode(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).to.equal('ECONNRESET');
    expect(errorCode(new Error('plain'))).to.be.undefined;
    expect(errorCode('a string')).to.be.undefined;
  });
});
