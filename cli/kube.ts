// The Kubernetes API as the command line uses it: a client from --kubeconfig (else
// $KUBECONFIG, ~/.kube/config or the in-cluster account), the namespace kubectl would use,
// and API failures turned into CliErrors that say what to do.
import { ApiError, KubeClient } from '../common/kube/client.js';
import { KubeConfigError } from '../common/kube/kubeconfig.js';
import { CliError } from './errors.js';

export function loadKubeClient(kubeconfig: string | undefined): KubeClient {
  try {
    return KubeClient.load(kubeconfig);
  } catch (err) {
    if (err instanceof KubeConfigError) throw new CliError('ApiUnavailable', err.message, { cause: err });
    throw new CliError(
      'ApiUnavailable',
      `cannot read the kubeconfig${kubeconfig ? ` ${kubeconfig}` : ''}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/** The current context's namespace, as kubectl picks it, else `default`. */
export function contextNamespace(client: KubeClient): string {
  return client.connection.namespace ?? 'default';
}

/** An API failure as a CliError; `what` names the object, e.g. `diagnosticsession "x" in "shop"`. */
export function apiFailure(err: unknown, what: string): CliError {
  if (!(err instanceof ApiError)) return new CliError('Failed', String(err), { cause: err });
  if (err.status === 404) return new CliError('NotFound', `${what} not found`, { cause: err });
  if (err.status === 401 || err.status === 403)
    return new CliError('PermissionDenied', `the API server refused to show ${what}: ${err.message}`, { cause: err });
  if (err.status === 0)
    return new CliError('ApiUnavailable', `cannot reach the Kubernetes API server: ${err.message}`, { cause: err });
  return new CliError('Failed', `reading ${what} failed: ${err.message}`, { cause: err });
}
