import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseLaneArgs } from '../../../../testbed/vm/args.js';
import { VmLaneError } from '../../../../testbed/vm/errors.js';

describe('vm lane arguments', function () {
  let checkout: string;

  before(function () {
    checkout = mkdtempSync(join(tmpdir(), 'crosstalk-args-'));
    for (const dir of ['test/integration', 'test/v2']) mkdirSync(join(checkout, dir), { recursive: true });
    writeFileSync(join(checkout, 'test/v2/writeback.test.ts'), '');
  });

  after(function () {
    rmSync(checkout, { recursive: true, force: true });
  });

  it('runs the integration and pure-v2 suites by default', function () {
    expect(parseLaneArgs([], checkout)).to.deep.equal({
      specs: ['test/integration', 'test/v2'],
      grep: undefined,
      timeoutMs: 900_000,
      keep: false,
    });
  });

  it('takes specs relative to or inside the checkout, a grep, a timeout and --keep', function () {
    const options = parseLaneArgs(
      [join(checkout, 'test/v2/writeback.test.ts'), '--grep', 'kworker', '--timeout', '90', '--keep'],
      checkout,
    );
    expect(options).to.deep.equal({
      specs: ['test/v2/writeback.test.ts'],
      grep: 'kworker',
      timeoutMs: 90_000,
      keep: true,
    });
  });

  for (const [argv, message] of [
    [['test/v3'], 'does not exist'],
    [['../elsewhere'], 'must be a path inside'],
    [['--timeout', 'soon'], '--timeout wants a positive number'],
    [['--timeout', '0'], '--timeout wants a positive number'],
    [['--verbose'], "Unknown option '--verbose'"],
  ] as const) {
    it(`rejects ${argv.join(' ')} with a clear BadArgument`, function () {
      let caught: unknown;
      try {
        parseLaneArgs(argv, checkout);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(VmLaneError);
      expect((caught as VmLaneError).code).to.equal('BadArgument');
      expect((caught as VmLaneError).message).to.contain(message);
    });
  }
});
