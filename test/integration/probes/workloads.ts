// Shared by the probe ground-truth tests: fresh cgroups under one run directory, real
// workloads started in them, and the probe session, all cleaned up afterwards.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ProbeSession, type BlockDevice, type ProbeOptions } from '../../../agent/probes/index.js';
import { TestCgroup } from '../../../testbed/host/cgroups.js';
import { missingBpf, requireOrSkip } from '../../../testbed/host/requirements.js';

/** Cgroups, processes, scratch directories and probe sessions that one test owns. */
export class ProbeFixture {
  private readonly cgroups: TestCgroup[] = [];
  private readonly dirs: string[] = [];
  private readonly children: ChildProcess[] = [];
  private sessions: ProbeSession[] = [];
  private readonly run = `crosstalk-probes-${process.pid}-${Date.now()}`;

  cgroup(name: string): TestCgroup {
    const cg = TestCgroup.create(`${this.run}/${name}`);
    this.cgroups.push(cg);
    return cg;
  }

  open(options: ProbeOptions): ProbeSession {
    const session = ProbeSession.open(options);
    this.sessions.push(session);
    return session;
  }

  /** A scratch directory, removed by cleanup(). */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** A busy loop pinned to one CPU inside the cgroup. */
  burner(cg: TestCgroup, cpu: number): ChildProcess {
    return this.track(cg.spawn('taskset', ['-c', String(cpu), 'sh', '-c', 'while :; do :; done']));
  }

  track(child: ChildProcess): ChildProcess {
    this.children.push(child);
    return child;
  }

  async stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async cleanup(): Promise<void> {
    for (const s of this.sessions) s.close();
    this.sessions = [];
    for (const child of this.children) await this.stop(child);
    for (const cg of this.cgroups.reverse()) await cg.remove();
    if (this.cgroups.length > 0) await TestCgroup.create(this.run).remove();
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }
}

/** Gives every test of the calling suite a fresh ProbeFixture and cleans it up after the
 * test. Tests skip (fail under CROSSTALK_REQUIRE_ALL=1) when `missing` names a lack. */
export function useProbeFixture(missing: () => string | undefined = missingBpf): () => ProbeFixture {
  let fixture: ProbeFixture | undefined;
  beforeEach(function () {
    requireOrSkip(this, missing());
    fixture = new ProbeFixture();
  });
  afterEach(async function () {
    await fixture?.cleanup();
    fixture = undefined;
  });
  return () => {
    if (!fixture) throw new Error('useProbeFixture: called outside a test');
    return fixture;
  };
}

/** The whole disk holding `path` (the io probe reports disks, not partitions). */
export function diskOf(path: string): BlockDevice {
  const dev = statSync(path, { bigint: true }).dev;
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  const sys = realpathSync(`/sys/dev/block/${major}:${minor}`);
  if (!existsSync(join(sys, 'partition'))) return { major, minor };
  const [parentMajor = '0', parentMinor = '0'] = readFileSync(join(dirname(sys), 'dev'), 'utf8')
    .trim()
    .split(':');
  return { major: Number(parentMajor), minor: Number(parentMinor) };
}

/** Why a command-line tool cannot be used here, or undefined. */
export function missingTool(command: string): string | undefined {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0 ? undefined : `needs ${command} on PATH`;
}

/** Classic tracepoints (bpftrace's tracepoint:) need tracefs, mounted by scripts/setup.sh. */
export function missingTracefs(): string | undefined {
  return existsSync('/sys/kernel/tracing/events/sched') ? undefined : 'needs tracefs at /sys/kernel/tracing';
}

export { sleep };
