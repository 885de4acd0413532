// A small JSON client for the Kubernetes API: plain JSON in and out - no generated model
// classes, so list and watch objects look the same - over node:https with the credentials
// kubeconfig.ts finds, every non-2xx answer turned into an ApiError with the API's reason.
import type { IncomingMessage } from 'node:http';

import { CodedError } from '../errors.js';
import { loadConnection, type Connection } from './kubeconfig.js';
import { Transport } from './transport.js';

/** Its code is the API's reason, or `HTTP<status>` / `NetworkError`. */
export class ApiError extends CodedError {
  constructor(
    /** HTTP status, or 0 when no answer came back (network, timeout). */
    readonly status: number,
    /** The API's Status.reason (NotFound, Conflict, AlreadyExists, Invalid, Forbidden...). */
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(
      reason || (status ? `HTTP${status}` : 'NetworkError'),
      `${method} ${path}: ${status || 'no response'} ${reason}: ${message}`,
    );
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiError && err.status === 409 && err.reason === 'AlreadyExists';
}

/** Errors that retrying the same request cannot fix (the request itself is wrong). */
export function isTerminal(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 400 || err.status === 415 || err.status === 422);
}

export const ContentType = {
  json: 'application/json',
  mergePatch: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | undefined>;
  signal?: AbortSignal;
}

export class KubeClient {
  private readonly transport: Transport;

  constructor(
    readonly connection: Connection,
    private readonly timeoutMs = 30_000,
  ) {
    this.transport = new Transport(connection);
  }

  /** From a kubeconfig file, else $KUBECONFIG / ~/.kube/config / the in-cluster service account. */
  static load(kubeconfigPath?: string): KubeClient {
    return new KubeClient(loadConnection(kubeconfigPath ? { path: kubeconfigPath } : {}));
  }

  /** The answer's JSON body (undefined when empty); the timeout covers the whole exchange. */
  async request(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<unknown> {
    const deadline = new Deadline(this.timeoutMs, options.signal);
    try {
      const response = await this.send(method, path, options, deadline);
      const text = await readText(response, method, path, deadline);
      if (!ok(response)) throw this.refusal(response, text, method, path);
      return text ? safeJson(text) : undefined;
    } finally {
      deadline.clear();
    }
  }

  /** A GET whose body streams for as long as the server sends it (a watch). The timeout
   * covers the answer's head only; `signal` ends the stream. */
  async stream(path: string, query: RequestOptions['query'], signal: AbortSignal): Promise<IncomingMessage> {
    const deadline = new Deadline(this.timeoutMs, signal);
    let response: IncomingMessage;
    try {
      response = await this.send('GET', path, { query }, deadline);
      if (!ok(response)) throw this.refusal(response, await readText(response, 'GET', path, deadline), 'GET', path);
      deadline.stopTimer();
    } catch (err) {
      deadline.clear();
      throw err;
    }
    response.once('close', () => deadline.clear());
    return response;
  }

  private async send(
    method: HttpMethod,
    path: string,
    options: RequestOptions,
    deadline: Deadline,
  ): Promise<IncomingMessage> {
    const url = new URL(this.connection.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'crosstalk' };
    if (options.body !== undefined) headers['Content-Type'] = options.contentType ?? ContentType.json;
    try {
      return await this.transport.send({
        method,
        url,
        headers,
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        signal: deadline.signal,
      });
    } catch (err) {
      // The credential sources throw errors of their own, which say more than "no answer".
      if (err instanceof CodedError) throw err;
      throw deadline.failure(err, method, path);
    }
  }

  private refusal(response: IncomingMessage, text: string, method: string, path: string): ApiError {
    const status = response.statusCode ?? 0;
    if (status === 401) this.connection.credentials.refresh();
    const body = (safeJson(text) ?? {}) as { reason?: unknown; message?: unknown };
    return new ApiError(
      status,
      typeof body.reason === 'string' ? body.reason : '',
      typeof body.message === 'string' ? body.message : text.slice(0, 500),
      method,
      path,
    );
  }

  get(path: string, query?: RequestOptions['query']): Promise<unknown> {
    return this.request('GET', path, { query });
  }

  create(path: string, body: unknown): Promise<unknown> {
    return this.request('POST', path, { body });
  }

  /** Server-side apply: creates or updates the fields `fieldManager` owns. */
  apply(path: string, body: unknown, fieldManager: string): Promise<unknown> {
    return this.request('PATCH', path, {
      body,
      contentType: ContentType.apply,
      query: { fieldManager, force: 'true' },
    });
  }

  patch(path: string, body: unknown, contentType: string, fieldManager?: string): Promise<unknown> {
    return this.request('PATCH', path, { body, contentType, query: { fieldManager } });
  }

  replace(path: string, body: unknown, fieldManager?: string): Promise<unknown> {
    return this.request('PUT', path, { body, query: { fieldManager } });
  }

  delete(path: string, preconditions?: { uid?: string; resourceVersion?: string }): Promise<unknown> {
    return this.request('DELETE', path, {
      body: {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        propagationPolicy: 'Background',
        ...(preconditions ? { preconditions } : {}),
      },
    });
  }
}

function ok(response: IncomingMessage): boolean {
  const status = response.statusCode ?? 0;
  return status >= 200 && status < 300;
}

async function readText(response: IncomingMessage, method: string, path: string, deadline: Deadline): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of response) chunks.push(chunk as Buffer);
  } catch (err) {
    throw deadline.failure(err, method, path);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The caller's signal and the request timeout as one signal, and what to call a request
 * that it cut short. */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private timedOut = false;
  private readonly onAbort = () => this.controller.abort(this.caller?.reason);

  constructor(
    private readonly timeoutMs: number,
    private readonly caller: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, timeoutMs);
    if (caller?.aborted) this.onAbort();
    else caller?.addEventListener('abort', this.onAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  stopTimer(): void {
    clearTimeout(this.timer);
  }

  clear(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onAbort);
  }

  /** No (complete) answer: a NetworkError, saying whether the timeout or the caller ended it. */
  failure(err: unknown, method: string, path: string): ApiError {
    const why = this.timedOut
      ? `no answer within ${this.timeoutMs} ms`
      : this.caller?.aborted
        ? 'aborted'
        : err instanceof Error
          ? err.message
          : String(err);
    return new ApiError(0, '', why, method, path);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
