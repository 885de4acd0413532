// /healthz (the process serves requests), /readyz (caches synced: leader and standby alike
// are ready to serve) and Prometheus /metrics. Liveness never depends on the apiserver.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Registry } from 'prom-client';

export interface Probes {
  /** Reasons the instance is not ready yet; empty when ready. */
  notReady(): string[];
}

export function startHttpServer(host: string, port: number, probes: Probes, registry: Registry): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
    } else if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const reasons = probes.notReady();
      res
        .writeHead(reasons.length ? 503 : 200, { 'Content-Type': 'text/plain' })
        .end(reasons.length ? `not ready: ${reasons.join('; ')}\n` : 'ok\n');
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

export function boundAddress(server: Server): string {
  const a = server.address() as AddressInfo;
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
