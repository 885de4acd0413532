// The control plane's certificates, made with the openssl CLI: a CA for the API server's
// serving certificate (SAN IP:127.0.0.1), a CA for client certificates (one per
// identity), and the service-account signing key pair. EC P-256 keys: each takes ~10 ms.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ControlPlaneError } from './errors.js';
import type { ClientSubject } from './identities.js';

export interface CertificateFiles {
  readonly cert: string;
  readonly key: string;
}

export interface ClusterPki {
  readonly dir: string;
  /** Signs the API server's serving certificate; clients trust it. */
  readonly serverCa: CertificateFiles;
  readonly serving: CertificateFiles;
  /** Signs client certificates; the API server authenticates users with it. */
  readonly clientCa: CertificateFiles;
  /** Service-account token signing key (private) and verification key (public). */
  readonly serviceAccount: { readonly privateKey: string; readonly publicKey: string };
}

const validDays = '30';

// x509v3 extension sections selected with -extensions; the empty dn section satisfies
// `openssl req` when the subject comes from -subj.
const opensslConfig = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[serving]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

export function createClusterPki(dir: string): ClusterPki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'openssl.cnf'), opensslConfig);
  const serverCa = selfSignedCa(dir, 'server-ca', 'crosstalk-e2e-server-ca');
  const clientCa = selfSignedCa(dir, 'client-ca', 'crosstalk-e2e-client-ca');
  const serving = issue(dir, 'serving', { commonName: 'kube-apiserver', organizations: [] }, serverCa, 'serving');
  const privateKey = join(dir, 'service-account.key');
  const publicKey = join(dir, 'service-account.pub');
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', privateKey]);
  openssl(['pkey', '-in', privateKey, '-pubout', '-out', publicKey]);
  return { dir, serverCa, serving, clientCa, serviceAccount: { privateKey, publicKey } };
}

/** Issues a client certificate for `subject`, signed by the client CA, as `<stem>.crt/.key`. */
export function issueClientCertificate(pki: ClusterPki, stem: string, subject: ClientSubject): CertificateFiles {
  return issue(pki.dir, stem, subject, pki.clientCa, 'client');
}

function selfSignedCa(dir: string, stem: string, commonName: string): CertificateFiles {
  const files = { cert: join(dir, `${stem}.crt`), key: join(dir, `${stem}.key`) };
  openssl([...newCertificate(dir, files, { commonName, organizations: [] }), '-extensions', 'ca']);
  return files;
}

function issue(
  dir: string,
  stem: string,
  subject: ClientSubject,
  ca: CertificateFiles,
  extensions: 'serving' | 'client',
): CertificateFiles {
  const files = { cert: join(dir, `${stem}.crt`), key: join(dir, `${stem}.key`) };
  openssl([...newCertificate(dir, files, subject), '-extensions', extensions, '-CA', ca.cert, '-CAkey', ca.key]);
  return files;
}

function newCertificate(dir: string, files: CertificateFiles, subject: ClientSubject): string[] {
  return [
    'req',
    '-x509',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    files.key,
    '-out',
    files.cert,
    '-days',
    validDays,
    '-config',
    join(dir, 'openssl.cnf'),
    '-subj',
    subjectString(subject),
  ];
}

/** `/CN=user/O=group1/O=group2`, escaping the characters openssl's -subj treats specially. */
export function subjectString(subject: ClientSubject): string {
  const escape = (value: string) => value.replace(/[\\/+=]/g, (c) => `\\${c}`);
  return [`/CN=${escape(subject.commonName)}`, ...subject.organizations.map((o) => `/O=${escape(o)}`)].join('');
}

function openssl(args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err: unknown) {
    const stderr = err instanceof Error && 'stderr' in err ? String(err.stderr) : String(err);
    throw new ControlPlaneError('CommandFailed', `openssl ${args[0] ?? ''} failed: ${stderr.trim()}`);
  }
}
