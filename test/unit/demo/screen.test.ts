import { expect } from 'chai';

import { PlainScreen } from '../../../demo/screen.js';

describe('demo plain screen', function () {
  function screen() {
    let now = 0;
    const out: string[] = [];
    const s = new PlainScreen({ write: (text) => out.push(text), now: () => now, statusEveryMs: 5000 });
    return { s, out, advance: (ms: number) => (now += ms) };
  }

  it('prints a step when it starts and when it ends, with its detail and duration', async function () {
    const { s, out, advance } = screen();
    const result = await s.step(
      'operator',
      () => {
        advance(2500);
        return Promise.resolve(42);
      },
      (n) => `answer ${n}`,
    );
    expect(result).to.equal(42);
    expect(out).to.deep.equal(['… operator\n', '✔ operator: answer 42 (2.5 s)\n']);
  });

  it('prints a failed step with the first line of its error and rethrows it', async function () {
    const { s, out } = screen();
    const error = new Error('kube-apiserver exited\nlog tail');
    const caught = await s.step('control plane', () => Promise.reject(error)).catch((err: unknown) => err);
    expect(caught).to.equal(error);
    expect(out[1]).to.equal('✘ control plane: kube-apiserver exited (0.0 s)\n');
  });

  it('prints the status line at most every statusEveryMs, and at once after close', function () {
    const { s, out, advance } = screen();
    s.status('a');
    advance(4999);
    s.status('b');
    advance(1);
    s.status('c');
    s.close();
    s.status('d');
    expect(out).to.deep.equal(['a\n', 'c\n', 'd\n']);
  });
});
