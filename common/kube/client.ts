// A small JSON client for the Kubernetes API on top of client-node's KubeConfig (which
// resolves kubeconfig files, in-cluster service accounts, certificates and tokens). It
// speaks plain JSON in and out - no generated model classes, so list and watch objects
// look the same - and turns every non-2xx answer into an ApiError with the API's reason.
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch } from 'undici';

import { CodedError } from '../errors.js';

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

export class KubeConfigError extends CodedError<'NoCluster'> {
  constructor(message: string) {
    super('NoCluster', message);
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

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | undefined>;
  signal?: AbortSignal;
}

export class KubeClient {
  constructor(
    readonly config: KubeConfig,
    private readonly timeoutMs = 30_000,
  ) {}

  /** From a kubeconfig file, else $KUBECONFIG / ~/.kube/config / the in-cluster service account. */
  static load(kubeconfigPath?: string): KubeClient {
    const config = new KubeConfig();
    if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
    else config.loadFromDefault();
    if (!config.getCurrentCluster())
      throw new KubeConfigError('no cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a pod');
    return new KubeClient(config);
  }

  async request(method: keyof typeof HttpMethod, path: string, options: RequestOptions = {}): Promise<unknown> {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new KubeConfigError('no current cluster in the kubeconfig');
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const ctx = new RequestContext(url.toString(), HttpMethod[method]);
    await this.config.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), Accept: 'application/json' };
    if (options.body !== undefined) headers['Content-Type'] = options.contentType ?? ContentType.json;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        dispatcher: ctx.getDispatcher(),
        signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
      });
    } catch (err) {
      throw new ApiError(0, '', err instanceof Error ? err.message : String(err), method, url.pathname);
    }
    const text = await response.text();
    const json: unknown = text ? safeJson(text) : undefined;
    if (response.ok) return json;
    const status = (json ?? {}) as { reason?: unknown; message?: unknown };
    throw new ApiError(
      response.status,
      typeof status.reason === 'string' ? status.reason : '',
      typeof status.message === 'string' ? status.message : text.slice(0, 500),
      method,
      url.pathname,
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

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
