// REST paths of the resources the operator touches.
import { diagnosticSessionPlural } from '../../crds/diagnostic-session.js';
import { group, version } from '../../crds/meta.js';
import { nodeDiagnosticPlural } from '../../crds/node-diagnostic.js';

function crPath(plural: string, namespace?: string, name?: string, subresource?: string): string {
  let path = `/apis/${group}/${version}`;
  if (namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${plural}`;
  if (name) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

export const paths = {
  sessions: (namespace?: string, name?: string, subresource?: 'status') =>
    crPath(diagnosticSessionPlural, namespace, name, subresource),
  nodeDiagnostics: (namespace?: string, name?: string, subresource?: 'status') =>
    crPath(nodeDiagnosticPlural, namespace, name, subresource),
  pods: () => '/api/v1/pods',
  nodes: () => '/api/v1/nodes',
  events: (namespace: string) => `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`,
  lease: (namespace: string, name?: string) =>
    `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases${name ? `/${encodeURIComponent(name)}` : ''}`,
};
