// `crosstalk dr-snoop` as installed, against a reader under a 32 MiB memory limit (v1
// memory.limit_in_bytes on this hybrid host, memory.max on cgroup v2): it re-reads a
// 64 MiB file through the page cache, so it must reclaim its own pages. The file is
// written with O_DIRECT first, so the cache pages are new and charged to the reader.
import { expect } from 'chai';
import { join } from 'node:path';

import { startCli } from '../../../testbed/components/cli-process.js';
import { useProbeFixture } from '../probes/workloads.js';
import { gated, jsonLines, withoutKubeconfig } from './gated.js';

const MiB = 1024 * 1024;

describe('crosstalk dr-snoop', function () {
  this.timeout(240_000); // the VM lane emulates its CPU: each start of the command takes ~15 s there
  const fixture = useProbeFixture();

  it("shows a limited cgroup's memcg reclaim stalls, by --cgroup, with TID, pages and owner", async function () {
    const f = fixture();
    const dir = f.tempDir('crosstalk-dr-snoop-');
    const limited = f.cgroup('limited');
    const other = f.cgroup('other');
    limited.limitMemory({ max: 32 * MiB });
    const file = join(dir, 'data');
    expect(await other.run('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=64', 'oflag=direct'])).to.equal(0);
    const reader = gated(limited, 'dd', [`if=${file}`, 'of=/dev/null', 'bs=1M']);
    f.track(reader.child);
    // The memory probe keys stalls by the task's unified cgroup; a path under the
    // mount point is accepted as it is.
    const cli = startCli(['dr-snoop', '-t', '0', '--cgroup', limited.dir('unified'), '--json', '-o'], {
      env: withoutKubeconfig(),
    });
    await cli.waitForStderr(/Hit Ctrl-C to end\./);
    expect(await reader.go()).to.equal(0);
    const { code, stdout, stderr } = await cli.stop();
    expect(code, stderr).to.equal(0);

    const lines = jsonLines(stdout);
    const stalls = lines.filter((l) => l.type === 'memory');
    expect(stalls.length, 'stalls shown').to.be.above(0);
    for (const s of stalls) {
      expect(s).to.include({ comm: 'dd', tid: reader.pid, kind: 'memcg' });
      expect(s.cgroup).to.match(/\/limited$/);
      expect((s.owner as { path: string }).path).to.match(/\/limited$/);
    }
    // At least the 32 MiB beyond the limit had to be reclaimed (4 KiB pages).
    const pages = stalls.reduce((sum, s) => sum + (s.pages as number), 0);
    expect(pages, 'pages reclaimed').to.be.at.least((32 * MiB) / 4096);
    expect(lines.at(-1)).to.deep.include({ type: 'summary', events: stalls.length, pages, lost: 0 });
  });

  it('prints drsnoop columns, and nothing for a cgroup that does not reclaim', async function () {
    const f = fixture();
    const dir = f.tempDir('crosstalk-dr-snoop-');
    const limited = f.cgroup('limited');
    const quiet = f.cgroup('quiet');
    limited.limitMemory({ max: 32 * MiB });
    const file = join(dir, 'data');
    expect(await quiet.run('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=64', 'oflag=direct'])).to.equal(0);
    const reader = gated(limited, 'dd', [`if=${file}`, 'of=/dev/null', 'bs=1M']);
    f.track(reader.child);
    const shown = startCli(['dr-snoop', '-t', '0', '-p', String(reader.pid)], { env: withoutKubeconfig() });
    const none = startCli(['dr-snoop', '-t', '0', '--cgroup', quiet.dir('unified'), '--json'], {
      env: withoutKubeconfig(),
    });
    await Promise.all([shown, none].map((c) => c.waitForStderr(/Hit Ctrl-C to end\./)));
    expect(await reader.go()).to.equal(0);
    const [text, json] = await Promise.all([shown.stop(), none.stop()]);
    expect(text.code, text.stderr).to.equal(0);
    const [header = '', ...rows] = text.stdout.trimEnd().split('\n');
    expect(header.split(/\s+/)).to.deep.equal(['TIME', 'COMM', 'TID', 'LAT(ms)', 'PAGES', 'KIND']);
    expect(rows.length).to.be.above(0);
    for (const row of rows) {
      const [time, comm, tid, latency, pages, kind] = row.split(/\s+/);
      expect(time).to.match(/^\d\d:\d\d:\d\d$/);
      expect([comm, tid, kind]).to.deep.equal(['dd', String(reader.pid), 'memcg']);
      expect(Number(latency)).to.be.at.least(0);
      expect(Number(pages)).to.be.at.least(0);
    }
    expect(text.stderr).to.match(/\d+ events; [\d.]+ (ns|µs|ms|s) stalled, \d+ pages reclaimed/);
    expect(json.code, json.stderr).to.equal(0);
    expect(jsonLines(json.stdout)).to.deep.equal([{ type: 'summary', events: 0, lost: 0, stallMs: 0, pages: 0 }]);
  });
});
