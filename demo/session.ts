// The DiagnosticSession the demo applies (examples/noisy-neighbour.yaml), read back from
// the API server as the operator updates it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml } from 'yaml';

import { diagnosticSessionSchema, parseDuration, type DiagnosticSession, type SessionPhase } from '../crds/index.js';
import { repoRoot } from '../testbed/cluster/component-process.js';
import type { ControlPlane } from '../testbed/cluster/control-plane.js';
import { kubectl } from '../testbed/cluster/kubectl.js';
import { DemoError } from './errors.js';

/** Relative to the repository: shown as the user would type it. */
export const sessionFile = 'examples/noisy-neighbour.yaml';

export interface SessionManifest {
  readonly name: string;
  readonly namespace: string;
  /** spec.duration in milliseconds. */
  readonly durationMs: number;
}

/** The name, namespace and duration the example declares. */
export function readSessionManifest(file = join(repoRoot, sessionFile)): SessionManifest {
  const raw: unknown = parseYaml(readFileSync(file, 'utf8'));
  const parsed = diagnosticSessionSchema.pick({ metadata: true, spec: true }).safeParse(raw);
  const duration = parsed.success ? parsed.data.spec.duration : undefined;
  const namespace = parsed.success ? parsed.data.metadata.namespace : undefined;
  if (!parsed.success || duration === undefined || namespace === undefined) {
    throw new DemoError('MissingRequirement', `${file} must be a DiagnosticSession with a namespace and a duration`);
  }
  return { name: parsed.data.metadata.name, namespace, durationMs: parseDuration(duration) };
}

export async function readSession(cp: ControlPlane, manifest: SessionManifest): Promise<DiagnosticSession | undefined> {
  const result = await kubectl(cp, ['get', 'dsess', '-n', manifest.namespace, manifest.name, '-o', 'json']);
  if (result.code !== 0) return undefined;
  const parsed = diagnosticSessionSchema.safeParse(JSON.parse(result.stdout));
  return parsed.success ? parsed.data : undefined;
}

/** Polls the session until its phase is one of `phases`; throws SessionStuck after
 * `timeoutMs` and the signal's reason when aborted. */
export async function waitForPhase(
  cp: ControlPlane,
  manifest: SessionManifest,
  phases: readonly SessionPhase[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<DiagnosticSession> {
  const deadline = Date.now() + timeoutMs;
  let last: DiagnosticSession | undefined;
  for (;;) {
    signal.throwIfAborted();
    last = await readSession(cp, manifest);
    const phase = last?.status?.phase;
    if (last && phase !== undefined && phases.includes(phase)) return last;
    if (Date.now() > deadline) {
      const conditions = (last?.status?.conditions ?? []).map((c) => `${c.type}=${c.status} (${c.reason})`).join(', ');
      throw new DemoError(
        'SessionStuck',
        `the session did not become ${phases.join(' or ')} within ${Math.round(timeoutMs / 1000)} s: phase ${phase ?? 'unset'}${conditions ? `, ${conditions}` : ''}`,
      );
    }
    await sleep(1000, undefined, { signal });
  }
}
