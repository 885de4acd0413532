import { expect } from 'chai';

import { parseCgroupMounts, parseProcCgroup } from '../../../../agent/cgroups/mounts.js';

describe('cgroup mounts', function () {
  it('finds v1 hierarchies and the unified mount on a hybrid host', function () {
    const mountinfo = [
      '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
      '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ].join('\n');
    const mounts = parseCgroupMounts(mountinfo);
    expect(Object.fromEntries(mounts.mountPoints)).to.deep.equal({
      cpu: '/sys/fs/cgroup/cpu',
      memory: '/sys/fs/cgroup/memory',
      blkio: '/sys/fs/cgroup/blkio',
      unified: '/sys/fs/cgroup/unified',
    });
  });

  it('handles co-mounted controllers, optional fields and escaped paths', function () {
    const mountinfo = '30 25 0:26 / /sys/fs/cgroup/cpu\\040acct rw shared:8 - cgroup cgroup rw,cpu,cpuacct';
    const mounts = parseCgroupMounts(mountinfo);
    expect(mounts.mountPoints.get('cpu')).to.equal('/sys/fs/cgroup/cpu acct');
    expect(mounts.mountPoints.get('cpuacct')).to.equal('/sys/fs/cgroup/cpu acct');
  });

  it('reads a process placement from /proc/<pid>/cgroup', function () {
    const paths = parseProcCgroup('4:memory:/process_api/abc\n1:cpu,cpuacct:/\n0::/kubepods.slice\n');
    expect(paths.get('memory')).to.equal('/process_api/abc');
    expect(paths.get('cpu')).to.equal('/');
    expect(paths.get('cpuacct')).to.equal('/');
    expect(paths.get('unified')).to.equal('/kubepods.slice');
  });
});
