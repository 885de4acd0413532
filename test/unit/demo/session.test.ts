import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DemoError } from '../../../demo/errors.js';
import { readSessionManifest } from '../../../demo/session.js';

describe('demo session manifest', function () {
  it('reads name, namespace and duration from examples/noisy-neighbour.yaml', function () {
    expect(readSessionManifest()).to.deep.equal({ name: 'noisy-neighbour', namespace: 'shop', durationMs: 30_000 });
  });

  it('refuses a session without a duration (it would never complete)', function () {
    const dir = mkdtempSync(join(tmpdir(), 'crosstalk-demo-test-'));
    try {
      const file = join(dir, 'endless.yaml');
      writeFileSync(
        file,
        'apiVersion: crosstalk.dev/v1alpha1\nkind: DiagnosticSession\nmetadata: {name: x, namespace: shop}\nspec: {selector: {matchLabels: {app: checkout}}}\n',
      );
      expect(() => readSessionManifest(file))
        .to.throw(DemoError, 'must be a DiagnosticSession with a namespace and a duration')
        .with.property('code', 'MissingRequirement');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
