// Who a request is from: a client certificate, an Authorization header, or both. Sources
// that change under a running process (a projected service-account token, a token file,
// an exec plugin's short-lived token) are asked again for each request and cache what
// they read for as long as it is good.
import { readFileSync } from 'node:fs';

import type { Clock } from '../clock.js';

export interface Credential {
  /** The Authorization header: `Bearer <token>` or `Basic <base64>`. */
  readonly authorization?: string;
  /** PEM client certificate and key, for TLS client authentication. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface Credentials {
  /** The credential the next request carries. */
  current(): Promise<Credential>;
  /** The API server refused the last credential (401): forget what is cached. */
  refresh(): void;
}

export function fixedCredentials(credential: Credential): Credentials {
  return { current: () => Promise.resolve(credential), refresh: () => {} };
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** A client certificate beside whatever `source` authorizes with (a certificate from the
 * source, e.g. an exec plugin's, replaces it). */
export function withClientCertificate(source: Credentials, cert: Buffer, key: Buffer): Credentials {
  return {
    current: async () => ({ cert, key, ...(await source.current()) }),
    refresh: () => source.refresh(),
  };
}

/** How long a token read from a file is used before the file is read again: kubelet
 * rotates projected service-account tokens well before they expire, and client-go
 * re-reads them once a minute as well. */
export const tokenFileMaxAgeMs = 60_000;

/** A bearer token kept in a file that another process rewrites. */
export class TokenFile implements Credentials {
  private token: string;
  private readAt: number;

  /** Reads the file once now, so that a missing token fails at startup. */
  constructor(
    readonly path: string,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.token = readToken(path);
    this.readAt = clock.now();
  }

  current(): Promise<Credential> {
    if (this.clock.now() - this.readAt >= tokenFileMaxAgeMs) {
      // A file caught mid-rewrite or gone for a moment: keep the token we have; the API
      // server says 401 if it is no longer good, and the next read may succeed.
      try {
        this.token = readToken(this.path);
      } catch {
        // kept
      }
      this.readAt = this.clock.now();
    }
    return Promise.resolve({ authorization: `Bearer ${this.token}` });
  }

  refresh(): void {
    this.readAt = -Infinity;
  }
}

function readToken(path: string): string {
  const token = readFileSync(path, 'utf8').trim();
  if (!token) throw new Error(`the token file ${path} is empty`);
  return token;
}
