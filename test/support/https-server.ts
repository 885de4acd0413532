// A real HTTPS server on loopback for the Kubernetes client's tests, with the test bed's
// PKI (a server CA and serving certificate for 127.0.0.1/localhost, a client CA and client
// certificates): it records who each request came from (client certificate or
// Authorization header) and answers through whatever handler the test sets.
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';

import { createClusterPki, issueClientCertificate, type ClusterPki } from '../../testbed/cluster/pki.js';

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  /** The common name of a client certificate the server's client CA signed. */
  readonly clientName: string | undefined;
  readonly body: string;
}

export type Handler = (request: SeenRequest, res: ServerResponse) => void;

export class TestApiServer {
  readonly requests: SeenRequest[] = [];
  /** Connections the server accepted, to see keep-alive at work. */
  connections = 0;
  handler: Handler = (_request, res) => json(res, 200, {});

  private constructor(
    private readonly server: Server,
    readonly pki: ClusterPki,
    readonly url: string,
  ) {}

  static async start(dir: string): Promise<TestApiServer> {
    const pki = createClusterPki(dir);
    const server = createServer({
      key: readFileSync(pki.serving.key),
      cert: readFileSync(pki.serving.cert),
      ca: readFileSync(pki.clientCa.cert),
      requestCert: true,
      rejectUnauthorized: false,
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const api = new TestApiServer(server, pki, `https://127.0.0.1:${port}`);
    server.on('secureConnection', () => api.connections++);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const socket = req.socket as TLSSocket;
        const url = new URL(req.url ?? '/', 'https://x');
        const seen: SeenRequest = {
          method: req.method ?? '',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          clientName: socket.authorized ? String(socket.getPeerCertificate().subject.CN) : undefined,
          body: Buffer.concat(chunks).toString(),
        };
        api.requests.push(seen);
        api.handler(seen, res);
      });
    });
    return api;
  }

  /** PEM text of the server CA, and of a client certificate (and key) signed by the client CA. */
  serverCa(): string {
    return readFileSync(this.pki.serverCa.cert, 'utf8');
  }

  clientCertificate(name: string): { cert: string; key: string } {
    const files = issueClientCertificate(this.pki, name, { commonName: name, organizations: [] });
    return { cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  /** Cuts every open connection (an API server that went away). */
  dropConnections(): void {
    this.server.closeAllConnections();
  }
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A metav1.Status, as the API server refuses a request. */
export function status(res: ServerResponse, code: number, reason: string, message: string): void {
  json(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
}
