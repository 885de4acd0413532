// Which kernel backend serves the probes (spec.backend): `ebpf` or `kmod` insist on one;
// `auto` prefers eBPF and falls back to the kernel module (kmod/, /dev/crosstalk) when
// eBPF cannot load or attach here and the module is loaded. The choice and its reason
// travel with the probes into every NodeDiagnostic (status.backend, probe reasons).
import type { Backend } from '../crds/index.js';
import type { Probes } from './probe-host.js';
import { ProbeError, type CgroupRef, type ProbeOptions } from './probes/index.js';

export const kmodDevice = '/dev/crosstalk';

export interface OpenedProbes {
  readonly session: Probes;
  readonly backend: 'ebpf' | 'kmod';
  /** Why the backend is not the one asked for (auto's fallback), for the probe reasons. */
  readonly reason?: string;
}

/** Opens, targets and attaches the probes on the backend `wanted` picks; throws the
 * ProbeError of the backend that was tried last. */
export function openOnBackend(
  open: (options: ProbeOptions) => Probes,
  options: Omit<ProbeOptions, 'backend'>,
  targets: readonly CgroupRef[],
  wanted: Backend,
  moduleLoaded: () => boolean,
): OpenedProbes {
  const start = (backend: 'ebpf' | 'kmod'): Probes => {
    const session = open({ ...options, backend });
    try {
      session.setTargets(targets);
      session.attach();
      return session;
    } catch (err) {
      session.close();
      throw err;
    }
  };
  if (wanted !== 'auto') return { session: start(wanted), backend: wanted };
  try {
    return { session: start('ebpf'), backend: 'ebpf' };
  } catch (err) {
    if (!(err instanceof ProbeError) || !moduleLoaded()) throw err;
    return {
      session: start('kmod'),
      backend: 'kmod',
      reason: `kernel module: eBPF could not serve (${err.message})`,
    };
  }
}
