// Mocha wiring for suites that need the control plane: started once before the suite,
// stopped after it; when a test failed, the components' logs are kept and their
// directory printed.
import { requireOrSkip } from '../../testbed/host/requirements.js';
import { missingControlPlane } from '../../testbed/cluster/binaries.js';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../../testbed/cluster/control-plane.js';

/** Registers the hooks; the returned function gives the running control plane. */
export function useControlPlane(options: ControlPlaneOptions = {}): () => ControlPlane {
  let controlPlane: ControlPlane | undefined;
  let failed = false;
  before(async function () {
    requireOrSkip(this, missingControlPlane());
    this.timeout(20 * 60_000); // the first run builds the binaries (about 5 minutes)
    controlPlane = await startControlPlane(options);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });
  after(async function () {
    if (!controlPlane) return;
    await controlPlane.stop({ keepLogs: failed });
    if (failed) console.log(`      control plane logs kept in ${controlPlane.logDir}`);
  });
  return () => {
    if (!controlPlane) throw new Error('the control plane is not running (did its before hook fail?)');
    return controlPlane;
  };
}
