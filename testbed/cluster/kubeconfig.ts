// Self-contained kubeconfig files (certificates embedded), so one can be copied or handed
// to another process without the PKI directory.
import { stringify } from 'yaml';

export interface KubeconfigInput {
  readonly server: string;
  /** PEM text: the CA that signed the server's certificate, and the client's pair. */
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly user: string;
}

export function renderKubeconfig(input: KubeconfigInput): string {
  const base64 = (pem: string) => Buffer.from(pem).toString('base64');
  const cluster = 'crosstalk-e2e';
  const context = `${input.user}@${cluster}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: input.server, 'certificate-authority-data': base64(input.caPem) } }],
    users: [
      {
        name: input.user,
        user: { 'client-certificate-data': base64(input.certPem), 'client-key-data': base64(input.keyPem) },
      },
    ],
    contexts: [{ name: context, context: { cluster, user: input.user } }],
    'current-context': context,
  });
}
