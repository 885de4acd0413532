// Kubernetes Events the operator emits. Each is named from what it reports (session uid,
// reason, subject), so emitting it twice - after a restart, or a retry - hits AlreadyExists
// instead of duplicating it.
import { createHash } from 'node:crypto';

export const EventReason = {
  SessionStarted: 'SessionStarted',
  SessionCompleted: 'SessionCompleted',
  InterferenceDetected: 'InterferenceDetected',
  InvalidSpec: 'InvalidSpec',
  /** An agent restrains a suspect to see whether the victim recovers. */
  ConfirmationStarted: 'ConfirmationStarted',
  /** The victim recovered while the suspect was restrained. */
  InterferenceConfirmed: 'InterferenceConfirmed',
} as const;

export interface ObjectReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

export interface EventDraft {
  readonly name: string;
  readonly namespace: string;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  /** What the operator did or saw, e.g. `Diagnose`. */
  readonly action: string;
  readonly note: string;
  readonly regarding: ObjectReference;
  readonly related?: ObjectReference;
}

const maxNote = 1024;

/** `<object>.<hash of identity>`: a valid, deterministic event name. */
export function eventName(objectName: string, ...identity: string[]): string {
  const hash = createHash('sha256').update(identity.join('\0')).digest('hex').slice(0, 16);
  return `${objectName.slice(0, 200)}.${hash}`;
}

export function eventDraft(
  regarding: ObjectReference,
  reason: string,
  type: EventDraft['type'],
  note: string,
  identity: readonly string[],
  related?: ObjectReference,
): EventDraft {
  return {
    name: eventName(regarding.name, regarding.uid, reason, ...identity),
    namespace: regarding.namespace,
    type,
    reason,
    action: 'Diagnose',
    note: note.length > maxNote ? `${note.slice(0, maxNote - 3)}...` : note,
    regarding,
    ...(related ? { related } : {}),
  };
}
