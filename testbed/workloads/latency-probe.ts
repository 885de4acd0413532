// The latency probe (latency-probe.c): compiled on first use into the cache outside the
// repository, keyed by the source's hash; its JSON-lines reports parsed with zod.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const source = fileURLToPath(new URL('latency-probe.c', import.meta.url));

export const latencyReportSchema = z.object({
  /** Unix time of the report, seconds. */
  ts: z.number(),
  requests: z.number().int().nonnegative(),
  /** Scheduled start to completion: includes waiting for the CPU. */
  p50_us: z.number().nonnegative(),
  p99_us: z.number().nonnegative(),
  max_us: z.number().nonnegative(),
  /** Actual start to completion: the work alone. */
  service_p50_us: z.number().nonnegative(),
  service_p99_us: z.number().nonnegative(),
});
export type LatencyReport = z.infer<typeof latencyReportSchema>;

export interface LatencyProbeOptions {
  /** Requests per second (default 1000). */
  readonly rate?: number;
  /** xorshift rounds per request (default 20000: some tens of microseconds). */
  readonly work?: number;
  /** Serve each request by reading one block of a file at a random offset instead. */
  readonly read?: ReadRequests;
  readonly intervalMs?: number;
  /** Seconds; omitted runs until SIGTERM. */
  readonly durationSeconds?: number;
  /** Append reports to this file instead of stdout. */
  readonly out?: string;
}

export interface ReadRequests {
  readonly file: string;
  /** Bytes per read, a multiple of 4096 (default 4096). */
  readonly blockBytes?: number;
  /** O_DIRECT: every read reaches the disk. */
  readonly direct?: boolean;
}

/** Path of the compiled probe, building it with the system C compiler when needed. */
export function latencyProbeBinary(): string {
  const code = readFileSync(source);
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 12);
  const dir = join(process.env.CROSSTALK_CACHE ?? '/var/cache/crosstalk', 'workloads');
  const binary = join(dir, `latency-probe-${hash}`);
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  const partial = `${binary}.${process.pid}.tmp`;
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', partial, source], { stdio: ['ignore', 'ignore', 'pipe'] });
  renameSync(partial, binary);
  return binary;
}

/** The probe's command line, for a harness container. */
export function latencyProbeCommand(options: LatencyProbeOptions = {}): string[] {
  const args: string[] = [latencyProbeBinary()];
  if (options.rate !== undefined) args.push('--rate', String(options.rate));
  if (options.work !== undefined) args.push('--work', String(options.work));
  if (options.read !== undefined) {
    args.push('--read', options.read.file);
    if (options.read.blockBytes !== undefined) args.push('--block', String(options.read.blockBytes));
    if (options.read.direct) args.push('--direct');
  }
  if (options.intervalMs !== undefined) args.push('--interval-ms', String(options.intervalMs));
  if (options.durationSeconds !== undefined) args.push('--duration', String(options.durationSeconds));
  if (options.out !== undefined) args.push('--out', options.out);
  return args;
}

/** Parses the probe's output; other lines (a log shared with stderr) are skipped. */
export function parseLatencyReports(text: string): LatencyReport[] {
  const reports: LatencyReport[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    const parsed = latencyReportSchema.safeParse(JSON.parse(line));
    if (parsed.success) reports.push(parsed.data);
  }
  return reports;
}
