import { expect } from 'chai';

import { dnsSubdomain } from '../../../crds/meta.js';
import { nodeDiagnosticName } from '../../../crds/names.js';

describe('NodeDiagnostic names', function () {
  it('is <session>-<node> when that fits in 63 characters', function () {
    expect(nodeDiagnosticName('checkout-latency', 'node-a')).to.equal('checkout-latency-node-a');
  });

  it('truncates and hashes long names into a valid, stable, distinct 63-character name', function () {
    const session = 'a-very-long-session-name-that-somebody-wrote-for-their-diagnosis';
    const a = nodeDiagnosticName(session, 'ip-10-0-12-34.eu-west-1.compute.internal');
    const b = nodeDiagnosticName(session, 'ip-10-0-12-35.eu-west-1.compute.internal');
    expect(a).to.have.length.at.most(63);
    expect(a).to.not.equal(b);
    expect(nodeDiagnosticName(session, 'ip-10-0-12-34.eu-west-1.compute.internal')).to.equal(a);
    expect(dnsSubdomain.safeParse(a).success, a).to.be.true;
  });

  it('never leaves a dash or dot before the hash', function () {
    // The 52-character cut lands right after the joining dash.
    const name = nodeDiagnosticName('s'.repeat(51), 'x.yyyyyyyyyyyyyyyyyyyyyyyyy');
    expect(name).to.match(/^s{51}-[0-9a-f]{10}$/);
  });

  it('gives a different hashed name when asked to disambiguate a taken plain name', function () {
    const plain = nodeDiagnosticName('web', 'prod-1');
    const other = nodeDiagnosticName('web', 'prod-1', true);
    expect(other).to.not.equal(plain);
    expect(other).to.match(/^web-prod-1-[0-9a-f]{10}$/);
  });
});
