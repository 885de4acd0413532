// Names and labels that tie a NodeDiagnostic to its session and node. The agent and the
// operator both derive them from here.
import { createHash } from 'node:crypto';

/** Every object crosstalk creates carries this label (value `crosstalk`). */
export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedByValue = 'crosstalk';
/** The UID of the session a NodeDiagnostic belongs to (names can exceed a label's 63 characters). */
export const sessionUidLabel = 'crosstalk.dev/session-uid';
/** The finalizer the operator keeps on a session until its NodeDiagnostics are gone. */
export const sessionFinalizer = 'crosstalk.dev/node-diagnostics';

const maxNameLength = 63;
const hashLength = 10;

/** `<session>-<node>` when that fits in 63 characters, else a truncated prefix plus a hash
 * of both names, so every (session, node) pair maps to one short, stable, valid name.
 * `disambiguate` forces the hashed form (used when the plain name is taken). */
export function nodeDiagnosticName(session: string, node: string, disambiguate = false): string {
  const plain = `${session}-${node}`;
  if (plain.length <= maxNameLength && !disambiguate) return plain;
  const hash = createHash('sha256').update(`${session}\0${node}`).digest('hex').slice(0, hashLength);
  // The prefix must end in an alphanumeric character to keep the name a DNS subdomain.
  const prefix = plain.slice(0, maxNameLength - hashLength - 1).replace(/[-.]+$/, '');
  return `${prefix}-${hash}`;
}
