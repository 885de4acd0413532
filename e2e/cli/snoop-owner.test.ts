// The snoop tools with the Kubernetes API reachable: a pod on a harness node (kubelet's
// cgroup layout) writes with O_DIRECT; `bio-snoop --pod NS/NAME -o` finds the pod's UID
// through the API, shows only its IO, and names the owner by namespace and pod name.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { jsonLines } from '../../test/integration/cli/gated.js';
import { missingBpf, requireOrSkip } from '../../testbed/host/requirements.js';
import { useControlPlane } from '../support/mocha.js';
import { NodeHarness } from '../../testbed/kubelet/node-harness.js';
import { startCli } from '../../testbed/components/cli-process.js';

const MiB = 1024 * 1024;

describe('crosstalk bio-snoop with the API (e2e)', function () {
  this.timeout(180_000);
  const cp = useControlPlane({ controllers: [] });
  // Nested, so that its after hook (closing the node) runs before the control plane stops.
  describe('with a harness node', function () {
    let node: NodeHarness | undefined;
    let dir: string | undefined;

    before(async function () {
      requireOrSkip(this, missingBpf());
      node = await NodeHarness.start({ kubeconfig: cp().kubeconfigPath('admin'), nodeName: 'node-a' });
      dir = mkdtempSync(join(tmpdir(), 'crosstalk-cli-e2e-'));
    });

    after(async function () {
      await node?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('follows one pod by name and names it as the owner of its IO', async function () {
      const go = join(dir!, 'go');
      // Waits for the go file, so the IO happens while bio-snoop traces.
      const script = `while [ ! -e ${go} ]; do sleep 0.05; done; exec dd if=/dev/zero of=${join(dir!, 'out')} bs=1M count=4 oflag=direct`;
      const writer = await node!.createPod({
        name: 'writer',
        containers: [{ name: 'main', command: ['sh', '-c', script] }],
      });
      // A neighbour doing the same IO must not show. It writes after the writer, so that
      // no request of one can be merged with the other's in the queue.
      const goOther = join(dir!, 'go-other');
      const other = `while [ ! -e ${goOther} ]; do sleep 0.05; done; exec dd if=/dev/zero of=${join(dir!, 'other')} bs=1M count=2 oflag=direct`;
      const neighbour = await node!.createPod({
        name: 'other',
        containers: [{ name: 'main', command: ['sh', '-c', other] }],
      });
      const cli = startCli([
        'bio-snoop',
        '-t',
        '0',
        '--pod',
        'default/writer',
        '-o',
        '--json',
        '--kubeconfig',
        cp().kubeconfigPath('admin'),
        '--node',
        'node-a',
      ]);
      await cli.waitForStderr(/Hit Ctrl-C to end\./);
      writeFileSync(go, '');
      expect(await writer.finished).to.equal('Succeeded');
      writeFileSync(goOther, '');
      expect(await neighbour.finished).to.equal('Succeeded');
      const { code, stdout, stderr } = await cli.stop();
      expect(code, stderr).to.equal(0);
      const events = jsonLines(stdout).filter((l) => l.type === 'io');
      expect(events.length).to.be.at.least(4);
      for (const e of events) {
        expect(e.comm).to.equal('dd');
        expect(e.owner).to.deep.equal({ kind: 'Pod', namespace: 'default', name: 'writer', uid: writer.uid });
      }
      // dd may also read a block of filesystem metadata (allocation bitmaps) itself.
      const writes = events.filter((e) => String(e.t).startsWith('W'));
      expect(writes.reduce((n, e) => n + (e.bytes as number), 0)).to.equal(4 * MiB);
    });

    it('fails clearly for a pod the API does not know', async function () {
      const cli = startCli(['bio-snoop', '--pod', 'default/nope', '--kubeconfig', cp().kubeconfigPath('admin')]);
      const { code, stderr } = await cli.result;
      expect(code).to.equal(1);
      expect(stderr.trim()).to.equal('crosstalk: pod "nope" in namespace "default" not found');
    });
  });
});
