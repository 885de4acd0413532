// The chart by itself (issue 17): helm lint; rendered with default and with non-default
// values and applied with `kubectl apply --dry-run=server` to a real API server (which
// checks every object against its schema and the admission chain); bad values refused by
// values.schema.json with the path and the reason.
import { expect } from 'chai';

import { chartDir, runHelm } from '../../testbed/cluster/chart.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';
import { useControlPlane } from '../support/mocha.js';

describe('the Helm chart (e2e)', function () {
  this.timeout(120_000);
  const cp = useControlPlane({ controllers: [] });

  const helm = (...args: string[]) => runHelm(args);

  it('passes helm lint', async function () {
    const lint = await helm('lint', chartDir, '--strict');
    expect(lint.code, lint.stdout + lint.stderr).to.equal(0);
  });

  const variants: Record<string, string[]> = {
    default: [],
    'non-default': [
      '--set', 'agent.privileged=true',
      '--set', 'agent.allowConfirm=false',
      '--set', 'namespace.create=true',
      '--set', 'operator.replicas=1',
      '--set', 'operator.leaderElect=false',
      '--set', 'crds.install=false',
      '--set', 'monitoring.dashboard=false',
      '--set', 'agent.nodeUserPrefix=node-agent:',
      '--set', 'imagePullSecrets[0].name=registry',
      '--set', 'agent.extraArgs[0]=--log-level=debug',
    ],
  }; // prettier-ignore

  for (const [name, values] of Object.entries(variants)) {
    it(`renders with ${name} values into objects the API server accepts (dry run)`, async function () {
      const rendered = await helm('template', `dry-${name}`, chartDir, '--namespace', `dry-${name}`, ...values);
      expect(rendered.code, rendered.stderr).to.equal(0);
      // The namespace must exist for a dry run of what goes in it (a Namespace object included).
      await kubectl(cp(), ['create', 'namespace', `dry-${name}`], { check: true });
      const applied = await kubectl(cp(), ['apply', '--dry-run=server', '-f', '-'], { input: rendered.stdout });
      expect(applied.code, applied.stderr).to.equal(0);
      const kinds = [...applied.stdout.matchAll(/^([a-z0-9.]+)\//gm)].map((m) => m[1]);
      expect(kinds, applied.stdout).to.include.members([
        'deployment.apps',
        'daemonset.apps',
        'validatingadmissionpolicy.admissionregistration.k8s.io',
      ]);
      if (name === 'default') expect(kinds).to.include('customresourcedefinition.apiextensions.k8s.io');
      else
        expect(rendered.stdout)
          .to.match(/privileged: true/)
          .and.not.match(/kind: CustomResourceDefinition/);
    });
  }

  it('runs the agent as root in both security modes (the image user is not root)', async function () {
    for (const privileged of ['false', 'true']) {
      const rendered = await helm('template', 'sec', chartDir, '--set', `agent.privileged=${privileged}`,
        '--show-only', 'templates/agent-daemonset.yaml'); // prettier-ignore
      expect(rendered.code, rendered.stderr).to.equal(0);
      expect(rendered.stdout, `privileged=${privileged}`).to.match(/runAsUser: 0/);
      expect(/privileged: true/.test(rendered.stdout), rendered.stdout).to.equal(privileged === 'true');
    }
  });

  it('renders ServiceMonitors and PodMonitors only when asked and their CRDs exist', async function () {
    const monitors = ['--set', 'monitoring.serviceMonitor=true', '--set', 'monitoring.podMonitor=true'];
    const kindsOf = async (...args: string[]) => {
      const rendered = await helm('template', 'mon', chartDir, ...args);
      expect(rendered.code, rendered.stderr).to.equal(0);
      return [...rendered.stdout.matchAll(/^kind: (ServiceMonitor|PodMonitor)$/gm)].map((m) => m[1]);
    };
    expect(await kindsOf(...monitors), 'no monitoring CRDs').to.deep.equal([]);
    const withCrds = ['--api-versions', 'monitoring.coreos.com/v1/ServiceMonitor',
      '--api-versions', 'monitoring.coreos.com/v1/PodMonitor']; // prettier-ignore
    expect(await kindsOf(...withCrds), 'not asked').to.deep.equal([]);
    expect(await kindsOf(...monitors, ...withCrds)).to.have.members([
      'ServiceMonitor',
      'ServiceMonitor',
      'PodMonitor',
      'PodMonitor',
    ]);
  });

  it('installs its own Namespace at PodSecurity privileged the way NOTES.txt says', async function () {
    const namespace = 'own-namespace';
    const install = await helm('install', 'own', chartDir, '--namespace', namespace, '--create-namespace',
      '--set', 'namespace.create=true', '--set', 'crds.install=false', '--kubeconfig', cp().kubeconfigPath('admin')); // prettier-ignore
    expect(install.code, install.stderr).to.equal(0);
    const labels = await kubectl(cp(), ['get', 'namespace', namespace, '-o', 'jsonpath={.metadata.labels}'], {
      check: true,
    });
    expect(JSON.parse(labels.stdout)).to.include({ 'pod-security.kubernetes.io/enforce': 'privileged' });
    const uninstall = await helm(
      'uninstall',
      'own',
      '--namespace',
      namespace,
      '--kubeconfig',
      cp().kubeconfigPath('admin'),
    );
    expect(uninstall.code, uninstall.stderr).to.equal(0);
  });

  it('refuses bad values with the path and the reason', async function () {
    for (const [set, reason] of [
      ['agent.privileged=yes', /agent\/privileged.*want boolean/],
      ['operator.replicas=0', /operator\/replicas/],
      ['agent.capabilitys={BPF}', /additional properties 'capabilitys' not allowed|capabilitys/],
      ['image.pullPolicy=Sometimes', /pullPolicy/],
    ] as const) {
      const result = await helm('template', 'bad', chartDir, '--set', set);
      expect(result.code, set).to.not.equal(0);
      expect(result.stderr, set).to.match(reason);
    }
  });
});
