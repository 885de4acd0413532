// The installed command's common behaviour: --help on every subcommand, usage errors,
// and what an unprivileged user is told (the capability to grant, exit status 4).
import { expect } from 'chai';

import { crosstalkBin, runCli } from '../../../testbed/components/cli-process.js';
import { missingRoot, requireOrSkip } from '../../../testbed/host/requirements.js';

const subcommands = ['report', 'bio-snoop', 'dr-snoop', 'runq-snoop', 'llc-stat', 'top'];

describe('crosstalk (the command)', function () {
  this.timeout(240_000); // the VM lane emulates its CPU: each start of the command takes ~15 s there

  it('has --help on every subcommand, listing them all', async function () {
    const top = await runCli(['--help']);
    expect(top.code).to.equal(0);
    for (const name of subcommands) expect(top.stdout).to.match(new RegExp(`^  ${name} `, 'm'));
    expect(top.stdout).to.contain('Exit status: 0 done;');
    const helps = [];
    for (const name of subcommands) helps.push(await runCli([name, '--help'])); // one at a time: the VM lane has 1 GiB
    for (const [i, help] of helps.entries()) {
      expect(help.code, subcommands[i]).to.equal(0);
      expect(help.stdout).to.match(new RegExp(`^Usage: crosstalk ${subcommands[i]} `));
    }
    expect(helps[5]?.stdout).to.contain('--interval <seconds>');
    expect(helps[4]?.stdout).to.not.contain('--software-counters'); // a test-only flag
  });

  it('refuses an unknown subcommand or option with status 2', async function () {
    const unknown = await runCli(['snoop-everything']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.contain("unknown command 'snoop-everything'");
    const option = await runCli(['runq-snoop', '--frobnicate']);
    expect(option.code).to.equal(2);
    expect(option.stderr).to.contain("unknown option '--frobnicate'");
  });

  it('tells an unprivileged user which capabilities to grant, with status 4', async function () {
    requireOrSkip(this, missingRoot());
    const drop = ['--reuid=65534', '--regid=65534', '--clear-groups', crosstalkBin];
    const results = await Promise.all(
      ['bio-snoop', 'runq-snoop', 'top'].map((tool) => runCli([...drop, tool, '1'], { command: 'setpriv' })),
    );
    for (const [i, probe] of ['io', 'cpu', 'cpu'].entries()) {
      const r = results[i]!;
      expect(r.code, r.stderr).to.equal(4);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.equal(
        `crosstalk: permission denied loading the ${probe} probe: run as root, or grant CAP_BPF and CAP_PERFMON ` +
          '(CAP_SYS_ADMIN on kernels before 5.8)\n',
      );
    }
  });
});
