// The Node object kubelet would register, and the status it keeps refreshing. Pure.
import { kubeTime } from './pod-status.js';

export interface NodeFacts {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly address: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly kernelVersion: string;
  readonly osImage: string;
  /** Go's GOARCH spelling, e.g. amd64. */
  readonly architecture: string;
  readonly kubeletVersion: string;
}

export const maxPods = 110;

export function nodeManifest(facts: NodeFacts): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: facts.name,
      labels: {
        'kubernetes.io/hostname': facts.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': facts.architecture,
        ...facts.labels,
      },
    },
    spec: {},
  };
}

/** The node's `status`: Ready, no pressure, heartbeat at `now`; `since` is when it became Ready. */
export function nodeStatus(facts: NodeFacts, now: Date, since: Date): Record<string, unknown> {
  const resources = {
    cpu: String(facts.cpus),
    memory: `${Math.floor(facts.memoryBytes / 1024)}Ki`,
    pods: String(maxPods),
  };
  const condition = (type: string, status: boolean, reason: string, message: string) => ({
    type,
    status: status ? 'True' : 'False',
    lastHeartbeatTime: kubeTime(now),
    lastTransitionTime: kubeTime(since),
    reason,
    message,
  });
  return {
    capacity: resources,
    allocatable: resources,
    addresses: [
      { type: 'InternalIP', address: facts.address },
      { type: 'Hostname', address: facts.name },
    ],
    conditions: [
      condition('MemoryPressure', false, 'KubeletHasSufficientMemory', 'node harness has sufficient memory available'),
      condition('DiskPressure', false, 'KubeletHasNoDiskPressure', 'node harness has no disk pressure'),
      condition('PIDPressure', false, 'KubeletHasSufficientPID', 'node harness has sufficient PID available'),
      condition('Ready', true, 'KubeletReady', 'node harness is posting ready status'),
    ],
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: facts.kernelVersion,
      osImage: facts.osImage,
      containerRuntimeVersion: 'containerd://crosstalk-node-harness',
      kubeletVersion: facts.kubeletVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: facts.architecture,
    },
  };
}
