// Runs the e2e control plane (and optionally harness nodes) by hand or for the demo:
//   node --no-experimental-strip-types --import ./scripts/register-ts.mjs testbed/cluster/main.ts up --dir /tmp/x --node node-a
// Prints the admin kubeconfig path on stdout once ready (details on stderr) and stays up
// until SIGINT or SIGTERM, then tears everything down.
import { Command, Option } from '@commander-js/extra-typings';

import { NodeHarness } from '../kubelet/node-harness.js';
import { startControlPlane } from './control-plane.js';

const program = new Command().name('testbed/cluster/main.ts').description('crosstalk e2e control plane');

program
  .command('up')
  .description('start etcd, kube-apiserver and kube-controller-manager; stop with Ctrl-C')
  .option('--dir <dir>', 'working directory (new or empty); default: a temp directory')
  .option('--node <name...>', 'also run a node harness for each named node')
  .addOption(
    new Option('--driver <driver>', 'cgroup driver of the harness nodes')
      .choices(['systemd', 'cgroupfs'] as const)
      .default('systemd' as const),
  )
  .option('--keep-logs', 'keep the component logs when stopping')
  .option('--no-crds', 'do not install crds/*.yaml')
  .action(async (options) => {
    const driver = options.driver;
    // Installed first, so that the control plane's exit guard leaves signals to us.
    let stopping: Promise<void> | undefined;
    const stopped = new Promise<void>((resolve) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => resolve());
    });
    const cp = await startControlPlane({
      ...(options.dir !== undefined && { dir: options.dir }),
      ...(!options.crds && { crds: [] }),
    });
    const nodes: NodeHarness[] = [];
    try {
      for (const nodeName of options.node ?? []) {
        nodes.push(await NodeHarness.start({ kubeconfig: cp.kubeconfigPath('admin'), nodeName, driver }));
      }
      const admin = cp.kubeconfigPath('admin');
      console.error(`control plane up at ${cp.server} (working directory ${cp.dir})`);
      console.error(`  admin kubeconfig:    ${admin}`);
      console.error(`  operator kubeconfig: ${cp.kubeconfigPath('operator')}`);
      for (const node of nodes) {
        console.error(
          `  node ${node.nodeName}: agent kubeconfig ${cp.kubeconfigPath(`agent:${node.nodeName}`)}, cgroups under ${node.cgroupScope}`,
        );
      }
      console.error(`  kubectl:             ${cp.kubectlBinary}`);
      console.error('Ctrl-C stops everything.');
      console.log(admin);
      await stopped;
    } finally {
      stopping ??= (async () => {
        for (const node of nodes) await node.close();
        await cp.stop({ keepLogs: options.keepLogs ?? false });
      })();
      await stopping;
    }
  });

try {
  await program.parseAsync();
} catch (err: unknown) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
