// Agent footprint benchmark (prints, asserts nothing): the node agent as a process, with a
// session active on its node, while the node holds thousands of pod-shaped cgroups and a
// churn of new short-lived containers every second. Prints the agent's RSS, CPU time and
// known cgroups over time: memory must level off (tombstones are dropped once read), and
// CPU stays a small share of one core. First, before any session, the agent idle (nothing
// loaded) for idle-seconds.
// A neighbour pod switches context about --switches times a second meanwhile (the node's
// measured rate is printed), so the probes run at a busy node's event rate.
// Run as root: npm run bench:agent [-- static-cgroups churn-per-second seconds]
//   [--idle-seconds 10] [--switches 50000] [--node-options "<node flags for the agent>"] [--json file]
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import Table from 'cli-table3';

import { startAgent } from '../testbed/components/agent-process.js';
import { startControlPlane } from '../testbed/cluster/control-plane.js';
import { eventually } from '../testbed/cluster/eventually.js';
import { kubectl } from '../testbed/cluster/kubectl.js';
import { containerCgroupPath, podCgroupPath } from '../testbed/kubelet/cgroup-layout.js';
import { NodeHarness } from '../testbed/kubelet/node-harness.js';
import { OperatorProcess } from '../testbed/components/operator-process.js';
import { contextSwitcher, cpuHog } from '../testbed/workloads/commands.js';
import { TestCgroup } from '../testbed/host/cgroups.js';

const args = parseArgs({
  options: {
    json: { type: 'string' },
    'node-options': { type: 'string', default: '' },
    'idle-seconds': { type: 'string', default: '10' },
    switches: { type: 'string', default: '50000' },
  },
  allowPositionals: true,
});
const [staticCount = 2000, churnPerSecond = 50, seconds = 60] = args.positionals.map(Number);
const idleSeconds = Number(args.values['idle-seconds']);
const nodeOptions = args.values['node-options'];
const switchesPerSecond = Number(args.values.switches);

/** One reading of the agent process. */
interface Sample {
  readonly t: number;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  /** From /proc over the last sample period, in % of one core. */
  readonly cpuPercent: number;
  /** What the agent itself reports (crosstalk_agent_cpu_ratio), in % of one core. */
  readonly reportedCpuPercent: number;
  readonly cgroups: number;
  readonly containersStarted: number;
  /** The node's context switches per second over the sample period (/proc/stat ctxt). */
  readonly switchesPerSecond: number;
}

/** The node's context switches since boot. */
function contextSwitches(): number {
  return Number(/^ctxt (\d+)/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0);
}

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

// The agent inherits the environment: its node flags (V8 heap sizing) go through NODE_OPTIONS.
if (nodeOptions) process.env.NODE_OPTIONS = nodeOptions;
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
  const sample = async (
    t: number,
    since: { cpuSeconds: number; switches: number },
    period: number,
    started: number,
  ) => {
    const now = { ...usage(pid), switches: contextSwitches() };
    const s: Sample = {
      t,
      rssMiB: now.rssMiB,
      heapUsedMiB: (await agent.metric('nodejs_heap_size_used_bytes')) / 2 ** 20,
      cpuPercent: (100 * (now.cpuSeconds - since.cpuSeconds)) / period,
      reportedCpuPercent: 100 * (await agent.metric('crosstalk_agent_cpu_ratio')),
      cgroups: await agent.metric('crosstalk_agent_cgroups'),
      containersStarted: started,
      switchesPerSecond: (now.switches - since.switches) / period,
    };
    return { s, now };
  };
  // Idle: no session names the node, so nothing is loaded.
  const idle: Sample[] = [];
  let idleBase = { ...usage(pid), switches: contextSwitches() };
  for (let t = 2; t <= idleSeconds; t += 2) {
    await sleep(2000);
    const { s, now } = await sample(t - idleSeconds, idleBase, 2, 0);
    idle.push(s);
    idleBase = now;
  }
  const session = {
    apiVersion: 'crosstalk.dev/v1alpha1',
    kind: 'DiagnosticSession',
    metadata: { name: 'bench', namespace: 'shop' },
    spec: { selector: { matchLabels: { app: 'victim' } }, interval: '5s' },
  };
  if (switchesPerSecond > 0)
    await node.createPod({
      name: 'switcher',
      namespace: 'shop',
      labels: { app: 'switcher' },
      containers: [{ name: 'app', command: contextSwitcher(switchesPerSecond) }],
    });
  await kubectl(cp, ['apply', '-f', '-'], { input: JSON.stringify(session), check: true });
  await eventually(async () => {
    if ((await agent.metric('crosstalk_agent_probes_attached')) !== 1) throw new Error('probes not attached yet');
  }, 60_000);

  const samples: Sample[] = [];
  let started = 0;
  let last = { ...usage(pid), switches: contextSwitches() };
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
      const { s, now } = await sample(Math.round(elapsed), last, 5, started);
      samples.push(s);
      last = now;
      nextSample += 5;
    }
    await sleep(Math.max(0, 1000 - (Date.now() - tick)));
  }
  const table = new Table({
    head: [
      't (s)',
      'agent RSS (MiB)',
      'JS heap used (MiB)',
      'agent CPU (% of a core)',
      'as it reports itself',
      'cgroups known',
      'containers started',
      'node context switches/s',
    ],
    style: { head: [], border: [] },
  });
  for (const s of [...idle, ...samples])
    table.push([
      String(s.t),
      s.rssMiB.toFixed(1),
      s.heapUsedMiB.toFixed(1),
      s.cpuPercent.toFixed(1),
      s.reportedCpuPercent.toFixed(1),
      String(s.cgroups),
      String(s.containersStarted),
      s.switchesPerSecond.toFixed(0),
    ]);
  console.log(
    `agent footprint: idle ${idleSeconds} s (t <= 0, no session), then ${staticCount} static pod cgroups (x hierarchies) + ${churnPerSecond} new containers/s + a pod switching context ~${switchesPerSecond}/s for ${seconds} s${nodeOptions ? `; agent node options: ${nodeOptions}` : ''}`,
  );
  console.log(table.toString());
  if (args.values.json)
    writeFileSync(
      args.values.json,
      JSON.stringify(
        { staticCount, churnPerSecond, switchesPerSecond, seconds, idleSeconds, nodeOptions, idle, samples },
        null,
        2,
      ),
    );
  await agent.stop();
  await operator.stop();
} finally {
  for (const c of cgroups) await c.remove();
  await node?.close();
  await cp.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
