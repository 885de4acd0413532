// crosstalk-operator: watches DiagnosticSessions, fans them out to one NodeDiagnostic per
// node, and aggregates the agents' results back into each session's status.
import { hostname } from 'node:os';

import { Command, Option } from '@commander-js/extra-typings';
import { collectDefaultMetrics } from 'prom-client';

import { goDuration, httpAddressOption, logLevelOption, positiveInteger } from '../common/arguments.js';
import { systemClock } from '../common/clock.js';
import { SessionController } from './controller.js';
import { KubeClient } from '../common/kube/client.js';
import { KubeLeaseStore } from './kube/lease-store.js';
import { LeaderElector } from './leader-election.js';
import { createLogger } from '../common/log.js';
import { OperatorMetrics } from './metrics.js';
import { boundAddress, startHttpServer } from '../common/server.js';

function durationOption<F extends string>(flags: F, description: string, fallback: string) {
  return new Option(`${flags} <duration>`, description).argParser(goDuration).default(goDuration(fallback), fallback);
}

const program = new Command()
  .name('crosstalk-operator')
  .description('Reconciles crosstalk DiagnosticSessions into per-node NodeDiagnostics and aggregated reports.')
  .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
  .option(
    '--identity <name>',
    'this instance in the leader lease and in events',
    process.env.POD_NAME ?? `${hostname()}_${process.pid}`,
  )
  .option('--no-leader-elect', 'act without a leader lease (only one replica may run)')
  .option(
    '--leader-election-namespace <ns>',
    'namespace of the leader lease',
    process.env.POD_NAMESPACE ?? 'crosstalk-system',
  )
  .option('--leader-election-id <name>', 'name of the leader lease', 'crosstalk-operator')
  .addOption(durationOption('--lease-duration', 'how long a silent leader keeps the lease', '15s'))
  .addOption(durationOption('--renew-deadline', 'how long the leader retries renewing before it stops acting', '10s'))
  .addOption(durationOption('--retry-period', 'interval between lease attempts', '2s'))
  .addOption(new Option('--workers <n>', 'sessions reconciled in parallel').argParser(positiveInteger).default(2))
  .addOption(durationOption('--resync', 'reconcile every session and relist every cache at least this often', '5m'))
  .addOption(
    durationOption(
      '--status-interval',
      'after writing a session status, wait this long before reconciling it again',
      '1s',
    ),
  )
  .addOption(httpAddressOption(8080))
  .addOption(logLevelOption());

async function main(): Promise<void> {
  const opts = program.parse().opts();
  const log = createLogger(opts.logLevel);
  const metrics = new OperatorMetrics();
  collectDefaultMetrics({ register: metrics.registry });
  const client = KubeClient.load(opts.kubeconfig);
  const clock = systemClock;
  const controller = new SessionController({
    client,
    clock,
    log,
    metrics,
    identity: opts.identity,
    workers: opts.workers,
    resyncMs: opts.resync,
    statusIntervalMs: opts.statusInterval,
  });
  const elector = opts.leaderElect
    ? new LeaderElector({
        identity: opts.identity,
        leaseDurationMs: opts.leaseDuration,
        renewDeadlineMs: opts.renewDeadline,
        retryPeriodMs: opts.retryPeriod,
        store: new KubeLeaseStore(client, opts.leaderElectionNamespace, opts.leaderElectionId),
        clock,
        log,
        onStartedLeading: () => lead(true),
        // Stop acting, stay up and campaign again: an API server outage ends, a standby
        // has the lease by then or this replica wins it back.
        onStoppedLeading: () => lead(false),
      })
    : undefined;

  const server = await startHttpServer(
    opts.httpAddress.host,
    opts.httpAddress.port,
    { notReady: () => controller.notSynced() },
    metrics.registry,
  );
  log.info('serving health and metrics', { address: boundAddress(server), identity: opts.identity });
  controller.startInformers();

  let workers: Promise<void> | undefined;
  function lead(leading: boolean): void {
    metrics.leader.set(leading ? 1 : 0);
    controller.setLeading(leading);
    workers ??= controller.runWorkers().catch((err: unknown) => shutdown(1, `workers failed: ${String(err)}`));
  }

  let exiting = false;
  const electing = new AbortController();
  async function shutdown(code: number, why: string): Promise<void> {
    if (exiting) return;
    exiting = true;
    log.info('shutting down', { reason: why });
    electing.abort();
    await controller.stop();
    await workers;
    metrics.leader.set(0);
    await elector?.release();
    server.close();
    log.end();
    await new Promise((r) => log.on('finish', r));
    process.exit(code);
  }
  process.once('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  process.once('SIGINT', () => void shutdown(0, 'SIGINT'));

  if (elector) {
    log.info('waiting to become leader', {
      lease: { name: opts.leaderElectionId, namespace: opts.leaderElectionNamespace },
    });
    while (!electing.signal.aborted) await elector.run(electing.signal);
  } else {
    lead(true);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`crosstalk-operator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
