// Names the threads of the root cgroup that held a victim's CPU (kworker/1:1, ksoftirqd/1,
// kdamond.0): the root cgroup is every kernel thread and every process outside a pod, so
// "/" alone would say nothing.
import { readFileSync } from 'node:fs';

import type { Subject } from './measure/fold.js';

/** Names remembered at most; beyond, the cache starts afresh (pids of short-lived
 * processes outside pods would otherwise pile up). */
const maxNames = 4096;

export function threadNamer(readComm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8')) {
  const names = new Map<number, string>();
  return (pid: number): Subject => {
    let name = names.get(pid);
    if (name === undefined) {
      try {
        name = readComm(pid).trim() || `pid ${pid}`;
      } catch {
        name = `pid ${pid}`; // it exited: its pid still identifies it
      }
      if (names.size >= maxNames) names.clear();
      names.set(pid, name);
    }
    return { key: `thread/${pid}`, ref: { kind: 'Thread', pid, name } };
  };
}
