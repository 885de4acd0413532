// Agent footprint benchmark (prints, asserts nothing): the node agent as a process, with a
// session active on its node, while the node holds thousands of pod-shaped cgroups and a
// churn of new short-lived containers every second. Prints the agent's RSS, CPU time and
// known cgroups over time: memory must level off (tombstones are dropped once read), and
// CPU stays a small share of one core.
// Run as root: npm run bench:agent [-- static-cgroups churn-per-second seconds]
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import Table from 'cli-table3';

import { startAgent } from '../testbed/components/agent-process.js';
import { startControlPlane } from '../testbed/cluster/control-plane.js';
import { eventually } from '../testbed/cluster/eventually.js';
import { kubectl } from '../testbed/cluster/kubectl.js';
import { containerCgroupPath, podCgroupPath } from '../testbed/kubelet/cgroup-layout.js';
import { NodeHarness } from '../testbed/kubelet/node-harness.js';
import { OperatorProcess } from '../testbed/components/operator-process.js';
import { cpuHog } from '../testbed/workloads/commands.js';
import { TestCgroup } from '../testbed/host/cgroups.js';

const [staticCount = 2000, churnPerSecond = 50, seconds = 60] = process.argv.slice(2).map(Number);

/** Resident memory and CPU time (user + system) of a process, from /proc. */
function usage(pid: number): { rssMiB: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMiB: rssKiB / 1024, cpuSeconds: ticks / 100 };
}

/** A pod-level cgroup and its one container cgroup, kubelet layout (systemd driver). */
function podCgroups(scope: string): { pod: TestCgroup; container: TestCgroup } {
  const uid = randomUUID();
  const pod = TestCgroup.create(join(scope, podCgroupPath('systemd', 'Burstable', uid)));
  const id = randomBytes(32).toString('hex');
  const container = TestCgroup.create(join(scope, containerCgroupPath('systemd', 'Burstable', uid, id)));
  return { pod, container };
}

const cp = await startControlPlane();
const stateDir = mkdtempSync(join(tmpdir(), 'crosstalk-bench-agent-'));
const cgroups: TestCgroup[] = [];
let node: NodeHarness | undefined;
try {
  node = await NodeHarness.start({ kubeconfig: cp.kubeconfigPath('admin'), nodeName: 'node-a' });
  const operator = await OperatorProcess.start(cp, 'bench', ['--no-leader-elect']);
  const agent = await startAgent(cp, { nodeName: 'node-a', cgroupScope: node.cgroupScope, stateDir, compiled: true });
  const pid = agent.pid;
  await kubectl(cp, ['create', 'namespace', 'shop'], { check: true });
  await node.createPod({
    name: 'victim',
    namespace: 'shop',
    labels: { app: 'victim' },
    containers: [{ name: 'app', command: cpuHog(), cpus: '1' }],
  });
  console.error(`creating ${staticCount} pod-shaped cgroups...`);
  for (let i = 0; i < staticCount; i++) cgroups.push(podCgroups(node.cgroupScope).pod);
  const session = {
    apiVersion: 'crosstalk.dev/v1alpha1',
    kind: 'DiagnosticSession',
    metadata: { name: 'bench', namespace: 'shop' },
    spec: { selector: { matchLabels: { app: 'victim' } }, interval: '5s' },
  };
  await kubectl(cp, ['apply', '-f', '-'], { input: JSON.stringify(session), check: true });
  await eventually(async () => {
    if ((await agent.metric('crosstalk_agent_probes_attached')) !== 1) throw new Error('probes not attached yet');
  }, 60_000);

  const table = new Table({
    head: [
      't (s)',
      'agent RSS (MiB)',
      'JS heap used (MiB)',
      'agent CPU (% of a core)',
      'cgroups known',
      'containers started',
    ],
    style: { head: [], border: [] },
  });
  let started = 0;
  let last = usage(pid);
  const t0 = Date.now();
  let nextSample = 5;
  while ((Date.now() - t0) / 1000 < seconds) {
    const tick = Date.now();
    // Each churned container: a cgroup, a process that exits at once, the cgroup removed.
    await Promise.all(
      Array.from({ length: churnPerSecond }, async () => {
        const { pod, container } = podCgroups(node!.cgroupScope);
        await container.run('true');
        await pod.remove();
        started++;
      }),
    );
    const elapsed = (Date.now() - t0) / 1000;
    if (elapsed >= nextSample) {
      const now = usage(pid);
      table.push([
        elapsed.toFixed(0),
        now.rssMiB.toFixed(1),
        ((await agent.metric('nodejs_heap_size_used_bytes')) / 2 ** 20).toFixed(1),
        ((100 * (now.cpuSeconds - last.cpuSeconds)) / 5).toFixed(1),
        String(await agent.metric('crosstalk_agent_cgroups')),
        String(started),
      ]);
      last = now;
      nextSample += 5;
    }
    await sleep(Math.max(0, 1000 - (Date.now() - tick)));
  }
  console.log(
    `agent footprint: ${staticCount} static pod cgroups (x hierarchies) + ${churnPerSecond} new containers/s for ${seconds} s`,
  );
  console.log(table.toString());
  await agent.stop();
  await operator.stop();
} finally {
  for (const c of cgroups) await c.remove();
  await node?.close();
  await cp.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
