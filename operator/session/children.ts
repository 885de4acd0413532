// One NodeDiagnostic per node hosting victims: what each should look like, and the
// changes that take the existing ones there. Children are recognised by their controller
// owner reference, not by name, so a renamed (disambiguated) child is still found.
import { isDeepStrictEqual } from 'node:util';

import { apiVersion } from '../../crds/meta.js';
import type { SessionSpec } from '../../crds/diagnostic-session.js';
import { diagnosticSessionKind } from '../../crds/diagnostic-session.js';
import type { PodRef } from '../../crds/meta.js';
import { managedByLabel, managedByValue, nodeDiagnosticName, sessionUidLabel } from '../../crds/names.js';
import { nodeDiagnosticKind, nodeDiagnosticSpecSchema, type NodeDiagnosticSpec } from '../../crds/node-diagnostic.js';
import type { ObjectMeta } from '../../crds/meta.js';
import type { ChildObject } from '../kube/objects.js';
import { memoizedSafeParse } from './memo.js';

export interface SessionIdentity {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

/** A NodeDiagnostic as the operator applies it (server-side apply, so create or update). */
export interface ChildManifest {
  readonly apiVersion: typeof apiVersion;
  readonly kind: typeof nodeDiagnosticKind;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Record<string, string>;
    readonly ownerReferences: readonly {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: true;
      blockOwnerDeletion: true;
    }[];
  };
  readonly spec: NodeDiagnosticSpec;
}

export interface ChildChanges {
  /** Children to create or update. */
  readonly apply: readonly ChildManifest[];
  /** Children to delete (nodes without victims, duplicates). */
  readonly remove: readonly ChildObject[];
}

export function childSpec(
  session: SessionIdentity,
  spec: SessionSpec,
  nodeName: string,
  targets: readonly PodRef[],
  deadline: string | undefined,
): NodeDiagnosticSpec {
  return {
    nodeName,
    session: { name: session.name, uid: session.uid },
    interval: spec.interval,
    ...(deadline ? { deadline } : {}),
    probes: spec.probes,
    backend: spec.backend,
    captureStacks: spec.captureStacks,
    maxEvents: spec.maxEvents,
    confirm: spec.confirm,
    targets: [...targets],
  };
}

export function childManifest(session: SessionIdentity, name: string, spec: NodeDiagnosticSpec): ChildManifest {
  return {
    apiVersion,
    kind: nodeDiagnosticKind,
    metadata: {
      name,
      namespace: session.namespace,
      labels: { [managedByLabel]: managedByValue, [sessionUidLabel]: session.uid },
      ownerReferences: [
        {
          apiVersion,
          kind: diagnosticSessionKind,
          name: session.name,
          uid: session.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
  };
}

/** A child's spec as the operator reads it (defaults filled in), parsed once per object. */
export const parseChildSpec = memoizedSafeParse(nodeDiagnosticSpecSchema);

function upToDate(child: ChildObject, manifest: ChildManifest): boolean {
  const spec = parseChildSpec(child.spec);
  const labels = child.metadata.labels ?? {};
  return (
    spec.success &&
    isDeepStrictEqual(spec.data, manifest.spec) &&
    Object.entries(manifest.metadata.labels).every(([k, v]) => labels[k] === v)
  );
}

/**
 * The changes that leave exactly one up-to-date child per entry of `desired`.
 * `nameTaken` says whether a NodeDiagnostic of that name exists in the session's namespace
 * that is not one of `existing` (then the child gets a hashed name instead).
 */
export function planChildren(
  session: SessionIdentity,
  desired: ReadonlyMap<string, NodeDiagnosticSpec>,
  existing: readonly ChildObject[],
  nameTaken: (name: string) => boolean,
): ChildChanges {
  const apply: ChildManifest[] = [];
  const remove: ChildObject[] = [];
  const byNode = new Map<string, ChildObject[]>();
  for (const child of [...existing].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    byNode.set(child.nodeName, [...(byNode.get(child.nodeName) ?? []), child]);
  }
  for (const [node, children] of byNode) {
    if (!desired.has(node)) remove.push(...children);
    else remove.push(...children.slice(1));
  }
  for (const [node, spec] of desired) {
    const current = byNode.get(node)?.[0];
    let name = current?.metadata.name;
    if (!name) {
      name = nodeDiagnosticName(session.name, node);
      if (nameTaken(name)) name = nodeDiagnosticName(session.name, node, true);
    }
    const manifest = childManifest(session, name, spec);
    if (!current || !upToDate(current, manifest)) apply.push(manifest);
  }
  return { apply, remove };
}

/** The session's identity from its metadata (uid and namespace are always set by the API). */
export function sessionIdentity(meta: ObjectMeta): SessionIdentity {
  return { name: meta.name, namespace: meta.namespace ?? '', uid: meta.uid ?? '' };
}
