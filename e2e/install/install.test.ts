// crosstalk installed as a platform team installs it (issue 17): the image built by
// `make image`, `helm install` of charts/crosstalk into a control plane that runs
// workloads (kube-scheduler binds the pods, the deployment, replicaset and daemonset
// controllers make them, ServiceAccount admission gives them tokens), two harness nodes
// that run the image's operator and agent sandboxed with the chart's capabilities, mounts
// and in-cluster config, a session applied with kubectl and its report read back; then
// helm upgrade with a CRD change, helm uninstall, and a namespace at PodSecurity baseline.
import { ApiException, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { chartDir, helmOrThrow } from '../../testbed/cluster/chart.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';
import { crosstalkImage, missingImageTools, type CrosstalkImage } from '../../testbed/components/crosstalk-image.js';
import { bpfObjects } from '../../testbed/host/bpf-objects.js';
import { missingBpf, requireOrSkip } from '../../testbed/host/requirements.js';
import { NodeHarness } from '../../testbed/kubelet/node-harness.js';
import { cpuHog } from '../../testbed/workloads/commands.js';
import { useControlPlane } from '../support/mocha.js';

const run = promisify(execFile);
const namespace = 'crosstalk-system';
const release = 'crosstalk';

interface Report {
  name: string;
  verdict: string;
  aggressors?: { pod?: { name: string }; resource: string }[];
}
interface SessionJson {
  status?: { phase?: string; reports?: Report[] };
  metadata: { finalizers?: string[] };
}

describe('install with the Helm chart (e2e)', function () {
  this.timeout(600_000);
  const cp = useControlPlane({ workloads: true });
  // Nested, so that the nodes close before the control plane stops.
  describe('on two harness nodes that hold the image', function () {
    const nodes = new Map<string, NodeHarness>();
    let image: CrosstalkImage;
    let stateDir: string;

    const k = (args: string[], input?: string) => kubectl(cp(), args, { check: true, ...(input && { input }) });
    const helm = (...args: string[]) => helmOrThrow([...args, '--kubeconfig', cp().kubeconfigPath('admin')]);
    const installArgs = () => [
      '--namespace',
      namespace,
      '--set',
      `image.tag=${image.reference.split(':')[1]}`,
      '--set',
      `agent.stateDir=${stateDir}`,
    ];
    const progIds = () =>
      new Set(
        bpfObjects()
          .filter((o) => o.kind === 'prog')
          .map((o) => o.id),
      );

    before(async function () {
      requireOrSkip(this, missingBpf() ?? missingImageTools());
      image = await crosstalkImage();
      stateDir = mkdtempSync(join(tmpdir(), 'crosstalk-install-state-'));
      for (const nodeName of ['node-a', 'node-b']) {
        const node = await NodeHarness.start({
          kubeconfig: cp().kubeconfigPath('admin'),
          nodeName,
          images: { [image.reference]: image.ociArchive },
        });
        nodes.set(nodeName, node);
      }
    });

    let failed = false;
    afterEach(function () {
      if (this.currentTest?.state === 'failed') failed = true;
    });

    after(async function () {
      for (const node of nodes.values()) {
        await node.close({ keepLogs: failed });
        if (failed) console.log(`      ${node.nodeName}'s container logs kept in ${node.logDir}`);
      }
      if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    });

    it('installs, rolls out on both nodes and reports the aggressor; upgrade reaches the CRDs; uninstall leaves nothing running', async function () {
      const before = progIds();
      const started = Date.now();
      await helm('install', release, chartDir, '--create-namespace', ...installArgs());
      await k(['-n', namespace, 'rollout', 'status', `deployment/${release}-operator`, '--timeout=180s']);
      await k(['-n', namespace, 'rollout', 'status', `daemonset/${release}-agent`, '--timeout=180s']);
      const rolledOut = Date.now();
      const agents = JSON.parse(
        (await k(['-n', namespace, 'get', 'pods', '-l', 'app.kubernetes.io/component=agent', '-o', 'json'])).stdout,
      ) as {
        items: { spec: { nodeName: string } }[];
      };
      expect(agents.items.map((p) => p.spec.nodeName).sort()).to.deep.equal(['node-a', 'node-b']);

      // A victim on each node; the aggressor shares node-a's victim's CPU.
      const a = nodes.get('node-a')!;
      const b = nodes.get('node-b')!;
      for (const ns of ['shop', 'batch']) {
        await k(['create', 'namespace', ns]);
        // ServiceAccount admission refuses pods until the namespace's default account exists.
        await eventually(() => k(['get', 'serviceaccount', 'default', '-n', ns]), 30_000, 200);
      }
      await a.createPod({
        name: 'checkout',
        namespace: 'shop',
        labels: { app: 'checkout' },
        containers: [{ name: 'app', command: cpuHog(), cpus: '1' }],
      });
      await b.createPod({
        name: 'checkout-b',
        namespace: 'shop',
        labels: { app: 'checkout' },
        containers: [{ name: 'app', command: cpuHog(), cpus: '0' }],
      });
      await a.createPod({
        name: 'etl',
        namespace: 'batch',
        containers: [{ name: 'worker', command: cpuHog({ workers: 3 }), cpus: '1' }],
      });
      const session = {
        apiVersion: 'crosstalk.dev/v1alpha1',
        kind: 'DiagnosticSession',
        metadata: { name: 'slow-checkout', namespace: 'shop' },
        spec: { selector: { matchLabels: { app: 'checkout' } }, duration: '12s', interval: '4s' },
      };
      await k(['apply', '-f', '-'], JSON.stringify(session));
      // While the session runs, the agents' probes are attached: collected while waiting.
      const ours = new Set<number>();
      const firstReport = await eventually(
        async () => {
          for (const id of progIds()) if (!before.has(id)) ours.add(id);
          const s = JSON.parse(
            (await k(['get', 'dsess', '-n', 'shop', 'slow-checkout', '-o', 'json'])).stdout,
          ) as SessionJson;
          expect(s.status?.reports?.length ?? 0).to.be.above(0);
          return Date.now();
        },
        120_000,
        500,
      );
      await k(['wait', '-n', 'shop', 'dsess/slow-checkout', '--for=condition=Completed', '--timeout=120s']);
      const done = JSON.parse(
        (await k(['get', 'dsess', '-n', 'shop', 'slow-checkout', '-o', 'json'])).stdout,
      ) as SessionJson;
      const report = done.status?.reports?.find((r) => r.name === 'checkout');
      expect(report?.aggressors?.[0]?.pod?.name, JSON.stringify(done.status)).to.equal('etl');
      console.log(
        `      install to rollout ${((rolledOut - started) / 1000).toFixed(1)} s, to first report ${((firstReport - started) / 1000).toFixed(1)} s`,
      );

      // An agent's token is bound to its pod, so to its node: it may not write another node's NodeDiagnostic.
      const agentUser = `system:serviceaccount:${namespace}:${release}-agent`;
      const can = async (...args: string[]) =>
        (await kubectl(cp(), ['auth', 'can-i', '--as', agentUser, ...args])).stdout.trim();
      expect(await can('get', 'secrets', '-A')).to.equal('no');
      expect(await can('patch', 'diagnosticsessions.crosstalk.dev', '-n', 'shop')).to.equal('no');
      expect(await can('patch', 'nodediagnostics.crosstalk.dev', '--subresource=status', '-n', 'shop')).to.equal('yes');

      // The same with a real request: a token bound to node-a's agent pod may patch node-a's
      // NodeDiagnostic status and is refused node-b's by the admission policy.
      const agentOnA = JSON.parse(
        (
          await k([
            'get',
            'pods',
            '-n',
            namespace,
            '-l',
            'app.kubernetes.io/component=agent',
            '--field-selector',
            'spec.nodeName=node-a',
            '-o',
            'json',
          ])
        ).stdout,
      ) as { items: { metadata: { name: string } }[] };
      const token = (
        await k([
          'create',
          'token',
          `${release}-agent`,
          '-n',
          namespace,
          '--bound-object-kind',
          'Pod',
          '--bound-object-name',
          agentOnA.items[0]!.metadata.name,
        ])
      ).stdout.trim();
      const cluster = cp().clientConfig('admin').getCurrentCluster()!;
      const asAgentA = new KubeConfig();
      asAgentA.loadFromOptions({
        clusters: [{ name: 'c', server: cluster.server, caData: cluster.caData }],
        users: [{ name: 'agent', token }],
        contexts: [{ name: 'c', cluster: 'c', user: 'agent' }],
        currentContext: 'c',
      });
      const api = asAgentA.makeApiClient(CustomObjectsApi);
      const patchStatus = (node: string) =>
        api.patchNamespacedCustomObjectStatus(
          {
            group: 'crosstalk.dev',
            version: 'v1alpha1',
            namespace: 'shop',
            plural: 'nodediagnostics',
            name: `slow-checkout-${node}`,
            body: { status: {} },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      await patchStatus('node-a');
      const refused = await patchStatus('node-b').then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).to.be.instanceOf(ApiException);
      expect((refused as ApiException<string>).code).to.equal(403);
      expect(String((refused as ApiException<string>).body)).to.match(
        /may only write the NodeDiagnostic of its own node, not node-b/,
      );

      // helm upgrade with a changed CRD: the templated CRDs reach the cluster.
      const changed = mkdtempSync(join(tmpdir(), 'crosstalk-chart-'));
      try {
        cpSync(chartDir, changed, { recursive: true });
        const crds = join(changed, 'templates/crds.yaml');
        writeFileSync(
          crds,
          readFileSync(crds, 'utf8').replace(/shortNames:\n(\s+)- dsess\n/, 'shortNames:\n$1- dsess\n$1- dsessions\n'),
        );
        await helm('upgrade', release, changed, ...installArgs());
        const crd = JSON.parse((await k(['get', 'crd', 'diagnosticsessions.crosstalk.dev', '-o', 'json'])).stdout) as {
          spec: { names: { shortNames: string[] } };
        };
        expect(crd.spec.names.shortNames).to.include('dsessions');
      } finally {
        rmSync(changed, { recursive: true, force: true });
      }
      await k(['-n', namespace, 'rollout', 'status', `daemonset/${release}-agent`, '--timeout=180s']);

      const crosstalkPods = JSON.parse((await k(['get', 'pods', '-n', namespace, '-o', 'json'])).stdout) as {
        items: { metadata: { uid: string } }[];
      };
      const uids = crosstalkPods.items.map((p) => p.metadata.uid);
      // The documented order: sessions first (their NodeDiagnostics go with them), then the release.
      await k(['delete', 'dsess', '--all', '-A', '--wait', '--timeout=60s']);
      await helm('uninstall', release, '--namespace', namespace, '--wait');
      await eventually(
        async () => {
          const pods = (await k(['get', 'pods', '-n', namespace, '-o', 'name'])).stdout.trim();
          expect(pods, 'no crosstalk pod').to.equal('');
        },
        60_000,
        500,
      );
      // The nodes stopped the agents as kubelet does, SIGTERM first: each shut down cleanly.
      for (const node of [a, b]) {
        const podDirs = readdirSync(node.logDir).filter((d) => d.startsWith(`${namespace}_${release}-agent-`));
        expect(podDirs, `agent pods of ${node.nodeName}`).to.have.length.at.least(1);
        for (const dir of podDirs)
          expect(readFileSync(join(node.logDir, dir, 'agent.log'), 'utf8'), dir).to.match(/shutting down.*SIGTERM/);
      }
      expect((await k(['get', 'nodediagnostics', '-A', '-o', 'name'])).stdout.trim(), 'no NodeDiagnostic').to.equal('');
      expect(
        (await k(['get', 'crd', 'diagnosticsessions.crosstalk.dev', '-o', 'name'])).stdout.trim(),
        'CRDs kept',
      ).to.not.equal('');
      expect(ours.size, 'the agents had probes attached').to.be.above(0);
      // The kernel frees a killed process's programs from a work queue, a moment later.
      await eventually(
        () => {
          const left = progIds();
          expect(
            [...ours].filter((id) => left.has(id)),
            'no BPF program of the agents outlives them',
          ).to.deep.equal([]);
        },
        15_000,
        500,
      );
      for (const node of [a, b]) {
        for (const dir of node.hierarchies.map((h) => node.scopeDir(h))) {
          const cgroups = (await run('find', [dir, '-mindepth', '1', '-type', 'd'])).stdout;
          for (const uid of uids) expect(cgroups, `no cgroup of pod ${uid}`).to.not.include(uid.replace(/-/g, '_'));
        }
      }
    });

    it('in a namespace at PodSecurity baseline, the DaemonSet gets the FailedCreate the NOTES warn about', async function () {
      const restricted = 'restricted-install';
      await k(['create', 'namespace', restricted]);
      await k(['label', 'namespace', restricted, 'pod-security.kubernetes.io/enforce=baseline']);
      const notes = await helm(
        'install',
        'baseline-test',
        chartDir,
        '--namespace',
        restricted,
        '--set',
        'crds.install=false',
      );
      expect(notes).to.match(/pod-security\.kubernetes\.io\/enforce=privileged/);
      await eventually(
        async () => {
          const events = JSON.parse((await k(['get', 'events', '-n', restricted, '-o', 'json'])).stdout) as {
            items: { reason: string; involvedObject: { kind: string }; message: string }[];
          };
          const failed = events.items.filter(
            (e) => e.reason === 'FailedCreate' && e.involvedObject.kind === 'DaemonSet',
          );
          expect(failed.map((e) => e.message).join('\n')).to.match(/violates PodSecurity "baseline/);
        },
        60_000,
        500,
      );
      await helm('uninstall', 'baseline-test', '--namespace', restricted);
    });
  });
});
