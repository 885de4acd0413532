import { expect } from 'chai';
import { parse } from 'yaml';

import { renderKubeconfig } from '../../../../testbed/cluster/kubeconfig.js';

describe('e2e kubeconfig', function () {
  it('embeds the certificates and selects the one context', function () {
    const text = renderKubeconfig({
      server: 'https://127.0.0.1:6443',
      caPem: 'CA',
      certPem: 'CERT',
      keyPem: 'KEY',
      user: 'crosstalk-operator',
    });
    const config = parse(text) as {
      clusters: { cluster: Record<string, string> }[];
      users: { name: string; user: Record<string, string> }[];
      contexts: { name: string; context: { cluster: string; user: string } }[];
      'current-context': string;
    };
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    expect(config.clusters[0]?.cluster).to.deep.equal({
      server: 'https://127.0.0.1:6443',
      'certificate-authority-data': b64('CA'),
    });
    expect(config.users[0]?.user).to.deep.equal({
      'client-certificate-data': b64('CERT'),
      'client-key-data': b64('KEY'),
    });
    expect(config.contexts[0]?.context.user).to.equal('crosstalk-operator');
    expect(config['current-context']).to.equal(config.contexts[0]?.name);
  });
});
