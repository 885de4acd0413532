import { expect } from 'chai';

import { eventDraft, eventName } from '../../../../operator/session/events.js';

const pod = { apiVersion: 'v1', kind: 'Pod', name: 'checkout-1', namespace: 'shop', uid: 'p-1' };

describe('operator events', function () {
  it('are named from what they report, so a second emission collides instead of duplicating', function () {
    const a = eventDraft(pod, 'InterferenceDetected', 'Warning', 'first note', ['s-1', 'High']);
    const b = eventDraft(pod, 'InterferenceDetected', 'Warning', 'another note', ['s-1', 'High']);
    const c = eventDraft(pod, 'InterferenceDetected', 'Warning', 'first note', ['s-1', 'Medium']);
    expect(a.name).to.equal(b.name);
    expect(a.name).to.not.equal(c.name);
    expect(a.name).to.match(/^checkout-1\.[0-9a-f]{16}$/);
    expect(a.namespace).to.equal('shop');
  });

  it('keep names and notes within the API limits', function () {
    expect(eventName('x'.repeat(253), 'a')).to.have.length(217);
    const long = eventDraft(pod, 'InterferenceDetected', 'Warning', 'n'.repeat(5000), []);
    expect(long.note).to.have.length(1024);
    expect(long.note.endsWith('...')).to.be.true;
  });
});
