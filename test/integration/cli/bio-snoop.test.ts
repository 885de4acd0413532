// `crosstalk bio-snoop` as installed (bin/crosstalk), against a real O_DIRECT write from a
// known process in a fresh cgroup: every request shows with that PID, the bytes add up to
// exactly what dd wrote, the owner is the writer's cgroup, and -s prints kernel stacks.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { startCli } from '../../../testbed/components/cli-process.js';
import { useProbeFixture } from '../probes/workloads.js';
import { gated, jsonLines, withoutKubeconfig } from './gated.js';

const MiB = 1024 * 1024;

describe('crosstalk bio-snoop', function () {
  this.timeout(240_000); // the VM lane emulates its CPU: each start of the command takes ~15 s there
  const fixture = useProbeFixture();

  it('shows every request of an O_DIRECT write with its PID and the exact bytes (-t 0 -p PID --json -o)', async function () {
    const f = fixture();
    const dir = f.tempDir('crosstalk-bio-snoop-');
    const writer = f.cgroup('writer');
    // Reading dd's binary into the page cache now keeps its exec (still named sh) from
    // reading the disk under the traced PID.
    execFileSync('dd', ['--version']);
    const dd = gated(writer, 'dd', ['if=/dev/zero', `of=${join(dir, 'direct')}`, 'bs=1M', 'count=8', 'oflag=direct']);
    f.track(dd.child);
    const cli = startCli(['bio-snoop', '-t', '0', '-p', String(dd.pid), '--json', '-o'], { env: withoutKubeconfig() });
    await cli.waitForStderr(/Hit Ctrl-C to end\./);
    expect(await dd.go()).to.equal(0);
    const { code, stdout, stderr } = await cli.stop('SIGINT');
    expect(code, stderr).to.equal(0);

    const lines = jsonLines(stdout);
    const events = lines.filter((l) => l.type === 'io');
    expect(events.length, 'requests shown').to.be.at.least(8);
    for (const e of events) {
      expect(e).to.include({ comm: 'dd', pid: dd.pid });
      expect(e.latencyMs).to.be.a('number').above(0);
      expect((e.owner as { kind: string; path: string }).path).to.match(/\/writer$/);
    }
    // dd may also read a block of filesystem metadata (allocation bitmaps) itself.
    const writes = events.filter((e) => String(e.t).startsWith('W'));
    expect(writes.reduce((sum, e) => sum + (e.bytes as number), 0)).to.equal(8 * MiB);
    expect(events.length - writes.length, 'metadata reads').to.be.below(4);
    const bytes = events.reduce((sum, e) => sum + (e.bytes as number), 0);
    expect(lines.at(-1)).to.deep.include({ type: 'summary', events: events.length, bytes, lost: 0 });
    expect(stderr).to.match(/^Tracing block device I\/O\.\.\. Hit Ctrl-C to end\.$/m);
  });

  it('prints biosnoop columns and the kernel stack of each request (-s), and ends after DURATION', async function () {
    const f = fixture();
    const dir = f.tempDir('crosstalk-bio-snoop-');
    const writer = f.cgroup('writer');
    const dd = gated(writer, 'dd', ['if=/dev/zero', `of=${join(dir, 'direct')}`, 'bs=1M', 'count=2', 'oflag=direct']);
    f.track(dd.child);
    const cli = startCli(['bio-snoop', '-t', '0', '-p', String(dd.pid), '-s', '30'], { env: withoutKubeconfig() });
    await cli.waitForStderr(/Hit Ctrl-C to end\./);
    expect(await dd.go()).to.equal(0);
    // SIGTERM ends a run too; DURATION (30 s) would have.
    const { code, stdout, stderr } = await cli.stop('SIGTERM');
    expect(code, stderr).to.equal(0);
    const [header = '', ...rest] = stdout.trimEnd().split('\n');
    expect(header.split(/\s+/)).to.deep.equal(['TIME(s)', 'COMM', 'PID', 'DISK', 'T', 'SECTOR', 'BYTES', 'LAT(ms)']);
    const rows = rest.filter((l) => !l.startsWith(' '));
    expect(rows.length).to.be.at.least(2);
    for (const row of rows) {
      const [time, comm, pid, , t, sector, bytes, latency] = row.split(/\s+/);
      expect(Number(time)).to.be.above(0);
      expect([comm, pid]).to.deep.equal(['dd', String(dd.pid)]);
      expect(t).to.match(/^WS?/);
      expect(Number(sector)).to.be.at.least(0);
      expect(Number(bytes)).to.be.above(0);
      expect(Number(latency)).to.be.above(0);
    }
    const stack = rest.filter((l) => l.startsWith('    '));
    expect(stack.join('\n'), 'kernel frames').to.match(/blk_|bio|dio|ext4|iomap/);
    expect(stderr).to.match(/\d+ events; 2 MiB, slowest [\d.]+ (µs|ms)/);
  });

  it('rejects bad arguments with exit status 2 and names the option', async function () {
    const bad = await startCli(['bio-snoop', '-t', 'soon']).result;
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain(`option '-t, --threshold <ms>' argument 'soon' is invalid. "soon" is not a number`);
    const pod = await startCli(['bio-snoop', '--pod', 'no-slash'], { env: withoutKubeconfig() }).result;
    expect(pod.code).to.equal(2);
    expect(pod.stderr).to.contain('"no-slash" is not NAMESPACE/NAME');
    const noApi = await startCli(['bio-snoop', '--pod', 'shop/checkout'], { env: withoutKubeconfig() }).result;
    expect(noApi.code).to.equal(2);
    expect(noApi.stderr).to.contain('--pod needs the Kubernetes API');
  });
});
