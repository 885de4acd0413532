// Kernel-side faults (issue 22), against the real control plane, the operator and a real
// agent with real probes:
// - the agent SIGKILLed every few seconds for a minute while a restart loop (as the
//   DaemonSet's) starts it again: its BPF programs, maps and links are counted with
//   bpftool before, during and after; none outlives its process (the agent pins nothing:
//   a killed agent's descriptors close and the kernel frees what they held), none
//   accumulates, and the session's windows continue from the state directory with no
//   window lost and none counted twice;
// - an agent whose maps and ring buffers are shrunk (CROSSTALK_TEST_PROBE_SIZES) on a node
//   with more cgroups than they hold and a burst of cgroup events: the session says
//   ProbesHealthy=False, ProbeDegraded, naming the probe and what overflowed, and the
//   agent keeps measuring.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ComponentProcess } from '../../testbed/cluster/component-process.js';
import { allCpus, setCpuAffinity } from '../../testbed/cluster/cpu-affinity.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';
import { startAgent } from '../../testbed/components/agent-process.js';
import { OperatorProcess } from '../../testbed/components/operator-process.js';
import { bpffsPins, bpfKey, bpfObjects, heldBy, heldByAnyProcess } from '../../testbed/host/bpf-objects.js';
import { TestCgroup } from '../../testbed/host/cgroups.js';
import { missingBpf, requireOrSkip } from '../../testbed/host/requirements.js';
import { NodeHarness } from '../../testbed/kubelet/node-harness.js';
import { cpuHog } from '../../testbed/workloads/commands.js';
import { useControlPlane } from '../support/mocha.js';
import { applySession, readSession, type SessionJson } from '../support/sessions.js';

interface NodeDiagnosticJson {
  metadata: { name: string; creationTimestamp: string };
  status?: { window?: { sequence: number; windowsReported: number; start: string; end: string } };
}

const systemCpu = '0';
const node = 'node-a';

describe('kernel-side faults (e2e)', function () {
  this.timeout(300_000);
  const cp = useControlPlane();

  // Nested, so that its after hook (the harness, the agent) runs before the control plane stops.
  describe('on one harness node', function () {
    let harness: NodeHarness;
    let operator: OperatorProcess;
    let stateDir: string;
    let agent: ComponentProcess | undefined;
    let runs = 0;

    const launch = async (env?: Record<string, string>) => {
      agent = await startAgent(
        cp(),
        {
          nodeName: node,
          cgroupScope: harness.cgroupScope,
          stateDir: join(stateDir, node),
          ...(env ? { env } : {}),
        },
        ++runs,
      );
      return agent;
    };

    before(async function () {
      requireOrSkip(this, missingBpf());
      for (const c of cp().components) setCpuAffinity(c.pid, systemCpu);
      setCpuAffinity(process.pid, systemCpu);
      stateDir = mkdtempSync(join(tmpdir(), 'crosstalk-agent-state-'));
      harness = await NodeHarness.start({ kubeconfig: cp().kubeconfigPath('admin'), nodeName: node });
      operator = await OperatorProcess.start(cp(), 'op-1', ['--no-leader-elect']);
      for (const ns of ['shop', 'batch']) await kubectl(cp(), ['create', 'namespace', ns], { check: true });
      // Ground truth: the victim shares CPU 1 with one burner, so it waits about half the time.
      await harness.createPod({
        name: 'checkout',
        namespace: 'shop',
        labels: { app: 'checkout' },
        containers: [{ name: 'app', command: cpuHog(), cpus: '1' }],
      });
      await harness.createPod({
        name: 'etl',
        namespace: 'batch',
        labels: { app: 'etl' },
        containers: [{ name: 'worker', command: cpuHog(), cpus: '1' }],
      });
    });

    after(async function () {
      setCpuAffinity(process.pid, allCpus());
      if (agent?.running) await agent.stop();
      if (operator?.running) await operator.stop();
      await harness?.close();
      if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    });

    afterEach(async function () {
      await kubectl(cp(), ['delete', 'dsess', '-n', 'shop', '--all', '--wait=true']);
      if (agent?.running) await agent.stop();
    });

    const apply = (name: string, spec: Record<string, unknown>) => applySession(cp(), name, spec);
    const session = (name: string) => readSession(cp(), name);

    async function nodeDiagnostic(sessionName: string): Promise<NodeDiagnosticJson | undefined> {
      const out = await kubectl(cp(), ['get', 'nodediagnostics', '-n', 'shop', '-o', 'json'], { check: true });
      const items = (JSON.parse(out.stdout) as { items: NodeDiagnosticJson[] }).items;
      return items.find((i) => i.metadata.name.startsWith(`${sessionName}-`));
    }

    const condition = (s: SessionJson, type: string) => s.status?.conditions?.find((c) => c.type === type);

    async function running(name: string): Promise<void> {
      await eventually(
        async () => expect((await session(name)).status?.nodes).to.deep.include({ ready: 1 }),
        60_000,
        250,
      );
    }

    it('survives SIGKILL every few seconds for a minute: no BPF object leaks or accumulates, no window lost or counted twice', async function () {
      // The kernel's objects before any agent ran, and those no process holds (leaked).
      const before = bpfObjects();
      const orphans = () => {
        const held = heldByAnyProcess();
        return bpfObjects().filter((o) => !held.has(bpfKey(o.kind, o.id)));
      };
      const orphansBefore = new Set(orphans().map((o) => bpfKey(o.kind, o.id)));
      const newOrphans = () => orphans().filter((o) => !orphansBefore.has(bpfKey(o.kind, o.id)));
      expect(bpffsPins(), 'bpffs pins before').to.deep.equal([]);

      await launch();
      const intervalMs = 10_000;
      await apply('restarts', { selector: { matchLabels: { app: 'checkout' } }, interval: '10s' });
      await running('restarts');
      // One agent's set: what the first agent holds once attached.
      const held = (pid: number) => {
        const keys = heldBy(pid);
        return bpfObjects().filter((o) => keys.has(bpfKey(o.kind, o.id)));
      };
      const one = held(agent!.pid);
      const names = new Set(one.map((o) => `${o.kind}:${o.name}`));
      const ours = () => bpfObjects().filter((o) => names.has(`${o.kind}:${o.name}`));
      const count = (objs: readonly { kind: string }[]) =>
        Object.fromEntries(['prog', 'map', 'link'].map((k) => [k, objs.filter((o) => o.kind === k).length]));
      console.log(`      one agent's set: ${JSON.stringify(count(one))}`);
      console.log(
        `      crosstalk's before the first agent: ${JSON.stringify(count(before.filter((o) => names.has(`${o.kind}:${o.name}`))))}`,
      );
      expect(one.filter((o) => o.kind === 'prog').length, 'programs of one agent').to.be.greaterThan(0);

      const nd = (await nodeDiagnostic('restarts'))!;
      const epochMs = Date.parse(nd.metadata.creationTimestamp);
      // The status as seen every half second: windows only ever advance, one at a time.
      const seen: { sequence: number; windowsReported: number }[] = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const w = (await nodeDiagnostic('restarts'))?.status?.window;
          const last = seen[seen.length - 1];
          if (w && (!last || w.sequence !== last.sequence || w.windowsReported !== last.windowsReported))
            seen.push({ sequence: w.sequence, windowsReported: w.windowsReported });
          await sleep(500);
        }
      })();

      // The restart loop: a SIGKILL every few seconds, the agent started again at once. A
      // kill is held back while the next window would close before the new agent is up:
      // what a dead agent measured since its last status write is gone with it, and this
      // test is about what the state directory carries across, not about downtime.
      let restartMs = 4500;
      const restarts: number[] = [];
      const kills: number[] = [];
      const during: { agentHolds: number; ours: number; orphans: number }[] = [];
      const loopEnd = Date.now() + 60_000;
      while (Date.now() < loopEnd) {
        await sleep(1500 + Math.random() * 1500);
        const now = Date.now();
        const nextClose = epochMs + Math.ceil((now - epochMs) / intervalMs) * intervalMs;
        if (nextClose - now < restartMs + 1500) await sleep(nextClose - now + 1500);
        during.push({ agentHolds: heldBy(agent!.pid).size, ours: ours().length, orphans: newOrphans().length });
        await agent!.kill();
        kills.push(Date.now());
        const started = Date.now();
        await launch();
        restarts.push(Date.now() - started);
        restartMs = Math.max(restartMs, Date.now() - started + 500);
      }
      console.log(
        `      ${kills.length} SIGKILLs in 60 s (restarts took ${restarts.join(', ')} ms); before each kill: agent held ` +
          `${Math.min(...during.map((d) => d.agentHolds))}-${Math.max(...during.map((d) => d.agentHolds))} objects, ` +
          `crosstalk's in the kernel ${Math.min(...during.map((d) => d.ours))}-${Math.max(...during.map((d) => d.ours))}, ` +
          `new unheld ${Math.max(...during.map((d) => d.orphans))}`,
      );
      expect(kills.length, 'SIGKILLs').to.be.at.least(6);
      for (const d of during) {
        expect(d.agentHolds, 'objects the running agent holds').to.be.at.most(one.length);
        expect(d.ours, 'crosstalk objects in the kernel: one agent’s set, nothing accumulated').to.be.at.most(
          one.length,
        );
        expect(d.orphans, 'objects no process holds').to.equal(0);
      }

      // The windows: the agent is left running for two more windows, then the session stops.
      await running('restarts');
      const settled = seen[seen.length - 1]?.sequence ?? 0;
      await eventually(
        async () => expect((await nodeDiagnostic('restarts'))?.status?.window?.sequence).to.be.at.least(settled + 2),
        40_000,
        500,
      );
      watching = false;
      await watcher;
      const final = (await nodeDiagnostic('restarts'))!.status!.window!;
      const first = seen[0]!;
      const lost = final.sequence - first.sequence - (final.windowsReported - first.windowsReported);
      console.log(
        `      windows ${first.sequence}..${final.sequence}: ${final.windowsReported - first.windowsReported + 1} reported, ${lost} lost; ` +
          `status steps ${seen.map((s) => `${s.sequence}/${s.windowsReported}`).join(' ')}`,
      );
      for (let i = 1; i < seen.length; i++) {
        const [a, b] = [seen[i - 1]!, seen[i]!];
        expect(b.sequence - a.sequence, `window numbers go forward (${a.sequence} -> ${b.sequence})`).to.be.at.least(0);
        // Every step of the window number is one window folded in: none skipped, none twice.
        expect(b.windowsReported - a.windowsReported, `windows folded at ${a.sequence} -> ${b.sequence}`).to.equal(
          b.sequence - a.sequence,
        );
      }
      expect(lost, 'windows lost').to.equal(0);
      // Totals consistent: over every restart, the victim still waited about half its time,
      // for its neighbour (a window counted twice would inflate it, a lost one leave a hole).
      const s = await session('restarts');
      const victim = s.status?.reports?.find((r) => r.name === 'checkout');
      const wait = victim?.metrics?.cpu?.waitPercent ?? 0;
      console.log(`      victim cpu wait over the session: ${wait}% (ground truth ~50%)`);
      expect(wait, JSON.stringify(victim)).to.be.within(35, 65);
      expect(victim?.aggressors?.[0]?.pod?.name).to.equal('etl');

      // After: the session stops, the agent detaches; then it exits. Nothing remains.
      await kubectl(cp(), ['delete', 'dsess', '-n', 'shop', 'restarts', '--wait=true'], { check: true });
      await eventually(
        () => Promise.resolve(expect(heldBy(agent!.pid).size, 'held by the idle agent').to.equal(0)),
        30_000,
        250,
      );
      // The kernel frees a map whose last reference went in a workqueue, a moment later.
      const isNew = (o: { kind: string; id: number }) => !before.some((b) => b.kind === o.kind && b.id === o.id);
      const freed = (what: string) =>
        eventually(() => Promise.resolve(expect(ours().filter(isNew), what).to.deep.equal([])), 10_000, 100);
      await freed('after the session stopped');
      const afterSession = ours();
      await agent!.stop();
      await freed('after the agent exited');
      const afterExit = ours();
      console.log(
        `      crosstalk's after the session stopped: ${JSON.stringify(count(afterSession))}; after the agent exited: ${JSON.stringify(count(afterExit))}; new unheld ${newOrphans().length}; pins ${bpffsPins().length}`,
      );
      expect(newOrphans()).to.deep.equal([]);
      expect(bpffsPins()).to.deep.equal([]);
    });

    it('shows overflowed maps and a flooded ring buffer as ProbesHealthy=False ProbeDegraded, and keeps measuring', async function () {
      await launch({ CROSSTALK_TEST_PROBE_SIZES: 'maps=8,ring=4096' });
      // cpu alone: an unsupported probe (cache: no PMU here) would outrank the degraded one.
      await apply('overflow', {
        selector: { matchLabels: { app: 'checkout' } },
        interval: '2s',
        probes: Object.fromEntries(['cpu', 'io', 'memory', 'cache', 'psi'].map((p) => [p, { enabled: p === 'cpu' }])),
      });
      await running('overflow');
      // More busy cgroups than the maps hold, beneath this test's own cgroup, and their
      // mkdirs in one burst: a cgroup event is 552 bytes, the ring one page.
      const run = `crosstalk-overflow-${process.pid}`;
      const crowd: TestCgroup[] = [];
      try {
        for (let i = 0; i < 40; i++) crowd.push(TestCgroup.create(`${run}/c${i}`));
        const busy = crowd.map((cg) =>
          cg.spawn('taskset', ['-c', '1', 'timeout', '1', 'sh', '-c', 'while :; do :; done']),
        );
        const degraded = await eventually(
          async () => {
            const c = condition(await session('overflow'), 'ProbesHealthy');
            expect(c).to.include({ status: 'False', reason: 'ProbeDegraded' });
            expect(c?.message)
              .to.match(/kernel map overflows/)
              .and.match(/cgroup events lost/);
            return c!;
          },
          30_000,
          500,
        );
        console.log(`      ProbesHealthy: ${degraded.reason}: ${degraded.message}`);
        expect(degraded.message).to.match(/cpu degraded on node-a: \d+ kernel map overflows \(.*shares partial\)/);
        for (const child of busy) if (child.exitCode === null) child.kill('SIGKILL');
      } finally {
        for (const cg of crowd.reverse()) await cg.remove();
        await TestCgroup.create(run).remove();
      }
      // Still measuring, and the victim's own entries (made before the crowd) still count.
      const s = await eventually(
        async () => {
          const r = await session('overflow');
          expect(r.status?.reports?.[0]?.aggressors?.[0]?.pod?.name).to.equal('etl');
          return r;
        },
        20_000,
        500,
      );
      expect(agent!.running, 'agent alive after the overflow').to.equal(true);
      console.log(`      victim after the overflow: ${JSON.stringify(s.status?.reports?.[0]?.metrics?.cpu)}`);
    });
  });
});
