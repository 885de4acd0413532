// The operator and agent identities get exactly what the chart's access rules grant: each
// allowed verb works, everything else is denied, by RBAC (kubectl auth can-i and real
// requests) and, for an agent writing another node's NodeDiagnostic, by the admission
// policy.
import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { expect } from 'chai';
import { fileURLToPath } from 'node:url';

import { testbedRelease } from '../../testbed/cluster/chart.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import type { Identity } from '../../testbed/cluster/identities.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';
import { useControlPlane } from '../support/mocha.js';

// Stand-ins with the real names: these tests are about access, not about the schemas.
const placeholderCrds = fileURLToPath(new URL('testdata/placeholder-crds.yaml', import.meta.url));

const agentAllowed = [
  'get nodediagnostics.crosstalk.dev',
  'list nodediagnostics.crosstalk.dev',
  'watch nodediagnostics.crosstalk.dev',
  'get nodediagnostics.crosstalk.dev --subresource=status',
  'patch nodediagnostics.crosstalk.dev --subresource=status',
  'list pods',
  'watch pods',
  'get nodes',
];
const agentDenied = [
  'delete diagnosticsessions.crosstalk.dev',
  'get diagnosticsessions.crosstalk.dev',
  'create nodediagnostics.crosstalk.dev',
  'patch nodediagnostics.crosstalk.dev',
  'delete nodediagnostics.crosstalk.dev',
  'update nodediagnostics.crosstalk.dev --subresource=status',
  'get secrets',
  'list configmaps',
  'create pods',
  'patch pods',
  'delete pods',
  'get pods',
  'list nodes',
  'patch nodes',
  'create events',
  'create leases.coordination.k8s.io',
  // No way around its own node's NodeDiagnostic: nothing to patch, nothing to become.
  'patch diagnosticsessions.crosstalk.dev',
  'patch diagnosticsessions.crosstalk.dev --subresource=status',
  'create serviceaccounts --subresource=token',
  'create serviceaccounts',
  'create rolebindings.rbac.authorization.k8s.io',
  'create clusterrolebindings.rbac.authorization.k8s.io',
  'escalate clusterroles.rbac.authorization.k8s.io',
  'bind clusterroles.rbac.authorization.k8s.io',
  'impersonate users',
  'impersonate serviceaccounts',
  'create pods --subresource=exec',
];
const operatorAllowed = [
  'watch diagnosticsessions.crosstalk.dev',
  'patch diagnosticsessions.crosstalk.dev --subresource=status',
  'update diagnosticsessions.crosstalk.dev --subresource=finalizers',
  'create nodediagnostics.crosstalk.dev',
  'delete nodediagnostics.crosstalk.dev',
  'create events',
  'create events.events.k8s.io',
  'list pods',
  'get nodes',
  'watch namespaces',
];
const operatorDenied = [
  // Its lease is in the release's namespace only.
  'update leases.coordination.k8s.io',
  'create diagnosticsessions.crosstalk.dev',
  'patch nodediagnostics.crosstalk.dev --subresource=status',
  'get secrets',
  'create pods',
  'delete pods',
  'patch nodes',
  'create pods --subresource=exec',
  'get pods --subresource=exec',
  'create pods --subresource=attach',
  'create serviceaccounts --subresource=token',
  'impersonate users',
  'create clusterrolebindings.rbac.authorization.k8s.io',
];

describe('e2e RBAC for the operator and agent identities', function () {
  const cp = useControlPlane({ crds: [placeholderCrds], controllers: [] });

  async function canI(identity: Identity, check: string, namespace = 'default'): Promise<boolean> {
    const result = await kubectl(cp(), ['auth', 'can-i', ...check.split(' '), '-n', namespace], { identity });
    expect(result.stdout.trim(), `${identity} can-i ${check}: ${result.stderr}`).to.be.oneOf(['yes', 'no']);
    return result.stdout.trim() === 'yes';
  }

  async function expectAccess(identity: Identity, allowed: readonly string[], denied: readonly string[]) {
    for (const check of allowed) expect(await canI(identity, check), `${identity} may ${check}`).to.equal(true);
    for (const check of denied) expect(await canI(identity, check), `${identity} may not ${check}`).to.equal(false);
  }

  before(async function () {
    const nodeDiagnostics = ['node-a', 'node-b'].map((node) => ({
      apiVersion: 'crosstalk.dev/v1alpha1',
      kind: 'NodeDiagnostic',
      metadata: { name: `session-${node}`, namespace: 'default' },
      spec: { nodeName: node },
    }));
    const session = {
      apiVersion: 'crosstalk.dev/v1alpha1',
      kind: 'DiagnosticSession',
      metadata: { name: 'session', namespace: 'default' },
      spec: {},
    };
    const list = { apiVersion: 'v1', kind: 'List', items: [session, ...nodeDiagnostics] };
    await kubectl(cp(), ['apply', '-f', '-'], { input: JSON.stringify(list), check: true });
  });

  it('gives an agent exactly its verbs', async function () {
    await expectAccess('agent:node-a', agentAllowed, agentDenied);
  });

  it('gives the operator exactly its verbs', async function () {
    await expectAccess('operator', operatorAllowed, operatorDenied);
    expect(await canI('operator', 'update leases.coordination.k8s.io', testbedRelease.namespace)).to.equal(true);
  });

  it('refuses an agent the requests RBAC does not grant', async function () {
    const agent = { identity: 'agent:node-a' as const };
    const denials = [
      await kubectl(cp(), ['delete', 'diagnosticsession', 'session'], agent),
      await kubectl(cp(), ['get', 'secrets', '-n', 'kube-system'], agent),
      await kubectl(cp(), ['run', 'intruder', '--image', 'none', '--restart', 'Never'], agent),
      await kubectl(cp(), ['patch', 'diagnosticsession', 'session', '--type=merge', '-p', '{"spec":{}}'], agent),
      await kubectl(cp(), ['create', 'token', 'default'], agent),
      await kubectl(cp(), ['get', 'dsess', 'session', '--as', 'system:admin'], agent),
    ];
    for (const denied of denials) {
      expect(denied.code).to.not.equal(0);
      expect(denied.stderr).to.match(/forbidden/i);
      expect(denied.stderr).to.include('crosstalk-agent:node-a');
    }
    const session = await kubectl(cp(), ['get', 'diagnosticsession', 'session', '-o', 'name']);
    expect(session.stdout.trim()).to.equal('diagnosticsession.crosstalk.dev/session');
  });

  it('refuses the operator an exec into a pod', async function () {
    // The exec subresource itself (kubectl exec would stop at the pod having no node).
    await kubectl(cp(), ['run', 'target', '--image', 'none', '--restart', 'Never'], { check: true });
    const exec = '/api/v1/namespaces/default/pods/target/exec?command=true&stdout=true';
    const denied = await kubectl(cp(), ['create', '--raw', exec, '-f', '/dev/null'], { identity: 'operator' });
    expect(denied.code).to.not.equal(0);
    expect(denied.stderr).to.match(/forbidden/i);
    expect(denied.stderr).to.include('pods/exec');
  });

  it("lets an agent write its own node's NodeDiagnostic status and no other", async function () {
    const patch = (name: string, ...extra: string[]) =>
      kubectl(
        cp(),
        [
          'patch',
          'nodediagnostic',
          name,
          '--subresource=status',
          '--type=merge',
          '-p',
          '{"status":{"seen":true}}',
          ...extra,
        ],
        { identity: 'agent:node-a' },
      );
    // The API server enforces the policy once it has loaded it; dry runs pass admission too.
    await eventually(async () => {
      const dryRun = await patch('session-node-b', '--dry-run=server');
      expect(dryRun.code, 'dry-run patch of node-b accepted').to.not.equal(0);
    }, 15_000);
    const own = await patch('session-node-a');
    expect(own.code, own.stderr).to.equal(0);
    const other = await patch('session-node-b');
    expect(other.code).to.not.equal(0);
    expect(other.stderr).to.include('crosstalk-agent:node-a may only write the NodeDiagnostic of its own node');
    const seen = (name: string) =>
      kubectl(cp(), ['get', 'nodediagnostic', name, '-o', 'jsonpath={.status.seen}'], { check: true });
    expect((await seen('session-node-a')).stdout).to.equal('true');
    expect((await seen('session-node-b')).stdout).to.equal('');
  });

  it('lets an agent patch status the way the agent does: directly, with its client-node config', async function () {
    const api = cp().clientConfig('agent:node-a').makeApiClient(CustomObjectsApi);
    const patch = (name: string) =>
      api.patchNamespacedCustomObjectStatus(
        {
          group: 'crosstalk.dev',
          version: 'v1alpha1',
          namespace: 'default',
          plural: 'nodediagnostics',
          name,
          body: { status: { direct: true } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await patch('session-node-a');
    const denied = await patch('session-node-b').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(denied).to.be.instanceOf(ApiException);
    expect((denied as ApiException<string>).code).to.equal(403);
  });

  it('lets an agent read NodeDiagnostics and pods', async function () {
    const agent = { identity: 'agent:node-a' as const };
    const diagnostics = await kubectl(cp(), ['get', 'nodediagnostics', '-A', '-o', 'name'], agent);
    expect(diagnostics.code, diagnostics.stderr).to.equal(0);
    expect(diagnostics.stdout).to.include('nodediagnostic.crosstalk.dev/session-node-a');
    const pods = await kubectl(cp(), ['get', 'pods', '-A', '--field-selector', 'spec.nodeName=node-a'], agent);
    expect(pods.code, pods.stderr).to.equal(0);
  });
});
