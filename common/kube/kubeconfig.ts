// Where the API server is and who we are to it, found the way kubectl finds them: the
// kubeconfig file given, else the first file of $KUBECONFIG (files after it are not
// merged in), else ~/.kube/config, else the pod's service account. Of a kubeconfig only
// the current context is read. What this does not support is refused with a message
// rather than ignored: a silently dropped proxy or impersonation would talk to the wrong
// place or as the wrong user.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

import { systemClock, type Clock } from '../clock.js';
import { CodedError } from '../errors.js';
import {
  basicAuthorization,
  fixedCredentials,
  TokenFile,
  withClientCertificate,
  type Credentials,
} from './credentials.js';
import { ExecCredentials, execApiVersions } from './exec-credential.js';

export class KubeConfigError extends CodedError<'NoCluster' | 'InvalidKubeconfig' | 'Unsupported'> {}

export interface TlsSettings {
  /** PEM CAs the server's certificate must chain to; Node's own list when absent. */
  readonly ca?: Buffer;
  /** The name the server's certificate must carry, when it is not the server URL's host. */
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

export interface Connection {
  /** The API server's base URL, without a trailing slash. */
  readonly server: string;
  readonly tls: TlsSettings;
  readonly credentials: Credentials;
  /** The context's namespace (in a pod: the pod's own), if any. */
  readonly namespace: string | undefined;
}

export interface LoadOptions {
  /** An explicit kubeconfig file. */
  readonly path?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
  readonly serviceAccountDir?: string;
  /** Decides when rotating tokens are read again. */
  readonly clock?: Pick<Clock, 'now'>;
}

export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

export function loadConnection(options: LoadOptions = {}): Connection {
  const env = options.env ?? process.env;
  const clock = options.clock ?? systemClock;
  const fromEnv = env.KUBECONFIG?.split(delimiter).find((p) => p !== '');
  const home = join(options.home ?? homedir(), '.kube', 'config');
  const file = options.path ?? fromEnv ?? (existsSync(home) ? home : undefined);
  if (file !== undefined) return fromKubeconfig(file, clock);
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT)
    return inCluster(env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT, options.serviceAccountDir, clock);
  throw new KubeConfigError('NoCluster', 'no cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a pod');
}

/** The pod's service account: the API server's in-cluster address, its CA, and the
 * projected token, which kubelet rotates. */
function inCluster(host: string, port: string, dir = serviceAccountDir, clock: Pick<Clock, 'now'>): Connection {
  const ca = readMaterial(join(dir, 'ca.crt'), 'the service account CA');
  let credentials: TokenFile;
  try {
    credentials = new TokenFile(join(dir, 'token'), clock);
  } catch (err) {
    throw new KubeConfigError('InvalidKubeconfig', `cannot read the service account token: ${message(err)}`);
  }
  const namespaceFile = join(dir, 'namespace');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    tls: { ca, rejectUnauthorized: true },
    credentials,
    namespace: existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() || undefined : undefined,
  };
}

const clusterSchema = z.object({
  server: z.string().min(1),
  'certificate-authority': z.string().optional(),
  'certificate-authority-data': z.string().optional(),
  'insecure-skip-tls-verify': z.boolean().optional(),
  'tls-server-name': z.string().optional(),
  'proxy-url': z.string().optional(),
});

const execSchema = z.object({
  apiVersion: z.enum(execApiVersions),
  command: z.string().min(1),
  args: z.array(z.string()).nullish(),
  env: z.array(z.object({ name: z.string(), value: z.string() })).nullish(),
  installHint: z.string().optional(),
  provideClusterInfo: z.boolean().optional(),
});

const userSchema = z.object({
  'client-certificate': z.string().optional(),
  'client-certificate-data': z.string().optional(),
  'client-key': z.string().optional(),
  'client-key-data': z.string().optional(),
  token: z.string().optional(),
  tokenFile: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  exec: execSchema.optional(),
  'auth-provider': z.unknown().optional(),
  as: z.string().optional(),
  'as-groups': z.unknown().optional(),
  'as-uid': z.string().optional(),
  'as-user-extra': z.unknown().optional(),
});

const kubeconfigSchema = z.object({
  'current-context': z.string().optional(),
  clusters: z.array(z.object({ name: z.string(), cluster: clusterSchema })).nullish(),
  contexts: z
    .array(
      z.object({
        name: z.string(),
        context: z.object({ cluster: z.string(), user: z.string().optional(), namespace: z.string().optional() }),
      }),
    )
    .nullish(),
  users: z.array(z.object({ name: z.string(), user: userSchema.nullish() })).nullish(),
});

type Cluster = z.output<typeof clusterSchema>;
type User = z.output<typeof userSchema>;

function fromKubeconfig(file: string, clock: Pick<Clock, 'now'>): Connection {
  const path = resolve(file);
  let raw: unknown;
  try {
    raw = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new KubeConfigError('InvalidKubeconfig', `cannot read the kubeconfig ${path}: ${message(err)}`);
  }
  const parsed = kubeconfigSchema.safeParse(raw ?? {});
  if (!parsed.success)
    throw new KubeConfigError('InvalidKubeconfig', `${path}: ${z.prettifyError(parsed.error).replace(/\n\s*/g, ' ')}`);
  const config = parsed.data;
  const contextName = config['current-context'];
  if (!contextName) throw new KubeConfigError('NoCluster', `${path} has no current-context`);
  const context = config.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) throw new KubeConfigError('NoCluster', `${path}: the current context "${contextName}" is not defined`);
  const cluster = config.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster) throw new KubeConfigError('NoCluster', `${path}: the cluster "${context.cluster}" is not defined`);
  const user = context.user ? config.users?.find((u) => u.name === context.user) : undefined;
  if (context.user && !user)
    throw new KubeConfigError('NoCluster', `${path}: the user "${context.user}" is not defined`);
  if (cluster['proxy-url'])
    throw new KubeConfigError('Unsupported', `${path}: proxy-url is not supported; reach the API server directly`);
  const baseDir = dirname(path);
  const ca = cluster['certificate-authority-data']
    ? Buffer.from(cluster['certificate-authority-data'], 'base64')
    : cluster['certificate-authority']
      ? readMaterial(resolve(baseDir, cluster['certificate-authority']), 'certificate-authority')
      : undefined;
  return {
    server: cluster.server.replace(/\/+$/, ''),
    tls: {
      ...(ca ? { ca } : {}),
      ...(cluster['tls-server-name'] ? { servername: cluster['tls-server-name'] } : {}),
      rejectUnauthorized: !cluster['insecure-skip-tls-verify'],
    },
    credentials: userCredentials(user?.user ?? {}, cluster, baseDir, path, clock),
    namespace: context.namespace || undefined,
  };
}

/** Exec plugin, else token, else token file, else basic auth; a client certificate
 * alongside any of them. */
function userCredentials(
  user: User,
  cluster: Cluster,
  baseDir: string,
  path: string,
  clock: Pick<Clock, 'now'>,
): Credentials {
  if (user['auth-provider'] !== undefined)
    throw new KubeConfigError(
      'Unsupported',
      `${path}: auth-provider plugins are not supported (client-go removed them too); use an exec credential plugin, e.g. the cloud's kubelogin or gke-gcloud-auth-plugin`,
    );
  if (['as', 'as-groups', 'as-uid', 'as-user-extra'].some((k) => user[k as keyof User] !== undefined))
    throw new KubeConfigError('Unsupported', `${path}: impersonation (as, as-groups...) is not supported`);
  const material = (data: string | undefined, file: string | undefined, what: string) =>
    data ? Buffer.from(data, 'base64') : file ? readMaterial(resolve(baseDir, file), what) : undefined;
  const cert = material(user['client-certificate-data'], user['client-certificate'], 'client-certificate');
  const key = material(user['client-key-data'], user['client-key'], 'client-key');
  if (!cert !== !key)
    throw new KubeConfigError('InvalidKubeconfig', `${path}: a client certificate needs both its certificate and key`);
  const source = authorization(user, cluster, baseDir, path, clock);
  return cert && key ? withClientCertificate(source, cert, key) : source;
}

function authorization(
  user: User,
  cluster: Cluster,
  baseDir: string,
  path: string,
  clock: Pick<Clock, 'now'>,
): Credentials {
  if (user.exec) {
    const { apiVersion, command, args, env, installHint, provideClusterInfo } = user.exec;
    // As client-go: a command given as a relative path is relative to the kubeconfig.
    const resolved = !isAbsolute(command) && command.includes('/') ? resolve(baseDir, command) : command;
    const caData = cluster['certificate-authority-data'];
    return new ExecCredentials(
      {
        apiVersion,
        command: resolved,
        args: args ?? [],
        env: Object.fromEntries((env ?? []).map((e) => [e.name, e.value])),
        installHint,
        cluster: provideClusterInfo
          ? { server: cluster.server, ...(caData ? { 'certificate-authority-data': caData } : {}) }
          : undefined,
      },
      clock,
    );
  }
  if (user.token) return fixedCredentials({ authorization: `Bearer ${user.token}` });
  if (user.tokenFile) {
    try {
      return new TokenFile(resolve(baseDir, user.tokenFile), clock);
    } catch (err) {
      throw new KubeConfigError('InvalidKubeconfig', `${path}: cannot read tokenFile: ${message(err)}`);
    }
  }
  if (user.username !== undefined && user.password !== undefined)
    return fixedCredentials({ authorization: basicAuthorization(user.username, user.password) });
  return fixedCredentials({});
}

function readMaterial(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new KubeConfigError('InvalidKubeconfig', `cannot read ${what} ${path}: ${message(err)}`);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
