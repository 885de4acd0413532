import { expect } from 'chai';

import { readCgroupFigures } from '../../../../agent/cgroups/files.js';
import type { CgroupMounts } from '../../../../agent/cgroups/mounts.js';

const hybrid: CgroupMounts = {
  mountPoints: new Map([
    ['unified', '/sys/fs/cgroup/unified'],
    ['cpu', '/sys/fs/cgroup/cpu'],
    ['memory', '/sys/fs/cgroup/memory'],
  ]),
  unifiedControllers: [],
};
const pureV2: CgroupMounts = {
  mountPoints: new Map([['unified', '/sys/fs/cgroup']]),
  unifiedControllers: ['cpu', 'io', 'memory'],
};

function files(contents: Record<string, string>) {
  return (file: string) => {
    const text = contents[file];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
    return text;
  };
}

describe('cgroup control files', function () {
  it('reads v1 throttling (ns), usage and failcnt from the cpu and memory hierarchies, each at its own path', function () {
    const figures = readCgroupFigures(
      hybrid,
      new Map([
        ['unified', '/kubepods/pod1'],
        ['cpu', '/kubepods/pod1'],
        ['memory', '/process_api/x/kubepods/pod1'],
      ]),
      files({
        '/sys/fs/cgroup/cpu/kubepods/pod1/cpu.stat': 'nr_periods 50\nnr_throttled 40\nthrottled_time 4800000000\n',
        '/sys/fs/cgroup/memory/process_api/x/kubepods/pod1/memory.usage_in_bytes': '1048576\n',
        '/sys/fs/cgroup/memory/process_api/x/kubepods/pod1/memory.failcnt': '7\n',
      }),
    );
    expect(figures).to.deep.equal({ throttledNs: 4.8e9, memoryBytes: 1048576, memoryLimitHits: 7 });
  });

  it('reads v2 throttling (µs), memory.current and memory.events.local', function () {
    const figures = readCgroupFigures(
      pureV2,
      new Map([['unified', '/kubepods.slice/p.slice']]),
      files({
        '/sys/fs/cgroup/kubepods.slice/p.slice/cpu.stat': 'usage_usec 100\nnr_throttled 39\nthrottled_usec 3266478\n',
        '/sys/fs/cgroup/kubepods.slice/p.slice/memory.current': '4096',
        '/sys/fs/cgroup/kubepods.slice/p.slice/memory.events.local': 'low 0\nhigh 3\nmax 12\noom 0\noom_kill 0\n',
      }),
    );
    expect(figures).to.deep.equal({ throttledNs: 3266478000, memoryBytes: 4096, memoryLimitHits: 15 });
  });

  it('leaves figures undefined when the cgroup is gone', function () {
    expect(readCgroupFigures(pureV2, new Map([['unified', '/gone']]), files({}))).to.deep.equal({
      throttledNs: undefined,
      memoryBytes: undefined,
      memoryLimitHits: undefined,
    });
  });
});
