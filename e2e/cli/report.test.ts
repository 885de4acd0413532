// `crosstalk report` and the kubectl plugin against a real kube-apiserver: a session is
// created and its status written by the admin identity through the status subresource
// (no operator needed), then read back by the installed bin/ commands.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ContentType, KubeClient } from '../../common/kube/client.js';
import { paths } from '../../common/kube/paths.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';
import { useControlPlane } from '../support/mocha.js';
import { binDir, runCli } from '../../testbed/components/cli-process.js';
import {
  sampleNamespace,
  sampleSessionName,
  sampleSessionSpec,
  sampleStatus,
} from '../../test/fixtures/sample-session.js';

describe('crosstalk report (e2e)', function () {
  this.timeout(60_000);
  const cp = useControlPlane({ controllers: [] });
  const admin = () => cp().kubeconfigPath('admin');

  before(async function () {
    await kubectl(cp(), ['create', 'namespace', sampleNamespace], { check: true });
    const manifest = {
      apiVersion: 'crosstalk.dev/v1alpha1',
      kind: 'DiagnosticSession',
      metadata: { name: sampleSessionName, namespace: sampleNamespace },
      spec: sampleSessionSpec,
    };
    await kubectl(cp(), ['apply', '-f', '-'], { input: JSON.stringify(manifest), check: true });
    await KubeClient.load(admin()).patch(
      paths.sessions(sampleNamespace, sampleSessionName, 'status'),
      { status: sampleStatus },
      ContentType.mergePatch,
    );
  });

  it("prints the session's per-victim table from the API", async function () {
    const { stdout, stderr, code } = await runCli([
      'report',
      sampleSessionName,
      '-n',
      sampleNamespace,
      '--kubeconfig',
      admin(),
    ]);
    expect(code, stderr).to.equal(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(
      /^VICTIM +NODE +VERDICT +CPU WAIT +IO p99 +RECLAIM +CPI +SELF-LIMITED +CONFIRMED +TOP AGGRESSOR \(share, evidence\)$/,
    );
    expect(lines[1], lines[1]).to.match(
      /^shop\/checkout-5d8b-x2 +node-a +High +38\.2% +1\.9 ms +0 ms +n\/a +- +Confirmed 62→4→58% +batch\/etl-7f9c \(cpu 81%\) ran on the victim's CPU/,
    );
    expect(lines.slice(1, 5).map((l) => l.split(/\s+/)[0])).to.deep.equal([
      'shop/checkout-5d8b-x2',
      'shop/cart-66c1-zz',
      'shop/search-7c9d-aa',
      'shop/checkout-5d8b-q7',
    ]);
    expect(lines).to.include('node-a: cache probe unsupported (no hardware PMU)');
  });

  it('works as the kubectl plugin "kubectl crosstalk", namespace from the kubeconfig context', async function () {
    // A kubeconfig whose context names the session's namespace, as `kubectl config set-context --namespace` does.
    const kubeconfig = join(cp().dir, 'shop-context.yaml');
    await kubectl(cp(), ['config', 'view', '--raw', '--flatten'], { check: true }).then(({ stdout }) =>
      writeFileSync(kubeconfig, stdout),
    );
    const setNamespace = await runCli(
      ['config', 'set-context', '--current', '--namespace', sampleNamespace, '--kubeconfig', kubeconfig],
      { command: cp().kubectlBinary },
    );
    expect(setNamespace.code, setNamespace.stderr).to.equal(0);
    const env = { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ''}`, KUBECONFIG: kubeconfig };
    const viaKubectl = await runCli(['crosstalk', 'report', sampleSessionName], { command: cp().kubectlBinary, env });
    expect(viaKubectl.code, viaKubectl.stderr).to.equal(0);
    expect(viaKubectl.stdout).to.match(/^VICTIM +NODE/);
    expect(viaKubectl.stdout).to.contain('shop/checkout-5d8b-x2');
    const help = await runCli(['crosstalk', 'report', '--help'], { command: cp().kubectlBinary, env });
    expect(help.stdout).to.match(/^Usage: kubectl crosstalk report \[options\] <session>/);
  });

  it('prints JSON with --json and more columns with -o wide', async function () {
    const json = await runCli(['report', sampleSessionName, '-n', sampleNamespace, '--kubeconfig', admin(), '--json']);
    expect(json.code, json.stderr).to.equal(0);
    expect(json.stdout.trimEnd().split('\n')).to.have.length(1);
    const parsed = JSON.parse(json.stdout) as { phase: string; reports: { name: string }[] };
    expect(parsed.phase).to.equal('Running');
    expect(parsed.reports.map((r) => r.name)).to.include('cart-66c1-zz');
    const wide = await runCli([
      'report',
      sampleSessionName,
      '-n',
      sampleNamespace,
      '--kubeconfig',
      admin(),
      '-o',
      'wide',
    ]);
    expect(wide.code, wide.stderr).to.equal(0);
    expect(wide.stdout).to.match(/^VICTIM +NODE +VERDICT +SCORE +NOW/);
    expect(wide.stdout).to.contain('/system.slice/backup.service (cpu 12%)');
  });

  it('fails clearly: unknown session, unknown output format, unreachable API server', async function () {
    const missing = await runCli(['report', 'nope', '-n', sampleNamespace, '--kubeconfig', admin()]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr.trim()).to.equal('crosstalk: diagnosticsession "nope" in namespace "shop" not found');
    const badFormat = await runCli(['report', sampleSessionName, '-o', 'yaml', '--kubeconfig', admin()]);
    expect(badFormat.code).to.equal(2);
    expect(badFormat.stderr).to.contain("argument 'yaml' is invalid. Allowed choices are wide.");
    // The same credentials against a port where nothing listens.
    const closed = join(cp().dir, 'closed-port.yaml');
    const { stdout } = await kubectl(cp(), ['config', 'view', '--raw', '--flatten'], { check: true });
    writeFileSync(closed, stdout.replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:1'));
    const unreachable = await runCli(['report', sampleSessionName, '-n', sampleNamespace, '--kubeconfig', closed]);
    expect(unreachable.code).to.equal(1);
    expect(unreachable.stderr).to.match(/^crosstalk: cannot reach the Kubernetes API server: /);
  });
});
