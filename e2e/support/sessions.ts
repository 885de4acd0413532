// DiagnosticSessions as the e2e suites apply and read them: through kubectl, as a user does.
import type { SessionStatus } from '../../crds/diagnostic-session.js';
import type { ControlPlane } from '../../testbed/cluster/control-plane.js';
import { kubectl } from '../../testbed/cluster/kubectl.js';

/** A session as `kubectl get -o json` prints it. */
export interface SessionJson {
  readonly metadata: { readonly name: string; readonly namespace: string; readonly generation?: number };
  readonly status?: SessionStatus;
}

/** `kubectl apply` of a session named `name` with `spec` in `namespace`. */
export async function applySession(
  cp: ControlPlane,
  name: string,
  spec: Record<string, unknown>,
  namespace = 'shop',
): Promise<void> {
  const manifest = {
    apiVersion: 'crosstalk.dev/v1alpha1',
    kind: 'DiagnosticSession',
    metadata: { name, namespace },
    spec,
  };
  await kubectl(cp, ['apply', '-f', '-'], { input: JSON.stringify(manifest), check: true });
}

export async function readSession(cp: ControlPlane, name: string, namespace = 'shop'): Promise<SessionJson> {
  const out = await kubectl(cp, ['get', 'dsess', '-n', namespace, name, '-o', 'json'], { check: true });
  return JSON.parse(out.stdout) as SessionJson;
}
