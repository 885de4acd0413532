import { expect } from 'chai';

import { apiFailure } from '../../../cli/kube.js';
import { ApiError } from '../../../common/kube/client.js';

const api = (status: number, reason = '') => new ApiError(status, reason, 'message', 'GET', '/x');

describe('cli kube', function () {
  it('turns API failures into errors that say what happened', function () {
    expect(apiFailure(api(404, 'NotFound'), 'pod "a"')).to.include({ code: 'NotFound', message: 'pod "a" not found' });
    expect(apiFailure(api(403, 'Forbidden'), 'pod "a"')).to.include({ code: 'PermissionDenied', exitCode: 4 });
    const down = apiFailure(api(0), 'pod "a"');
    expect(down).to.include({ code: 'ApiUnavailable', exitCode: 1 });
    expect(down.message).to.match(/^cannot reach the Kubernetes API server: /);
    expect(apiFailure(api(500, 'InternalError'), 'pod "a"').message).to.match(/^reading pod "a" failed: /);
    expect(apiFailure(new Error('odd'), 'pod "a"')).to.include({ code: 'Failed' });
  });
});
