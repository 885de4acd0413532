// Who talks to the e2e API server. Each identity is a client certificate whose subject
// RBAC sees as user (CN) and groups (O); the chart's access rules, bound to these users
// (testbed/cluster/chart.ts), grant the operator and agent identities exactly what they need.
import { ControlPlaneError } from './errors.js';

/** `admin` (system:masters), `operator`, or `agent:<node name>` (one per node). */
export type Identity = 'admin' | 'operator' | `agent:${string}`;

export interface ClientSubject {
  /** The user name the API server sees. */
  readonly commonName: string;
  /** The groups the API server sees. */
  readonly organizations: readonly string[];
}

export const operatorUserName = 'crosstalk-operator';
export const agentGroup = 'crosstalk:agents';

/** Agents' user names are this prefix and their node's name (the chart's
 * agent.nodeUserPrefix, which its admission policy compares with spec.nodeName). */
export const agentUserPrefix = 'crosstalk-agent:';

export function agentUserName(node: string): string {
  return `${agentUserPrefix}${node}`;
}

/** kube-controller-manager's own identity, bound by the API server's bootstrap RBAC. */
export const controllerManagerSubject: ClientSubject = {
  commonName: 'system:kube-controller-manager',
  organizations: [],
};

// RFC 1123 subdomain, as Kubernetes requires of node names.
const nodeNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isValidNodeName(name: string): boolean {
  return name.length <= 253 && nodeNamePattern.test(name);
}

export function parseIdentity(text: string): Identity {
  if (text === 'admin' || text === 'operator') return text;
  if (text.startsWith('agent:')) {
    const node = text.slice('agent:'.length);
    if (isValidNodeName(node)) return `agent:${node}`;
  }
  throw new ControlPlaneError(
    'InvalidIdentity',
    `unknown identity ${JSON.stringify(text)}: expected admin, operator or agent:<node name> (RFC 1123 subdomain)`,
  );
}

export function subjectOf(identity: Identity): ClientSubject {
  if (identity === 'admin') return { commonName: 'crosstalk-admin', organizations: ['system:masters'] };
  if (identity === 'operator') return { commonName: operatorUserName, organizations: [] };
  return { commonName: agentUserName(parseIdentity(identity).slice('agent:'.length)), organizations: [agentGroup] };
}

/** A file-name-safe stem for an identity's certificate and kubeconfig. */
export function identityFileStem(identity: Identity): string {
  return identity.replace(':', '-');
}
