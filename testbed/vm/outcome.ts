// Whether a VM lane run passed: only the guest's own markers count (qemu's exit status
// means nothing), and a guest that was killed, never reported, ran on a node that is not
// pure cgroup v2, ran another Node or addon than the host's, or whose kernel printed a
// BUG, WARNING, soft lockup, RCU stall or hung task is a failure.
import type { GuestReport } from './markers.js';

/** Controllers a kubelet on a pure cgroup-v2 node enables, which the guest must offer. */
export const requiredControllers = ['cpu', 'io', 'memory', 'cpuset', 'pids'] as const;

export interface RunFacts {
  readonly report: GuestReport;
  readonly timedOut: boolean;
  readonly timeoutMs: number;
  readonly hostAddonSha256: string;
  /** `process.version` of the Node that runs the lane. */
  readonly hostNode: string;
}

/** The reasons the run failed; empty when it passed. */
export function failureReasons(facts: RunFacts): string[] {
  const { report } = facts;
  const reasons: string[] = [];
  if (facts.timedOut) reasons.push(`the guest was still running after ${facts.timeoutMs / 1000} s and was killed`);
  for (const error of report.errors) reasons.push(`guest error: ${error}`);
  // The first lines say what happened (a lockup repeats itself); the serial log has the rest.
  for (const line of report.kernelProblems.slice(0, 3)) reasons.push(`guest kernel: ${line}`);
  if (report.kernelProblems.length > 3)
    reasons.push(`guest kernel: ${report.kernelProblems.length - 3} more such lines in the serial log`);
  if (report.subtreeControl !== undefined) {
    const enabled = report.subtreeControl.split(/\s+/);
    const missing = requiredControllers.filter((c) => !enabled.includes(c));
    if (missing.length > 0) reasons.push(`the guest's root cgroup does not delegate ${missing.join(', ')}`);
  }
  if (report.addonSha256 !== undefined && report.addonSha256 !== facts.hostAddonSha256) {
    reasons.push(`the guest read another native addon (sha256 ${report.addonSha256}) than the host built`);
  }
  if (report.node !== undefined && report.node !== facts.hostNode) {
    reasons.push(`the guest ran Node ${report.node}, not the host's ${facts.hostNode}`);
  }
  if (report.exitCode === undefined) {
    if (!facts.timedOut && report.errors.length === 0) reasons.push('the guest powered off without an exit status');
  } else if (report.exitCode !== 0) {
    reasons.push(`the guest's mocha exited with status ${report.exitCode}`);
  }
  return reasons;
}
