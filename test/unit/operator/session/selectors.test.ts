import { expect } from 'chai';

import {
  formatSelector,
  labelKeyProblem,
  matchesLabels,
  matchesSelector,
  selectorProblems,
} from '../../../../operator/session/selectors.js';

describe('label selectors', function () {
  const labels = { app: 'checkout', tier: 'web', 'example.com/team': 'shop' };

  it('match like Kubernetes: matchLabels AND every expression', function () {
    expect(matchesSelector({ matchLabels: { app: 'checkout' } }, labels)).to.be.true;
    expect(matchesSelector({ matchLabels: { app: 'cart' } }, labels)).to.be.false;
    expect(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] }, labels)).to
      .be.true;
    expect(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web'] }] }, labels)).to.be
      .false;
    expect(
      matchesSelector({ matchExpressions: [{ key: 'absent', operator: 'NotIn', values: ['x'] }] }, labels),
      'NotIn matches a missing key',
    ).to.be.true;
    expect(matchesSelector({ matchExpressions: [{ key: 'example.com/team', operator: 'Exists' }] }, labels)).to.be.true;
    expect(matchesSelector({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels)).to.be.false;
    expect(
      matchesSelector(
        { matchLabels: { app: 'checkout' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['api'] }] },
        labels,
      ),
    ).to.be.false;
    expect(matchesSelector({}, undefined), 'the empty selector matches every pod').to.be.true;
  });

  it('match node selectors as plain label maps', function () {
    expect(matchesLabels({ disk: 'ssd' }, { disk: 'ssd', zone: 'a' })).to.be.true;
    expect(matchesLabels({ disk: 'ssd' }, { disk: 'hdd' })).to.be.false;
    expect(matchesLabels(undefined, {})).to.be.true;
  });

  it('report label keys and values the apiserver would refuse', function () {
    expect(labelKeyProblem('app')).to.be.undefined;
    expect(labelKeyProblem('example.com/team')).to.be.undefined;
    expect(labelKeyProblem('bad key')).to.match(/label key "bad key"/);
    expect(labelKeyProblem('Example.com/x')).to.match(/prefix/);
    expect(labelKeyProblem(`${'a'.repeat(64)}`)).to.match(/1-63 characters/);
    expect(
      selectorProblems({
        matchLabels: { app: 'ok', 'x!': 'y' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: ['-bad'] }],
      }),
    ).to.have.length(2);
  });

  it('format as kubectl -l would take them', function () {
    expect(
      formatSelector({
        matchLabels: { app: 'checkout' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['web', 'api'] },
          { key: 'canary', operator: 'DoesNotExist' },
        ],
      }),
    ).to.equal('app=checkout,tier in (web,api),!canary');
  });
});
