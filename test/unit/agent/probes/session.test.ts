import { expect } from 'chai';

import { ProbeError, ProbeSession, type ProbeOptions } from '../../../../agent/probes/index.js';

describe('probe session options', function () {
  for (const [what, options] of [
    ['no probe', { probes: [] }],
    ['an unknown probe', { probes: ['gpu'] }],
    ['a negative threshold', { probes: ['io'], ioSlowNs: -1 }],
  ] as const) {
    it(`rejects ${what} as EINVAL before loading anything`, function () {
      let caught: unknown;
      try {
        ProbeSession.open(options as unknown as ProbeOptions);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(ProbeError);
      expect(caught).to.include({ code: 'EINVAL', op: 'open', probe: 'crosstalk' });
    });
  }
});
