// HTTP to the API server on node:http(s): one keep-alive agent holding the cluster's TLS
// settings, and each request carrying the credential of the moment (its client
// certificate, if any, goes with the request, so the agent keeps a separate pool of
// connections per certificate when an exec plugin rotates it).
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

import type { Connection } from './kubeconfig.js';

export interface HttpRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  readonly signal: AbortSignal;
}

export class Transport {
  private readonly agent: http.Agent;
  private readonly secure: boolean;

  constructor(private readonly connection: Connection) {
    this.secure = new URL(connection.server).protocol === 'https:';
    const { ca, servername, rejectUnauthorized } = connection.tls;
    this.agent = this.secure
      ? new https.Agent({ keepAlive: true, ca, servername, rejectUnauthorized })
      : new http.Agent({ keepAlive: true });
  }

  /** Resolves with the response as soon as its head arrives; the body is the caller's to
   * read. Rejects when no response comes (connection, TLS, abort). */
  async send(request: HttpRequest): Promise<IncomingMessage> {
    const credential = await this.connection.credentials.current();
    const headers: Record<string, string> = { ...request.headers };
    if (credential.authorization) headers.Authorization = credential.authorization;
    if (request.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(request.body));
    const options = {
      method: request.method,
      headers,
      agent: this.agent,
      signal: request.signal,
      ...(credential.cert && credential.key ? { cert: credential.cert, key: credential.key } : {}),
    };
    return new Promise((resolve, reject) => {
      const req = (this.secure ? https : http).request(request.url, options, resolve);
      req.on('error', reject);
      req.end(request.body);
    });
  }
}
