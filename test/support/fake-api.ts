// An API server in memory for the I/O classes, after sample-controller's fixture: the
// collections the informers list and watch, a KubeClient that records every request it
// gets, carries out the writes as the API server would (create, server-side apply of an
// object or its status, merge patch with a resourceVersion precondition, delete) and
// answers the failures a test arranges, and a watch source that delivers every change to
// the watchers open at that moment.
import { isDeepStrictEqual } from 'node:util';

import { ApiError, ContentType, KubeClient, type RequestOptions } from '../../common/kube/client.js';
import { fixedCredentials } from '../../common/kube/credentials.js';
import type { ListWatcher, WatchRequest, WatchSource } from '../../common/kube/informer.js';
import type { KubeObject } from '../../common/kube/watch.js';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly contentType: string | undefined;
  readonly query: Readonly<Record<string, string | undefined>>;
}

type Verb = 'add' | 'update' | 'delete';

interface Failure {
  readonly method: string;
  readonly path: string;
  readonly error: ApiError;
}

/** The answer the API server gives to a request it refuses, e.g. `apiError(422, 'Invalid')`. */
export function apiError(status: number, reason: string, method = 'PATCH', path = '/'): ApiError {
  return new ApiError(status, reason, `refused by the test (${status} ${reason})`, method, path);
}

export class FakeApi {
  readonly client: RecordingClient;
  readonly watch: WatchSource = (request) => {
    const watcher = new FakeWatcher(this, request);
    this.opened.push(watcher);
    return watcher;
  };
  /** Every watcher the informers made, in order. */
  readonly opened: FakeWatcher[] = [];
  /** The watchers started and neither failed nor stopped since. */
  readonly watchers = new Set<FakeWatcher>();
  private readonly collections = new Map<string, Map<string, StoredObject>>();
  private resourceVersion = 0;

  constructor() {
    this.client = new RecordingClient(this);
  }

  /** The stored object, as the API server would return it. */
  get(collection: string, namespace: string | undefined, name: string): StoredObject | undefined {
    const obj = this.collections.get(collection)?.get(`${namespace ?? ''}/${name}`);
    return obj && structuredClone(obj);
  }

  /** Stores an object in a collection (by `namespace/name`) and tells the open watches. */
  put<T extends ApiObject>(collection: string, obj: T): T {
    const { obj: stored, existed } = this.store(collection, obj);
    this.notify(collection, existed ? 'update' : 'add', stored);
    return stored;
  }

  /** Stores an object without any watch hearing of it (a lost event only a relist heals). */
  putQuietly<T extends ApiObject>(collection: string, obj: T): T {
    return this.store(collection, obj).obj;
  }

  remove<T extends ApiObject>(collection: string, obj: T, quietly = false): void {
    this.collections.get(collection)?.delete(keyOf(obj));
    if (!quietly) this.notify(collection, 'delete', obj);
  }

  /** Ends every open watch of a collection with an error, as a dropped connection does. */
  breakWatches(collection: string, err: unknown): void {
    for (const w of [...this.watchers]) if (w.request.path === collection) w.fail(err);
  }

  /** Makes the next `method` request to `path` fail with `error`. */
  failNext(method: string, path: string, error: ApiError): void {
    this.client.failures.push({ method, path, error });
  }

  list(collection: string, fieldSelector?: string): { metadata: { resourceVersion: string }; items: unknown[] } {
    const items = [...(this.collections.get(collection)?.values() ?? [])].filter((o) => matches(o, fieldSelector));
    return { metadata: { resourceVersion: String(this.resourceVersion) }, items: structuredClone(items) };
  }

  private store<T extends ApiObject>(collection: string, obj: T): { obj: T; existed: boolean } {
    let objects = this.collections.get(collection);
    if (!objects) this.collections.set(collection, (objects = new Map<string, StoredObject>()));
    const stored = {
      ...structuredClone(obj),
      metadata: { ...structuredClone(obj.metadata), resourceVersion: String(++this.resourceVersion) },
    };
    const existed = objects.has(keyOf(stored));
    objects.set(keyOf(stored), stored);
    return { obj: stored, existed };
  }

  private notify(collection: string, verb: Verb, obj: ApiObject): void {
    for (const w of [...this.watchers])
      if (w.request.path === collection && matches(obj, w.request.fieldSelector)) w.emit(verb, obj);
  }
}

/** A KubeClient whose every request is recorded and answered from the FakeApi. */
export class RecordingClient extends KubeClient {
  readonly requests: RecordedRequest[] = [];
  readonly failures: Failure[] = [];

  constructor(private readonly api: FakeApi) {
    super({
      server: 'https://fake-api.invalid',
      tls: { rejectUnauthorized: true },
      credentials: fixedCredentials({}),
      namespace: undefined,
    });
  }

  override request(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    this.requests.push({
      method,
      path,
      body: structuredClone(options.body),
      contentType: options.contentType,
      query: { ...options.query },
    });
    const failure = this.failures.findIndex((f) => f.method === method && f.path === path);
    if (failure >= 0) return Promise.reject(this.failures.splice(failure, 1)[0]!.error);
    return Promise.resolve().then(() => this.serve(method, path, options));
  }

  private serve(method: string, path: string, options: RequestOptions): unknown {
    const at = parsePath(path);
    if (method === 'GET' && at.name === undefined) return this.api.list(at.collection, options.query?.fieldSelector);
    const refuse = (status: number, reason: string) => apiError(status, reason, method, path);
    const body = (options.body ?? {}) as StoredObject;
    const name = at.name ?? body.metadata?.name ?? '';
    const existing = this.api.get(at.collection, at.namespace, name);
    if (method === 'POST') {
      if (existing) throw refuse(409, 'AlreadyExists');
      return this.api.put(at.collection, { ...body, metadata: { ...body.metadata, uid: `uid-${name}` } });
    }
    if (!existing && !(method === 'PATCH' && options.contentType === ContentType.apply && !at.status))
      throw refuse(404, 'NotFound');
    if (method === 'GET') return existing;
    if (method === 'DELETE') {
      const uid = (body as { preconditions?: { uid?: string } }).preconditions?.uid;
      if (uid !== undefined && uid !== existing!.metadata.uid) throw refuse(409, 'Conflict');
      this.api.remove(at.collection, existing!);
      return {};
    }
    if (options.contentType === ContentType.mergePatch) {
      const { resourceVersion, ...metadata } = body.metadata ?? {};
      if (resourceVersion !== undefined && resourceVersion !== existing!.metadata.resourceVersion)
        throw refuse(409, 'Conflict');
      return this.api.put(at.collection, { ...existing!, ...body, metadata: { ...existing!.metadata, ...metadata } });
    }
    if (at.status) return this.api.put(at.collection, { ...existing!, status: body.status });
    const generation = (existing?.metadata.generation ?? 0) + (isDeepStrictEqual(existing?.spec, body.spec) ? 0 : 1);
    return this.api.put(at.collection, {
      ...existing,
      ...body,
      metadata: { ...existing?.metadata, ...body.metadata, uid: existing?.metadata.uid ?? `uid-${name}`, generation },
    });
  }

  /** The requests other than lists, as `METHOD path`, in order. */
  writes(): string[] {
    return this.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
  }
}

/** Behaves as watch.ts's ListWatch does towards its user: lists on its first start only,
 * then delivers events until it fails or is stopped; a start after a failure resumes. */
export class FakeWatcher implements ListWatcher {
  private readonly callbacks = { add: [], update: [], delete: [], error: [] } as {
    [V in Verb]: Array<(obj: KubeObject) => void>;
  } & { error: Array<(err: unknown) => void> };
  private listed = false;
  starts = 0;

  constructor(
    private readonly api: FakeApi,
    readonly request: WatchRequest,
  ) {}

  on(verb: Verb, cb: (obj: KubeObject) => void): void;
  on(verb: 'error', cb: (err: unknown) => void): void;
  on(verb: Verb | 'error', cb: (arg: never) => void): void {
    (this.callbacks[verb] as Array<(arg: never) => void>).push(cb);
  }

  async start(): Promise<void> {
    this.starts++;
    if (!this.listed) {
      try {
        await this.request.list();
      } catch (err) {
        this.fail(err);
        return;
      }
      this.listed = true;
    }
    this.api.watchers.add(this);
  }

  stop(): Promise<void> {
    this.api.watchers.delete(this);
    return Promise.resolve();
  }

  emit(verb: Verb, obj: ApiObject): void {
    for (const cb of this.callbacks[verb]) cb(structuredClone(obj));
  }

  fail(err: unknown): void {
    this.api.watchers.delete(this);
    for (const cb of this.callbacks.error) cb(err);
  }
}

/** An object as JSON; the fake reads only its metadata. */
export interface ApiObject {
  readonly metadata?: ObjectMetadata;
}

interface ObjectMetadata {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly resourceVersion?: string;
  readonly [field: string]: unknown;
}

/** An object as the fake keeps it: whatever was written, with metadata as the API sets it. */
export interface StoredObject {
  readonly metadata: ObjectMetadata;
  readonly spec?: unknown;
  readonly status?: unknown;
}

/** `/apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>[/status]]` (or `/api/v1/...`):
 * the collection the informers watch (all namespaces) and the object within it. */
function parsePath(path: string): { collection: string; namespace?: string; name?: string; status: boolean } {
  const m = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(\/status)?$/.exec(path);
  if (!m) throw new Error(`the fake API does not serve ${path}`);
  const [, prefix, namespace, plural, name, status] = m;
  return {
    collection: `${prefix}/${plural}`,
    ...(namespace ? { namespace: decodeURIComponent(namespace) } : {}),
    ...(name ? { name: decodeURIComponent(name) } : {}),
    status: status !== undefined,
  };
}

function keyOf(obj: ApiObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** Field selectors of the form `a.b=value` (all the product uses). */
function matches(obj: unknown, fieldSelector: string | undefined): boolean {
  if (!fieldSelector) return true;
  return fieldSelector.split(',').every((term) => {
    const [field = '', value] = term.split('=');
    const actual = field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
    return actual === value;
  });
}
