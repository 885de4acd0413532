// The reconcile plan on specs no one wrote by hand (fast-check): it never throws, every
// status it would write is one the API accepts, a spec it cannot run fails with
// InvalidSpec, and carrying the plan out leaves nothing more to do.
import { expect } from 'chai';
import fc from 'fast-check';

import { sessionSpecSchema, sessionStatusSchema } from '../../../../crds/diagnostic-session.js';
import { planSession } from '../../../../operator/session/plan.js';
import { fuzzedSpec } from '../../../support/fuzzed-specs.js';
import { node, pod, session, World } from './fixtures.js';

describe('session reconcile plan on fuzzed specs', function () {
  it('never throws, writes only valid statuses, flags what it cannot run and settles in one step', function () {
    fc.assert(
      fc.property(fuzzedSpec, ({ spec }) => {
        const world = new World(
          session(spec),
          [
            pod('checkout-1'),
            pod('cart-1', { labels: { app: 'cart' }, nodeName: 'node-b' }),
            pod('checkout-2', { namespace: 'fuzz', nodeName: 'node-c' }),
          ],
          [node('node-a', { zone: 'a' }), node('node-b', { zone: 'b' }), node('node-c', { zone: 'a' })],
        );
        const plan = planSession(world.observe());
        expect(plan.status, 'a first status').to.exist;
        const written = sessionStatusSchema.safeParse(plan.status);
        expect(written.success, written.error?.message).to.be.true;
        const specValid = plan.status!.conditions?.find((c) => c.type === 'SpecValid');
        if (!sessionSpecSchema.safeParse(spec).success) {
          expect(plan.status!.phase).to.equal('Failed');
          expect(specValid).to.include({ status: 'False', reason: 'InvalidSpec' });
        } else expect(specValid?.reason).to.be.oneOf(['SpecValid', 'InvalidSpec']);
        world.apply(plan);
        const again = planSession(world.observe());
        expect(again.status, 'status after carrying the plan out').to.be.undefined;
        expect(again.children.apply).to.deep.equal([]);
      }),
      { numRuns: 1000 },
    );
  });
});
