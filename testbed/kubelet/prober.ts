// A container's httpGet readiness probe, as kubelet runs it: a GET of the pod's address
// and the probe's port and path; 2xx and 3xx are ready. Probed every second (not every
// periodSeconds: tests should not wait for a 10 s period) until stopped; a change of the
// answer is reported so that the pod's Ready condition follows.
import { setTimeout as sleep } from 'node:timers/promises';

import type { HttpProbe } from './pod-spec.js';

export class ReadinessProber {
  ready = false;
  private stopped = false;

  constructor(
    private readonly podIP: string,
    private readonly probe: HttpProbe,
    private readonly onChange: () => void,
  ) {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
  }

  private async loop(): Promise<void> {
    const url = `http://${this.podIP}:${this.probe.port}${this.probe.path}`;
    while (!this.stopped) {
      const ready = await fetch(url, { signal: AbortSignal.timeout(1000), redirect: 'manual' })
        .then((r) => r.status >= 200 && r.status < 400)
        .catch(() => false);
      if (ready !== this.ready && !this.stopped) {
        this.ready = ready;
        this.onChange();
      }
      await sleep(Math.min(1000, this.probe.periodSeconds * 1000));
    }
  }
}
