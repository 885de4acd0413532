// The operator as e2e tests run it: a separate Node process (operator/main.ts) with the
// operator identity's kubeconfig, its JSON log in the control plane's log directory (kept
// when a test fails), and its /readyz and /metrics on a free loopback port.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ControlPlane } from '../cluster/control-plane.js';
import { eventually } from '../cluster/eventually.js';
import { SupervisedProcess } from '../cluster/supervised-process.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Short leases so that failover tests take seconds, not the production 15 s. */
export const testLeaseArgs = ['--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '500ms'];
export const leaseNamespace = 'crosstalk-system';

export interface LogLine {
  readonly msg: string;
  readonly [key: string]: unknown;
}

export class OperatorProcess {
  private constructor(
    readonly identity: string,
    private readonly process: SupervisedProcess,
    readonly address: string,
  ) {}

  /** Starts an operator and resolves once it serves /healthz. */
  static async start(cp: ControlPlane, identity: string, extraArgs: readonly string[] = []): Promise<OperatorProcess> {
    // prettier-ignore
    const args = [
      '--no-experimental-strip-types', '--no-deprecation',
      '--import', join(repoRoot, 'test/register.mjs'), join(repoRoot, 'operator/main.ts'),
      '--kubeconfig', cp.kubeconfigPath('operator'),
      '--identity', identity,
      '--http-address', '127.0.0.1:0',
      '--leader-election-namespace', leaseNamespace,
      '--resync', '1m',
      ...testLeaseArgs,
      ...extraArgs,
    ];
    const logFile = join(cp.logDir, `operator-${identity}.log`);
    const proc = SupervisedProcess.start(`operator ${identity}`, process.execPath, args, logFile);
    const serving = await eventually(
      async () => {
        if (!proc.running) throw new Error(`operator ${identity} exited:\n${proc.logTail()}`);
        const line = readLog(logFile).find((l) => l.msg === 'serving health and metrics');
        if (!line) throw new Error(`operator ${identity} is not serving yet:\n${proc.logTail()}`);
        return Promise.resolve(line);
      },
      60_000,
      100,
    );
    return new OperatorProcess(identity, proc, String(serving.address));
  }

  get running(): boolean {
    return this.process.running;
  }

  get logFile(): string {
    return this.process.logFile;
  }

  log(): LogLine[] {
    return readLog(this.logFile);
  }

  async http(path: string): Promise<{ status: number; text: string }> {
    const response = await fetch(`http://${this.address}${path}`);
    return { status: response.status, text: await response.text() };
  }

  /** The sum of a Prometheus metric's samples, optionally only those whose labels include `match`. */
  async metric(name: string, match = ''): Promise<number> {
    const { text } = await this.http('/metrics');
    let sum = 0;
    for (const line of text.split('\n')) {
      const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
      if (m && m[1] === name && (m[2] ?? '').includes(match)) sum += Number(m[3]);
    }
    return sum;
  }

  /** Graceful stop (SIGTERM: the operator releases its lease). */
  stop(): Promise<void> {
    return this.process.stop(10_000);
  }

  /** A crash: SIGKILL, no cleanup of any kind. */
  async kill(): Promise<void> {
    this.process.killNow();
    await this.process.exited;
  }
}

function readLog(file: string): LogLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines: LogLine[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(raw) as Partial<LogLine>;
      if (typeof parsed.msg === 'string') lines.push(parsed as LogLine);
    } catch {
      // a partly written last line
    }
  }
  return lines;
}
