// The node harness against the real control plane, with real cgroups and workloads: Node
// and Pod objects as kubelet would publish them, each container's process in the cgroup
// its containerID names (both cgroup drivers), limits and pinning applied, exits
// published, deletion and close() leaving nothing behind.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

import { parseKubeletCgroup, containerIdFromStatus } from '../../agent/cgroups/kubelet-path.js';
import { readProcCgroup } from '../../agent/cgroups/mounts.js';
import { missingRoot, requireOrSkip } from '../../testbed/host/requirements.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';
import { processAlive } from '../../testbed/cluster/liveness.js';
import { useControlPlane } from '../support/mocha.js';
import { cpuHog, ddWrite, fioJob, memoryHog } from '../../testbed/workloads/commands.js';
import { latencyProbeCommand, parseLatencyReports } from '../../testbed/workloads/latency-probe.js';
import type { CgroupDriver } from '../../testbed/kubelet/cgroup-layout.js';
import { NodeHarness } from '../../testbed/kubelet/node-harness.js';
import type { HarnessPod } from '../../testbed/kubelet/pod-runtime.js';

const podJson = z.object({
  metadata: z.object({ uid: z.string() }),
  spec: z.object({ nodeName: z.string() }),
  status: z.object({
    phase: z.string(),
    qosClass: z.string(),
    hostIP: z.string(),
    podIP: z.string(),
    startTime: z.string(),
    containerStatuses: z.array(
      z.object({
        name: z.string(),
        containerID: z.string(),
        state: z.object({
          running: z.object({ startedAt: z.string() }).optional(),
          terminated: z.object({ exitCode: z.number(), reason: z.string() }).optional(),
        }),
      }),
    ),
  }),
});

describe('node harness', function () {
  before(function () {
    requireOrSkip(this, missingRoot());
  });
  const cp = useControlPlane({ crds: [], controllers: [] });

  async function getPod(name: string) {
    const got = await kubectl(cp(), ['get', 'pod', name, '-o', 'json'], { check: true });
    return podJson.parse(JSON.parse(got.stdout));
  }

  async function podGone(name: string): Promise<boolean> {
    const got = await kubectl(cp(), ['get', 'pod', name, '--ignore-not-found', '-o', 'name'], { check: true });
    return got.stdout.trim() === '';
  }

  function expectCleanedUp(pod: HarnessPod): void {
    for (const container of pod.containers)
      expect(processAlive(container.pid), `${container.name} alive`).to.equal(false);
    for (const dir of pod.cgroup.dirs.values()) expect(existsSync(dir), dir).to.equal(false);
  }

  for (const driver of ['systemd', 'cgroupfs'] as const satisfies readonly CgroupDriver[]) {
    describe(`with the ${driver} driver`, function () {
      const nodeName = `node-${driver}`;
      let harness: NodeHarness;

      before(async function () {
        harness = await NodeHarness.start({ kubeconfig: cp().kubeconfigPath(), nodeName, driver });
      });
      after(async function () {
        await harness?.close();
      });

      it('registers a Ready node', async function () {
        const ready = await kubectl(cp(), [
          'get',
          'node',
          nodeName,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        expect(ready.stdout).to.equal('True');
      });

      it('shows its pods Running on the node in kubectl get pods -o wide', async function () {
        await harness.createPod({ name: `wide-${driver}`, containers: [{ name: 'main', command: ['sleep', '300'] }] });
        const wide = await kubectl(cp(), ['get', 'pod', `wide-${driver}`, '-o', 'wide'], { check: true });
        expect(column(wide.stdout, 'STATUS')).to.deep.equal(['Running']);
        expect(column(wide.stdout, 'NODE')).to.deep.equal([nodeName]);
        expect(column(wide.stdout, 'READY')).to.deep.equal(['1/1']);
        const pod = await getPod(`wide-${driver}`);
        expect(pod.status.hostIP).to.equal('127.0.0.1');
        expect(pod.status.containerStatuses[0]?.state.running?.startedAt).to.match(/^\d{4}-\d\d-\d\dT/);
        await harness.deletePod('default', `wide-${driver}`);
      });

      it("puts each container's process in the cgroup its containerID names, in every hierarchy", async function () {
        const pod = await harness.createPod({
          name: `placed-${driver}`,
          containers: [
            { name: 'a', command: ['sleep', '300'] },
            { name: 'b', command: ['sleep', '300'], resources: { requests: { cpu: '100m' } } },
          ],
        });
        const published = await getPod(pod.name);
        expect(published.status.qosClass).to.equal('Burstable');
        for (const container of pod.containers) {
          const status = published.status.containerStatuses.find((s) => s.name === container.name);
          const id = containerIdFromStatus(status?.containerID);
          expect(id, 'containerID').to.match(/^[0-9a-f]{64}$/);
          const paths = readProcCgroup(container.pid);
          for (const hierarchy of harness.hierarchies) {
            const path = paths.get(hierarchy) ?? '';
            expect(path, hierarchy).to.include(`/${harness.cgroupScope}/`);
            expect(path).to.equal(harness.cgroupPath(container.cgroup, hierarchy));
            expect(parseKubeletCgroup(path), path).to.deep.include({
              podUid: published.metadata.uid,
              qos: 'Burstable',
              driver,
              container: { id, runtime: driver === 'systemd' ? 'containerd' : 'unknown' },
            });
          }
        }
        await harness.deletePod('default', pod.name);
        expectCleanedUp(pod);
      });

      it('runs pods that live 100 ms and cleans up after them', async function () {
        const pod = await harness.createPod({
          name: `brief-${driver}`,
          containers: [{ name: 'main', command: ['sleep', '0.1'] }],
        });
        expect(await pod.finished).to.equal('Succeeded');
        const published = await getPod(pod.name);
        expect(published.status.phase).to.equal('Succeeded');
        expect(published.status.containerStatuses[0]?.state.terminated).to.deep.equal({
          exitCode: 0,
          reason: 'Completed',
        });
        await harness.deletePod('default', pod.name);
        expect(await podGone(pod.name)).to.equal(true);
        expectCleanedUp(pod);
        expect(harness.pod('default', pod.name)).to.equal(undefined);
      });
    });
  }

  describe('running workloads', function () {
    let harness: NodeHarness;
    let scratch: string;

    before(async function () {
      harness = await NodeHarness.start({ kubeconfig: cp().kubeconfigPath(), nodeName: 'node-work' });
      scratch = mkdtempSync(join(tmpdir(), 'crosstalk-harness-test-'));
    });
    after(async function () {
      await harness?.close();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    it('runs stress-ng, fio, dd and the latency probe', async function () {
      const pod = await harness.createPod({
        name: 'workloads',
        containers: [
          { name: 'cpu', command: cpuHog({ workers: 1 }) },
          { name: 'memory', command: memoryHog({ bytes: 16 * 2 ** 20 }) },
          { name: 'fio', command: fioJob({ dir: scratch, size: '4M', seconds: 60 }) },
          { name: 'dd', command: ddWrite({ file: join(scratch, 'dd.out'), megabytes: 4 }) },
          { name: 'probe', command: latencyProbeCommand({ intervalMs: 200 }) },
        ],
      });
      const byName = (name: string) => pod.containers.find((c) => c.name === name)!;
      expect((await byName('dd').exited).exitCode).to.equal(0);
      const reports = await eventually(() => {
        const parsed = parseLatencyReports(readFileSync(byName('probe').logFile, 'utf8'));
        expect(parsed.length).to.be.at.least(2);
        return parsed;
      }, 10_000);
      expect(reports[0]!.requests).to.be.above(0);
      for (const name of ['cpu', 'memory', 'fio', 'probe']) {
        const container = byName(name);
        expect(processAlive(container.pid), name).to.equal(true);
        // stress-ng and fio fork workers; all of them stay in the container's cgroup.
        expect(container.cgroup.pids(), name).to.include(container.pid);
      }
      expect(byName('cpu').cgroup.pids().length).to.be.at.least(2);
      await harness.deletePod('default', 'workloads');
      expectCleanedUp(pod);
    });

    it('applies CPU pinning, memory and CPU limits, args and env', async function () {
      const pod = await harness.createPod({
        name: 'configured',
        containers: [
          {
            name: 'main',
            command: ['sh', '-c', 'echo "$GREETING $1"; grep Cpus_allowed_list /proc/self/status; sleep 300', 'sh'],
            args: ['world'],
            env: { GREETING: 'hello' },
            cpus: '1',
            resources: { limits: { cpu: '250m', memory: '48Mi' } },
          },
        ],
      });
      expect(pod.qosClass).to.equal('Guaranteed');
      const [container] = pod.containers;
      const log = await eventually(() => {
        const text = readFileSync(container!.logFile, 'utf8');
        expect(text).to.include('Cpus_allowed_list');
        return text;
      }, 5000);
      expect(log).to.include('hello world');
      expect(log).to.match(/Cpus_allowed_list:\s+1\n/);
      const memoryLimit = limitFile(container!.cgroup.dirs, 'memory.max', 'memory.limit_in_bytes');
      expect(readFileSync(memoryLimit, 'utf8').trim()).to.equal(String(48 * 2 ** 20));
      const quota = limitFile(container!.cgroup.dirs, 'cpu.max', 'cpu.cfs_quota_us');
      expect(readFileSync(quota, 'utf8').trim()).to.match(/^25000( 100000)?$/);
      await harness.deletePod('default', 'configured');
      expectCleanedUp(pod);
    });

    it('publishes container exits and the pod phase', async function () {
      const pod = await harness.createPod({
        name: 'exits',
        containers: [
          { name: 'ok', command: ['true'] },
          { name: 'failing', command: ['sh', '-c', 'sleep 0.3; exit 7'] },
        ],
      });
      expect(await pod.finished).to.equal('Failed');
      const published = await getPod('exits');
      expect(published.status.phase).to.equal('Failed');
      const exitCodes = Object.fromEntries(
        published.status.containerStatuses.map((s) => [s.name, s.state.terminated?.exitCode]),
      );
      expect(exitCodes).to.deep.equal({ ok: 0, failing: 7 });
      await harness.deletePod('default', 'exits');
    });

    it('kills the processes, removes the cgroups and the object on kubectl delete', async function () {
      const pod = await harness.createPod({
        name: 'doomed',
        containers: [{ name: 'main', command: ['sleep', '300'] }],
      });
      // kubectl waits until the object is gone, which the harness does after cleaning up
      // (without a harness it would wait for the 30 s grace period, then time out).
      const deleted = await kubectl(cp(), ['delete', 'pod', 'doomed', '--timeout=20s']);
      expect(deleted.code, deleted.stderr).to.equal(0);
      expect(await podGone('doomed')).to.equal(true);
      await eventually(() => expectCleanedUp(pod), 5000);
    });

    it('runs pods applied with kubectl that are bound to its node', async function () {
      const manifest = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'applied', namespace: 'default' },
        spec: { nodeName: 'node-work', containers: [{ name: 'main', image: 'any', command: ['sleep', '300'] }] },
      };
      await kubectl(cp(), ['apply', '-f', '-'], { input: JSON.stringify(manifest), check: true });
      await eventually(async () => expect((await getPod('applied')).status.phase).to.equal('Running'), 10_000);
      const pod = harness.pod('default', 'applied');
      expect(pod, 'harness runs it').to.not.equal(undefined);
      await kubectl(cp(), ['delete', 'pod', 'applied'], { check: true });
      expectCleanedUp(pod!);
    });

    it('keeps up with a stream of short pods, 10 per second', async function () {
      const pods: Promise<HarnessPod>[] = [];
      for (let i = 0; i < 20; i++) {
        pods.push(
          harness.createPod({
            name: `stream-${i}`,
            labels: { stream: 'yes' },
            containers: [{ name: 'main', command: ['sleep', '0.1'] }],
          }),
        );
        await sleep(100);
      }
      const started = await Promise.all(pods);
      expect(await Promise.all(started.map((p) => p.finished))).to.deep.equal(Array(20).fill('Succeeded'));
      await Promise.all(started.map((p) => harness.deletePod(p.namespace, p.name)));
      for (const pod of started) expectCleanedUp(pod);
      const left = await kubectl(cp(), ['get', 'pods', '-l', 'stream=yes', '-o', 'name'], { check: true });
      expect(left.stdout).to.equal('');
    });
  });

  describe('several nodes on one machine', function () {
    it('keeps each node in its own cgroup scope', async function () {
      const nodes = await Promise.all(
        ['node-a', 'node-b'].map((nodeName) => NodeHarness.start({ kubeconfig: cp().kubeconfigPath(), nodeName })),
      );
      try {
        expect(nodes[0]!.cgroupScope).to.not.equal(nodes[1]!.cgroupScope);
        const pods = await Promise.all(
          nodes.map((node) =>
            node.createPod({ name: `on-${node.nodeName}`, containers: [{ name: 'main', command: ['sleep', '300'] }] }),
          ),
        );
        const wide = await kubectl(cp(), ['get', 'pods', 'on-node-a', 'on-node-b', '-o', 'wide'], { check: true });
        expect(column(wide.stdout, 'NODE')).to.deep.equal(['node-a', 'node-b']);
        expect(column(wide.stdout, 'STATUS')).to.deep.equal(['Running', 'Running']);
        pods.forEach((pod, i) => {
          const path = readProcCgroup(pod.containers[0]!.pid).get('unified') ?? '';
          expect(path).to.include(nodes[i]!.cgroupScope);
          expect(path).to.not.include(nodes[1 - i]!.cgroupScope);
        });
      } finally {
        for (const node of nodes) await node.close();
      }
    });
  });

  describe('close()', function () {
    it('leaves no node, pod, process, cgroup or log directory behind', async function () {
      const harness = await NodeHarness.start({ kubeconfig: cp().kubeconfigPath(), nodeName: 'node-closing' });
      const pods = [
        await harness.createPod({ name: 'busy', containers: [{ name: 'main', command: cpuHog({ workers: 1 }) }] }),
        await harness.createPod({ name: 'idle', containers: [{ name: 'main', command: ['sleep', '300'] }] }),
      ];
      const scopeDirs = harness.hierarchies.map((h) => harness.scopeDir(h));
      await harness.close();
      for (const pod of pods) expectCleanedUp(pod);
      for (const dir of scopeDirs) expect(existsSync(dir), dir).to.equal(false);
      expect(existsSync(harness.logDir)).to.equal(false);
      const left = await kubectl(cp(), [
        'get',
        'node/node-closing',
        'pod/busy',
        'pod/idle',
        '--ignore-not-found',
        '-o',
        'name',
      ]);
      expect(left.stdout).to.equal('');
    });
  });
});

/** The values of one column of kubectl's table output, found by its header's position. */
function column(table: string, header: string): string[] {
  const [head = '', ...rows] = table.trimEnd().split('\n');
  const start = head.search(new RegExp(`(?<=^|\\s)${header}(?=\\s|$)`));
  if (start < 0) throw new Error(`no column ${header} in ${head}`);
  return rows.map((row) => row.slice(start).split(/\s+/)[0] ?? '');
}

/** The first of the control files that exists (cgroup v2 name first, then v1). */
function limitFile(dirs: ReadonlyMap<string, string>, v2File: string, v1File: string): string {
  const candidates = [join(dirs.get('unified') ?? '', v2File), ...[...dirs.values()].map((d) => join(d, v1File))];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new Error(`none of ${candidates.join(', ')} exists`);
  return found;
}
