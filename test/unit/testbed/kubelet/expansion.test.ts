import { expect } from 'chai';

import { expandReferences } from '../../../../testbed/kubelet/expansion.js';

describe('harness $(VAR) expansion', function () {
  it('expands defined variables, keeps undefined ones and unescapes $$', function () {
    const env = { POD_IP: '127.1.0.2', PORT: '8080' };
    expect(expandReferences('--http-address=$(POD_IP):$(PORT)', env)).to.equal('--http-address=127.1.0.2:8080');
    expect(expandReferences('$(MISSING) $$(POD_IP) $$', env)).to.equal('$(MISSING) $(POD_IP) $');
  });
});
