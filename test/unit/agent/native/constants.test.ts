import { expect } from 'chai';

import { loadBinding } from '../../../../agent/native/binding.js';
import { constants, nameOf, ioOps } from '../../../../agent/native/constants.js';
import { probeNames } from '../../../../agent/native/index.js';

describe('native constants', function () {
  it('mirror the C values the addon exports', function () {
    expect(loadBinding().constants).to.deep.equal(constants);
  });

  it('name the probes in enum ct_probe order', function () {
    expect(loadBinding().probes).to.deep.equal(Object.fromEntries(probeNames.map((name, i) => [name, i])));
  });

  it('invert a table', function () {
    expect(nameOf(ioOps, 3)).to.equal('discard');
    expect(nameOf(ioOps, 42)).to.equal(undefined);
  });
});
