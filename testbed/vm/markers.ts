// What the guest tells the host on its serial console: lines "CROSSTALK-VM: <key> <value>"
// written by init.sh and guest.sh. Parsed line by line as they arrive.

export const markerPrefix = 'CROSSTALK-VM: ';

export interface GuestReport {
  /** `uname -r` and `uname -v` of the guest kernel. */
  kernel?: string;
  /** The root cgroup's cgroup.controllers and cgroup.subtree_control. */
  controllers?: string;
  subtreeControl?: string;
  /** sha256 of the native addon as the guest read it. */
  addonSha256?: string;
  node?: string;
  /** mocha's exit status inside the guest; absent if the guest never got that far. */
  exitCode?: number;
  readonly errors: string[];
  readonly warnings: string[];
  /** Kernel log lines of a BUG, WARNING, soft lockup, RCU stall or hung task. */
  readonly kernelProblems: string[];
}

export function emptyReport(): GuestReport {
  return { errors: [], warnings: [], kernelProblems: [] };
}

/** What the kernel prints first for a bug, a warning, a soft lockup ("watchdog: BUG: soft
 * lockup"), an RCU stall or a hung task. A suite can pass while its kernel misbehaves. */
const kernelProblem = /\b(?:BUG|WARNING):|\bINFO: (?:rcu_\w+ (?:self-)?detected stall|task .* blocked for more than)/;

/** Folds one serial line into `report` (a kernel problem is kept too); returns whether it
 * was a marker. */
export function applyMarker(report: GuestReport, line: string): boolean {
  const at = line.indexOf(markerPrefix);
  if (at < 0) {
    if (kernelProblem.test(line)) report.kernelProblems.push(line.trim());
    return false;
  }
  const body = line.slice(at + markerPrefix.length).trim();
  const space = body.indexOf(' ');
  const key = space < 0 ? body : body.slice(0, space);
  const value = space < 0 ? '' : body.slice(space + 1).trim();
  switch (key) {
    case 'kernel':
      report.kernel = value;
      break;
    case 'controllers':
      report.controllers = value;
      break;
    case 'subtree_control':
      report.subtreeControl = value;
      break;
    case 'addon':
      report.addonSha256 = value;
      break;
    case 'node':
      report.node = value;
      break;
    case 'exit':
      if (/^\d+$/.test(value)) report.exitCode = Number(value);
      else report.errors.push(`unreadable exit status "${value}"`);
      break;
    case 'error':
      report.errors.push(value);
      break;
    case 'warning':
      report.warnings.push(value);
      break;
    default:
      report.warnings.push(`unknown marker: ${body}`);
  }
  return true;
}
