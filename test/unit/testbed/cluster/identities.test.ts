import { expect } from 'chai';

import { ControlPlaneError } from '../../../../testbed/cluster/errors.js';
import { identityFileStem, parseIdentity, subjectOf } from '../../../../testbed/cluster/identities.js';

describe('e2e identities', function () {
  it('maps each identity to the user and groups RBAC sees', function () {
    expect(subjectOf('admin')).to.deep.equal({ commonName: 'crosstalk-admin', organizations: ['system:masters'] });
    expect(subjectOf('operator')).to.deep.equal({ commonName: 'crosstalk-operator', organizations: [] });
    expect(subjectOf('agent:node-a')).to.deep.equal({
      commonName: 'crosstalk-agent:node-a',
      organizations: ['crosstalk:agents'],
    });
  });

  it('accepts agent identities for RFC 1123 node names only', function () {
    expect(parseIdentity('agent:node-a.example')).to.equal('agent:node-a.example');
    for (const bad of ['agent:', 'agent:Node', 'agent:a/b', 'agent:-a', 'root', 'agent:a_b']) {
      expect(() => parseIdentity(bad), bad)
        .to.throw(ControlPlaneError)
        .with.property('code', 'InvalidIdentity');
    }
  });

  it('names files without the colon', function () {
    expect(identityFileStem('agent:node-a')).to.equal('agent-node-a');
    expect(identityFileStem('admin')).to.equal('admin');
  });
});
