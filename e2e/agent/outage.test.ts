// The control plane goes away (issue 22): kube-apiserver and etcd are stopped for 60 s in
// the middle of a session, then started again on the same ports with the same data. The
// agent measures throughout and writes the missed status once the API is back (no window
// lost, none counted twice); the operator (leader election on) stays up, leads again and
// the session's status catches up; the backoff is bounded and shows in the metrics.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ComponentProcess, LogLine } from '../../testbed/cluster/component-process.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';
import type { OperatorProcess } from '../../testbed/components/operator-process.js';
import { missingBpf, requireOrSkip } from '../../testbed/host/requirements.js';
import type { NodeHarness } from '../../testbed/kubelet/node-harness.js';
import { cpuAggressorPod, cpuVictimPod } from '../../testbed/workloads/pods.js';
import { useControlPlane } from '../support/mocha.js';
import { startNodeStack, stopNodeStack } from '../support/node-stack.js';

interface Window {
  sequence: number;
  windowsReported: number;
  firstStart: string;
  end: string;
}

const outageMs = 60_000;

/** Resident memory of a process, MiB. */
function rssMiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

describe('an API server outage (e2e)', function () {
  this.timeout(300_000);
  const cp = useControlPlane();

  describe('mid-session, with the operator and the agent running', function () {
    let node: NodeHarness;
    let operator: OperatorProcess;
    let agent: ComponentProcess;
    let stateDir: string;

    before(async function () {
      requireOrSkip(this, missingBpf());
      // Leader election on: the operator must lose its lease and win it back.
      ({ node, operator, agent, stateDir } = await startNodeStack(cp(), {
        namespaces: ['shop', 'batch'],
        operatorArgs: [],
      }));
    });

    after(() => stopNodeStack({ node, operator, agent, stateDir }));

    async function nodeWindow(): Promise<Window> {
      const out = await kubectl(cp(), ['get', 'nodediag', '-n', 'shop', 'outage-node-a', '-o', 'json'], {
        check: true,
      });
      const window = (JSON.parse(out.stdout) as { status?: { window?: Window } }).status?.window;
      if (!window) throw new Error('no window reported yet');
      return window;
    }

    it('measures through 60 s without an API server, loses no window and counts none twice', async function () {
      await node.createPod(cpuVictimPod());
      await node.createPod(cpuAggressorPod());
      const manifest = {
        apiVersion: 'crosstalk.dev/v1alpha1',
        kind: 'DiagnosticSession',
        metadata: { name: 'outage', namespace: 'shop' },
        spec: { selector: { matchLabels: { app: 'checkout' } }, interval: '4s' },
      };
      await kubectl(cp(), ['apply', '-f', '-'], { input: JSON.stringify(manifest), check: true });
      const before = await eventually(
        async () => {
          const w = await nodeWindow();
          if (w.windowsReported < 2) throw new Error('waiting for two windows');
          return w;
        },
        60_000,
        500,
      );
      const lost = (w: Window) => w.sequence - w.windowsReported;
      const rss = { agent: rssMiB(agent.pid), operator: rssMiB(operator.component.pid) };

      await cp().stopApi();
      await sleep(outageMs / 2);
      expect(await agent.metric('crosstalk_agent_status_write_backoff_seconds'), 'backing off').to.be.above(0);
      expect(await agent.metric('crosstalk_agent_status_write_backoff_seconds'), 'bounded').to.be.at.most(30);
      await sleep(outageMs / 2);
      expect(agent.running && operator.running, 'neither process exits').to.be.true;
      const ticks = await agent.metric('crosstalk_agent_ticks_total');
      await cp().restoreApi();

      // The agent writes what it measured meanwhile: every window, none twice.
      const after = await eventually(
        async () => {
          const w = await nodeWindow();
          if (w.sequence < before.sequence + outageMs / 4000) throw new Error(`at window ${w.sequence}`);
          return w;
        },
        60_000,
        500,
      );
      expect(after.firstStart).to.equal(before.firstStart);
      expect(lost(after), 'windows lost').to.equal(lost(before));
      expect(ticks, 'the agent kept reading its probes').to.be.above(outageMs / 1000);
      // The operator leads again and the session shows the node's latest report.
      await eventually(async () => expect(await operator.metric('crosstalk_operator_leader')).to.equal(1), 60_000, 500);
      await eventually(
        async () => {
          const out = await kubectl(cp(), ['get', 'dsess', '-n', 'shop', 'outage', '-o', 'json'], { check: true });
          const s = JSON.parse(out.stdout) as {
            status?: { reports?: { aggressors?: { pod?: { name: string } }[] }[] };
          };
          expect(s.status?.reports?.[0]?.aggressors?.[0]?.pod?.name).to.equal('etl');
          const nd = await nodeWindow();
          expect(nd.sequence).to.be.at.least(after.sequence);
        },
        30_000,
        500,
      );
      expect(await agent.metric('crosstalk_agent_status_write_backoff_seconds'), 'recovered').to.equal(0);
      const messages = (lines: readonly LogLine[]) => lines.map((l) => l.msg).join('\n');
      expect(messages(agent.log())).to.match(/status write failed; retrying with backoff/);
      expect(messages(operator.log())).to.match(/became leader[^]*lost leadership[^]*became leader/);
      // Nothing piles up while the API is away (queued writes, watch buffers).
      expect(rssMiB(agent.pid) - rss.agent, 'agent RSS growth, MiB').to.be.below(40);
      expect(rssMiB(operator.component.pid) - rss.operator, 'operator RSS growth, MiB').to.be.below(40);
      console.log(
        `      outage ${outageMs / 1000} s: windows ${before.sequence} → ${after.sequence}, lost ${lost(after) - lost(before)}; ` +
          `RSS agent ${rss.agent.toFixed(0)} → ${rssMiB(agent.pid).toFixed(0)} MiB, operator ${rss.operator.toFixed(0)} → ${rssMiB(operator.component.pid).toFixed(0)} MiB`,
      );
      await kubectl(cp(), ['delete', 'dsess', '-n', 'shop', 'outage', '--wait=true'], { check: true });
    });
  });
});
