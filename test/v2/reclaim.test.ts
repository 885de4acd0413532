// Reclaim stalls of a cgroup at its own cgroup-v2 memory limit, memory.max (hard) and
// memory.high (throttle point; no v1 equivalent), on the eBPF memory probe (the workload
// is in reclaim-at-limit.ts, shared with the kernel module's tests).
import { missingPureCgroupV2 } from '../../testbed/host/requirements.js';
import { useProbeFixture } from '../integration/probes/workloads.js';
import { reclaimAtOwnLimit } from './reclaim-at-limit.js';

describe('reclaim at cgroup v2 memory limits', function () {
  const fixture = useProbeFixture(missingPureCgroupV2);

  for (const limit of ['max', 'high'] as const) {
    it(`stalls a cgroup reading past its memory.${limit} in memcg reclaim; an unlimited twin never`, async function () {
      await reclaimAtOwnLimit(fixture(), limit, 'ebpf');
    });
  }
});
