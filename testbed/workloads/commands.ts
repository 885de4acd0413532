// Command lines of the real workloads harness containers run: CPU, memory and IO
// aggressors from stress-ng, fio and dd. Each returns argv for HarnessContainerSpec.command.

export interface CpuHogOptions {
  readonly workers?: number;
  /** stress-ng stressor method (default int64: steady integer work). */
  readonly method?: string;
  readonly seconds?: number;
}

export function cpuHog(options: CpuHogOptions = {}): string[] {
  return [
    'stress-ng',
    '--cpu',
    String(options.workers ?? 1),
    '--cpu-method',
    options.method ?? 'int64',
    ...timeout(options.seconds),
    '--quiet',
  ];
}

/** Context switches at about `perSecond` (stress-ng's switch stressor: a pipe ping-pong
 * between two processes; the rate it reaches depends on the CPUs, so measure it). */
export function contextSwitcher(perSecond: number): string[] {
  return ['stress-ng', '--switch', '1', '--switch-freq', String(Math.round(perSecond / 2)), '--quiet'];
}

export interface MemoryHogOptions {
  /** Bytes each worker keeps allocated and touches. */
  readonly bytes: number;
  readonly workers?: number;
  readonly seconds?: number;
}

export function memoryHog(options: MemoryHogOptions): string[] {
  return [
    'stress-ng',
    '--vm',
    String(options.workers ?? 1),
    '--vm-bytes',
    String(options.bytes),
    '--vm-keep',
    ...timeout(options.seconds),
    '--quiet',
  ];
}

export interface FioOptions {
  /** Directory for fio's data file (the caller removes it). */
  readonly dir: string;
  readonly rw?: 'randread' | 'randwrite' | 'read' | 'write';
  readonly size?: string;
  readonly blockSize?: string;
  readonly seconds?: number;
  /** O_DIRECT (default true): the IO is issued by the container's own task, so blkio
   * accounting charges it without waiting for writeback. */
  readonly direct?: boolean;
}

export function fioJob(options: FioOptions): string[] {
  return [
    'fio',
    '--name=crosstalk',
    `--directory=${options.dir}`,
    `--rw=${options.rw ?? 'randwrite'}`,
    `--size=${options.size ?? '64M'}`,
    `--bs=${options.blockSize ?? '4k'}`,
    `--direct=${options.direct === false ? 0 : 1}`,
    '--ioengine=psync',
    '--time_based',
    `--runtime=${options.seconds ?? 3600}s`,
    '--output-format=terse',
  ];
}

export interface DdOptions {
  readonly file: string;
  readonly megabytes: number;
  readonly direct?: boolean;
}

/** Writes `megabytes` of zeros to `file`, then exits. */
export function ddWrite(options: DdOptions): string[] {
  return [
    'dd',
    'if=/dev/zero',
    `of=${options.file}`,
    'bs=1M',
    `count=${options.megabytes}`,
    ...(options.direct === false ? ['conv=fsync'] : ['oflag=direct']),
    'status=none',
  ];
}

function timeout(seconds: number | undefined): string[] {
  return seconds === undefined ? ['--timeout', '0'] : ['--timeout', `${seconds}s`];
}
