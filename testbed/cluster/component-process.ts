// A crosstalk component (operator, agent) as e2e tests and the demo run it: a separate
// Node process running its TypeScript entry point, its JSON log in a file (kept when a
// test fails), and its /healthz, /readyz and /metrics on the address it logs at start.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { eventually } from './eventually.js';
import { SupervisedProcess } from './supervised-process.js';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface LogLine {
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface ComponentLaunch {
  /** For messages, e.g. `operator op-1`. */
  readonly name: string;
  /** Entry point relative to the repository, e.g. `operator/main.ts`. */
  readonly entry: string;
  readonly args: readonly string[];
  readonly logFile: string;
  /** The log message that carries `address` once the HTTP server listens. */
  readonly servingMessage: string;
  /** Run the JavaScript compiled by setup (build/js, as in production) rather than the
   * TypeScript through ts-node: about 250 MiB less memory and a faster start. */
  readonly compiled?: boolean;
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

export class ComponentProcess {
  private constructor(
    readonly name: string,
    private readonly process: SupervisedProcess,
    readonly address: string,
  ) {}

  /** Starts the component and resolves once it logs its serving address. */
  static async start(launch: ComponentLaunch): Promise<ComponentProcess> {
    // prettier-ignore
    const args = launch.compiled
      ? [join(repoRoot, 'build/js', launch.entry.replace(/\.ts$/, '.js')), ...launch.args]
      : [
          '--no-experimental-strip-types', '--no-deprecation',
          '--import', join(repoRoot, 'scripts/register-ts.mjs'), join(repoRoot, launch.entry),
          ...launch.args,
        ];
    const proc = SupervisedProcess.start(launch.name, process.execPath, args, launch.logFile, launch.env);
    const serving = await eventually(
      async () => {
        if (!proc.running) throw new Error(`${launch.name} exited:\n${proc.logTail()}`);
        const line = readLog(launch.logFile).find((l) => l.msg === launch.servingMessage);
        if (!line) throw new Error(`${launch.name} is not serving yet:\n${proc.logTail()}`);
        return Promise.resolve(line);
      },
      60_000,
      100,
    );
    return new ComponentProcess(launch.name, proc, String(serving.address));
  }

  get running(): boolean {
    return this.process.running;
  }

  /** Also its process group id. */
  get pid(): number {
    return this.process.pid;
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

  /** Graceful stop (SIGTERM). */
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
