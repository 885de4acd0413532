import { expect } from 'chai';

import { subjectString } from '../../../../testbed/cluster/pki.js';

describe('e2e pki', function () {
  it("writes a subject in openssl's -subj form with one O per group", function () {
    expect(subjectString({ commonName: 'crosstalk-agent:n1', organizations: ['crosstalk:agents', 'g2'] })).to.equal(
      '/CN=crosstalk-agent:n1/O=crosstalk:agents/O=g2',
    );
  });

  it('escapes the characters -subj treats specially', function () {
    expect(subjectString({ commonName: 'a/b=c+d', organizations: [] })).to.equal('/CN=a\\/b\\=c\\+d');
  });
});
