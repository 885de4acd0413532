// Specs and statuses no one wrote by hand, against a real kube-apiserver (issue 22):
// 1,000 fuzzed DiagnosticSessions (fast-check: valid, near-valid, garbage) are each either
// refused at admission with a message or accepted and brought to a clear phase, without
// the operator crashing or looping; NodeDiagnostic statuses written by a misbehaving agent
// identity are refused by the API or flagged StatusUnreadable, and the other nodes count.
import { expect } from 'chai';
import fc from 'fast-check';

import { sessionSpecSchema } from '../../crds/diagnostic-session.js';
import { parseDuration } from '../../crds/duration.js';
import { finalWindowGraceMs } from '../../operator/session/plan.js';
import { ApiError, ContentType, KubeClient } from '../../common/kube/client.js';
import { paths } from '../../common/kube/paths.js';
import { eventually } from '../../testbed/cluster/eventually.js';
import { OperatorProcess } from '../../testbed/components/operator-process.js';
import { fuzzedSpec, type FuzzedSpec } from '../../test/support/fuzzed-specs.js';
import { useControlPlane } from '../support/mocha.js';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

interface Session {
  metadata: { name: string; generation: number };
  spec?: { duration?: unknown; interval?: unknown };
  status?: {
    phase?: string;
    observedGeneration?: number;
    startTime?: string;
    nodes?: { readyOfTotal: string };
    conditions?: Condition[];
    reports?: { name: string; node: string }[];
  };
}

const specCount = 1000;
const clearPhases = ['Pending', 'Running', 'Completed', 'Failed'];
const batch = 25;

describe('hostile input (e2e)', function () {
  this.timeout(300_000);
  const cp = useControlPlane();

  describe('with an operator and two API-only nodes', function () {
    let admin: KubeClient;
    let operator: OperatorProcess;

    before(async function () {
      admin = KubeClient.load(cp().kubeconfigPath('admin'));
      for (const ns of ['fuzz', 'fuzz-b']) await admin.create('/api/v1/namespaces', { metadata: { name: ns } });
      for (const [name, zone] of [
        ['fuzz-node-a', 'a'],
        ['fuzz-node-b', 'b'],
      ])
        await admin.create('/api/v1/nodes', { metadata: { name, labels: { zone } } });
      // Pods bound to those nodes: targets as the operator sees them (no kubelet needed).
      for (const [namespace, name, app, nodeName] of [
        ['fuzz', 'checkout-1', 'checkout', 'fuzz-node-a'],
        ['fuzz', 'cart-1', 'cart', 'fuzz-node-b'],
        ['fuzz-b', 'checkout-2', 'checkout', 'fuzz-node-b'],
      ])
        await admin.create(`/api/v1/namespaces/${namespace}/pods`, {
          metadata: { name, namespace, labels: { app } },
          spec: { nodeName, containers: [{ name: 'main', image: 'none' }] },
        });
      // A resync would reconcile every session once more; the idle count below wants none.
      operator = await OperatorProcess.start(cp(), 'fuzz', ['--no-leader-elect', '--resync', '10m']);
    });

    after(async function () {
      if (operator?.running) await operator.stop();
    });

    async function sessions(namespace: string): Promise<Session[]> {
      return ((await admin.get(paths.sessions(namespace))) as { items: Session[] }).items;
    }

    it(`refuses or brings to a clear phase ${specCount} fuzzed sessions, never crashing or looping`, async function () {
      const seed = Number(process.env.CROSSTALK_FUZZ_SEED ?? Date.now() % 2 ** 31);
      const specs = fc.sample(fuzzedSpec, { numRuns: specCount, seed });
      const started = Date.now();
      const refused = new Map<string, { fuzzed: FuzzedSpec; err: ApiError }>();
      const accepted = new Map<string, FuzzedSpec>();
      const names = specs.map((_, i) => `fuzz-${i}`);
      for (let i = 0; i < specs.length; i += batch)
        await Promise.all(
          specs.slice(i, i + batch).map(async (fuzzed, j) => {
            const name = names[i + j]!;
            try {
              // Strict, as kubectl sends it: unknown fields are refused, not dropped.
              await admin.request('POST', paths.sessions('fuzz'), {
                body: {
                  apiVersion: 'crosstalk.dev/v1alpha1',
                  kind: 'DiagnosticSession',
                  metadata: { name, namespace: 'fuzz' },
                  spec: fuzzed.spec,
                },
                query: { fieldValidation: 'Strict' },
              });
              accepted.set(name, fuzzed);
            } catch (err) {
              if (!(err instanceof ApiError)) throw err;
              refused.set(name, { fuzzed, err });
            }
          }),
        );
      const context = (name: string, f: FuzzedSpec) =>
        `${name} (seed ${seed}) ${f.kind}${f.mutation ? ` [${f.mutation}]` : ''}: ${JSON.stringify(f.spec).slice(0, 300)}`;
      for (const [name, { fuzzed, err }] of refused) {
        expect(err.status, `${context(name, fuzzed)}: ${err.message}`).to.be.oneOf([400, 422]);
        expect(err.message, context(name, fuzzed)).to.match(/DiagnosticSession.*(is invalid|Invalid|unknown field)/i);
      }
      const validRefused = [...refused]
        .filter(([, r]) => r.fuzzed.kind === 'valid')
        .map(([name, r]) => `${context(name, r.fuzzed)}: ${r.err.message}`);
      expect(validRefused.length, `valid specs refused, e.g.\n${validRefused.slice(0, 3).join('\n')}`).to.equal(0);

      // Every accepted session reaches a clear phase for its current generation; a short one
      // completes once its deadline and the wait for final windows (no agent runs) are over.
      const settled = await eventually(
        async () => {
          const now = Date.now();
          const byName = new Map((await sessions('fuzz')).map((s) => [s.metadata.name, s]));
          const unsettled: string[] = [];
          for (const [name, fuzzed] of accepted) {
            const s = byName.get(name);
            const st = s?.status;
            const clear =
              st?.observedGeneration === s?.metadata.generation &&
              clearPhases.includes(st?.phase ?? '') &&
              (st?.conditions?.length ?? 0) > 0 &&
              st!.conditions!.every((c) => c.reason && c.message);
            const deadlinePassed = st?.startTime && s?.spec && completesBy(s.spec, Date.parse(st.startTime)) < now;
            if (!clear || (deadlinePassed && st?.phase !== 'Completed'))
              unsettled.push(`${context(name, fuzzed)} → ${JSON.stringify(st)?.slice(0, 300)}`);
          }
          if (unsettled.length) throw new Error(`${unsettled.length} unsettled, e.g. ${unsettled[0]}`);
          return byName;
        },
        150_000,
        2000,
      );
      const settledMs = Date.now() - started;

      // An accepted spec the operator cannot run fails with InvalidSpec.
      for (const [name, fuzzed] of accepted) {
        // As stored: the apiserver prunes and defaults (a null object field becomes its default).
        const stored = settled.get(name)!;
        if (sessionSpecSchema.safeParse(stored.spec).success) continue;
        const st = stored.status!;
        expect(st.phase, context(name, fuzzed)).to.equal('Failed');
        expect(
          st.conditions?.find((c) => c.type === 'SpecValid'),
          context(name, fuzzed),
        ).to.include({ status: 'False', reason: 'InvalidSpec' });
      }

      // Idle: status writes have come back as watch events and been seen; nothing more runs.
      await new Promise((r) => setTimeout(r, 3000));
      const reconciles = await operator.metric('crosstalk_operator_reconciles_total');
      await new Promise((r) => setTimeout(r, 10_000));
      const idle = (await operator.metric('crosstalk_operator_reconciles_total')) - reconciles;
      expect(operator.running, 'the operator runs').to.be.true;
      expect(idle, 'reconciles in 10 idle seconds').to.be.at.most(5);
      // Create, finalizer, children, status, deadline, completion: a handful each (measured
      // 2.8-3.0); a spec that loops would be reconciled hundreds of times.
      expect(reconciles / accepted.size, 'reconciles per accepted spec').to.be.at.most(8);
      expect(await operator.metric('crosstalk_operator_queue_depth')).to.equal(0);
      expect(
        await operator.metric('crosstalk_operator_reconciles_total', 'result="terminal"'),
        'statuses or children the API refused',
      ).to.equal(0);

      const phases = new Map<string, number>();
      for (const name of accepted.keys()) {
        const phase = settled.get(name)!.status!.phase!;
        phases.set(phase, (phases.get(phase) ?? 0) + 1);
      }
      const kinds = (list: Iterable<FuzzedSpec>) => {
        const counts = new Map<string, number>();
        for (const f of list) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
        return [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
      };
      console.log(
        `      seed ${seed}: ${specs.length} specs (${kinds(specs)}); refused at admission ${refused.size} ` +
          `(${kinds([...refused.values()].map((r) => r.fuzzed))}); accepted ${accepted.size} → ` +
          `${[...phases].map(([p, n]) => `${n} ${p}`).join(', ')} in ${(settledMs / 1000).toFixed(0)} s; ` +
          `${reconciles} reconciles = ${(reconciles / accepted.size).toFixed(2)} per accepted spec, ${idle} in 10 idle s; ` +
          `errors retried ${await operator.metric('crosstalk_operator_reconciles_total', 'result="error"')}; operator restarts 0`,
      );

      // All of them go, their NodeDiagnostics and finalizers first.
      await Promise.all([...accepted.keys()].map((name) => admin.request('DELETE', paths.sessions('fuzz', name))));
      await eventually(
        async () => {
          expect(await sessions('fuzz')).to.have.length(0);
          expect(((await admin.get(paths.nodeDiagnostics('fuzz'))) as { items: unknown[] }).items).to.have.length(0);
        },
        120_000,
        1000,
      );
      expect(operator.running).to.be.true;
    });

    it('refuses or flags malformed statuses of one agent and keeps aggregating the other node', async function () {
      await admin.create(paths.sessions('fuzz'), {
        apiVersion: 'crosstalk.dev/v1alpha1',
        kind: 'DiagnosticSession',
        metadata: { name: 'skew', namespace: 'fuzz' },
        spec: {
          selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['checkout', 'cart'] }] },
          namespaces: ['fuzz'],
        },
      });
      const children = await eventually(async () => {
        const list = (await admin.get(paths.nodeDiagnostics('fuzz'))) as {
          items: {
            metadata: { name: string; generation: number };
            spec: { nodeName: string; session: { name: string }; targets: Target[] };
          }[];
        };
        const mine = list.items.filter((c) => c.spec.session.name === 'skew');
        expect(mine.map((c) => c.spec.nodeName).sort()).to.deep.equal(['fuzz-node-a', 'fuzz-node-b']);
        return new Map(mine.map((c) => [c.spec.nodeName, c]));
      });
      type Target = { namespace: string; name: string; uid: string };
      const write = (node: string, status: unknown) => {
        const child = children.get(node)!;
        return KubeClient.load(cp().kubeconfigPath(`agent:${node}`)).patch(
          paths.nodeDiagnostics('fuzz', child.metadata.name, 'status'),
          { status },
          ContentType.mergePatch,
        );
      };
      const t = new Date().toISOString();
      const window = { intervalSeconds: 10, sequence: 1, windowsReported: 1, firstStart: t, start: t, end: t };
      const good = (node: string, verdict: string, score: number) => ({
        observedGeneration: children.get(node)!.metadata.generation,
        phase: 'Measuring',
        window,
        pods: children.get(node)!.spec.targets.map((target) => ({ ...target, verdict, score })),
      });
      const session = async () => (await admin.get(paths.sessions('fuzz', 'skew'))) as Session;
      const nodesReporting = (s: Session) => s.status?.conditions?.find((c) => c.type === 'NodesReporting');
      await write('fuzz-node-a', good('fuzz-node-a', 'High', 80));
      await write('fuzz-node-b', good('fuzz-node-b', 'Low', 20));
      await eventually(async () => expect((await session()).status?.nodes?.readyOfTotal).to.equal('2/2'));

      // What the CRD schema catches never reaches the operator: 422, naming the field.
      const target = children.get('fuzz-node-b')!.spec.targets[0]!;
      const refused: [string, unknown, RegExp][] = [
        [
          'wrong types',
          { phase: 42, pods: 'many' },
          /^(?=.*status\.phase: Invalid value: "integer")(?=.*status\.pods: Invalid value: "string")/,
        ],
        [
          'huge array',
          { pods: Array.from({ length: 5000 }, (_, i) => ({ ...target, uid: `u${i}`, verdict: 'Low', score: 1 })) },
          /status\.pods: Too many: 5000: must have at most 128 items/,
        ],
        [
          'negative numbers',
          { window: { ...window, sequence: -1, windowsReported: -5 } },
          /status\.window\.sequence: Invalid value: -1: .*greater than or equal to 0/,
        ],
        ['missing fields', { pods: [{ namespace: 'fuzz', name: 'cart-1' }] }, /status\.pods\[0\]\.uid: Required value/],
      ];
      for (const [what, status, message] of refused) {
        const err = await write('fuzz-node-b', status).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, what).to.be.instanceOf(ApiError);
        expect((err as ApiError).status, what).to.equal(422);
        expect((err as ApiError).message, `${what}: ${(err as ApiError).message}`).to.match(message);
      }
      expect(nodesReporting(await session())?.reason, 'the last good status still counts').to.equal(
        'AllNodesReporting',
      );

      // What passes the CRD but not the operator's schema (an agent of another version): an
      // int64 beyond what a JavaScript number holds exactly.
      await write('fuzz-node-b', { window: { ...window, sequence: 2 ** 62 } });
      const flagged = await eventually(async () => {
        const s = await session();
        expect(nodesReporting(s)).to.include({ status: 'False', reason: 'StatusUnreadable' });
        return s;
      });
      expect(nodesReporting(flagged)?.message).to.match(
        /cannot read the NodeDiagnostic status written by the agent on fuzz-node-b: status\.window\.sequence: Too big: expected int to be <=9007199254740991;/,
      );
      expect(
        flagged.status?.reports?.map((r) => `${r.name} ${r.node}`),
        'the other node',
      ).to.deep.equal(['checkout-1 fuzz-node-a']);
      expect(flagged.status?.nodes?.readyOfTotal).to.equal('1/2');

      await write('fuzz-node-b', good('fuzz-node-b', 'Low', 20));
      await eventually(async () => expect(nodesReporting(await session())?.reason).to.equal('AllNodesReporting'));
      expect(operator.running).to.be.true;
      await admin.request('DELETE', paths.sessions('fuzz', 'skew'));
    });
  });
});

/** When a session with a duration is Completed at the latest: deadline, then the wait for
 * final windows, plus a few seconds of reconcile latency; never for one without. */
function completesBy(spec: { duration?: unknown; interval?: unknown }, startMs: number): number {
  if (typeof spec.duration !== 'string' || typeof spec.interval !== 'string') return Infinity;
  const parsed = sessionSpecSchema.safeParse(spec);
  if (!parsed.success) return Infinity;
  return startMs + parseDuration(spec.duration) + finalWindowGraceMs(parsed.data) + 5000;
}
