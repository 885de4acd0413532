// crosstalk-agent: the node daemon. Idle (no probe attached) until a NodeDiagnostic names
// its node; then it measures the victims there and writes the NodeDiagnostic's status.
import { hostname } from 'node:os';

import { Command, Option } from '@commander-js/extra-typings';
import { collectDefaultMetrics } from 'prom-client';

import { httpAddressOption, logLevelOption } from '../common/arguments.js';
import { systemClock } from '../common/clock.js';
import { KubeClient } from '../common/kube/client.js';
import { createLogger } from '../common/log.js';
import { boundAddress, startHttpServer } from '../common/server.js';
import { AgentMetrics } from './metrics.js';
import { NodeAgent } from './node-agent.js';
import { KernelBpfStats, ProbeCostMetrics } from './probe-cost.js';
import { ProbeHost } from './probe-host.js';

const program = new Command()
  .name('crosstalk-agent')
  .description('Measures interference between the pods of one node for the crosstalk sessions that name it.')
  .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
  .addOption(new Option('--node-name <name>', 'the node this agent serves').env('NODE_NAME').makeOptionMandatory())
  .option('--instance <name>', 'this agent in status and logs', process.env.POD_NAME ?? `${hostname()}_${process.pid}`)
  .addOption(
    new Option('--cgroup-scope <segment>', "only cgroups whose path contains this segment are this node's (tests)").env(
      'CROSSTALK_CGROUP_SCOPE',
    ),
  )
  .addOption(
    new Option('--state-dir <dir>', 'restart state (keep it across agent restarts: a hostPath in the DaemonSet)')
      .env('CROSSTALK_STATE_DIR')
      .default('/var/lib/crosstalk/agent'),
  )
  .addOption(httpAddressOption(9560))
  .addOption(logLevelOption());

async function main(): Promise<void> {
  const opts = program.parse().opts();
  const log = createLogger(opts.logLevel);
  const metrics = new AgentMetrics();
  collectDefaultMetrics({ register: metrics.registry });
  const probeHost = new ProbeHost(log, undefined, new KernelBpfStats());
  new ProbeCostMetrics(metrics.registry, probeHost);
  const agent = new NodeAgent({
    nodeName: opts.nodeName,
    instance: opts.instance,
    client: KubeClient.load(opts.kubeconfig),
    log,
    clock: systemClock,
    metrics,
    probeHost,
    stateDir: opts.stateDir,
    ...(opts.cgroupScope ? { cgroupScope: opts.cgroupScope } : {}),
  });
  const server = await startHttpServer(
    opts.httpAddress.host,
    opts.httpAddress.port,
    { notReady: () => agent.ready() },
    metrics.registry,
  );
  log.info('agent started', { node: opts.nodeName, address: boundAddress(server), scope: opts.cgroupScope });
  agent.start();

  let exiting = false;
  async function shutdown(why: string): Promise<void> {
    if (exiting) return;
    exiting = true;
    log.info('shutting down', { reason: why });
    await agent.stop();
    server.close();
    log.end();
    await new Promise((r) => log.on('finish', r));
    process.exit(0);
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`crosstalk-agent: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
